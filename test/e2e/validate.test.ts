import {existsSync, mkdtempSync, readFileSync, readdirSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, describe, expect, inject, it} from 'vitest'

import {runCli} from '../helpers/cli.js'
import {tempDir} from '../helpers/tmp.js'

const GOOD_DAG = `import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator

with DAG(dag_id="team_a_daily", schedule="@daily", start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
    BashOperator(task_id="hello", bash_command="echo {{ ds }}")
`
const BAD_DAG = `from airflow.models import Variable
from airflow.sdk import DAG

TOKEN = Variable.get("token")

with DAG(dag_id="sales_daily", schedule=None):
    pass
`
const WARN_DAG = `from airflow.sdk import DAG

DAG(dag_id="team_a_unscheduled")
`

// the result cache of these runs stays out of the user's ~/.cache
const CACHE = {DAGCTL_CACHE_DIR: mkdtempSync(path.join(os.tmpdir(), 'dagctl-cache-'))}
afterAll(() => rmSync(CACHE.DAGCTL_CACHE_DIR, {recursive: true, force: true}))

function pkg(files: Record<string, string>, config = 'package: team_a\n'): string {
  return tempDir({'dagctl.yaml': config, ...files})
}

describe('dagctl validate (built binary, real python3)', () => {
  it('exit 0 on a clean package: the dags folder by default, text summary', async () => {
    const dir = pkg({'dags/daily.py': GOOD_DAG, 'dags/lib/helpers.py': 'def f():\n    return 1\n', 'other/outside.py': BAD_DAG})
    const res = await runCli(['validate', '--engine', 'ast'], {cwd: dir, env: CACHE})
    expect(res.stderr).toBe('')
    expect(res.exitCode).toBe(0)
    // the report names the Python that parsed the files (it judges syntax such as 3.12's f-strings)
    expect(res.stdout.trim()).toMatch(/^✔ no problems in 2 files, 1 DAG, ast engine, Python 3\.\d+\.\d+$/)
  })

  it('--json returns the ValidationReport', async () => {
    const dir = pkg({'dags/daily.py': GOOD_DAG})
    const res = await runCli(['validate', '--engine', 'ast', '--json'], {cwd: dir, env: CACHE})
    expect(res.exitCode).toBe(0)
    expect(res.json()).toEqual({
      engine: 'ast',
      dags: [{dagId: 'team_a_daily', file: 'dags/daily.py', line: 5}],
      findings: [],
      summary: {files: 1, dags: 1, errors: 0, warnings: 0, infos: 0},
      python: {version: expect.stringMatching(/^3\.\d+\.\d+$/), executable: expect.stringContaining('python')},
      suppressions: {config: [], inline: []},
    })
  })

  it('exit 1 on an error finding; text grouped by file with hints; --json still the report', async () => {
    const dir = pkg({'dags/bad.py': BAD_DAG, 'dags/good.py': GOOD_DAG})
    const res = await runCli(['validate', '--engine', 'ast'], {cwd: dir, env: CACHE})
    expect(res.exitCode).toBe(1)
    expect(res.stdout).toContain('dags/bad.py\n  dags/bad.py:4:9 top-level-code warning: Variable.get() runs at import time')
    expect(res.stdout).toMatch(/dags\/bad\.py:6:6 dag-id-prefix error: DAG id 'sales_daily' is outside package team_a.*\n\s+hint: Rename it to 'team_a_sales_daily'/)
    expect(res.stdout.trim().split('\n').at(-1)).toMatch(/^✖ 1 error, 1 warning, 0 info in 2 files, 2 DAGs, ast engine, Python 3\.\d+\.\d+$/)
    expect(res.stderr).toContain('Error: validation failed: 1 error in dags/bad.py\nHint: Fix the findings marked error; docs/rules.md')
    expect(res.stdout + res.stderr).not.toMatch(/\n\s+at .*\.js:\d+/)

    const json = await runCli(['validate', '--engine', 'ast', '--json'], {cwd: dir, env: CACHE})
    expect(json.exitCode).toBe(1)
    const report = json.json()
    expect(report.summary).toEqual({files: 2, dags: 2, errors: 1, warnings: 1, infos: 0})
    expect(report.findings.map((f: any) => [f.file, f.line, f.column, f.rule, f.severity])).toEqual([
      ['dags/bad.py', 4, 9, 'top-level-code', 'warning'],
      ['dags/bad.py', 6, 6, 'dag-id-prefix', 'error'],
    ])
  })

  it('warnings alone exit 0', async () => {
    const dir = pkg({'dags/warn.py': WARN_DAG})
    const res = await runCli(['validate', '--engine', 'ast'], {cwd: dir, env: CACHE})
    expect(res.exitCode).toBe(0)
    expect(res.stdout).toContain('dags/warn.py:3:1 missing-schedule warning')
  })

  it('validates the files and folders given as arguments, paths relative to the package root', async () => {
    const dir = pkg({'dags/bad.py': BAD_DAG, 'extra/one.py': GOOD_DAG.replace('team_a_daily', 'team_a_one'), 'more/two.py': WARN_DAG})
    const res = await runCli(['validate', 'extra/one.py', 'more', '--engine', 'ast', '--json'], {cwd: dir, env: CACHE})
    expect(res.exitCode).toBe(0)
    const report = res.json()
    expect(report.summary.files).toBe(2)
    expect(report.dags.map((d: any) => d.file)).toEqual(['extra/one.py', 'more/two.py'])
  })

  it('the airflow version of dagctl.yaml decides the airflow3 rules', async () => {
    const legacy = 'from airflow import DAG\nfrom airflow.operators.bash_operator import BashOperator\nDAG("team_a_old", schedule_interval="@daily")\n'
    const three = await runCli(['validate', '--engine', 'ast', '--json'], {cwd: pkg({'dags/old.py': legacy}), env: CACHE})
    expect(three.json().findings.map((f: any) => f.rule)).toEqual(['airflow3-removed-import', 'airflow3-removed-argument'])
    const two = await runCli(['validate', '--engine', 'ast', '--json'], {cwd: pkg({'dags/old.py': legacy}, 'package: team_a\nairflow:\n  version: 2\n'), env: CACHE})
    expect(two.json().findings).toEqual([])
  })

  it('--format sarif --output writes the file atomically and keeps the text summary on stdout', async () => {
    const dir = pkg({'dags/bad.py': BAD_DAG})
    const res = await runCli(['validate', '--engine', 'ast', '--format', 'sarif', '--output', 'reports/validate.sarif'], {cwd: dir, env: CACHE})
    expect(res.exitCode).toBe(1)
    const sarif = JSON.parse(readFileSync(path.join(dir, 'reports', 'validate.sarif'), 'utf8'))
    expect(sarif.version).toBe('2.1.0')
    expect(sarif.runs[0].results.map((r: any) => r.ruleId)).toEqual(['top-level-code', 'dag-id-prefix'])
    expect(sarif.runs[0].tool.driver.version).toMatch(/^\d+\.\d+\.\d+/)
    expect(readdirSync(path.join(dir, 'reports'))).toEqual(['validate.sarif'])
    expect(res.stdout).toContain('✖ 1 error, 1 warning')
    expect(res.stderr).toContain('report written to reports/validate.sarif')
  })

  it('in a monorepo, SARIF and code quality paths are repository paths; text and --json stay package paths', async () => {
    const repo = tempDir({'.git/HEAD': 'ref: refs/heads/main\n', 'packages/team_a/dagctl.yaml': 'package: team_a\n', 'packages/team_a/dags/bad.py': BAD_DAG})
    const cwd = path.join(repo, 'packages', 'team_a')
    const sarif = await runCli(['validate', '--engine', 'ast', '--format', 'sarif'], {cwd, env: CACHE})
    expect(JSON.parse(sarif.stdout).runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri).toBe('packages/team_a/dags/bad.py')
    const cq = await runCli(['validate', '--engine', 'ast', '--format', 'codequality'], {cwd, env: CACHE})
    expect(JSON.parse(cq.stdout)[0].location.path).toBe('packages/team_a/dags/bad.py')
    const json = await runCli(['validate', '--engine', 'ast', '--json'], {cwd, env: CACHE})
    expect(json.json().findings[0].file).toBe('dags/bad.py')
  })

  it('--format junit and codequality print to stdout when there is no --output', async () => {
    const dir = pkg({'dags/bad.py': BAD_DAG})
    const junit = await runCli(['validate', '--engine', 'ast', '--format', 'junit'], {cwd: dir, env: CACHE})
    expect(junit.exitCode).toBe(1)
    expect(junit.stdout).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites/)
    const cq = await runCli(['validate', '--engine', 'ast', '--format', 'codequality'], {cwd: dir, env: CACHE})
    expect(JSON.parse(cq.stdout).map((i: any) => i.check_name)).toEqual(['top-level-code', 'dag-id-prefix'])
  })

  it('exit 2 with a hint when the interpreter is missing: --python, DAGCTL_PYTHON or python: in dagctl.yaml', async () => {
    const dir = pkg({'dags/daily.py': GOOD_DAG})
    for (const [args, env, config] of [
      [['--python', '/nonexistent/python3'], {}, undefined],
      [[], {DAGCTL_PYTHON: '/nonexistent/python3'}, undefined],
      [[], {}, 'package: team_a\npython: /nonexistent/python3\n'],
    ] as const) {
      const cwd = config ? pkg({'dags/daily.py': GOOD_DAG}, config) : dir
      const res = await runCli(['validate', '--engine', 'ast', ...args], {cwd, env: {...CACHE, ...env}})
      expect(res.exitCode).toBe(2)
      expect(res.stderr).toContain("cannot run the Python interpreter '/nonexistent/python3'")
      expect(res.stderr).toMatch(/Hint: Install python3, or name an interpreter/)
    }
    const json = await runCli(['validate', '--engine', 'ast', '--python', '/nonexistent/python3', '--json'], {cwd: dir, env: CACHE})
    expect(json.exitCode).toBe(2)
    expect(json.json().error).toMatchObject({code: 'PYTHON_MISSING', exitCode: 2})
  })

  it('--engine airflow without Airflow: exit 2 and the setup hint', async () => {
    const dir = pkg({'dags/daily.py': GOOD_DAG})
    const res = await runCli(['validate', '--engine', 'airflow', '--python', inject('testPython')], {cwd: dir, env: CACHE})
    expect(res.exitCode).toBe(2)
    expect(res.stderr).toMatch(/Hint: .*dagctl python setup --airflow 3.*--engine ast/)
  })

  it('exit 2 for a path that does not exist, or an --output it cannot write', async () => {
    const dir = pkg({'dags/daily.py': GOOD_DAG, 'blocker': 'a file, not a folder'})
    const missing = await runCli(['validate', 'nope.py', '--engine', 'ast'], {cwd: dir, env: CACHE})
    expect(missing.exitCode).toBe(2)
    expect(missing.stderr).toContain('no such file or folder: nope.py')
    const unwritable = await runCli(['validate', '--engine', 'ast', '--format', 'junit', '--output', 'blocker/report.xml'], {cwd: dir, env: CACHE})
    expect(unwritable.exitCode).toBe(2)
    expect(existsSync(path.join(dir, 'blocker', 'report.xml'))).toBe(false)
  })

  it('caches results by content hash under DAGCTL_CACHE_DIR; --no-cache leaves no trace', async () => {
    const dir = pkg({'dags/daily.py': GOOD_DAG})
    const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'dagctl-cache-'))
    try {
      const off = await runCli(['validate', '--engine', 'ast', '--no-cache'], {cwd: dir, env: {DAGCTL_CACHE_DIR: cacheDir}})
      expect(off.exitCode).toBe(0)
      expect(readdirSync(cacheDir)).toEqual([])
      const on = await runCli(['validate', '--engine', 'ast'], {cwd: dir, env: {DAGCTL_CACHE_DIR: cacheDir}})
      expect(on.stdout).toBe(off.stdout)
      expect(readdirSync(path.join(cacheDir, 'validate-ast'))).toHaveLength(1)
    } finally {
      rmSync(cacheDir, {recursive: true, force: true})
    }
  })
})
