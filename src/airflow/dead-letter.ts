import {appendFileSync, existsSync, mkdirSync, readFileSync} from 'node:fs'
import path from 'node:path'

import {ConfigError} from '../errors.js'
import type {SecretScrubber} from './redact.js'
import {writeFileAtomic} from '../util/atomic-write.js'
import {uniqueHex} from '../util/unique.js'

/**
 * A trigger that finally failed, as one JSON line of the dead-letter file: enough to send it
 * again (`dagctl trigger --replay FILE`) and to see why it failed. Never a credential: the
 * Airflow address is stored without user:password, and every string passes the scrubber.
 */
export interface DeadLetter {
  version: 1
  id: string
  /** when it failed, ISO 8601 */
  at: string
  env: string
  /** the Airflow it was meant for (printable form) */
  airflow: string
  dag_id: string
  /** the run id it was sent with: a replay reuses it, so a request that did arrive is not run twice */
  run_id: string
  conf?: Record<string, unknown>
  correlation_id?: string
  unpause?: boolean
  note?: string
  /** where it came from: `cli`, `event` (a DataHub event), `replay` */
  source: string
  error: {code: string; message: string}
  /** how many replays failed since */
  replays: number
}

export const DEFAULT_DLQ = '.dagctl/trigger-dead-letters.jsonl'

export function newDeadLetterId(): string {
  return uniqueHex(8)
}

export function readDeadLetters(file: string): DeadLetter[] {
  if (!existsSync(file)) return []
  const letters: DeadLetter[] = []
  const lines = readFileSync(file, 'utf8').split('\n')
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch (error) {
      throw new ConfigError(`dead-letter file line ${i + 1} is not JSON: ${(error as Error).message}`, {file, line: i + 1, hint: 'Each line is one JSON object written by dagctl trigger; remove or fix the damaged line.'})
    }
    const l = value as Partial<DeadLetter>
    if (typeof l !== 'object' || l === null || typeof l.dag_id !== 'string' || typeof l.run_id !== 'string') {
      throw new ConfigError(`dead-letter file line ${i + 1} has no dag_id/run_id`, {file, line: i + 1, hint: 'Each line is one JSON object written by dagctl trigger; remove or fix the damaged line.'})
    }
    letters.push({replays: 0, source: 'cli', ...l} as DeadLetter)
  }
  return letters
}

/** The whole file replaced at once (temp file + rename): a crash leaves the old or the new list, never half. */
export function writeDeadLetters(file: string, letters: DeadLetter[]): void {
  writeFileAtomic(file, letters.map((l) => `${JSON.stringify(l)}\n`).join(''), {mode: 0o600})
}

/**
 * One line, one write with O_APPEND: two dagctl processes failing at once (an incident and the
 * DataHub Action) both land, whole, without a lock. (A replay running at that moment rewrites the
 * file and may drop a line appended meanwhile: replay when nothing else is triggering.)
 */
export function appendDeadLetter(file: string, letter: DeadLetter, scrubber: SecretScrubber): void {
  mkdirSync(path.dirname(file), {recursive: true})
  appendFileSync(file, `${JSON.stringify(scrubber.scrubValue(letter))}\n`, {mode: 0o600})
}
