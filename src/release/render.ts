import {palette} from '../ui/colour.js'
import type {FsckFinding, FsckResult} from './fsck.js'
import type {DiffSummary} from './publish.js'

/** The diff for people: one line per added (+), changed (~) and removed (-) file, coloured for the stream it goes to. */
export function renderDiff(d: DiffSummary, limit = 200, stream: NodeJS.WriteStream = process.stdout): string {
  const c = palette(stream)
  const lines = [
    ...d.added.map((p) => c.green(`+ ${p}`)),
    ...d.changed.map((p) => c.yellow(`~ ${p}`)),
    ...d.removed.map((p) => c.red(`- ${p}`)),
  ]
  const shown = lines.slice(0, limit)
  if (lines.length > limit) shown.push(c.dim(`… and ${lines.length - limit} more (--json lists all)`))
  shown.push(c.dim(`${d.added.length} added, ${d.changed.length} changed, ${d.removed.length} removed, ${d.unchanged} unchanged`))
  return shown.join('\n')
}

export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? []
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')).join('\n')
}

/**
 * fsck for people: one line per package, one per lagging package (files only with `verbose`), the
 * damage (the first few of a kind unless `verbose`), and with --repair what was and was not repaired.
 */
export function renderFsck(result: FsckResult, verbose: boolean): string[] {
  const c = palette(process.stdout)
  const lines: string[] = []
  const FEW = 5
  for (const p of result.packages) {
    lines.push(`${p.package}: HEAD ${p.head ?? '(none)'}, ${p.history} release(s) in history of ${p.releases}, ${p.blobs} blob(s), ${p.packs ? `${p.packs} pack(s), ` : ''}${p.liveFiles} live file(s)`)
    if (p.repaired) {
      const n = p.repaired.written + p.repaired.deleted
      const shown = verbose || n <= FEW ? p.repaired.files : [...p.repaired.files.slice(0, FEW), `… ${n - FEW} more (--verbose lists all)`]
      lines.push(`${c.green('repaired:')} ${p.package}: ${p.repaired.written} live file(s) written, ${p.repaired.deleted} removed${n > 0 ? ` (${shown.join(', ')})` : ''}`)
    }
    for (const n of p.notRepaired ?? []) {
      lines.push(`${c.red('not repaired:')} ${p.package}: ${n.message}${n.key ? c.dim(` (${n.key})`) : ''}`)
      lines.push(`  why: ${n.why}`)
      lines.push(`  fix: ${n.hint}`)
    }
  }
  if (result.packages.length === 0) lines.push(`No package in ${result.env} (${result.store}).`)
  const byKind = new Map<string, FsckFinding[]>()
  for (const f of result.findings) {
    const kind = `${f.severity} ${f.package} ${f.code}`
    byKind.set(kind, [...(byKind.get(kind) ?? []), f])
  }
  for (const p of result.packages) {
    if (!p.lag) continue
    const behind = result.findings.find((f) => f.package === p.package && f.code === 'LIVE_BEHIND')
    const why = behind ? ` (${behind.message.replace(/^the live tree lags HEAD: /, '').replace(/; the next publish.*$/, '')})` : ''
    const next = p.notRepaired?.length
      ? '; --repair could not bring them in line: see "not repaired" above'
      : `; run \`${p.lag.repair}\` (the next publish or rollback heals it too)`
    lines.push(`${c.yellow('LAG   ')} ${p.package}: ${p.lag.files} live file(s) lag release ${p.lag.release}${why}${next}`)
  }
  for (const [, group] of byKind) {
    const f = group[0]
    if (f.severity === 'lag' && !verbose) continue
    const tag = f.severity === 'damage' ? c.red('DAMAGE') : f.severity === 'lag' ? c.yellow('LAG   ') : c.dim('info  ')
    const shown = verbose ? group : group.slice(0, FEW)
    for (const g of shown) lines.push(`${tag} ${g.package}: ${g.message}${g.key ? c.dim(` (${g.key})`) : ''}`)
    if (shown.length < group.length) lines.push(`${tag} ${f.package}: … and ${group.length - shown.length} more of the same kind (--verbose lists all)`)
  }
  if (result.ok) lines.push('OK')
  return lines
}
