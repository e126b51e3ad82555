import {readFileSync} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'

import {RemoteError} from '../errors.js'
import {NodeHttpTransport, type HttpTransport} from './http.js'
import {SecretScrubber, safeUrl} from './redact.js'
import {DEFAULT_RETRIES, isRetryableStatus, parseRetryAfter, retryDelay, type BackoffOptions} from './retry.js'

/** `v1` = Airflow 2's stable API (/api/v1); `v2` = Airflow 3's public API (/api/v2). */
export type ApiVersion = 'v1' | 'v2'

export interface AirflowCredentials {
  username?: string
  password?: string
  /** a bearer token: used as is, on either version */
  token?: string
}

export interface AirflowClientOptions {
  /** base URL of the Airflow webserver / api-server, e.g. https://airflow.example.com */
  url: string
  credentials?: AirflowCredentials
  /** pin the API instead of detecting it */
  api?: ApiVersion
  /** per request, ms (default 30 s) */
  timeoutMs?: number
  /** retries after the first try, on network errors, 429 and 5xx (default 3) */
  retries?: number
  /** PEM bundle of CAs to trust */
  caFile?: string
  /** the HTTP edge (node:http by default); unit tests inject one */
  transport?: HttpTransport
  /** --verbose lines (method, path, status, time: never a header or a body) */
  log?: (line: string) => void
  backoff?: BackoffOptions
  /** injectable for retry tests */
  sleep?: (ms: number) => Promise<void>
}

export interface AirflowResponse<T = unknown> {
  status: number
  body: T
}

export interface DagInfo {
  dag_id: string
  is_paused: boolean
}

export interface DagRun {
  dag_id: string
  dag_run_id: string
  state: string
  conf?: Record<string, unknown> | null
  logical_date?: string | null
  start_date?: string | null
  end_date?: string | null
  queued_at?: string | null
  run_type?: string
  note?: string | null
}

export interface TaskInstance {
  task_id: string
  state: string | null
  try_number?: number
  start_date?: string | null
  end_date?: string | null
  map_index?: number
}

export interface ImportError {
  import_error_id: number
  filename: string
  timestamp: string
  stack_trace: string
  bundle_name?: string | null
}

export type TriggerResult = {status: 'created'; run: DagRun} | {status: 'exists'; run: DagRun | undefined}

const DEFAULT_TIMEOUT_MS = 30_000
/** renew a v2 token this long before it expires */
const TOKEN_MARGIN_MS = 30_000

class HttpFailure extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message)
  }
}

/**
 * The Airflow REST client: API detection (v2 for Airflow 3, v1 for Airflow 2), authentication
 * (Basic on v1, username/password exchanged for a token on v2 and renewed once on 401, or a given
 * bearer token), retries with backoff and jitter on network errors, 429 and 5xx (Retry-After
 * honoured), never on another 4xx. Nothing secret leaves it: errors and log lines are scrubbed.
 */
export class AirflowClient {
  readonly baseUrl: string
  readonly scrubber: SecretScrubber
  private apiVersion?: ApiVersion
  private detecting?: Promise<ApiVersion>
  private accessToken?: {value: string; expiresAt: number}
  private loggingIn?: Promise<{value: string; expiresAt: number}>
  private readonly transport: HttpTransport
  private readonly ownsTransport: boolean
  private readonly options: AirflowClientOptions

  constructor(options: AirflowClientOptions) {
    this.options = options
    this.baseUrl = options.url.replace(/\/+$/, '')
    this.apiVersion = options.api
    const c = options.credentials ?? {}
    this.scrubber = new SecretScrubber([c.password, c.token])
    if (c.username && c.password) this.scrubber.add(Buffer.from(`${c.username}:${c.password}`).toString('base64'))
    if (options.transport) {
      this.transport = options.transport
      this.ownsTransport = false
    } else {
      this.transport = new NodeHttpTransport({ca: options.caFile ? readFileSync(options.caFile) : undefined, maxSockets: 4})
      this.ownsTransport = true
    }
  }

  /** The printable address (no credentials). */
  get displayUrl(): string {
    return safeUrl(this.baseUrl)
  }

  async close(): Promise<void> {
    if (this.ownsTransport) await this.transport.close()
  }

  /** v2 when /api/v2/version answers (Airflow 3), else v1 when /api/v1/version does (Airflow 2). */
  async api(): Promise<ApiVersion> {
    if (this.apiVersion) return this.apiVersion
    // concurrent callers share one detection
    this.detecting ??= this.detect().finally(() => {
      this.detecting = undefined
    })
    return this.detecting
  }

