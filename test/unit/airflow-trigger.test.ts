import {readFileSync} from 'node:fs'
import path from 'node:path'
import {MockAgent} from 'undici'
import {afterEach, describe, expect, it} from 'vitest'

import {allowPatterns, assertAllowed} from '../../src/airflow/allowlist.js'
import {AirflowClient} from '../../src/airflow/client.js'
import {readDeadLetters, writeDeadLetters, type DeadLetter} from '../../src/airflow/dead-letter.js'
import {replayDeadLetters, triggerOrDeadLetter} from '../../src/airflow/operate.js'
import {isValidRunId, runIdFor, STEADY_POLLS, waitForRun, type TriggerOutcome} from '../../src/airflow/trigger.js'
import {DagctlError, PolicyError} from '../../src/errors.js'
import {tempDir} from '../helpers/tmp.js'
import {undiciTransport} from '../helpers/undici-transport.js'

const BASE = 'http://airflow.test'

describe('allowlist', () => {
  it('defaults to the package\'s own DAGs and takes globs', () => {
    const own = allowPatterns({package: 'team_a', trigger: {}})
    expect(own).toEqual(['team_a_*'])
    expect(() => assertAllowed('team_a_daily', own)).not.toThrow()
    for (const id of ['team_b_daily', 'team_a', 'xteam_a_daily']) expect(() => assertAllowed(id, own)).toThrow(PolicyError)
    const configured = allowPatterns({package: 'team_a', trigger: {allow: ['shared_smoke_?', 'team_a_*']}})
    expect(() => assertAllowed('shared_smoke_1', configured)).not.toThrow()
    expect(() => assertAllowed('shared_smoke_12', configured)).toThrow(PolicyError)
  })
})

describe('run ids', () => {
  it('come from --run-id, or the correlation id (stable), or fresh; always valid for Airflow', () => {
    expect(runIdFor({runId: 'mine'})).toBe('mine')
    expect(runIdFor({correlationId: 'any text: / ? # ü'})).toBe(runIdFor({correlationId: 'any text: / ? # ü'}))
    expect(runIdFor({correlationId: 'a'})).not.toBe(runIdFor({correlationId: 'b'}))
    const fresh = runIdFor({}, new Date('2026-01-02T03:04:05.678Z'))
    expect(fresh).toMatch(/^dagctl__20260102T030405Z_[0-9a-f]{8}$/)
    for (const id of [fresh, runIdFor({correlationId: 'x'})]) expect(isValidRunId(id)).toBe(true)
    expect(isValidRunId('has space')).toBe(false)
  })
})

