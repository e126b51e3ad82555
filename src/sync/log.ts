import {pino} from 'pino'

/** Fields every sync log line carries (null when the line is not about one). */
export interface LogFields {
  cycle?: number | null
  package?: string | null
  release?: number | null
  [key: string]: unknown
}

export type LogLevel = 'info' | 'warn' | 'error'

export interface SyncLogger {
  log(level: LogLevel, message: string, fields?: LogFields): void
}

/**
 * Logs on stderr: readable lines by default, one JSON object per line (pino) with
 * `--log-format json`. Callers pass store URLs without credentials, never an endpoint or a secret.
 */
export function makeLogger(format: 'text' | 'json', write: (line: string) => void = (l) => process.stderr.write(l)): SyncLogger {
  if (format === 'json') {
    const logger = pino(
      {base: undefined, timestamp: pino.stdTimeFunctions.isoTime, formatters: {level: (label) => ({level: label})}, messageKey: 'msg'},
      {write: (line: string) => write(line)},
    )
    return {
      log(level, message, fields = {}) {
        logger[level]({cycle: null, package: null, release: null, ...fields}, message)
      },
    }
  }
  return {
    log(level, message, fields = {}) {
      const extra = Object.entries(fields)
        .filter(([, v]) => v !== undefined && v !== null)
        .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
      write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message}${extra.length > 0 ? `  ${extra.join(' ')}` : ''}\n`)
    },
  }
}
