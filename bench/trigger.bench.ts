/**
 * `dagctl trigger` beside curl making the same calls against the same Airflow 3 (started as the
 * contract tests start it), and beside `airflowctl dags trigger` (Airflow's own API CLI, in a venv of
 * bench/requirements-airflowctl.txt). The API version is in dagctl.yaml (`api: v2`), so dagctl's
 * requests are curl's: the login, then the trigger (with the paused check sent beside it). What
 * dagctl adds on top is start-up (node, oclif, config). Goal: under 150 ms more than curl at the
 * median, and faster than airflowctl. Benchmarks print; they assert nothing.
 *
 * Every call goes through child_time.py: wall, CPU (user + system) and run-queue wait (time ready to
 * run but waiting for a core). On a loaded machine wall time grows with a command's CPU time times
 * the load, so a 0.2 s-CPU dagctl loses far more wall time to the run queue than a 5 ms-CPU curl:
 * the runq column is that share, and CPU the figure to compare across runs.
 * dagctl's rows run on every Node line found (bench/node-lines.ts), as start-up differs by line.
 * DAGCTL_BENCH_BEFORE=/path/to/an/older/bin/run.js adds that build's dagctl rows, in the same run.
 * airflowctl 0.1.5's `--conf` is typed `dict` for argparse, which refuses any string (exit 2), so its
 * row triggers without a conf.
 */
import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {ensureAirflowEnv, ensureVenv} from '../src/python/venv.js'
import {startAirflow} from '../test/helpers/airflow-server.js'
import {benchNodes, nodeEnv} from './node-lines.js'

const N = Number(process.env.BENCH_N ?? 15)
const BIN = path.resolve(import.meta.dirname, '..', 'bin', 'run.js')
const CHILD_TIME = path.resolve(import.meta.dirname, 'child_time.py')

const failures = new Map<string, number>()
// what an operator types: a conf (curl sends the same) and no --correlation-id, so each run gets a fresh id
const CONF = ['--conf', '{"bench": true}']

interface Sample {wall: number; cpu: number; runq: number}

/** One call through child_time.py. A failed call (curl has no retries: SQLite under a busy scheduler can answer 5xx) is counted, and timed all the same. */
function time(label: string, cmd: string, args: string[], options: {cwd?: string; env?: NodeJS.ProcessEnv; expectExit?: number} = {}): Sample {
  const res = spawnSync('python3', [CHILD_TIME, cmd, ...args], {cwd: options.cwd, env: options.env, encoding: 'utf8'})
  const sample = JSON.parse(res.stdout) as Sample & {code: number}
  if (sample.code !== (options.expectExit ?? 0)) failures.set(label, (failures.get(label) ?? 0) + 1)
  return {wall: sample.wall * 1000, cpu: sample.cpu * 1000, runq: sample.runq * 1000}
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil(0.5 * s.length) - 1)]
}

function stats(samples: Sample[]): {median: number; p90: number; cpu: number; runq: number} {
  const s = samples.map((x) => x.wall).sort((a, b) => a - b)
  return {median: median(s), p90: s[Math.min(s.length - 1, Math.ceil(0.9 * s.length) - 1)], cpu: median(samples.map((x) => x.cpu)), runq: median(samples.map((x) => x.runq))}
}

