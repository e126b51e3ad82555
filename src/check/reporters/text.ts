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
  return lines.join('\n')
}

export function summaryLine(report: ValidationReport, c: ChalkInstance = plain): string {
  const {files, dags, errors, warnings, infos} = report.summary
  const scope = `${count(files, 'file')}, ${count(dags, 'DAG')}, ${report.engine} engine`
  if (errors + warnings + infos === 0) return `${c.green('✔')} no problems in ${scope}`
  const parts = [count(errors, 'error'), count(warnings, 'warning'), `${infos} info`].join(', ')
  return `${errors > 0 ? c.red('✖') : c.yellow('!')} ${parts} in ${scope}`
}

function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}
