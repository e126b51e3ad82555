import {UsageError} from '../errors.js'

/**
 * Durations without zod: the helpers the Airflow commands use at start-up (trigger's --timeout,
 * the connection's timeout), kept apart from the schemas of config/schema.ts so that loading them
 * loads no schema (config/schema.ts re-exports them).
 */

/** `30s`, `5m`, `6h`, `1d`, or a number of seconds: what `Duration` of config/schema.ts accepts. */
export type DurationValue = number | string

/** `30s` → 30, `5m` → 300; numbers are seconds already. */
export function durationSeconds(value: DurationValue): number {
  if (typeof value === 'number') return value
  const seconds = parseDurationText(value)
  if (seconds === undefined) throw new Error(`not a duration: ${value}`)
  return seconds
}

/**
 * A duration flag's value in milliseconds, or a UsageError (exit 2) naming the flag and showing
 * `example`, a command line that works. Zero and negative durations are refused.
 */
export function durationFlagMs(flag: string, text: string, example: string): number {
  const seconds = parseDurationText(text)
  if (seconds === undefined || seconds <= 0) {
    throw new UsageError(`--${flag} ${text}: expected a duration such as 30s, 10m or 2h`, {code: 'USAGE', hint: example})
  }
  return seconds * 1000
}

/** A duration typed on a command line: `30s`, `10m`, `2h`, `1d`, or bare seconds; undefined if it is none. */
export function parseDurationText(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d)?$/.exec(text)
  if (!m) return undefined
  return Number(m[1]) * {s: 1, m: 60, h: 3600, d: 86_400}[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd']
}
