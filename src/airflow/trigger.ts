import {setTimeout as sleep} from 'node:timers/promises'

import {CheckFailedError, TimeoutError} from '../errors.js'
import {uniqueHex} from '../util/unique.js'
import type {AirflowClient, ApiVersion, TaskInstance} from './client.js'

export interface TriggerRequest {
  dagId: string
  conf?: Record<string, unknown>
  /** an explicit run id (wins over correlationId) */
  runId?: string
  /** the same correlation id always gives the same run id, so a retried request starts one run */
  correlationId?: string
  unpause?: boolean
  note?: string
}

export interface TaskState {
  task_id: string
  state: string | null
  try_number?: number
  map_index?: number
}

/** The stable `--json` result of `trigger` (docs/trigger.md). */
export interface TriggerOutcome {
  dag_id: string
  run_id: string
  /** `triggered`: this call created the run; `already_triggered`: a run with this id existed (409) */
  status: 'triggered' | 'already_triggered'
  /** the run's state when last seen */
  state: string
  /** the run's page in the Airflow UI */
  url: string
  airflow: string
  api: ApiVersion
  /** the DAG is paused (after --unpause: false); its runs stay queued until it is unpaused */
  paused: boolean
  unpaused: boolean
  correlation_id?: string
  conf?: Record<string, unknown> | null
  /** after --wait: every task's state */
  tasks?: TaskState[]
}

/** Airflow's default allowed_run_id_pattern is ^[A-Za-z0-9_.~:+-]+$; stay inside it. */
const RUN_ID = /^[A-Za-z0-9_.~:+-]{1,250}$/

/**
 * The run id of a request: --run-id as given; else derived from the correlation id (a hash, so any
 * text is fine and the id is always valid); else fresh for this call. Always set, so retries inside
 * one call and a replay from the dead-letter file can never start a second run. node:crypto
 * (6-8 ms of CPU to load) is taken only for a correlation id's hash, which a plain trigger has not.
 */
export function runIdFor(req: Pick<TriggerRequest, 'runId' | 'correlationId'>, now: Date = new Date()): string {
  if (req.runId) return req.runId
  if (req.correlationId) return `dagctl__${process.getBuiltinModule('node:crypto').createHash('sha256').update(req.correlationId).digest('hex').slice(0, 32)}`
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
  return `dagctl__${stamp}_${uniqueHex(4)}`
}

export function isValidRunId(runId: string): boolean {
  return RUN_ID.test(runId)
}

/**
 * Triggers one run. Assumes the allowlist was checked (before any request). The DAG is read
 * (paused?) and the run posted concurrently: a paused DAG's run is created and stays queued, and
 * unpausing after the POST is as good as before it, so the common case costs one round trip.
 */
export async function triggerDag(client: AirflowClient, req: TriggerRequest, runId: string = runIdFor(req)): Promise<TriggerOutcome> {
  const api = await client.api()
  const [dag, result] = await Promise.all([client.getDag(req.dagId), client.triggerRun(req.dagId, runId, req.conf, req.note)])
  let paused = dag?.is_paused ?? false
  let unpaused = false
  if (paused && req.unpause) {
    await client.setPaused(req.dagId, false)
    paused = false
    unpaused = true
  }
  return {
    dag_id: req.dagId,
    run_id: runId,
    status: result.status === 'created' ? 'triggered' : 'already_triggered',
    state: result.run?.state ?? 'unknown',
    url: await client.runUiUrl(req.dagId, runId),
    airflow: client.displayUrl,
    api,
    paused,
    unpaused,
    ...(req.correlationId ? {correlation_id: req.correlationId} : {}),
    conf: result.run?.conf ?? req.conf ?? null,
  }
}

export const FINAL_STATES = new Set(['success', 'failed'])

export interface WaitOptions {
  timeoutMs: number
  /** the poll interval of the first STEADY_POLLS polls; it then grows to maxPollMs */
  pollMs?: number
  maxPollMs?: number
  onState?: (state: string) => void
  /** injected by unit tests */
  sleep?: (ms: number) => Promise<unknown>
}

/**
 * Polls at the first interval before it grows: a short run (a smoke DAG in CI, a local cluster's
 * one-task DAG) is seen ending within a second of it, where a growing interval saw it up to 3 s
 * late; a long run is then asked less and less often, at most each maxPollMs.
 */
export const STEADY_POLLS = 10

/**
 * Follows a run until it ends. Success returns the outcome with every task's state; a failed run
 * throws CheckFailedError (exit 1) naming the failed tasks; running out of time throws
 * TimeoutError (exit 124). Both carry the outcome in `details`.
 */
export async function waitForRun(client: AirflowClient, outcome: TriggerOutcome, options: WaitOptions): Promise<TriggerOutcome> {
  const deadline = Date.now() + options.timeoutMs
  let poll = options.pollMs ?? 1000
  const maxPoll = options.maxPollMs ?? 5000
  const wait = options.sleep ?? sleep
  let polls = 0
  let state = outcome.state
  let lastReported = ''
  for (;;) {
    const run = await client.getRun(outcome.dag_id, outcome.run_id)
    state = run.state
    if (state !== lastReported) {
      options.onState?.(state)
      lastReported = state
    }
    if (FINAL_STATES.has(state)) break
    const left = deadline - Date.now()
    if (left <= 0) {
      const current = {...outcome, state, tasks: summarise(await client.taskInstances(outcome.dag_id, outcome.run_id).catch(() => []))}
      throw new TimeoutError(`run ${outcome.run_id} of ${outcome.dag_id} is still ${state} after ${Math.round(options.timeoutMs / 1000)} s`, {
        code: 'WAIT_TIMEOUT',
        hint: `It goes on in Airflow: ${outcome.url} . Follow it with \`dagctl runs ${outcome.dag_id}\`${outcome.paused ? '; the DAG is paused, so the run stays queued until it is unpaused (--unpause)' : ''}.`,
        details: current as unknown as Record<string, unknown>,
      })
    }
    await wait(Math.min(poll, left))
    if (++polls >= STEADY_POLLS) poll = Math.min(maxPoll, Math.round(poll * 1.5))
  }
  const tasks = summarise(await client.taskInstances(outcome.dag_id, outcome.run_id))
  const done = {...outcome, state, tasks}
  if (state === 'failed') {
    const failed = tasks.filter((t) => t.state === 'failed' || t.state === 'upstream_failed')
    const names = failed.map((t) => `${t.task_id} (${t.state})`).join(', ')
    throw new CheckFailedError(`run ${outcome.run_id} of ${outcome.dag_id} failed${names ? `: ${names}` : ''}`, {
      code: 'RUN_FAILED',
      hint: `See the task logs in Airflow: ${outcome.url}`,
      details: done as unknown as Record<string, unknown>,
    })
  }
  return done
}

function summarise(tasks: TaskInstance[]): TaskState[] {
  return tasks
    .map((t) => ({task_id: t.task_id, state: t.state, ...(t.try_number === undefined ? {} : {try_number: t.try_number}), ...(t.map_index !== undefined && t.map_index >= 0 ? {map_index: t.map_index} : {})}))
    .sort((a, b) => a.task_id.localeCompare(b.task_id))
}
