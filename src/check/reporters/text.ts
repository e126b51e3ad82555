import {Chalk, type ChalkInstance} from 'chalk'

import type {Finding, ValidationReport} from '../types.js'

const plain = new Chalk({level: 0})

/**
 * Human report: findings grouped by file (`file:line:col rule severity: message`, then the hint),
 * then one summary line. Colour only through the palette the caller passes (none by default).
 */
export function renderText(report: ValidationReport, c: ChalkInstance = plain): string {
  const lines: string[] = []
  const byFile = new Map<string, Finding[]>()
  for (const f of report.findings) {
    const list = byFile.get(f.file) ?? []
    list.push(f)
    byFile.set(f.file, list)
  }
  for (const [file, findings] of byFile) {
    lines.push(c.bold.underline(file))
    for (const f of findings) {
      const sev = f.severity === 'error' ? c.red('error') : f.severity === 'warning' ? c.yellow('warning') : c.blue('info')
      lines.push(`  ${c.dim(`${f.file}:${f.line}:${f.column}`)} ${c.bold(f.rule)} ${sev}: ${f.message}`)
      if (f.hint) lines.push(`      ${c.dim('hint:')} ${f.hint}`)
    }
    lines.push('')
  }
  lines.push(summaryLine(report, c))
  const silenced = suppressionLine(report)
  if (silenced) lines.push(c.dim(silenced))
  return lines.join('\n')
}

/** What validate.rules and `# dagctl: ignore[...]` changed, in one line; empty when nothing. */
export function suppressionLine(report: ValidationReport): string {
  const parts: string[] = []
  for (const o of report.suppressions?.config ?? []) {
    if (o.findings > 0) parts.push(`${o.rule} ${o.setting === 'off' ? 'off' : `as ${o.setting}`} (${o.source}): ${count(o.findings, 'finding')}`)
  }
  const inline = report.suppressions?.inline ?? []
  const silenced = inline.reduce((n, i) => n + i.silenced, 0)
  if (inline.length > 0) parts.push(`${count(inline.length, 'ignore comment')}: ${count(silenced, 'finding')} silenced`)
  return parts.length > 0 ? `configured: ${parts.join('; ')}` : ''
}

export function summaryLine(report: ValidationReport, c: ChalkInstance = plain): string {
  const {files, dags, errors, warnings, infos} = report.summary
  const scope = `${count(files, 'file')}, ${count(dags, 'DAG')}, ${report.engine} engine${report.python ? `, Python ${report.python.version}` : ''}`
  if (errors + warnings + infos === 0) return `${c.green('✔')} no problems in ${scope}`
  const parts = [count(errors, 'error'), count(warnings, 'warning'), `${infos} info`].join(', ')
  return `${errors > 0 ? c.red('✖') : c.yellow('!')} ${parts} in ${scope}`
}

function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}