export default async function bench(): Promise<void> {
  const python = ensureAirflowEnv(3, {onProgress: (m) => console.error(m)}).python
  console.log(`starting Airflow 3 ...`)
  const airflow = await startAirflow(3, python)
  const project = mkdtempSync(path.join(os.tmpdir(), 'dagctl-bench-trigger-'))
  try {
    // the API version pinned: no detection round trip
    writeFileSync(path.join(project, 'dagctl.yaml'), 'package: team_a\nenvironments:\n  dev:\n    airflow:\n      api: v2\n')
    // dagctl's environment: without NODE_EXTRA_CA_CERTS, which Node 20 reads at every start (bench/node-lines.ts)
    const env = {...nodeEnv(), NO_COLOR: '1', DAGCTL_AIRFLOW_URL: airflow.url, DAGCTL_AIRFLOW_USERNAME: 'admin', DAGCTL_AIRFLOW_PASSWORD: airflow.password}
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
    const ctl = (runId: string) => ['dags', 'trigger', 'team_a_ok', '--dag-run-id', runId, '--output', 'json']
    if (failures.has('airflowctl login')) console.log('airflowctl auth login failed: its row will fail too')
    const tokenEnv = {...env, DAGCTL_AIRFLOW_TOKEN: token.access_token}

    // dagctl's rows on every Node line found (bench/node-lines.ts): start-up differs by line, curl's does not
    const nodes = benchNodes().map((bin) => ({bin, version: spawnSync(bin, ['--version'], {encoding: 'utf8'}).stdout.trim()}))
    const rows: Array<[string, Sample[]]> = [
      ['curl: POST dagRuns (token already in hand)', []],
      ['curl: POST /auth/token, then POST dagRuns', []],
      ['airflowctl dags trigger, token in hand (POST)', []],
    ]
    // every dagctl that runs: this build on each Node line, then DAGCTL_BENCH_BEFORE=/path/to/an/older/bin/run.js
    // on the first Node (that build's rows beside, same run, same load); three rows each
    const before = process.env.DAGCTL_BENCH_BEFORE ? path.resolve(process.env.DAGCTL_BENCH_BEFORE) : undefined
    const targets = [
      ...nodes.map(({bin, version}) => ({node: bin, run: BIN, prefix: '', suffix: nodes.length > 1 ? ` [Node ${version}]` : ''})),
      ...(before ? [{node: nodes[0]!.bin, run: before, prefix: 'before: ', suffix: ''}] : []),
    ]
    const dagctlRows = targets.map(({prefix, suffix}) => {
      const first = rows.length
      rows.push([`${prefix}dagctl trigger (login, paused check + POST)${suffix}`, []], [`${prefix}dagctl trigger, token in hand (paused check + POST)${suffix}`, []], [`${prefix}dagctl trigger refused by the allowlist (start-up, no request)${suffix}`, []])
      return {login: rows[first]!, token: rows[first + 1]!, refused: rows[first + 2]!}
    })
    // one warm-up each, not counted
    time('warm-up', 'curl', post('warmup_curl', token.access_token))
    const [warmArgs, warmEnv] = loginAndPost('warmup_login')
    time('warm-up', 'bash', warmArgs, {env: warmEnv})
    for (const t of targets) time('warm-up', t.node, [t.run, 'trigger', 'team_a_ok', ...CONF, '--json'], {cwd: project, env})
    time('warm-up', airflowctl, ctl('warmup_airflowctl'), {env: ctlEnv})
    for (let i = 0; i < N; i++) {
      rows[0][1].push(time(rows[0][0], 'curl', post(`curl_${i}`, token.access_token)))
      const [args, shellEnv] = loginAndPost(`curl_login_${i}`)
      rows[1][1].push(time(rows[1][0], 'bash', args, {env: shellEnv}))
      rows[2][1].push(time(rows[2][0], airflowctl, ctl(`airflowctl_${i}`), {env: ctlEnv}))
      targets.forEach((t, n) => {
        const {login, token: withToken, refused} = dagctlRows[n]!
        login[1].push(time(login[0], t.node, [t.run, 'trigger', 'team_a_ok', ...CONF, '--json'], {cwd: project, env}))
        withToken[1].push(time(withToken[0], t.node, [t.run, 'trigger', 'team_a_ok', ...CONF, '--json'], {cwd: project, env: tokenEnv}))
        refused[1].push(time(refused[0], t.node, [t.run, 'trigger', 'other_pkg_job', '--json'], {cwd: project, env, expectExit: 5}))
      })
    }
    console.log(`\n${N} runs each against Airflow 3.3 on loopback (${airflow.url}), ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`)
    console.log(`${'what'.padEnd(82)}  ${'wall'.padStart(8)}  ${'p90'.padStart(8)}  ${'cpu'.padStart(8)}  ${'runq'.padStart(8)}  failed`)
    for (const [name, samples] of rows) {
      const s = stats(samples)
      const ms = (x: number) => `${x.toFixed(0).padStart(5)} ms`
      console.log(`${name.padEnd(82)}  ${ms(s.median)}  ${ms(s.p90)}  ${ms(s.cpu)}  ${ms(s.runq)}  ${failures.get(name) ?? 0}/${N}`)
    }
    console.log(`\nmedians of wall and of cpu/runq taken separately; runq = time the main thread waited for a core (the machine's load)`)
    nodes.forEach(({version}, n) => {
      const {login, token: withToken} = dagctlRows[n]
      const added = stats(login[1]).median - stats(rows[1][1]).median
      const addedBare = stats(withToken[1]).median - stats(rows[0][1]).median
      console.log(`Node ${version}: dagctl adds ${added.toFixed(0)} ms (median wall) over curl with a login, ${addedBare.toFixed(0)} ms over a bare curl POST with the token in hand (goal: < 150 ms); airflowctl/dagctl with the token in hand: ${(stats(rows[2][1]).median / stats(withToken[1]).median).toFixed(2)}x wall, ${(stats(rows[2][1]).cpu / stats(withToken[1]).cpu).toFixed(2)}x cpu`)
    })
  } finally {
    rmSync(project, {recursive: true, force: true})
    await airflow.stop()
  }
}
