import {existsSync, readFileSync} from 'node:fs'
import path from 'node:path'

import type {AirflowMajor} from '../python/venv.js'

/** The fixed local credentials of the local profile (Airflow 3's simple auth manager). */
export const LOCAL_USERNAME = 'admin'
export const LOCAL_PASSWORD = 'admin'

export interface AirflowLayout {
  version: AirflowMajor
  python: string
  home: string
  dagsDir: string
  port: number
  logPort: number
  triggerLogPort: number
  /** Airflow 3 only: DagctlBundle config instead of a plain DAG folder fed by sync */
  bundle?: {name: string; store: string; env: string; package: string; s3Endpoint?: string; storagePath: string; pythonPath: string}
  /** S3 credentials for the bundle's boto3 (moto's, never real ones) */
  extraEnv?: Record<string, string>
}

/** The environment `airflow standalone` runs with: SQLite in AIRFLOW_HOME, loopback only, short refreshes. */
export function airflowEnv(layout: AirflowLayout, base: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const url = `http://127.0.0.1:${layout.port}`
  const env: Record<string, string> = {
    ...(Object.fromEntries(Object.entries(base).filter(([k, v]) => v !== undefined && !k.startsWith('AIRFLOW__'))) as Record<string, string>),
    // standalone starts its components as `airflow ...`: the venv's bin must come first on PATH
    PATH: `${path.dirname(layout.python)}:${base.PATH ?? ''}`,
    AIRFLOW_HOME: layout.home,
    AIRFLOW__CORE__DAGS_FOLDER: layout.dagsDir,
    AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
    AIRFLOW__CORE__UNIT_TEST_MODE: 'False',
    AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT: String(layout.logPort),
    AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT: String(layout.triggerLogPort),
    AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC: '1',
    NO_COLOR: '1',
    ...layout.extraEnv,
  }
  if (layout.version === 3) {
    Object.assign(env, {
      AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS: `${LOCAL_USERNAME}:admin`,
      AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE: path.join(layout.home, 'passwords.json'),
      AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL: '2',
      AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL: '2',
      // how often the DAG processor asks its bundles whether they are due a refresh (default 5 s):
      // it bounds the refresh intervals above and the DagctlBundle's, so it is what made a
      // publish take 5-7 s to show in Airflow
      AIRFLOW__DAG_PROCESSOR__BUNDLE_REFRESH_CHECK_INTERVAL: '1',
      AIRFLOW__API__HOST: '127.0.0.1',
      AIRFLOW__API__PORT: String(layout.port),
      AIRFLOW__API__WORKERS: '1',
      AIRFLOW__CORE__EXECUTION_API_SERVER_URL: `${url}/execution/`,
      AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION: 'False',
    })
    if (layout.bundle) {
      const b = layout.bundle
      const kwargs: Record<string, string | number> = {store: b.store, env: b.env, package: b.package, refresh_interval: 1}
      if (b.s3Endpoint) kwargs.s3_endpoint = b.s3Endpoint
      Object.assign(env, {
        AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST: JSON.stringify([
          {name: 'dags-folder', classpath: 'airflow.dag_processing.bundles.local.LocalDagBundle', kwargs: {}},
          {name: b.name, classpath: 'dagctl_airflow.DagctlBundle', kwargs},
        ]),
        AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH: b.storagePath,
        PYTHONPATH: [b.pythonPath, base.PYTHONPATH].filter(Boolean).join(':'),
      })
    }
  } else {
    Object.assign(env, {
      AIRFLOW__API__AUTH_BACKENDS: 'airflow.providers.fab.auth_manager.api.auth.backend.basic_auth',
      AIRFLOW__WEBSERVER__WEB_SERVER_HOST: '127.0.0.1',
      AIRFLOW__WEBSERVER__WEB_SERVER_PORT: String(layout.port),
      AIRFLOW__WEBSERVER__WORKERS: '1',
      AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL: '2',
      AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL: '2',
      AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION: 'False',
    })
  }
  return env
}

/** The password of the local admin: fixed on Airflow 3; Airflow 2's standalone picks one and writes it down. */
export function airflowPassword(version: AirflowMajor, home: string): string | undefined {
  if (version === 3) return LOCAL_PASSWORD
  const file = path.join(home, 'standalone_admin_password.txt')
  const text = existsSync(file) ? readFileSync(file, 'utf8').trim() : ''
  return text || undefined
}

export interface AirflowHealth {
  healthy: boolean
  detail: string
  version?: string
}

export type Fetch = typeof fetch

/** Airflow's health endpoint (no auth), then its version with the local credentials, and on Airflow 3 the task execution API's health. */
export async function airflowHealth(version: AirflowMajor, url: string, password: string | undefined, fetchFn: Fetch = fetch): Promise<AirflowHealth> {
  // Airflow 3's task execution API (cadwyn) builds its routers for every API version on its first
  // request, which holds the api-server's whole event loop for 4-10 s of CPU. Asked with the first
  // probes, that happens while the scheduler starts, and before `cluster up` answers: not in the
  // first task a user runs (whose `trigger --wait` took 9-15 s instead of 4).
  const execution = version === 3 ? fetchFn(`${url}/execution/health`, {signal: AbortSignal.timeout(5000)}).then((r) => r.status, () => undefined) : Promise.resolve(200)
  try {
    const res = await fetchFn(`${url}${version === 3 ? '/api/v2/monitor/health' : '/health'}`, {signal: AbortSignal.timeout(5000)})
    if (res.status !== 200) return {healthy: false, detail: `health answered HTTP ${res.status}`}
    const body = (await res.json()) as Record<string, {status?: string} | undefined>
    const parts = ['metadatabase', 'scheduler']
    const bad = parts.filter((p) => body[p] && body[p]?.status !== 'healthy')
    const missing = parts.filter((p) => !body[p])
    if (bad.length > 0 || missing.length > 0) return {healthy: false, detail: `not healthy yet: ${[...bad, ...missing].join(', ')}`}
    if (password === undefined) return {healthy: false, detail: 'no admin password yet'}
    const headers = await authHeaders(version, url, password, fetchFn)
    const v = await fetchFn(`${url}/api/v${version === 3 ? 2 : 1}/version`, {headers, signal: AbortSignal.timeout(5000)})
    if (v.status !== 200) return {healthy: false, detail: `API answered HTTP ${v.status} with the local credentials`}
    const executionStatus = await execution
    if (executionStatus !== 200) return {healthy: false, detail: `task execution API not ready yet${executionStatus ? ` (HTTP ${executionStatus})` : ''}`}
    return {healthy: true, detail: 'healthy', version: ((await v.json()) as {version?: string}).version}
  } catch (error) {
    return {healthy: false, detail: `not answering (${(error as Error).message})`}
  }
}

async function authHeaders(version: AirflowMajor, url: string, password: string, fetchFn: Fetch): Promise<Record<string, string>> {
  if (version === 2) return {authorization: `Basic ${Buffer.from(`${LOCAL_USERNAME}:${password}`).toString('base64')}`}
  const res = await fetchFn(`${url}/auth/token`, {
    method: 'POST',
    headers: {'content-type': 'application/json'},
    body: JSON.stringify({username: LOCAL_USERNAME, password}),
    signal: AbortSignal.timeout(5000),
  })
  if (res.status >= 300) throw new Error(`token: HTTP ${res.status}`)
  return {authorization: `Bearer ${((await res.json()) as {access_token: string}).access_token}`}
}
