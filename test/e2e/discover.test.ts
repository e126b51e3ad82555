import {cpSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, inject, it} from 'vitest'

import {REPO_ROOT, runCli} from '../helpers/cli.js'
import {tempDir} from '../helpers/tmp.js'

const MONOREPO = path.join(REPO_ROOT, 'test', 'fixtures', 'discover', 'monorepo')

/** A copy of the fixture monorepo; without the broken package when `clean`. */
function monorepo(clean = false): string {
  const dir = tempDir({}, 'dagctl-discover-')
  cpSync(MONOREPO, dir, {recursive: true})
  if (clean) rmSync(path.join(dir, 'packages', 'broken'), {recursive: true})
  return dir
}

const EXPECTED_JOBS = [
  {id: 'billing_invoices', package: 'billing', module: 'jobs.invoice', entrypoint: 'run', file: 'packages/billing/jobs/invoice.py', line: 9, description: 'Send the invoices.'},
  {id: 'billing_side_effect', package: 'billing', module: 'jobs.side_effect', entrypoint: 'run', file: 'packages/billing/jobs/side_effect.py', line: 12, description: 'A job whose import writes a file.'},
  {id: 'orders_daily_report', package: 'orders', module: 'jobs.daily_report', entrypoint: 'main', file: 'packages/orders/jobs/daily_report.py', line: 16, description: 'Build the daily orders report.'},
  {id: 'orders_nested_deep_refresh', package: 'orders', module: 'jobs.nested.deep.refresh', entrypoint: 'refresh', file: 'packages/orders/jobs/nested/deep/refresh.py', line: 5, description: 'Refresh the orders cache.'},
]

const EXPECTED_PROBLEMS = [
  ['packages/broken/jobs/bad_schedule.py', 1, 'meta-invalid'],
  ['packages/broken/jobs/desc_not_literal.py', 6, 'description-not-string'],
  ['packages/broken/jobs/dup_one.py', 8, 'duplicate-id'],
  ['packages/broken/jobs/dup_two.py', 8, 'duplicate-id'],
  ['packages/broken/jobs/entry_not_function.py', 2, 'entrypoint-not-function'],
  ['packages/broken/jobs/imported_entry.py', 3, 'entrypoint-not-function'],
  ['packages/broken/jobs/not_pair.py', 5, 'job-not-pair'],
  ['packages/broken/jobs/syntax_error.py', 1, 'syntax-error'],
  ['packages/broken/jobs/undefined_entry.py', 1, 'entrypoint-undefined'],
]

describe('dagctl discover', () => {
  it('finds exactly the jobs of the fixture monorepo (decoys ignored) and reports every broken form with file, line and reason', async () => {
    const dir = monorepo()
    const marker = path.join(dir, 'IMPORTED')
    const res = await runCli(['discover', '--json'], {cwd: dir, env: {DAGCTL_IMPORT_MARKER: marker}})
    expect(res.exitCode, res.stderr).toBe(0)
    const out = res.json()
    expect(out.jobs.map((j: Record<string, unknown>) => ({id: j.id, package: j.package, module: j.module, entrypoint: j.entrypoint, file: j.file, line: j.line, description: j.description}))).toEqual(EXPECTED_JOBS)
    expect(out.problems.map((p: {file: string; line: number; code: string}) => [p.file, p.line, p.code])).toEqual(EXPECTED_PROBLEMS)
    for (const p of out.problems) expect(p.reason.length).toBeGreaterThan(10)
    const report = out.jobs.find((j: {id: string}) => j.id === 'orders_daily_report')
    expect(report.meta).toEqual({
      schedule: '0 6 * * *',
      tenant: 'acme',
      retries: {max_retries: 3, initial_delay: 30, backoff_multiplier: 2, max_delay: 600, retryable_exit_codes: [75]},
      resources: {limits: {memory: '1Gi'}},
      tags: ['orders'],
    })
    expect(existsSync(marker), 'a job module was imported').toBe(false)
  })

  it('--strict exits 1 on broken files and still prints the whole result; the human tree lists jobs by package', async () => {
    const dir = monorepo()
    const strict = await runCli(['discover', '--strict', '--json'], {cwd: dir})
    expect(strict.exitCode).toBe(1)
    expect(strict.json().problems).toHaveLength(EXPECTED_PROBLEMS.length)
    const human = await runCli(['discover', '--strict'], {cwd: dir})
    expect(human.exitCode).toBe(1)
    expect(human.stdout).toMatch(/^billing\n {2}billing_invoices {2}jobs\.invoice:run {2}packages\/billing\/jobs\/invoice\.py:9/m)
    expect(human.stderr).toContain('broken  packages/broken/jobs/not_pair.py:5: JOB must be a 2-tuple')
    const ok = await runCli(['discover', '--strict', '--root', monorepo(true)], {cwd: tempDir()})
    expect(ok.exitCode, ok.stderr).toBe(0)
    expect(ok.stdout).toContain('4 jobs in 2 packages')
  })
})

