import {MockAgent} from 'undici'
import {afterEach, describe, expect, it} from 'vitest'

import {AirflowClient, type AirflowClientOptions} from '../../src/airflow/client.js'
import {backoffDelay, parseRetryAfter, retryDelay} from '../../src/airflow/retry.js'
import {DagctlError, RemoteError} from '../../src/errors.js'
import {undiciTransport} from '../helpers/undici-transport.js'

const BASE = 'http://airflow.test'

describe('retry schedule', () => {
  it('backs off exponentially with equal jitter, capped', () => {
    const lo = () => 0
    const hi = () => 0.999_999
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, {random: lo}))).toEqual([125, 250, 500, 1000])
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, {random: hi}))).toEqual([250, 500, 1000, 2000])
    expect(backoffDelay(20, {random: hi, capMs: 5000})).toBe(5000)
    expect(backoffDelay(20, {random: lo, capMs: 5000})).toBe(2500)
  })

  it('reads Retry-After as seconds or an HTTP date, and prefers it to backoff (capped)', () => {
    const now = Date.parse('2026-01-01T00:00:00Z')
    expect(parseRetryAfter('7', now)).toBe(7000)
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:03 GMT', now)).toBe(3000)
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0)
    expect(parseRetryAfter('soon', now)).toBeUndefined()
    expect(parseRetryAfter(undefined, now)).toBeUndefined()
    expect(retryDelay(0, 7000)).toBe(7000)
    expect(retryDelay(0, 3_600_000, {capMs: 30_000})).toBe(30_000)
  })
})

