import {execa} from 'execa'
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, inject, it} from 'vitest'

import {REPO_ROOT, runCli} from '../helpers/cli.js'
import {tempDir} from '../helpers/tmp.js'

const ALL_TYPES = readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'specs', 'all-types.yaml'), 'utf8')

function packageFor(version: 2 | 3): string {
  return tempDir({
    'dagctl.yaml': [
      'package: team_a',
      `airflow:\n  version: ${version}`,
      'image: registry.example.com/team_a/jobs:1.0.0',
      'policy:\n  owner: team-a\n  retries: 2\n  allowed_registries: [registry.example.com/]',
      '',
    ].join('\n'),
    'specs/all_types.yaml': ALL_TYPES,
    'specs/manual.yaml': 'name: manual\nschedule: null\ntasks:\n  only:\n    type: bash\n    command: echo "{{ ds }}"\n',
  })
}

/** The loop a user runs: what `generate` writes, `validate` must pass, for both Airflow targets. */
describe.each([3, 2] as const)('generated DAGs for Airflow %i pass validate', (version) => {
  it('with the ast engine: no finding at all, every DAG found under its package id', async () => {
    const dir = packageFor(version)
    const gen = await runCli(['generate', '--json'], {cwd: dir})
    expect(gen.exitCode, gen.stderr).toBe(0)
    const res = await runCli(['validate', '--engine', 'ast', '--json'], {cwd: dir})
    expect(res.exitCode, res.stdout + res.stderr).toBe(0)
    const report = res.json()
    expect(report.findings).toEqual([])
    expect(report.dags.map((d: {dagId: string}) => d.dagId).sort()).toEqual(['team_a_all_types', 'team_a_manual'])
  })

  it("with Airflow's own DagBag: every task type imports, task counts as specified", async () => {
    const dir = packageFor(version)
    expect((await runCli(['generate'], {cwd: dir})).exitCode).toBe(0)
    const python = inject('airflowPython')[String(version) as '2' | '3']
    const res = await runCli(['validate', '--engine', 'airflow', '--python', python, '--json'], {cwd: dir, timeout: 300_000})
    expect(res.exitCode, res.stdout + res.stderr).toBe(0)
    const report = res.json()
    expect(report.engine).toBe('airflow')
    expect(report.findings.filter((f: {severity: string}) => f.severity !== 'info')).toEqual([])
    const tasks = Object.fromEntries(report.dags.map((d: {dagId: string; tasks?: number}) => [d.dagId, d.tasks]))
    expect(tasks).toEqual({team_a_all_types: 6, team_a_manual: 1})
  })

  it("retry_exponential_backoff: true makes Airflow's own retry delay grow (on 3.3 the argument is the multiplier)", async () => {
    const dir = packageFor(version)
    expect((await runCli(['generate'], {cwd: dir})).exitCode).toBe(0)
    const python = inject('airflowPython')[String(version) as '2' | '3']
    const file = path.join(dir, 'dags', 'generated', 'team_a_all_types.py')
    const res = await execa(python, [path.join(REPO_ROOT, 'test', 'helpers', 'retry_delays.py'), file, 'team_a_all_types', 'start'], {
      env: {AIRFLOW_HOME: path.join(dir, '.airflow-home')},
      reject: false,
      timeout: 120_000,
    })
    expect(res.exitCode, res.stderr).toBe(0)
    const delays = JSON.parse(res.stdout.trim().split('\n').at(-1)!) as number[]
    // retry_delay 2m: try n waits between 120·2^(n-1) and twice that (Airflow adds a hash-based spread)
    delays.forEach((d, i) => expect(d, JSON.stringify(delays)).toBeGreaterThanOrEqual(120 * 2 ** i))
  })
})