describe('generate from discovered jobs and a runner config', () => {
  it('renders one DAG per job and schedule entry of the package, deterministic, with the policy and the source line; --check and --clean', async () => {
    const dir = monorepo(true)
    const marker = path.join(dir, 'IMPORTED')
    const env = {DAGCTL_IMPORT_MARKER: marker}
    const orders = path.join(dir, 'packages', 'orders')
    const gen = await runCli(['generate', '--json'], {cwd: orders, env})
    expect(gen.exitCode, gen.stdout + gen.stderr).toBe(0)
    expect(gen.json().written).toEqual(['dags/generated/orders_daily_report.py', 'dags/generated/orders_nested_deep_refresh.py'])
    const file = path.join(orders, 'dags', 'generated', 'orders_daily_report.py')
    const text = readFileSync(file, 'utf8')
    // the discovered job and its schedule entry are one DAG: the schedule's cron, the module's retry policy
    expect(text.split('\n')[0]).toBe('# dagctl:generated source=../../runner.yaml')
    expect(text).toContain('schedule="30 5 * * *"')
    expect(text).toContain('tz="Europe/Berlin"')
    expect(text).toContain('params={"argv": ["--config", "configs/daily.yaml"]}')
    expect(text).toContain('image="registry.example.com/jobs/orders:1.4.2"')
    expect(text).toContain('cmds=["python", "-m", "jobs.daily_report"]')
    expect(text).toContain('tags=["platform", "orders", "ingest"]')
    expect(text).toContain('"owner": "orders-team"')
    expect(text).toContain('container_resources=k8s.V1ResourceRequirements(requests={"cpu": "100m", "memory": "128Mi"}, limits={"memory": "1Gi"})')
    expect(text).toContain('retryable_exit_codes=[75]')
    expect(text).toContain('pool="tenant_acme"')
    expect(text).toContain('max_active_runs=1')
    const refresh = readFileSync(path.join(orders, 'dags', 'generated', 'orders_nested_deep_refresh.py'), 'utf8')
    expect(refresh.split('\n').slice(0, 2).join('\n')).toBe(
      '# dagctl:generated source=jobs/nested/deep/refresh.py\n# Airflow DAG generated by dagctl from jobs/nested/deep/refresh.py line 5. Do not edit: change that file and run `dagctl generate`.',
    )
    // deterministic: a second run writes nothing
    const again = await runCli(['generate', '--json'], {cwd: orders, env})
    expect(again.json().written).toEqual([])
    expect(readFileSync(file, 'utf8')).toBe(text)
    expect((await runCli(['generate', '--check'], {cwd: orders})).exitCode).toBe(0)
    // the job goes: --check fails on the orphan, --clean removes it (and only generated files)
    rmSync(path.join(dir, 'packages', 'orders', 'jobs', 'nested'), {recursive: true})
    writeFileSync(path.join(orders, 'dags', 'generated', 'hand_written.py'), 'from airflow.sdk import DAG\n')
    const check = await runCli(['generate', '--check', '--json'], {cwd: orders})
    expect(check.exitCode).toBe(1)
    expect(check.json().stale).toEqual([{file: 'dags/generated/orders_nested_deep_refresh.py', reason: 'orphan', spec: 'jobs/nested/deep/refresh.py'}])
    const clean = await runCli(['generate', '--clean', '--json'], {cwd: orders})
    expect(clean.json().removed).toEqual(['dags/generated/orders_nested_deep_refresh.py'])
    expect(readdirSync(path.join(orders, 'dags', 'generated')).sort()).toEqual(['hand_written.py', 'orders_daily_report.py'])
    expect(existsSync(marker), 'a job module was imported').toBe(false)
  })

  it('billing: a disabled schedule is a paused DAG with no schedule; retries and tenant pools; a command entry is a bash DAG', async () => {
    const billing = path.join(monorepo(true), 'packages', 'billing')
    const gen = await runCli(['generate', '--json'], {cwd: billing})
    expect(gen.exitCode, gen.stdout + gen.stderr).toBe(0)
    expect(gen.json().dags.map((d: {dagId: string}) => d.dagId)).toEqual(['billing_invoices', 'billing_invoices_backfill', 'billing_ledger_sync', 'billing_side_effect'])
    const read = (id: string): string => readFileSync(path.join(billing, 'dags', 'generated', `${id}.py`), 'utf8')
    const backfill = read('billing_invoices_backfill')
    expect(backfill).toContain('schedule=None')
    expect(backfill).toContain('is_paused_upon_creation=True')
    expect(backfill).toContain('op_kwargs={"target": "jobs.invoice:run", "argv": [], "retryable_exit_codes": [75, 111]}')
    expect(backfill).toMatch(/retries=2,\n {4}retry_delay=timedelta\(seconds=5\),\n {4}retry_exponential_backoff=3,\n {4}max_retry_delay=timedelta\(seconds=60\),\n {4}pool="tenant_billing",/)
    const ledger = read('billing_ledger_sync')
    expect(ledger).toContain('tasks["run"] = _DagctlBashOperator(')
    expect(ledger).toContain('bash_command="python -m jobs.ledger --full"')
    expect(read('billing_invoices')).toContain('pool="tenant_billing"')
  })

  it("a broken job file stops its package's generate (exit 1) and nothing is written; other packages generate", async () => {
    const dir = monorepo()
    const broken = path.join(dir, 'packages', 'broken')
    writeFileSync(path.join(broken, 'dagctl.yaml'), 'package: broken\nextends: ../../platform.yaml\ndiscover:\n  root: ../..\n')
    const res = await runCli(['generate', '--json'], {cwd: broken})
    expect(res.exitCode).toBe(1)
    expect(res.json().error.code).toBe('JOBS_BROKEN')
    expect(existsSync(path.join(broken, 'dags'))).toBe(false)
    // another package's broken files do not stop this one
    const orders = await runCli(['generate', '--json'], {cwd: path.join(dir, 'packages', 'orders')})
    expect(orders.exitCode, orders.stdout).toBe(0)
    expect(orders.json().dags).toHaveLength(2)
  })
})