describe('AirflowClient over a mocked HTTP edge', () => {
  let agent: MockAgent | undefined

  afterEach(async () => {
    await agent?.close()
    agent = undefined
  })

  function client(extra: Partial<AirflowClientOptions> = {}) {
    agent = new MockAgent()
    agent.disableNetConnect()
    const sleeps: number[] = []
    const lines: string[] = []
    const c = new AirflowClient({
      url: BASE,
      transport: undiciTransport(agent),
      sleep: async (ms) => {
        sleeps.push(ms)
      },
      backoff: {random: () => 0},
      log: (l) => lines.push(l),
      ...extra,
    })
    return {c, pool: agent.get(BASE), sleeps, lines}
  }

  it('retries 5xx with backoff and honours Retry-After on 429', async () => {
    const {c, pool, sleeps} = client({api: 'v2', credentials: {token: 'tok-123456'}, retries: 3})
    pool.intercept({path: '/api/v2/dags/team_a_x', method: 'GET'}).reply(503, {detail: 'down'})
    pool.intercept({path: '/api/v2/dags/team_a_x', method: 'GET'}).reply(429, {detail: 'slow down'}, {headers: {'retry-after': '2'}})
    pool.intercept({path: '/api/v2/dags/team_a_x', method: 'GET'}).reply(502, 'bad gateway')
    pool.intercept({path: '/api/v2/dags/team_a_x', method: 'GET'}).reply(200, {dag_id: 'team_a_x', is_paused: true})
    expect(await c.getDag('team_a_x')).toEqual({dag_id: 'team_a_x', is_paused: true})
    // 125 ms backoff, then the server's 2 s, then 500 ms backoff (attempt 2, no jitter)
    expect(sleeps).toEqual([125, 2000, 500])
  })

  it('retries network errors, then gives up with exit 4 and how many attempts it made', async () => {
    const {c, pool, sleeps} = client({api: 'v2', credentials: {token: 'tok-123456'}, retries: 2})
    pool.intercept({path: '/api/v2/dags/team_a_x', method: 'GET'}).replyWithError(new Error('connect ECONNREFUSED')).times(3)
    const error = await c.getDag('team_a_x').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RemoteError)
    expect((error as DagctlError).exitCode).toBe(4)
    expect((error as DagctlError).code).toBe('AIRFLOW_UNREACHABLE')
    expect((error as DagctlError).details).toMatchObject({attempts: 3})
    expect(sleeps).toEqual([125, 250])
  })

  it.each([400, 404, 409, 422])('never retries a %i', async (status) => {
    const {c, pool, sleeps} = client({api: 'v1', credentials: {username: 'u', password: 'p4ssw0rd'}, retries: 5})
    pool.intercept({path: '/api/v1/dags/team_a_x/dagRuns', method: 'POST'}).reply(status, {title: 'no', detail: 'nope', status})
    pool.intercept({path: '/api/v1/dags/team_a_x/dagRuns/r1', method: 'GET'}).reply(200, {dag_id: 'team_a_x', dag_run_id: 'r1', state: 'running'})
    const result = await c.triggerRun('team_a_x', 'r1', {a: 1}).catch((e: unknown) => e)
    expect(sleeps).toEqual([])
    if (status === 409) expect(result).toMatchObject({status: 'exists', run: {state: 'running'}})
    else expect(result).toBeInstanceOf(RemoteError)
  })

  it('detects v2, exchanges username/password for a token once, and renews it once on 401', async () => {
    const {c, pool} = client({credentials: {username: 'admin', password: 's3cret-pw'}})
    pool.intercept({path: '/api/v2/version', method: 'GET'}).reply(200, {version: '3.3.2'})
    const logins: unknown[] = []
    pool
      .intercept({path: '/auth/token', method: 'POST'})
      .reply(201, (opts) => {
        logins.push(JSON.parse(String(opts.body)))
        return {access_token: `tok-${logins.length}-xxxxxxxx`}
      })
      .times(2)
    pool.intercept({path: '/api/v2/dags/a', method: 'GET', headers: {authorization: 'Bearer tok-1-xxxxxxxx'}}).reply(200, {dag_id: 'a', is_paused: false}).times(2)
    pool.intercept({path: '/api/v2/dags/b', method: 'GET', headers: {authorization: 'Bearer tok-1-xxxxxxxx'}}).reply(401, {detail: 'Token Expired'})
    pool.intercept({path: '/api/v2/dags/b', method: 'GET', headers: {authorization: 'Bearer tok-2-xxxxxxxx'}}).reply(200, {dag_id: 'b', is_paused: true})
    expect(await c.api()).toBe('v2')
    // two concurrent calls share one login
    await Promise.all([c.getDag('a'), c.getDag('a')])
    expect(logins).toHaveLength(1)
    expect(await c.getDag('b')).toEqual({dag_id: 'b', is_paused: true})
    expect(logins).toEqual([{username: 'admin', password: 's3cret-pw'}, {username: 'admin', password: 's3cret-pw'}])
  })

  it('falls back to v1 (Airflow 2) and sends Basic auth there', async () => {
    const {c, pool} = client({credentials: {username: 'admin', password: 'pw-123456'}})
    pool.intercept({path: '/api/v2/version', method: 'GET'}).reply(404, {detail: 'Not Found'})
    pool.intercept({path: '/api/v1/version', method: 'GET'}).reply(200, {version: '2.11.2'})
    pool.intercept({path: '/api/v1/dags/a?update_mask=is_paused', method: 'PATCH', headers: {authorization: `Basic ${Buffer.from('admin:pw-123456').toString('base64')}`}, body: '{"is_paused":false}'}).reply(200, {dag_id: 'a', is_paused: false})
    await c.setPaused('a', false)
    expect(await c.api()).toBe('v1')
    expect(await c.runUiUrl('a', 'r:1')).toBe(`${BASE}/dags/a/grid?dag_run_id=r%3A1`)
  })

  it('a refused login is exit 4 with a hint, and no secret in the message or the verbose lines', async () => {
    const {c, pool, lines} = client({credentials: {username: 'admin', password: 'hunter2-secret'}})
    pool.intercept({path: '/api/v2/version', method: 'GET'}).reply(200, {version: '3.3.2'})
    pool.intercept({path: '/auth/token', method: 'POST'}).reply(401, {detail: 'Invalid credentials hunter2-secret'})
    const error = (await c.getDag('a').catch((e: unknown) => e)) as DagctlError
    expect(error.exitCode).toBe(4)
    expect(error.code).toBe('AIRFLOW_AUTH')
    expect(error.hint).toMatch(/DAGCTL_AIRFLOW_PASSWORD/)
    expect(JSON.stringify(error.toJSON()) + lines.join('\n')).not.toContain('hunter2-secret')
  })

  it('scrubs a token echoed back in an error body', async () => {
    const {c, pool} = client({api: 'v2', credentials: {token: 'eyJ-very-secret-token'}})
    pool.intercept({path: '/api/v2/dags/a/dagRuns', method: 'POST'}).reply(400, {detail: 'bad header Bearer eyJ-very-secret-token'})
    const error = (await c.triggerRun('a', 'r', undefined).catch((e: unknown) => e)) as DagctlError
    expect(error.message).toContain('********')
    expect(error.message).not.toContain('eyJ-very-secret-token')
  })
})