  private async detect(): Promise<ApiVersion> {
    // Not logging in while the probe is on its way: on Airflow 2 that would send a request its API
    // does not have (the contract tests hold every body to the version's OpenAPI spec).
    const v2 = await this.send('GET', '/api/v2/version', {auth: false})
    if (v2.status === 200) return (this.apiVersion = 'v2')
    const v1 = await this.send('GET', '/api/v1/version', {auth: false})
    if (v1.status === 200) return (this.apiVersion = 'v1')
    // Airflow 2 without the version endpoint open still answers 401 there
    if (v1.status === 401 || v1.status === 403) return (this.apiVersion = 'v1')
    throw new RemoteError(`no Airflow REST API at ${this.displayUrl} (/api/v2/version: ${v2.status}, /api/v1/version: ${v1.status})`, {
      code: 'AIRFLOW_NOT_FOUND',
      hint: 'Check environments.<env>.airflow.url, DAGCTL_AIRFLOW_URL or --airflow-url: it is the address of the Airflow UI, without /api.',
    })
  }

  /** The address of a run in the Airflow UI. */
  async runUiUrl(dagId: string, runId: string): Promise<string> {
    const base = this.displayUrl
    const dag = encodeURIComponent(dagId)
    const run = encodeURIComponent(runId)
    return (await this.api()) === 'v2' ? `${base}/dags/${dag}/runs/${run}` : `${base}/dags/${dag}/grid?dag_run_id=${run}`
  }

  async getDag(dagId: string): Promise<DagInfo | undefined> {
    const res = await this.call<DagInfo>('GET', `/dags/${encodeURIComponent(dagId)}`)
    if (res.status === 404) return undefined
    this.expectOk(res, `reading DAG ${dagId}`)
    return {dag_id: res.body.dag_id, is_paused: Boolean(res.body.is_paused)}
  }

  async setPaused(dagId: string, paused: boolean): Promise<void> {
    const v = await this.api()
    const query = v === 'v1' ? '?update_mask=is_paused' : ''
    const res = await this.call('PATCH', `/dags/${encodeURIComponent(dagId)}${query}`, {is_paused: paused})
    this.expectOk(res, `${paused ? 'pausing' : 'unpausing'} DAG ${dagId}`)
  }

  /**
   * POST a new run. A run id that exists already (409) is not an error here: the caller reports it
   * as already triggered, which is what makes a retried or redelivered request start one run.
   */
  async triggerRun(dagId: string, runId: string, conf: Record<string, unknown> | undefined, note?: string): Promise<TriggerResult> {
    const v = await this.api()
    // v2 requires logical_date to be present (null = "now, no data interval") and rejects unknown
    // fields; v1 takes neither logical_date nor note as required.
    const body: Record<string, unknown> = v === 'v2' ? {dag_run_id: runId, logical_date: null} : {dag_run_id: runId}
    if (conf !== undefined) body.conf = conf
    if (note !== undefined) body.note = note
    const res = await this.call<DagRun>('POST', `/dags/${encodeURIComponent(dagId)}/dagRuns`, body)
    if (res.status === 409) return {status: 'exists', run: await this.getRun(dagId, runId).catch(() => undefined)}
    if (res.status === 404) {
      throw new RemoteError(`DAG ${dagId} not found in Airflow at ${this.displayUrl}`, {
        code: 'DAG_NOT_FOUND',
        hint: `Is it published and parsed? \`dagctl errors\` lists Airflow's import errors; \`dagctl list\` what is published.`,
      })
    }
    this.expectOk(res, `triggering ${dagId}`)
    return {status: 'created', run: res.body}
  }

  async getRun(dagId: string, runId: string): Promise<DagRun> {
    const res = await this.call<DagRun>('GET', `/dags/${encodeURIComponent(dagId)}/dagRuns/${encodeURIComponent(runId)}`)
    this.expectOk(res, `reading run ${runId} of ${dagId}`)
    return res.body
  }

  /** The most recent runs first. */
  async listRuns(dagId: string, limit: number): Promise<DagRun[]> {
    const v = await this.api()
    const order = v === 'v2' ? '-run_after' : '-execution_date'
    const res = await this.call<{dag_runs: DagRun[]}>('GET', `/dags/${encodeURIComponent(dagId)}/dagRuns?order_by=${order}&limit=${limit}`)
    if (res.status === 404) {
      throw new RemoteError(`DAG ${dagId} not found in Airflow at ${this.displayUrl}`, {code: 'DAG_NOT_FOUND', hint: '`dagctl errors` lists the files Airflow could not import.'})
    }
    this.expectOk(res, `listing runs of ${dagId}`)
    return res.body.dag_runs
  }