describe.each([3, 2] as const)('generated job DAGs for Airflow %i', (version) => {
  it("pass validate with the ast engine and with Airflow's DagBag, and no job module is imported", async () => {
    const dir = monorepo(true)
    const marker = path.join(dir, 'IMPORTED')
    const env = {DAGCTL_IMPORT_MARKER: marker, DAGCTL_AIRFLOW_VERSION: String(version)}
    const python = inject('airflowPython')[String(version) as '2' | '3']
    for (const pkg of ['orders', 'billing']) {
      const cwd = path.join(dir, 'packages', pkg)
      expect((await runCli(['generate'], {cwd, env})).exitCode).toBe(0)
      const ast = await runCli(['validate', '--engine', 'ast', '--json'], {cwd, env})
      expect(ast.exitCode, ast.stdout).toBe(0)
      expect(ast.json().findings).toEqual([])
      const bag = await runCli(['validate', '--engine', 'airflow', '--python', python, '--json', 'dags/generated'], {cwd, env})
      expect(bag.exitCode, bag.stdout + bag.stderr).toBe(0)
      expect(bag.json().findings).toEqual([])
      expect(bag.json().dags.length).toBe(pkg === 'orders' ? 2 : 4)
    }
    expect(existsSync(marker), 'a job module was imported').toBe(false)
  })
})

