import {copyFileSync, mkdtempSync, readdirSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'

import {startAirflow, type AirflowServer} from '../helpers/airflow-server.js'
import {budget, waitFor} from '../helpers/budget.js'
import {runCli} from '../helpers/cli.js'
import {writeFiles} from '../helpers/tmp.js'

const job = (body: string, meta: string): string => `import time\n${meta}\n\n\ndef run(argv):\n${body}\n\n\nJOB = (run, "contract job")\n`

// The package's jobs, importable by the task runners (PYTHONPATH = the package folder).
// (not tempDir: that one is emptied after each test, and these tests share the repository)
const repo = mkdtempSync(path.join(os.tmpdir(), 'dagctl-discover-af-'))
const pkgDir = path.join(repo, 'packages', 'pkg')
writeFiles(pkgDir, {
  'dagctl.yaml': 'package: pkg\ndiscover:\n  root: ../..\n  template: python\n  schedules: [schedules.yaml]\n',
  // bash tasks: the same policy through _DagctlBashOperator
  'schedules.yaml': [
    'schedules:',
    '  - {name: bash_fatal, command: "exit 3", retry: {max_retries: 2, initial_delay: 1, retryable_exit_codes: [75]}}',
    '  - {name: bash_flaky, command: "exit 75", retry: {max_retries: 2, initial_delay: 1, retryable_exit_codes: [75]}}',
    '',
  ].join('\n'),
  'jobs/fatal.py': job('    return 3', 'RETRIES = {"max_retries": 2, "initial_delay": 1, "retryable_exit_codes": [75]}'),
  'jobs/flaky.py': job('    return 75', 'RETRIES = {"max_retries": 2, "initial_delay": 1, "retryable_exit_codes": [75]}'),
  'jobs/t1_a.py': job('    time.sleep(4)\n    return 0', 'TENANT = "t1"'),
  'jobs/t1_b.py': job('    time.sleep(4)\n    return 0', 'TENANT = "t1"'),
  'jobs/t2_c.py': job('    time.sleep(4)\n    return 0', 'TENANT = "t2"'),
})

describe('discovered jobs on real Airflow 3', () => {
  let airflow: AirflowServer
  beforeAll(async () => {
    process.env.PYTHONPATH = pkgDir
    airflow = await startAirflow(3, inject('airflowPython')['3'])
  }, budget(300_000))
  afterAll(async () => {
    await airflow?.stop()
    rmSync(repo, {recursive: true, force: true})
  }, budget(60_000))

  const env = (): Record<string, string> => ({DAGCTL_AIRFLOW_URL: airflow.url, DAGCTL_AIRFLOW_USERNAME: 'admin', DAGCTL_AIRFLOW_PASSWORD: airflow.password})

  it('pools sync creates one-slot tenant pools, then changes nothing', async () => {
    const dry = await runCli(['pools', 'sync', '--dry-run', '--json'], {cwd: pkgDir, env: env()})
    expect(dry.exitCode, dry.stdout + dry.stderr).toBe(0)
    expect(dry.json().pools.map((p: {pool: string; action: string}) => [p.pool, p.action])).toEqual([['tenant_t1', 'create'], ['tenant_t2', 'create']])
    expect((await airflow.api('GET', '/pools/tenant_t1')).status).toBe(404)
    const sync = await runCli(['pools', 'sync', '--json'], {cwd: pkgDir, env: env()})
    expect(sync.exitCode, sync.stdout + sync.stderr).toBe(0)
    expect((await airflow.api('GET', '/pools/tenant_t1')).body.slots).toBe(1)
    const changed = await airflow.api('PATCH', '/pools/tenant_t2?update_mask=slots', {pool: 'tenant_t2', slots: 5, include_deferred: false})
    expect(changed.status, JSON.stringify(changed.body)).toBe(200)
    const again = await runCli(['pools', 'sync', '--json'], {cwd: pkgDir, env: env()})
    expect(again.json().pools.map((p: {pool: string; action: string}) => [p.pool, p.action])).toEqual([['tenant_t1', 'unchanged'], ['tenant_t2', 'update']])
    expect((await airflow.api('GET', '/pools/tenant_t2')).body.slots).toBe(1)
    const last = await runCli(['pools', 'sync', '--json'], {cwd: pkgDir, env: env()})
    expect(last.json().pools.every((p: {action: string}) => p.action === 'unchanged')).toBe(true)
  }, budget(120_000))

  /** Generate, publish into the DAG folder, trigger each DAG once, wait for every run to end. */
  let ran: Promise<Record<string, any>> | undefined
  const runAll = async (): Promise<Record<string, any>> => {
    const gen = await runCli(['generate'], {cwd: pkgDir})
    expect(gen.exitCode, gen.stderr).toBe(0)
    const out = path.join(pkgDir, 'dags', 'generated')
    for (const f of readdirSync(out)) copyFileSync(path.join(out, f), path.join(airflow.dagsDir, f))
    const ids = ['pkg_fatal', 'pkg_flaky', 'pkg_bash_fatal', 'pkg_bash_flaky', 'pkg_t1_a', 'pkg_t1_b', 'pkg_t2_c']
    await waitFor(async () => (await Promise.all(ids.map(async (id) => (await airflow.api('GET', `/dags/${id}`)).status === 200))).every(Boolean), {what: 'the DAGs to be parsed', timeoutMs: 180_000, intervalMs: 1000})
    for (const id of ids) {
      await airflow.api('PATCH', `/dags/${id}`, {is_paused: false})
      const t = await airflow.api('POST', `/dags/${id}/dagRuns`, {dag_run_id: 'r1', logical_date: null})
      expect(t.status, JSON.stringify(t.body)).toBe(200)
    }
    const done = (s: string | null) => s === 'success' || s === 'failed'
    await waitFor(async () => (await Promise.all(ids.map(async (id) => done((await airflow.api('GET', `/dags/${id}/dagRuns/r1`)).body.state)))).every(Boolean), {what: 'every run to finish', timeoutMs: 300_000, intervalMs: 1000})
    const tis = await Promise.all(ids.map(async (id) => (await airflow.api('GET', `/dags/${id}/dagRuns/r1/taskInstances/run`)).body))
    return Object.fromEntries(ids.map((id, i) => [id, tis[i]]))
  }

  it('a non-retryable exit code fails with no retry, a retryable one is retried (python and bash tasks)', async () => {
    const ti = await (ran ??= runAll())
    expect(ti.pkg_fatal.state).toBe('failed')
    expect(ti.pkg_fatal.try_number).toBe(1)
    expect(ti.pkg_flaky.state).toBe('failed')
    expect(ti.pkg_flaky.try_number).toBe(3)
    expect(ti.pkg_bash_fatal.state).toBe('failed')
    expect(ti.pkg_bash_fatal.try_number).toBe(1)
    expect(ti.pkg_bash_flaky.state).toBe('failed')
    expect(ti.pkg_bash_flaky.try_number).toBe(3)
  }, budget(600_000))

  it("two DAGs of one tenant triggered together never overlap, while another tenant's run goes ahead", async () => {
    const ti = await (ran ??= runAll())
    const [a, b, c] = [ti.pkg_t1_a, ti.pkg_t1_b, ti.pkg_t2_c]
    for (const x of [a, b, c]) expect(x.state).toBe('success')
    const span = (x: {start_date: string; end_date: string}) => [Date.parse(x.start_date), Date.parse(x.end_date)]
    const [as, ae] = span(a)
    const [bs, be] = span(b)
    expect(ae <= bs || be <= as, `tenant t1 overlapped: ${a.start_date}-${a.end_date} and ${b.start_date}-${b.end_date}`).toBe(true)
    const [cs, ce] = span(c)
    // the other tenant ran while one of t1's jobs did
    expect((cs < ae && as < ce) || (cs < be && bs < ce), 'tenant t2 waited for tenant t1').toBe(true)
  }, budget(600_000))
})
