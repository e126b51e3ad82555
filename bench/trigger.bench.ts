/**
 * `dagctl trigger` beside curl making the same calls against the same Airflow 3 (started as the
 * contract tests start it), and beside `airflowctl dags trigger` (Airflow's own API CLI, in a venv of
 * bench/requirements-airflowctl.txt). The API version is in dagctl.yaml (`api: v2`), so dagctl's
 * requests are curl's: the login, then the trigger (with the paused check sent beside it). What
 * dagctl adds on top is start-up (node, oclif, config). Goal: under 150 ms more than curl at the
 * median, and faster than airflowctl. Benchmarks print; they assert nothing.
 */
import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {ensureAirflowEnv, ensureVenv} from '../src/python/venv.js'
import {startAirflow} from '../test/helpers/airflow-server.js'

const N = Number(process.env.BENCH_N ?? 15)
const BIN = path.resolve(import.meta.dirname, '..', 'bin', 'run.js')

const failures = new Map<string, number>()

/** Wall time of one call. A failed call (curl has no retries: SQLite under a busy scheduler can answer 5xx) is counted, and timed all the same. */
function time(label: string, cmd: string, args: string[], options: {cwd?: string; env?: NodeJS.ProcessEnv; expectExit?: number} = {}): number {
  const t0 = process.hrtime.bigint()
  const res = spawnSync(cmd, args, {cwd: options.cwd, env: options.env, encoding: 'utf8'})
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  if (res.status !== (options.expectExit ?? 0)) failures.set(label, (failures.get(label) ?? 0) + 1)
  return ms
}

function stats(samples: number[]): {median: number; p90: number} {
  const s = [...samples].sort((a, b) => a - b)
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]
  return {median: at(0.5), p90: at(0.9)}
}

