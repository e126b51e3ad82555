import {DagctlError} from '../errors.js'
import {palette} from './colour.js'

/**
 * Human rendering of an error for stderr: what is wrong, where (file:line key), then the fix.
 * A stack trace only with --verbose.
 */
export function renderError(err: unknown, verbose: boolean): string {
  const c = palette(process.stderr)
  const lines: string[] = []
  if (err instanceof DagctlError) {
    lines.push(`${c.red.bold('Error:')} ${err.message}`)
    const {file, line, column, key} = err.location
    if (file) {
      const where = [file, line, line === undefined ? undefined : column].filter((p) => p !== undefined).join(':')
      lines.push(`  ${c.dim('at')} ${where}${key ? ` ${c.dim('key')} ${key}` : ''}`)
    } else if (key) {
      lines.push(`  ${c.dim('key')} ${key}`)
    }
    if (err.hint) lines.push(`${c.yellow('Hint:')} ${err.hint}`)
  } else {
    const message = err instanceof Error ? err.message : String(err)
    lines.push(`${c.red.bold('Error:')} ${message}`)
    if (!verbose) lines.push(`${c.yellow('Hint:')} this is unexpected; re-run with --verbose for the stack trace and report it.`)
  }
  if (verbose && err instanceof Error && err.stack) {
    lines.push(c.dim(err.stack))
    let cause = (err as {cause?: unknown}).cause
    while (cause instanceof Error) {
      lines.push(c.dim(`Caused by: ${cause.stack ?? cause.message}`))
      cause = (cause as {cause?: unknown}).cause
    }
  }
  return lines.join('\n')
}