describe('schedules files', () => {
  const pkg = (schedules: string): string =>
    tempDir({
      'dagctl.yaml': 'package: team\ndiscover:\n  root: ../..\n  template: python\n  schedules: [schedules.yaml]\n',
      'schedules.yaml': schedules,
      'jobs/load.py': 'def run(argv):\n    return 0\n\n\nJOB = (run, "Load.")\n',
    })
  const inRepo = (files: string): string => {
    const root = tempDir()
    cpSync(pkg(files), path.join(root, 'packages', 'team'), {recursive: true})
    return path.join(root, 'packages', 'team')
  }

  it('a wrong key is an error at its file, line and key (exit 2); so is a job no module defines', async () => {
    const bad = inRepo('schedules:\n  - name: load\n    job: team_load\n    cron: "0 6 * * *"\n    retry:\n      max_retries: 2\n      max_retires: 3\n')
    const res = await runCli(['generate', '--json'], {cwd: bad})
    expect(res.exitCode).toBe(2)
    const {error} = res.json()
    expect(error.location).toMatchObject({line: 7, key: 'schedules[0].retry.max_retires'})
    expect(error.location.file).toMatch(/schedules\.yaml$/)
    const unknown = inRepo('schedules:\n  - name: other\n    cron: "@daily"\n    job: team_nope\n')
    const res2 = await runCli(['generate', '--json'], {cwd: unknown})
    expect(res2.exitCode).toBe(2)
    expect(res2.json().error).toMatchObject({code: 'SCHEDULE_UNKNOWN_JOB', location: {line: 4, key: 'schedules[0].job'}})
    expect(existsSync(path.join(unknown, 'dags'))).toBe(false)
  })

  it('a job both discovered and scheduled is one DAG; an entry under another name is a DAG of its own', async () => {
    const dir = inRepo('schedules:\n  - name: load\n    job: team_load\n    interval: 900\n  - name: load_full\n    job: team_load\n    cron: "@daily"\n    argv: ["--full"]\n')
    const res = await runCli(['generate', '--json'], {cwd: dir})
    expect(res.exitCode, res.stdout).toBe(0)
    expect(res.json().dags.map((d: {dagId: string; spec: string}) => [d.dagId, d.spec])).toEqual([
      ['team_load', 'schedules.yaml'],
      ['team_load_full', 'schedules.yaml'],
    ])
    const load = readFileSync(path.join(dir, 'dags', 'generated', 'team_load.py'), 'utf8')
    expect(load).toContain('schedule=timedelta(seconds=900)')
    expect(load).toContain('"Load."')
    expect(readFileSync(path.join(dir, 'dags', 'generated', 'team_load_full.py'), 'utf8')).toContain('op_kwargs={"target": "jobs.load:run", "argv": ["--full"]}')
  })

  it('dagctl schema schedules prints the JSON Schema of the file', async () => {
    const res = await runCli(['schema', 'schedules'], {cwd: tempDir()})
    expect(res.exitCode, res.stderr).toBe(0)
    const schema = JSON.parse(res.stdout)
    const entry = schema.properties.schedules.items
    expect(Object.keys(entry.properties).sort()).toEqual(
      ['argv', 'command', 'config', 'cron', 'enabled', 'interval', 'job', 'max_concurrent_runs', 'name', 'package', 'retry', 'tags', 'tenant', 'timezone'].sort(),
    )
    expect(Object.keys(entry.properties.retry.properties).sort()).toEqual(['backoff_multiplier', 'initial_delay', 'max_delay', 'max_retries', 'retryable_exit_codes'])
  })
})
