import {readFileSync} from 'node:fs'

import {durationFlagMs} from '../config/duration.js'
import {UsageError} from '../errors.js'

/** `--timeout` of `trigger --wait`: `30s`, `10m`, `2h`, or plain seconds; default 30 minutes. */
export function parseWaitTimeout(value: string | undefined): number {
  return durationFlagMs('timeout', value ?? '30m', 'dagctl trigger DAG_ID --wait --timeout 10m')
}

/** `--conf`: a JSON object, or `@FILE` holding one (Airflow takes a run's conf as an object). */
export async function readConf(value: string): Promise<Record<string, unknown>> {
  const file = value.startsWith('@') ? value.slice(1) : undefined
  const text = file === undefined ? value : await readText(file, '--conf')
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new UsageError(`--conf is not valid JSON: ${(error as Error).message}`, {
      file,
      hint: 'Pass a JSON object, e.g. --conf \'{"date": "2026-01-01"}\', or --conf @conf.json.',
    })
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError('--conf must be a JSON object', {hint: 'Airflow takes a run\'s conf as an object: --conf \'{"key": "value"}\'.'})
  }
  return parsed as Record<string, unknown>
}

/** `--event FILE` or `--event -` (stdin, as the DataHub Action sends it). */
export async function readEventText(arg: string, resolve: (p: string) => string): Promise<string> {
  if (arg !== '-') return readText(resolve(arg), '--event')
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

// read at once: a conf or an event is small, and node:fs/promises is one more builtin to load at a trigger's start
async function readText(file: string, flag: string): Promise<string> {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    throw new UsageError(`${flag}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {file, hint: 'Check the path.'})
  }
}
