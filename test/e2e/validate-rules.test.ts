/**
 * Configurable rules (validate.rules, with the platform's extends: file as the default), inline
 * `# dagctl: ignore[...]`, each use reported under --json; and validate.python, the Python version
 * that judges the files' syntax.
 */
import {execaSync} from 'execa'
import {existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {runCli} from '../helpers/cli.js'
import {tempDir} from '../helpers/tmp.js'

// a cache folder of its own: no managed venv is found there, so python3 on PATH parses
const CACHE = {DAGCTL_CACHE_DIR: mkdtempSync(path.join(os.tmpdir(), 'dagctl-cache-'))}
afterAll(() => rmSync(CACHE.DAGCTL_CACHE_DIR, {recursive: true, force: true}))

const TOP_LEVEL = `from airflow.models import Variable
from airflow.sdk import DAG

TOKEN = Variable.get("token")

DAG(dag_id="team_a_unscheduled")
`

describe('validate.rules in dagctl.yaml', () => {
  it('the platform file sets the default, the package overrides; each setting is reported with its source and effect', async () => {
    const dir = tempDir({
      'platform/defaults.yaml': 'validate:\n  rules:\n    top-level-code: "off"\n    missing-schedule: error\n    dynamic-dag-id: "off"\n',
      'pkg/dagctl.yaml': 'extends: ../platform/defaults.yaml\npackage: team_a\n',
      'pkg/dags/a.py': TOP_LEVEL,
    })
    const pkg = path.join(dir, 'pkg')
    // the platform alone: missing-schedule is an error now, so the run fails
    let res = await runCli(['validate', '--engine', 'ast', '--json'], {cwd: pkg, env: CACHE})
    expect(res.exitCode).toBe(1)
    let report = res.json()
    expect(report.findings.map((f: {rule: string; severity: string}) => `${f.rule} ${f.severity}`)).toEqual(['missing-schedule error'])
    expect(report.summary).toMatchObject({errors: 1, warnings: 0})
    expect(report.suppressions.config).toEqual([
      {rule: 'dynamic-dag-id', setting: 'off', source: '../platform/defaults.yaml', findings: 0},
      {rule: 'missing-schedule', setting: 'error', source: '../platform/defaults.yaml', findings: 1},
      {rule: 'top-level-code', setting: 'off', source: '../platform/defaults.yaml', findings: 1},
    ])

    // the package says otherwise for one rule
    writeFileSync(path.join(pkg, 'dagctl.yaml'), 'extends: ../platform/defaults.yaml\npackage: team_a\nvalidate:\n  rules:\n    missing-schedule: info\n')
    res = await runCli(['validate', '--engine', 'ast', '--json'], {cwd: pkg, env: CACHE})
    expect(res.exitCode).toBe(0)
    report = res.json()
    expect(report.findings.map((f: {rule: string; severity: string}) => `${f.rule} ${f.severity}`)).toEqual(['missing-schedule info'])
    expect(report.suppressions.config).toContainEqual({rule: 'missing-schedule', setting: 'info', source: 'dagctl.yaml', findings: 1})

    // the text report says what the configuration changed
    const text = await runCli(['validate', '--engine', 'ast'], {cwd: pkg, env: CACHE})
    expect(text.stdout).toContain('configured: missing-schedule as info (dagctl.yaml): 1 finding; top-level-code off (../platform/defaults.yaml): 1 finding')
  })

  it('an unknown rule or a setting that is not off/error/warning/info is exit 2 at its line', async () => {
    const typo = tempDir({'dagctl.yaml': 'package: team_a\nvalidate:\n  rules:\n    top-levl-code: "off"\n', 'dags/a.py': 'x = 1\n'})
    let res = await runCli(['validate', '--engine', 'ast'], {cwd: typo, env: CACHE})
    expect(res.exitCode).toBe(2)
    expect(res.stderr).toContain("unknown key 'top-levl-code'")
    expect(res.stderr).toContain('dagctl.yaml:4:5')
    const bad = tempDir({'dagctl.yaml': 'package: team_a\nvalidate:\n  rules:\n    top-level-code: loud\n', 'dags/a.py': 'x = 1\n'})
    res = await runCli(['validate', '--engine', 'ast'], {cwd: bad, env: CACHE})
    expect(res.exitCode).toBe(2)
    expect(res.stderr).toContain('validate.rules.top-level-code')
  })
})

describe('# dagctl: ignore[rule] silences one line', () => {
  it('one rule or several; only real comments; each comment is reported with what it silenced', async () => {
    const dir = tempDir({
      'dagctl.yaml': 'package: team_a\n',
      'dags/a.py': `from airflow.models import Variable
from airflow.sdk import DAG

TOKEN = Variable.get("token")  # dagctl: ignore[top-level-code]
OTHER = Variable.get("other")
NOTE = "# dagctl: ignore[missing-schedule]"
DAG(dag_id="sales_x")  # dagctl: ignore[dag-id-prefix, missing-schedule]
DAG(dag_id="team_a_y")  # dagctl: ignore[top-level-code]
`,
    })
    const res = await runCli(['validate', '--engine', 'ast', '--json'], {cwd: dir, env: CACHE})
    expect(res.exitCode).toBe(0)
    const report = res.json()
    // line 5 has no comment; the string on line 6 is not one; line 8's comment names another rule
    expect(report.findings.map((f: {line: number; rule: string}) => `${f.line} ${f.rule}`)).toEqual(['5 top-level-code', '8 missing-schedule'])
    expect(report.suppressions.inline).toEqual([
      {file: 'dags/a.py', line: 4, rules: ['top-level-code'], silenced: 1},
      {file: 'dags/a.py', line: 7, rules: ['dag-id-prefix', 'missing-schedule'], silenced: 2},
      {file: 'dags/a.py', line: 8, rules: ['top-level-code'], silenced: 0},
    ])
    const text = await runCli(['validate', '--engine', 'ast'], {cwd: dir, env: CACHE})
    expect(text.stdout).toContain('3 ignore comments: 3 findings silenced')
  })
})

/** A python3.12 of this machine (pyenv or the system), if any. */
function findPython312(): string | undefined {
  const candidates = ['/usr/bin/python3.12', '/usr/local/bin/python3.12']
  const pyenv = path.join(os.homedir(), '.pyenv', 'versions')
  if (existsSync(pyenv)) for (const v of readdirSync(pyenv)) if (v.startsWith('3.12')) candidates.push(path.join(pyenv, v, 'bin', 'python3.12'))
  return candidates.find((p) => existsSync(p) && execaSync(p, ['-c', 'pass'], {reject: false}).exitCode === 0)
}

// valid only from Python 3.12 on (PEP 701: an f-string may reuse its quote)
const F_STRING_312 = 'from airflow.sdk import DAG\nparts = ["a"]\nDAG(dag_id=f"team_a_{"_".join(parts)}", schedule=None)\n'

describe('validate.python: the Python version that runs the DAGs judges their syntax', () => {
  it('says which Python parsed the files; a version that is not installed is exit 2 saying so', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\nvalidate:\n  python: "3.99"\n', 'dags/a.py': 'x = 1\n'})
    const res = await runCli(['validate', '--engine', 'ast', '--json'], {cwd: dir, env: CACHE})
    expect(res.exitCode).toBe(2)
    expect(res.json().error).toMatchObject({code: 'PYTHON_TARGET_MISSING', message: expect.stringContaining('validate.python is 3.99, but no Python 3.99 is available')})
    expect(res.json().error.message).toContain('python3.99 is not on PATH')
    // an interpreter the user named is never swapped for another: a mismatch is an error naming both
    const named = await runCli(['validate', '--engine', 'ast', '--python', 'python3'], {cwd: dir, env: CACHE})
    expect(named.exitCode).toBe(2)
    expect(named.stderr).toMatch(/validate\.python is 3\.99, but the interpreter named by --python \(python3\) is Python 3\.\d+/)
    // unquoted 3.10 would be the number 3.1
    const unquoted = tempDir({'dagctl.yaml': 'package: team_a\nvalidate:\n  python: 3.10\n', 'dags/a.py': 'x = 1\n'})
    const u = await runCli(['validate', '--engine', 'ast'], {cwd: unquoted, env: CACHE})
    expect(u.exitCode).toBe(2)
    expect(u.stderr).toContain('quoted Python version')
  })

  const py312 = findPython312()
  it.runIf(py312)('parses with python3.12 when validate.python is 3.12, so a 3.12-only f-string is valid', async () => {
    const bin = tempDir()
    symlinkSync(py312!, path.join(bin, 'python3.12'))
    const env = {...CACHE, PATH: `${bin}${path.delimiter}${process.env.PATH}`}
    const dir = tempDir({'dagctl.yaml': 'package: team_a\nvalidate:\n  python: "3.12"\n', 'dags/a.py': F_STRING_312})
    const res = await runCli(['validate', '--engine', 'ast', '--json'], {cwd: dir, env})
    expect(res.exitCode).toBe(0)
    const report = res.json()
    expect(report.python).toMatchObject({version: expect.stringMatching(/^3\.12\./), target: '3.12'})
    expect(report.findings.map((f: {rule: string}) => f.rule)).toEqual(['dynamic-dag-id'])
    // the same file judged by an older python3 is a syntax error, and the report says which Python
    const older = execaSync('python3', ['-c', 'import sys; print(sys.version_info[1])']).stdout.trim()
    if (Number(older) < 12) {
      writeFileSync(path.join(dir, 'dagctl.yaml'), 'package: team_a\n')
      const old = await runCli(['validate', '--engine', 'ast', '--json'], {cwd: dir, env})
      expect(old.exitCode).toBe(1)
      expect(old.json().findings.map((f: {rule: string}) => f.rule)).toEqual(['syntax-error'])
      expect(old.json().python.version).toMatch(new RegExp(`^3\\.${older}\\.`))
    }
  })
})

