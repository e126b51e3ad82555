import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, mkdtempSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

import {sessionMembers} from '../../src/cluster/process.js'

/**
 * Real Airflow for contract tests: `airflow standalone` (3.x: scheduler, dag-processor, api-server,
 * triggerer; 2.11: scheduler, webserver, triggerer) in its own process group, AIRFLOW_HOME in a temp
 * folder, SQLite, every port free and on 127.0.0.1. Start once per test file; stop() kills the group.
 */
export interface AirflowServer {
  version: 2 | 3
  url: string
  username: string
  password: string
  home: string
  dagsDir: string
  /** where the test DAGs write the conf they ran with: `<run_id>.json` */
  outDir: string
  /** an authenticated JSON call to the REST API (for assertions, not through dagctl) */
  api<T = any>(method: string, apiPath: string, body?: unknown): Promise<{status: number; body: T}>
  logTail(): string
  /** the whole log of `airflow standalone` (every component's output) */
  logText(): string
  stop(): Promise<void>
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const {port} = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
  })
}

/** The test DAGs, written for both Airflow 2.11 and 3 (airflow.sdk when there, else airflow + decorators). */
export function testDags(outDir: string): Record<string, string> {
  const header = `import json, os
import pendulum
try:
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.decorators import task

OUT = ${JSON.stringify(outDir)}
START = pendulum.datetime(2024, 1, 1, tz="UTC")


def _echo(context):
    run = context["dag_run"]
    with open(os.path.join(OUT, run.run_id + ".json"), "w") as f:
        json.dump(run.conf or {}, f)
    return run.conf or {}
`
  const echoDag = (dagId: string, paused: boolean) => `${header}

with DAG(${JSON.stringify(dagId)}, schedule=None, start_date=START, catchup=False, is_paused_upon_creation=${paused ? 'True' : 'False'}, tags=["dagctl-test"]):
    @task
    def echo_conf(**context):
        return _echo(context)

    echo_conf()
`
  return {
    'team_a_ok.py': echoDag('team_a_ok', false),
    'team_a_paused.py': echoDag('team_a_paused', true),
    'team_a_on_tag.py': echoDag('team_a_on_tag', false),
    'other_pkg_job.py': echoDag('other_pkg_job', false),
    'team_a_fail.py': `${header}

with DAG("team_a_fail", schedule=None, start_date=START, catchup=False, is_paused_upon_creation=False, tags=["dagctl-test"]):
    @task
    def prepare():
        return 1

    @task
    def boom(x):
        raise RuntimeError("boom: this task fails on purpose")

    boom(prepare())
`,
    // an import error for `dagctl errors` (the words airflow and dag keep it in the safe-mode scan)
    'team_a_broken.py': 'from airflow import DAG\nraise ValueError("broken on purpose: dagctl errors must list this file")\n',
  }
}

export const TEST_DAG_IDS = ['team_a_ok', 'team_a_paused', 'team_a_on_tag', 'other_pkg_job', 'team_a_fail']

export interface StartAirflowOptions {
  startTimeoutMs?: number
  /** extra environment for every Airflow component (e.g. `AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST`), applied last */
  env?: Record<string, string>
}