describe('dead letters and replay', () => {
  let agent: MockAgent | undefined
  afterEach(async () => {
    await agent?.close()
    agent = undefined
  })

  function client(password = 'pw-never-printed') {
    agent = new MockAgent()
    agent.disableNetConnect()
    const c = new AirflowClient({url: BASE, api: 'v1', credentials: {username: 'admin', password}, transport: undiciTransport(agent), retries: 1, sleep: async () => {}})
    return {c, pool: agent.get(BASE)}
  }

  it('a trigger that finally fails is appended without secrets, and exit 4 names the file', async () => {
    const {c, pool} = client()
    const dlqFile = path.join(tempDir(), 'dlq.jsonl')
    pool.intercept({path: '/api/v1/dags/team_a_x', method: 'GET'}).reply(503, {detail: 'pw-never-printed is down'}).times(2)
    pool.intercept({path: '/api/v1/dags/team_a_x/dagRuns', method: 'POST'}).reply(503, {detail: 'down'}).times(2)
    const error = (await triggerOrDeadLetter({client: c, allow: ['team_a_*'], dlqFile, env: 'prod'}, {dagId: 'team_a_x', conf: {k: 'v'}, correlationId: 'c-1'}, 'cli').catch((e: unknown) => e)) as DagctlError
    expect(error.exitCode).toBe(4)
    expect(error.details).toMatchObject({dead_letter: dlqFile, run_id: runIdFor({correlationId: 'c-1'})})
    const text = readFileSync(dlqFile, 'utf8')
    expect(text).not.toContain('pw-never-printed')
    expect(readDeadLetters(dlqFile)).toEqual([expect.objectContaining({dag_id: 'team_a_x', run_id: runIdFor({correlationId: 'c-1'}), conf: {k: 'v'}, env: 'prod', airflow: BASE, source: 'cli'})])
  })

  it('a refusal by policy sends nothing and is no dead letter', async () => {
    const {c} = client()
    const dlqFile = path.join(tempDir(), 'dlq.jsonl')
    // MockAgent with no intercepts: any request would fail the test with a different error
    await expect(triggerOrDeadLetter({client: c, allow: ['team_a_*'], dlqFile, env: 'dev'}, {dagId: 'other_x'}, 'cli')).rejects.toBeInstanceOf(PolicyError)
    expect(readDeadLetters(dlqFile)).toEqual([])
  })

  it('replay removes what went through (or was there), keeps failures and letters for another Airflow', async () => {
    const {c, pool} = client()
    const dlqFile = path.join(tempDir(), 'dlq.jsonl')
    const letter = (id: string, extra: Partial<DeadLetter> = {}): DeadLetter => ({version: 1, id, at: '2026-01-01T00:00:00Z', env: 'dev', airflow: BASE, dag_id: `team_a_${id}`, run_id: `r_${id}`, source: 'cli', error: {code: 'X', message: 'x'}, replays: 0, ...extra})
    writeDeadLetters(dlqFile, [letter('ok', {conf: {a: 1}}), letter('dup'), letter('down'), letter('elsewhere', {airflow: 'https://prod.example.com'})])
    for (const id of ['ok', 'dup', 'down']) pool.intercept({path: `/api/v1/dags/team_a_${id}`, method: 'GET'}).reply(200, {dag_id: `team_a_${id}`, is_paused: false})
    pool.intercept({path: '/api/v1/dags/team_a_ok/dagRuns', method: 'POST', body: JSON.stringify({dag_run_id: 'r_ok', conf: {a: 1}})}).reply(200, {dag_id: 'team_a_ok', dag_run_id: 'r_ok', state: 'queued'})
    pool.intercept({path: '/api/v1/dags/team_a_dup/dagRuns', method: 'POST'}).reply(409, {title: 'exists'})
    pool.intercept({path: '/api/v1/dags/team_a_dup/dagRuns/r_dup', method: 'GET'}).reply(200, {dag_id: 'team_a_dup', dag_run_id: 'r_dup', state: 'success'})
    pool.intercept({path: '/api/v1/dags/team_a_down/dagRuns', method: 'POST'}).reply(500, {title: 'boom'}).times(2)
    const error = (await replayDeadLetters({client: c, allow: ['team_a_*'], dlqFile, env: 'dev'}, dlqFile).catch((e: unknown) => e)) as DagctlError
    expect(error.exitCode).toBe(4)
    expect(error.details).toMatchObject({
      replayed: [expect.objectContaining({id: 'ok', status: 'triggered'}), expect.objectContaining({id: 'dup', status: 'already_triggered'})],
      failed: [expect.objectContaining({id: 'down'})],
      skipped: [expect.objectContaining({id: 'elsewhere'})],
      remaining: 2,
    })
    const left = readDeadLetters(dlqFile)
    expect(left.map((l) => [l.id, l.replays])).toEqual([
      ['down', 1],
      ['elsewhere', 0],
    ])
  })

  it('a damaged dead-letter file is a usage error at its line', () => {
    const dir = tempDir({'dlq.jsonl': '{"dag_id": "a", "run_id": "b"}\n{oops\n'})
    try {
      readDeadLetters(path.join(dir, 'dlq.jsonl'))
      expect.unreachable()
    } catch (error) {
      expect((error as DagctlError).exitCode).toBe(2)
      expect((error as DagctlError).location.line).toBe(2)
    }
  })
})

describe('trigger --wait polling', () => {
  it('polls each second for the first polls, then less and less often, up to every 5 s', async () => {
    const polls = STEADY_POLLS + 6
    let asked = 0
    const client = {
      getRun: async () => ({state: ++asked > polls ? 'success' : 'running'}),
      taskInstances: async () => [{task_id: 't', state: 'success'}],
    } as unknown as AirflowClient
    const sleeps: number[] = []
    const outcome = {dag_id: 'team_a_x', run_id: 'r', status: 'triggered', state: 'queued', url: '', airflow: '', api: 'v2', paused: false, unpaused: false} as unknown as TriggerOutcome
    const done = await waitForRun(client, outcome, {timeoutMs: 3_600_000, sleep: async (ms) => sleeps.push(ms)})
    expect(done.state).toBe('success')
    expect(sleeps).toEqual([...Array.from({length: STEADY_POLLS}, () => 1000), 1500, 2250, 3375, 5000, 5000, 5000])
  })
})
