import type {StopSignal} from '../errors.js'

/** Exit code of a process stopped by this signal, as shells report it (128 + signal number). */
export function exitCodeOf(signal: StopSignal): number {
  return signal === 'SIGTERM' ? 143 : 130
}

/** The signal an AbortSignal of withStopSignals was aborted by, if any. */
export function stopSignalOf(signal?: AbortSignal): StopSignal | undefined {
  if (!signal?.aborted) return undefined
  return signal.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT'
}

export interface StopSignalOptions {
  /** a line for stderr when the first signal arrives (the work goes on to its next safe point) */
  onFirst?: (signal: StopSignal) => string
  /** a line for stderr when a second signal arrives: the process exits at once after it */
  onForce?: (signal: StopSignal) => string
}

/**
 * Runs `fn` with SIGINT and SIGTERM turned into an AbortSignal: the work stops at its next safe
 * point and reports the state it leaves (the caller throws an InterruptedError). A second signal
 * exits at once, with 130 or 143. Outside `fn` the default behaviour of the signals is back.
 */
export async function withStopSignals<T>(fn: (signal: AbortSignal) => Promise<T>, options: StopSignalOptions = {}): Promise<T> {
  const controller = new AbortController()
  const on = (sig: StopSignal) => () => {
    if (!controller.signal.aborted) {
      controller.abort(sig)
      const line = options.onFirst?.(sig)
      if (line) process.stderr.write(`${line}\n`)
      return
    }
    const line = options.onForce?.(sig)
    // A progress display on a terminal may have hidden the cursor: show it again before leaving.
    if (process.stderr.isTTY) process.stderr.write('\u001B[?25h\n')
    if (line) process.stderr.write(`${line}\n`)
    process.exit(exitCodeOf(sig))
  }
  const onInt = on('SIGINT')
  const onTerm = on('SIGTERM')
  process.on('SIGINT', onInt)
  process.on('SIGTERM', onTerm)
  try {
    return await fn(controller.signal)
  } finally {
    process.off('SIGINT', onInt)
    process.off('SIGTERM', onTerm)
  }
}
