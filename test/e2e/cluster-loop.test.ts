import {mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'

import {budget} from '../helpers/budget.js'
import {REPO_ROOT, runCli, type CliResult} from '../helpers/cli.js'
import {freePort} from '../helpers/moto.js'

/**
 * The whole loop on one machine, as a user runs it: init → generate → validate → publish → sync →
 * Airflow parses it → trigger --conf --wait → publish a change → rollback → the old version runs →
 * a DataHub event through the mapping, delivered twice, starts one run. One cluster per variant.
 */
const variants: Array<{label: string; airflow: 2 | 3; s3: boolean; bundle?: boolean}> = [
  {label: 'Airflow 3, local store', airflow: 3, s3: false},
  {label: 'Airflow 3, --s3', airflow: 3, s3: true},
  {label: 'Airflow 2.11', airflow: 2, s3: false},
  {label: 'Airflow 3, --bundle', airflow: 3, s3: false, bundle: true},
]
/** `DAGCTL_CLUSTER_VARIANTS=0,2` runs only those (by index) */
const only = process.env.DAGCTL_CLUSTER_VARIANTS?.split(',')

const S3_ENV = {AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true'}

function spec(version: string, outDir: string): string {
  return `name: echo
description: "${version}"
schedule: null
start_date: "2024-01-01"
catchup: false
tasks:
  echo:
    type: bash
    command: "echo '${version} {{ dag_run.conf | tojson }}' > ${outDir}/{{ run_id }}.txt "
`
}

const MAPPING = `rules:
  - name: tag-added
    match: {entityType: dataset, category: TAG, operation: ADD}
    dag_id: loop_echo
    conf:
      urn: \${event.entityUrn}
`

describe.each(variants.filter((v) => !only || only.includes(String(variants.indexOf(v)))))('cluster up --profile local: the whole loop ($label)', ({airflow, s3, bundle}) => {
  const flags = [...(s3 ? ['--s3'] : []), ...(bundle ? ['--bundle'] : [])]
  let root: string
  let pkg: string
  let out: string
  const env: Record<string, string> = {...(s3 ? S3_ENV : {}), DAGCTL_PYTHON: inject('airflowPython')[String(airflow) as '2' | '3']}
  const cli = (args: string[], timeout = budget(300_000)) => runCli(args, {cwd: pkg, env, timeout})
  const ok = (res: CliResult) => expect(res.exitCode, `${res.stdout}\n--- stderr ---\n${res.stderr}`).toBe(0)
  let ports: {airflow: number; s3: number; metrics: number}

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'dagctl-cluster-'))
    out = path.join(root, 'out')
    mkdirSync(out)
    ok(await runCli(['init', 'loop', '--airflow', String(airflow)], {cwd: root, env}))
    pkg = path.join(root, 'loop')
    rmSync(path.join(pkg, 'specs'), {recursive: true, force: true})
    rmSync(path.join(pkg, 'dags'), {recursive: true, force: true})
    mkdirSync(path.join(pkg, 'specs'))
    writeFileSync(path.join(pkg, 'specs', 'echo.yaml'), spec('v1', out))
    writeFileSync(path.join(pkg, 'mapping.yaml'), MAPPING)
    ports = {airflow: await freePort(), s3: await freePort(), metrics: await freePort()}
    const up = await cli(['cluster', 'up', '--airflow', String(airflow), ...flags, '--setup', '--port', String(ports.airflow), '--s3-port', String(ports.s3), '--metrics-port', String(ports.metrics), '--timeout', String(Math.round(budget(300_000) / 1000)), '--json'], budget(600_000))
    ok(up)
  }, budget(900_000))

  afterAll(async () => {
    if (!pkg) return
    const state = JSON.parse(readFileSync(path.join(pkg, '.dagctl', 'cluster', 'local', 'state.json'), 'utf8')) as {components: Record<string, {pid: number}>}
    const pids = Object.values(state.components).map((c) => c.pid)
    const down = await cli(['cluster', 'down', '--json'])
    rmSync(root, {recursive: true, force: true})
    expect(down.exitCode, down.stderr).toBe(0)
    // nothing of the cluster is left: no recorded process, no member of their sessions
    for (const pid of pids) expect(existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')).toBe(false)
  }, budget(120_000))

  async function api<T = any>(apiPath: string): Promise<T> {
    const url = `http://127.0.0.1:${ports.airflow}`
    const status = (await cli(['cluster', 'status', '--json'])).json() as {password: string}
    let auth: string
    if (airflow === 2) auth = `Basic ${Buffer.from(`admin:${status.password}`).toString('base64')}`
    else {
      const res = await fetch(`${url}/auth/token`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({username: 'admin', password: status.password})})
      auth = `Bearer ${((await res.json()) as {access_token: string}).access_token}`
    }
    const res = await fetch(`${url}/api/v${airflow === 3 ? 2 : 1}${apiPath}`, {headers: {authorization: auth}})
    return (await res.json()) as T
  }

  async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = budget(180_000)): Promise<T> {
    const deadline = Date.now() + ms
    for (;;) {
      const value = await probe().catch(() => undefined)
      if (value !== undefined) return value
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise((r) => setTimeout(r, 500))
    }
  }

  const description = (want: string) => waitFor(`loop_echo with description ${want}`, async () => ((await api<{description?: string}>('/dags/loop_echo')).description === want ? true : undefined))
  const runIdOf = (res: CliResult) => /"run_?[iI]d":\s*"([^"]+)"/.exec(res.stdout)![1]!
  const ranWith = (runId: string) => readFileSync(path.join(out, `${runId}.txt`), 'utf8').trim()

  it('status shows every component healthy, with the local credentials; a second up is harmless', async () => {
    if (airflow === 3) {
      // up waited for the task execution API, whose first request builds it (the api-server
      // answering nothing else for seconds): that is not left to the first task a user runs.
      // Read before anything else asks the cluster (status asks it too).
      const airflowLog = path.join(pkg, '.dagctl', 'cluster', 'local', 'logs', 'airflow.log')
      await waitFor('the execution API health request in the log', async () => (/method=GET path=\/execution\/health .*status_code=200/.test(readFileSync(airflowLog, 'utf8')) ? true : undefined), budget(30_000))
    }
    const statusRun = await cli(['cluster', 'status', '--json'])
    ok(statusRun)
    const status = statusRun.json() as {up: boolean; username: string; password: string; components: Array<{name: string; healthy: boolean; pid: number; version?: string}>}
    expect(status.up).toBe(true)
    // a cluster never brought up: exit 1, CLUSTER_NOT_UP, the report still the whole of stdout
    const none = await cli(['cluster', 'status', '--name', 'never-up', '--json'])
    expect(none.exitCode, none.stderr).toBe(1)
    expect(none.json()).toMatchObject({name: 'never-up', up: false, components: []})
    expect((await cli(['cluster', 'status', '--name', 'never-up'])).stderr).toContain('dagctl cluster up')
    expect(status.components.map((c) => c.name)).toEqual([...(s3 ? ['s3'] : []), ...(bundle ? [] : ['sync']), 'airflow'])
    expect(status.components.find((c) => c.name === 'airflow')!.version).toMatch(airflow === 3 ? /^3\./ : /^2\.11/)
    expect(status.username).toBe('admin')
    if (airflow === 3) expect(status.password).toBe('admin')
    const again = await cli(['cluster', 'up', '--airflow', String(airflow), ...flags, '--json'])
    ok(again)
    expect((again.json() as {components: Array<{action: string}>}).components.every((c) => c.action === 'already running')).toBe(true)

    // a component that died is started again by the next up; the others are left alone
    const victim = status.components.find((c) => c.name === (bundle ? 'airflow' : 'sync'))!
    if (!bundle) {
      process.kill(-victim.pid, 'SIGKILL')
      await waitFor('sync to be gone', async () => (existsSync(`/proc/${victim.pid}`) ? undefined : true), budget(30_000))
      const hurt = await cli(['cluster', 'status'])
      expect(hurt.exitCode, hurt.stderr).toBe(1)
      expect(hurt.stderr).toMatch(/is not healthy: sync not running/)
      const revived = await cli(['cluster', 'up', '--airflow', String(airflow), ...flags, '--json'])
      ok(revived)
      const actions = Object.fromEntries((revived.json() as {components: Array<{name: string; action: string}>}).components.map((c) => [c.name, c.action]))
      expect(actions).toMatchObject({sync: 'started', airflow: 'already running'})
    }

    // a port already taken: a clear error naming it, and nothing of that cluster left running
    const taken = await cli(['cluster', 'up', '--name', 'other', '--airflow', String(airflow), ...flags, '--port', String(ports.airflow), '--metrics-port', String(await freePort()), '--s3-port', String(await freePort()), '--print-config', '--json'])
    expect(taken.exitCode).toBe(2)
    expect(taken.json()).toMatchObject({error: {code: 'PORT_TAKEN', details: {port: ports.airflow}}})
    const other = JSON.parse(readFileSync(path.join(pkg, '.dagctl', 'cluster', 'other', 'state.json'), 'utf8')) as {components: object}
    expect(other.components).toEqual({})
  }, budget(180_000))

  it('init → generate → validate → publish → Airflow parses it → trigger --conf --wait → rollback → the old version runs → a DataHub event, twice, starts one run', async () => {
    ok(await cli(['generate']))
    ok(await cli(['validate', '--engine', 'ast']))
    ok(await cli(['publish', '--engine', 'ast', '--message', 'v1']))
    await description('v1')
    const errors = (await cli(['errors', '--json'])).json() as {total: number; import_errors: Array<{filename?: string}>}
    expect(errors.import_errors).toEqual([])

    const first = await cli(['trigger', 'loop_echo', '--conf', '{"answer": 42}', '--wait', '--timeout', '5m', '--json'])
    ok(first)
    expect(ranWith(runIdOf(first))).toBe('v1 {"answer": 42}')

    // the allowlist holds: a DAG outside the package is refused before any request
    expect((await cli(['trigger', 'other_dag'])).exitCode).toBe(5)

    writeFileSync(path.join(pkg, 'specs', 'echo.yaml'), spec('v2', out))
    ok(await cli(['generate']))
    ok(await cli(['publish', '--engine', 'ast', '--message', 'v2']))
    await description('v2')
    ok(await cli(['rollback', '--to', '1', '--yes']))
    await description('v1')
    const third = await cli(['trigger', 'loop_echo', '--conf', '{"after": "rollback"}', '--wait', '--timeout', '5m', '--json'])
    ok(third)
    expect(ranWith(runIdOf(third))).toBe('v1 {"after": "rollback"}')

    const event = path.join(REPO_ROOT, 'test', 'fixtures', 'datahub', 'entity-change-event-tag-added.json')
    const urn = (JSON.parse(readFileSync(event, 'utf8')) as {entityUrn: string}).entityUrn
    const delivered = await cli(['trigger', '--event', event, '--mapping', 'mapping.yaml', '--json'])
    ok(delivered)
    const again = await cli(['trigger', '--event', event, '--mapping', 'mapping.yaml', '--json'])
    ok(again)
    expect(JSON.stringify(again.json())).toContain('already_triggered')
    const runs = await waitFor('the event run to finish', async () => {
      const body = await api<{dag_runs: Array<{dag_run_id: string; state: string; conf: {urn?: string}}>}>('/dags/loop_echo/dagRuns?limit=100')
      const mine = body.dag_runs.filter((r) => r.conf?.urn === urn)
      return mine.length > 0 && mine.every((r) => r.state === 'success') ? mine : undefined
    }, budget(300_000))
    expect(runs).toHaveLength(1)
    expect(ranWith(runs[0]!.dag_run_id)).toBe(`v1 {"urn": "${urn}"}`)
    expect(readdirSync(out)).toHaveLength(3)
  }, budget(1_200_000))
})