  async taskInstances(dagId: string, runId: string): Promise<TaskInstance[]> {
    const res = await this.call<{task_instances: TaskInstance[]}>('GET', `/dags/${encodeURIComponent(dagId)}/dagRuns/${encodeURIComponent(runId)}/taskInstances`)
    this.expectOk(res, `reading the tasks of run ${runId}`)
    return res.body.task_instances
  }

  async importErrors(limit: number): Promise<{errors: ImportError[]; total: number}> {
    const res = await this.call<{import_errors: ImportError[]; total_entries: number}>('GET', `/importErrors?limit=${limit}`)
    this.expectOk(res, 'listing import errors')
    return {errors: res.body.import_errors, total: res.body.total_entries}
  }

  /** An authenticated call to `/api/<version><path>`; 2xx and 4xx other than auth come back to the caller. */
  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<AirflowResponse<T>> {
    const v = await this.api()
    const full = `/api/${v}${path}`
    let res = await this.send<T>(method, full, {body, auth: true})
    if (res.status === 401 && v === 'v2' && this.usesPasswordOnV2()) {
      // an expired token: log in again, once
      this.accessToken = undefined
      res = await this.send<T>(method, full, {body, auth: true})
    }
    if (res.status === 401 || res.status === 403) throw this.authError(res.status, full)
    return res
  }

  private usesPasswordOnV2(): boolean {
    const c = this.options.credentials ?? {}
    return !c.token && Boolean(c.username && c.password)
  }

  private authError(status: number, path: string): RemoteError {
    const c = this.options.credentials ?? {}
    const v = this.apiVersion
    const how = c.token ? 'the token (DAGCTL_AIRFLOW_TOKEN or environments.<env>.airflow.token)' : c.username ? 'DAGCTL_AIRFLOW_USERNAME / DAGCTL_AIRFLOW_PASSWORD (or environments.<env>.airflow.username/password)' : 'credentials: none are set; set DAGCTL_AIRFLOW_USERNAME and DAGCTL_AIRFLOW_PASSWORD, or DAGCTL_AIRFLOW_TOKEN'
    const backend = v === 'v1' ? ' On Airflow 2 the API must allow Basic auth: AIRFLOW__API__AUTH_BACKENDS=airflow.providers.fab.auth_manager.api.auth.backend.basic_auth.' : ''
    return new RemoteError(`Airflow at ${this.displayUrl} refused the credentials (${status} on ${pathOnly(path)})`, {
      code: 'AIRFLOW_AUTH',
      hint: `Check ${how}.${status === 403 ? ' A 403 can also mean the user lacks the permission for this action.' : ''}${backend}`,
    })
  }