export async function startAirflow(version: 2 | 3, python: string, options: StartAirflowOptions = {}): Promise<AirflowServer> {
  const root = mkdtempSync(path.join(os.tmpdir(), `dagctl-airflow${version}-`))
  const home = path.join(root, 'home')
  const dagsDir = path.join(root, 'dags')
  const outDir = path.join(root, 'out')
  for (const d of [home, dagsDir, outDir]) mkdirSync(d, {recursive: true})
  for (const [name, text] of Object.entries(testDags(outDir))) writeFileSync(path.join(dagsDir, name), text)
  const [port, logPort, triggerLogPort] = [await freePort(), await freePort(), await freePort()]
  const url = `http://127.0.0.1:${port}`
  const username = 'admin'
  let password = 'admin'
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    // standalone starts its components as `airflow ...`: the venv's bin must be on PATH
    PATH: `${path.dirname(python)}:${process.env.PATH ?? ''}`,
    AIRFLOW_HOME: home,
    AIRFLOW__CORE__DAGS_FOLDER: dagsDir,
    AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
    AIRFLOW__CORE__UNIT_TEST_MODE: 'False',
    AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT: String(logPort),
    AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT: String(triggerLogPort),
    AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC: '1',
    NO_COLOR: '1',
  }
  if (version === 3) {
    const passwords = path.join(root, 'passwords.json')
    writeFileSync(passwords, JSON.stringify({admin: password}))
    Object.assign(env, {
      AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS: 'admin:admin',
      AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE: passwords,
      AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL: '2',
      // the DAG processor asks whether a bundle is due a refresh this often (default 5 s, which
      // bounds the refresh interval above), as in dagctl's local cluster (src/cluster/airflow.ts)
      AIRFLOW__DAG_PROCESSOR__BUNDLE_REFRESH_CHECK_INTERVAL: '1',
      AIRFLOW__API__HOST: '127.0.0.1',
      AIRFLOW__API__PORT: String(port),
      AIRFLOW__API__WORKERS: '1',
      // task runners talk to the api-server: it is not on the default port
      AIRFLOW__CORE__EXECUTION_API_SERVER_URL: `${url}/execution/`,
    })
  } else {
    Object.assign(env, {
      AIRFLOW__API__AUTH_BACKENDS: 'airflow.providers.fab.auth_manager.api.auth.backend.basic_auth',
      AIRFLOW__WEBSERVER__WEB_SERVER_HOST: '127.0.0.1',
      AIRFLOW__WEBSERVER__WEB_SERVER_PORT: String(port),
      AIRFLOW__WEBSERVER__WORKERS: '1',
      AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL: '2',
      AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL: '2',
      AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION: 'True',
    })
  }
  Object.assign(env, options.env ?? {})
  const logFile = path.join(root, 'airflow.log')
  const fd = openSync(logFile, 'a')
  const child: ChildProcess = spawn(python, ['-m', 'airflow', 'standalone'], {env, cwd: root, detached: true, stdio: ['ignore', fd, fd]})
  let exited = false
  child.on('exit', () => {
    exited = true
  })
  const logText = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '')
  const logTail = () => logText().split('\n').slice(-40).join('\n')

  let token: string | undefined
  const api = async <T = any>(method: string, apiPath: string, body?: unknown): Promise<{status: number; body: T}> => {
    const headers: Record<string, string> = {'content-type': 'application/json'}
    if (version === 2) headers.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
    else {
      token ??= ((await (await fetch(`${url}/auth/token`, {method: 'POST', headers, body: JSON.stringify({username, password})})).json()) as {access_token: string}).access_token
      headers.authorization = `Bearer ${token}`
    }
    const res = await fetch(`${url}/api/v${version === 3 ? 2 : 1}${apiPath}`, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)})
    const text = await res.text()
    return {status: res.status, body: (text ? JSON.parse(text) : undefined) as T}
  }

  const stop = async () => {
    const pid = child.pid
    if (pid) {
      if (!exited) {
        try {
          process.kill(-pid, 'SIGTERM')
        } catch {
          // already gone
        }
        const deadline = Date.now() + 15_000
        while (!exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200))
      }
      // Airflow 2's DagFileProcessorManager moves to a process group of its own, so the group
      // kill misses it; it stays in the session the detached spawn created (session id = pid).
      for (const member of [-pid, ...sessionMembers(pid)]) {
        try {
          process.kill(member, 'SIGKILL')
        } catch {
          // already gone
        }
      }
    }
    rmSync(root, {recursive: true, force: true})
  }

  try {
    const deadline = Date.now() + (options.startTimeoutMs ?? 240_000)
    // 1. the API answers
    for (;;) {
      if (exited) throw new Error(`airflow ${version} exited during start-up:\n${logTail()}`)
      if (Date.now() > deadline) throw new Error(`airflow ${version} did not come up in time:\n${logTail()}`)
      try {
        const res = await fetch(`${url}/api/v${version === 3 ? 2 : 1}/version`)
        if (res.status === 200) break
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 500))
    }
    // Airflow 3's task execution API builds its routers on its first request (4-10 s of CPU, the
    // api-server answering nothing else meanwhile): asked now, while the DAGs are parsed, not by
    // the first task a test runs. As `dagctl cluster up` does (src/cluster/airflow.ts).
    const executionApi = version === 3 ? fetch(`${url}/execution/health`).then((r) => r.arrayBuffer()).catch(() => undefined) : undefined
    // 2. Airflow 2's standalone makes the admin user with a random password and writes it down
    if (version === 2) {
      const pwFile = path.join(home, 'standalone_admin_password.txt')
      while (!existsSync(pwFile) || readFileSync(pwFile, 'utf8').trim() === '') {
        if (Date.now() > deadline) throw new Error(`airflow 2 wrote no admin password:\n${logTail()}`)
        await new Promise((r) => setTimeout(r, 300))
      }
      password = readFileSync(pwFile, 'utf8').trim()
    }
    // 3. every test DAG is parsed and the scheduler is alive
    for (;;) {
      if (exited) throw new Error(`airflow ${version} exited during start-up:\n${logTail()}`)
      if (Date.now() > deadline) throw new Error(`airflow ${version} did not parse the test DAGs in time:\n${logTail()}`)
      try {
        const res = await api<{dags: Array<{dag_id: string}>}>('GET', '/dags?limit=100')
        const ids = new Set((res.body?.dags ?? []).map((d) => d.dag_id))
        const health = await fetch(`${url}${version === 3 ? '/api/v2/monitor/health' : '/health'}`).then((r) => r.json() as Promise<{scheduler?: {status?: string}}>)
        if (TEST_DAG_IDS.every((id) => ids.has(id)) && health.scheduler?.status === 'healthy') break
      } catch {
        // still starting
      }
      await new Promise((r) => setTimeout(r, 1000))
    }
    await executionApi
  } catch (error) {
    await stop()
    throw error
  }
  return {version, url, username, get password() {
    return password
  }, home, dagsDir, outDir, api, logTail, logText, stop}
}