export default async function bench(): Promise<void> {
  const python = ensureAirflowEnv(3, {onProgress: (m) => console.error(m)}).python
  console.log(`starting Airflow 3 ...`)
  const airflow = await startAirflow(3, python)
  const project = mkdtempSync(path.join(os.tmpdir(), 'dagctl-bench-trigger-'))
  try {
    // the API version pinned: no detection round trip
    writeFileSync(path.join(project, 'dagctl.yaml'), 'package: team_a\nenvironments:\n  dev:\n    airflow:\n      api: v2\n')
    const env = {...process.env, NO_COLOR: '1', DAGCTL_AIRFLOW_URL: airflow.url, DAGCTL_AIRFLOW_USERNAME: 'admin', DAGCTL_AIRFLOW_PASSWORD: airflow.password}
    const token = (await (await fetch(`${airflow.url}/auth/token`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({username: 'admin', password: airflow.password})})).json()) as {access_token: string}
    const post = (runId: string, bearer: string) => ['-sf', '-o', '/dev/null', '-X', 'POST', `${airflow.url}/api/v2/dags/team_a_ok/dagRuns`, '-H', `Authorization: Bearer ${bearer}`, '-H', 'content-type: application/json', '-d', JSON.stringify({dag_run_id: runId, logical_date: null, conf: {bench: true}})]
    // what a script does without dagctl on Airflow 3: log in, then POST (token and body via the environment, no quoting games)
    const loginAndPost = (runId: string): [string[], NodeJS.ProcessEnv] => [
      [
        '-c',
        'T=$(curl -sf -X POST "$URL/auth/token" -H "content-type: application/json" -d "$LOGIN" | sed -n \'s/.*"access_token":"\\([^"]*\\)".*/\\1/p\') && curl -sf -o /dev/null -X POST "$URL/api/v2/dags/team_a_ok/dagRuns" -H "Authorization: Bearer $T" -H "content-type: application/json" -d "$BODY"',
      ],
      {...process.env, URL: airflow.url, LOGIN: JSON.stringify({username: 'admin', password: airflow.password}), BODY: JSON.stringify({dag_run_id: runId, logical_date: null, conf: {bench: true}})},
    ]

    const airflowctl = path.join(path.dirname(ensureVenv(path.resolve(import.meta.dirname, 'requirements-airflowctl.txt'), 'airflowctl', {onProgress: (m) => console.error(m)}).python), 'airflowctl')
    const ctlHome = path.join(project, 'airflowctl-home')
    const ctlEnv = {...process.env, AIRFLOW_HOME: ctlHome, AIRFLOW_CLI_TOKEN: token.access_token}
    time('airflowctl login', airflowctl, ['auth', 'login', '--api-url', airflow.url, '--api-token', token.access_token, '--skip-keyring'], {env: ctlEnv})
    const ctl = (runId: string) => ['dags', 'trigger', 'team_a_ok', '--dag-run-id', runId, '--conf', JSON.stringify({bench: true}), '--output', 'json']
    const tokenEnv = {...env, DAGCTL_AIRFLOW_TOKEN: token.access_token}

    const rows: Array<[string, number[]]> = [
      ['curl: POST dagRuns (token already in hand)', []],
      ['curl: POST /auth/token, then POST dagRuns', []],
      ['dagctl trigger (login, paused check + POST)', []],
      ['dagctl trigger, token in hand (paused check + POST)', []],
      ['airflowctl dags trigger, token in hand (POST)', []],
      ['dagctl trigger refused by the allowlist (start-up, no request)', []],
    ]
    // one warm-up each, not counted
    time('warm-up', 'curl', post('warmup_curl', token.access_token))
    const [warmArgs, warmEnv] = loginAndPost('warmup_login')
    time('warm-up', 'bash', warmArgs, {env: warmEnv})
    time('warm-up', 'node', [BIN, 'trigger', 'team_a_ok', '--correlation-id', 'warmup', '--json'], {cwd: project, env})
    time('warm-up', airflowctl, ctl('warmup_airflowctl'), {env: ctlEnv})
    for (let i = 0; i < N; i++) {
      rows[0][1].push(time(rows[0][0], 'curl', post(`curl_${i}`, token.access_token)))
      const [args, shellEnv] = loginAndPost(`curl_login_${i}`)
      rows[1][1].push(time(rows[1][0], 'bash', args, {env: shellEnv}))
      rows[2][1].push(time(rows[2][0], 'node', [BIN, 'trigger', 'team_a_ok', '--correlation-id', `bench-${i}`, '--json'], {cwd: project, env}))
      rows[3][1].push(time(rows[3][0], 'node', [BIN, 'trigger', 'team_a_ok', '--correlation-id', `bench-token-${i}`, '--json'], {cwd: project, env: tokenEnv}))
      rows[4][1].push(time(rows[4][0], airflowctl, ctl(`airflowctl_${i}`), {env: ctlEnv}))
      rows[5][1].push(time(rows[5][0], 'node', [BIN, 'trigger', 'other_pkg_job', '--json'], {cwd: project, env, expectExit: 5}))
    }
    console.log(`\n${N} runs each against Airflow 3.3 on loopback (${airflow.url}), ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`)
    console.log(`${'what'.padEnd(66)}  ${'median'.padStart(8)}  ${'p90'.padStart(8)}  failed`)
    for (const [name, samples] of rows) {
      const s = stats(samples)
      console.log(`${name.padEnd(66)}  ${s.median.toFixed(0).padStart(6)} ms  ${s.p90.toFixed(0).padStart(6)} ms  ${failures.get(name) ?? 0}/${N}`)
    }
    const added = stats(rows[2][1]).median - stats(rows[1][1]).median
    const addedBare = stats(rows[3][1]).median - stats(rows[0][1]).median
    console.log(`\ndagctl adds ${added.toFixed(0)} ms (median) over curl with a login, ${addedBare.toFixed(0)} ms over a bare curl POST, both with the token in hand (goal: < 150 ms); airflowctl/dagctl with the token in hand: ${(stats(rows[4][1]).median / stats(rows[3][1]).median).toFixed(2)}x`)
  } finally {
    rmSync(project, {recursive: true, force: true})
    await airflow.stop()
  }
}
