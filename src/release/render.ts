import {palette} from '../ui/colour.js'
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