export interface RecordedRequest {
  method: string
  path: string
  body?: unknown
}

/**
 * A pass-through proxy in front of Airflow: it records every request dagctl sends (method, path,
 * JSON body; never headers), counts them, and can play "Airflow went down" for matching requests
 * by dropping the connection (what a client sees when the server dies mid-way).
 */
export interface RecordingProxy {
  url: string
  requests: RecordedRequest[]
  /** requests matching this (`METHOD path`) get their connection dropped */
  failWhen?: RegExp
  close(): Promise<void>
}

export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const targetUrl = new URL(target)
  const proxy: RecordingProxy = {url: '', requests: [], close: async () => {}}
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      const text = raw.toString('utf8')
      let body: unknown
      if (text) {
        try {
          body = JSON.parse(text)
        } catch {
          body = text
        }
      }
      proxy.requests.push({method: req.method ?? 'GET', path: req.url ?? '/', ...(text ? {body} : {})})
      if (proxy.failWhen?.test(`${req.method} ${req.url}`)) {
        req.socket.destroy()
        return
      }
      const headers = {...req.headers, host: targetUrl.host}
      const upstream = http.request({hostname: targetUrl.hostname, port: targetUrl.port, method: req.method, path: req.url, headers}, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
      })
      upstream.on('error', () => req.socket.destroy())
      upstream.end(raw)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  proxy.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`
  proxy.close = () => new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })
  return proxy
}