  private async authHeader(): Promise<string | undefined> {
    const c = this.options.credentials ?? {}
    if (c.token) return `Bearer ${c.token}`
    if (!c.username || !c.password) return undefined
    if (this.apiVersion === 'v1') return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`
    const token = this.accessToken && this.accessToken.expiresAt - TOKEN_MARGIN_MS > Date.now() ? this.accessToken : await this.ensureLogin()
    return `Bearer ${token.value}`
  }

  /**
   * One login at a time: concurrent requests share it. A failed
   * login stays failed for this client (same credentials, same answer): no second request.
   */
  private ensureLogin(): Promise<{value: string; expiresAt: number}> {
    const c = this.options.credentials ?? {}
    this.loggingIn ??= this.login(c.username ?? '', c.password ?? '').then((token) => {
      this.loggingIn = undefined
      return (this.accessToken = token)
    })
    return this.loggingIn
  }

  /** Airflow 3: POST /auth/token {username, password} → 201 {access_token}. */
  private async login(username: string, password: string): Promise<{value: string; expiresAt: number}> {
    const res = await this.send<{access_token?: string; detail?: unknown}>('POST', '/auth/token', {body: {username, password}, auth: false})
    if ((res.status !== 200 && res.status !== 201) || typeof res.body?.access_token !== 'string') {
      if (res.status === 401 || res.status === 403 || res.status === 422 || res.status === 400) throw this.authError(res.status, '/auth/token')
      throw new RemoteError(`Airflow at ${this.displayUrl} answered ${res.status} to POST /auth/token`, {
        code: 'AIRFLOW_AUTH',
        hint: 'The api-server may use an auth manager without /auth/token (e.g. FAB or Keycloak): get a token from it and set DAGCTL_AIRFLOW_TOKEN.',
      })
    }
    const value = res.body.access_token
    this.scrubber.add(value)
    return {value, expiresAt: jwtExpiry(value) ?? Date.now() + 10 * 60_000}
  }

  private expectOk(res: AirflowResponse<unknown>, what: string): void {
    if (res.status >= 200 && res.status < 300) return
    throw new RemoteError(this.scrubber.scrub(`Airflow answered ${res.status} when ${what}: ${problemDetail(res.body)}`), {
      code: `AIRFLOW_HTTP_${res.status}`,
      hint: res.status === 422 || res.status === 400 ? 'Airflow rejected the request: check the conf and the run id (letters, digits, _ . ~ : + -).' : 'Run again with --verbose to see each request.',
    })
  }

  /** One request with retries. Returns any response that is not worth retrying; throws RemoteError when the retries run out. */
  private async send<T>(method: string, path: string, opts: {body?: unknown; auth: boolean}): Promise<AirflowResponse<T>> {
    const retries = this.options.retries ?? DEFAULT_RETRIES
    const wait = this.options.sleep ?? ((ms: number) => sleep(ms))
    const log = this.options.log
    let lastFailure: HttpFailure | undefined
    for (let attempt = 0; attempt <= retries; attempt++) {
      let retryAfterMs: number | undefined
      const started = Date.now()
      try {
        const headers: Record<string, string> = {accept: 'application/json'}
        if (opts.body !== undefined) headers['content-type'] = 'application/json'
        if (opts.auth) {
          const auth = await this.authHeader()
          if (auth) headers.authorization = auth
        }
        const res = await this.transport.send({
          method,
          url: `${this.baseUrl}${path}`,
          headers,
          body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
          timeoutMs: this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        })
        log?.(`${method} ${path} → ${res.status} (${Date.now() - started} ms)${attempt > 0 ? ` [retry ${attempt}]` : ''}`)
        if (!isRetryableStatus(res.status)) return {status: res.status, body: parseBody(res.text) as T}
        retryAfterMs = parseRetryAfter(res.headers['retry-after'])
        lastFailure = new HttpFailure(`${res.status} ${problemDetail(parseBody(res.text))}`, res.status)
      } catch (error) {
        if (error instanceof RemoteError) throw error
        const reason = networkReason(error)
        log?.(`${method} ${path} → ${reason} (${Date.now() - started} ms)${attempt > 0 ? ` [retry ${attempt}]` : ''}`)
        lastFailure = new HttpFailure(reason, undefined)
      }
      if (attempt < retries) {
        const delay = retryDelay(attempt, retryAfterMs, this.options.backoff)
        log?.(`  retrying in ${delay} ms`)
        await wait(delay)
      }
    }
    const unreachable = lastFailure?.status === undefined
    throw new RemoteError(this.scrubber.scrub(`${method} ${this.displayUrl}${pathOnly(path)} failed after ${retries + 1} attempt${retries === 0 ? '' : 's'}: ${lastFailure?.message ?? 'unknown error'}`), {
      code: unreachable ? 'AIRFLOW_UNREACHABLE' : 'AIRFLOW_UNAVAILABLE',
      hint: unreachable
        ? 'Is Airflow up and the URL right (environments.<env>.airflow.url, DAGCTL_AIRFLOW_URL, --airflow-url)? --retries N tries longer.'
        : 'Airflow is overloaded or failing; try again later, or with --retries N.',
      details: {attempts: retries + 1, ...(lastFailure?.status ? {status: lastFailure.status} : {})},
    })
  }
}

function pathOnly(path: string): string {
  return path.split('?')[0]
}

function parseBody(text: string): unknown {
  if (text === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    return text.slice(0, 500)
  }
}

/** problem+json (v1: title/detail) or FastAPI (v2: detail as string, object or list). */
export function problemDetail(body: unknown): string {
  if (body === undefined || body === null) return 'no body'
  if (typeof body === 'string') return body
  const b = body as {title?: unknown; detail?: unknown}
  const detail = b.detail
  if (typeof detail === 'string') return b.title && b.title !== detail ? `${String(b.title)}: ${detail}` : detail
  if (Array.isArray(detail)) return detail.map((d: {loc?: unknown[]; msg?: string}) => `${(d.loc ?? []).join('.')}: ${d.msg ?? ''}`).join('; ')
  if (detail && typeof detail === 'object') {
    const d = detail as {reason?: unknown; message?: unknown}
    return String(d.reason ?? d.message ?? JSON.stringify(detail))
  }
  if (typeof b.title === 'string') return b.title
  return JSON.stringify(body).slice(0, 300)
}

function networkReason(error: unknown): string {
  const e = error as {code?: string; message?: string; cause?: {code?: string; message?: string}}
  const code = e.code ?? e.cause?.code
  const msg = e.message ?? String(error)
  return code ? `${code}${msg && !msg.includes(code) ? ` (${msg})` : ''}` : msg
}

/** `exp` of a JWT in ms, without verifying it (the server does that). */
function jwtExpiry(token: string): number | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {exp?: unknown}
    return typeof payload.exp === 'number' ? payload.exp * 1000 : undefined
  } catch {
    return undefined
  }
}
