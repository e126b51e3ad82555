/**
 * Which python validate uses, `dagctl doctor` and `dagctl python setup`, against the real managed
 * venvs of the test setup (built already, so `python setup` here is the instant second run).
 */
import path from 'node:path'
import {describe, expect, inject, it} from 'vitest'

import {resolvePython} from '../../src/python/interpreter.js'
import {cacheDir} from '../../src/python/venv.js'
import {runCli} from '../helpers/cli.js'
import {tempDir} from '../helpers/tmp.js'

const pythons = inject('airflowPython')
/** the cache folder the test setup built the managed venvs in */
const builtCache = {DAGCTL_CACHE_DIR: cacheDir()}

describe('resolvePython: flag > DAGCTL_PYTHON > config python > managed venv > python3', () => {
  it('takes each source in order of precedence', () => {
    const env = {...builtCache, DAGCTL_PYTHON: '/env/python'}
    const config = {configPython: 'venv/bin/python', configSource: 'dagctl.yaml', configRoot: '/repo/pkg'}
    expect(resolvePython({...config, flag: '/flag/python', env})).toMatchObject({python: '/flag/python', source: 'flag'})
    expect(resolvePython({...config, env})).toMatchObject({python: '/env/python', source: 'env'})
    expect(resolvePython({...config, env: builtCache})).toMatchObject({python: '/repo/pkg/venv/bin/python', source: 'config'})
    expect(resolvePython({configPython: 'python3.11', configSource: 'dagctl.yaml', configRoot: '/repo/pkg', env: builtCache})).toMatchObject({python: 'python3.11'})
    expect(resolvePython({airflowVersion: 3, env: builtCache})).toEqual({python: pythons['3'], source: 'managed', from: 'managed Airflow 3 venv'})
    expect(resolvePython({airflowVersion: 2, env: builtCache})).toMatchObject({python: pythons['2'], source: 'managed'})
    expect(resolvePython({airflowVersion: 3, env: {DAGCTL_CACHE_DIR: tempDir()}})).toEqual({python: 'python3', source: 'default', from: 'python3 on PATH'})
  })
})

describe('dagctl doctor (built binary)', () => {
  it('reports python, Airflow and provider versions of the managed Airflow 3 venv', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\nairflow:\n  version: 3\n'})
    const res = await runCli(['doctor', '--json'], {cwd: dir, env: builtCache})
    expect(res.exitCode).toBe(0)
    const report = res.json()
    expect(report.python).toMatchObject({python: pythons['3'], source: 'managed'})
    expect(report.airflow.version).toMatch(/^3\.\d+\.\d+/)
    expect(Object.keys(report.providers)).toEqual(expect.arrayContaining(['cncf-kubernetes', 'amazon', 'standard']))
    expect(report.ok).toBe(true)
  })

  it('says what is missing with the command that fixes it, and exits 1 when validate cannot work as configured', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\nvalidate:\n  engine: airflow\n'})
    const empty = {DAGCTL_CACHE_DIR: tempDir()}
    // python3 of the machine has no Airflow; with validate.engine airflow that is an error
    const res = await runCli(['doctor', '--json'], {cwd: dir, env: empty})
    expect(res.exitCode).toBe(1)
    const report = res.json()
    expect(report.python.source).toBe('default')
    expect(report.checks.find((c: {name: string}) => c.name === 'airflow')).toMatchObject({ok: false, severity: 'error', fix: expect.stringContaining('dagctl python setup --airflow 3')})
    expect(report.checks.find((c: {name: string}) => c.name === 'managed venv airflow-3')).toMatchObject({ok: false, fix: 'dagctl python setup --airflow 3'})

    const human = await runCli(['doctor', '--python', '/nonexistent/python'], {cwd: dir, env: empty})
    expect(human.exitCode).toBe(1)
    expect(human.stdout).toMatch(/FAIL\s+python\s+\/nonexistent\/python: not found/)
  })

  it('checks an existing interpreter given with --python, and warns when its Airflow is not the configured major', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\nairflow:\n  version: 3\n'})
    const res = await runCli(['doctor', '--json', '--python', pythons['2']], {cwd: dir})
    expect(res.exitCode).toBe(0)
    const report = res.json()
    expect(report.python).toMatchObject({python: pythons['2'], source: 'flag'})
    expect(report.checks.find((c: {name: string}) => c.name === 'airflow')).toMatchObject({ok: false, severity: 'warning', detail: expect.stringMatching(/Airflow 2\.11\.\d+ is installed, but the configuration targets Airflow 3/)})
  })
})

describe('dagctl doctor checks what validate and publish run', () => {
  it('--airflow 2 in an Airflow 3 package checks the Airflow 3 interpreter validate uses, and says so', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\nairflow:\n  version: 3\n', 'dags/a.py': 'x = 1\n'})
    const res = await runCli(['doctor', '--airflow', '2', '--json'], {cwd: dir, env: builtCache})
    const report = res.json()
    // the interpreter validate would use here
    const validate = await runCli(['validate', '--json'], {cwd: dir, env: builtCache})
    expect(validate.json().python.executable).toBe(pythons['3'])
    expect(report.python).toMatchObject({python: pythons['3'], source: 'managed'})
    expect(report.checks.find((c: {name: string}) => c.name === 'python').detail).toContain('the interpreter validate and publish run')
    expect(report.checks.find((c: {name: string}) => c.name === 'airflow-target')).toMatchObject({ok: false, severity: 'info', fix: expect.stringContaining(`validate --python ${pythons['2']}`)})
    expect(report.checks.find((c: {name: string}) => c.name === 'airflow')).toMatchObject({severity: 'warning', detail: expect.stringMatching(/Airflow 3\.\d+\.\d+ is installed, but --airflow expects Airflow 2/)})
  })

  it('checks validate.python: a version that is not there fails with the hint', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\nvalidate:\n  python: "3.99"\n'})
    const res = await runCli(['doctor', '--json'], {cwd: dir, env: builtCache})
    expect(res.exitCode).toBe(1)
    expect(res.json().checks.find((c: {name: string}) => c.name === 'python-target')).toMatchObject({ok: false, severity: 'error', detail: expect.stringContaining('no Python 3.99 is available'), fix: expect.stringContaining('Install Python 3.99')})
  })
})

describe('dagctl python setup (built binary)', () => {
  it('reuses the managed venv and prints its python (stdout: the path only; --json: the details)', async () => {
    const dir = tempDir()
    const plain = await runCli(['python', 'setup', '--airflow', '3'], {cwd: dir, env: builtCache})
    expect(plain.exitCode).toBe(0)
    expect(plain.stdout.trim()).toBe(pythons['3'])
    const json = await runCli(['python', 'setup', '--airflow', '2', '--json'], {cwd: dir, env: builtCache})
    expect(json.exitCode).toBe(0)
    expect(json.json()).toMatchObject({airflowVersion: 2, python: pythons['2'], venv: path.dirname(path.dirname(pythons['2'])), created: false, airflow: expect.stringMatching(/^2\.11\./)})
  })

  it('refuses an unknown Airflow major as a usage error', async () => {
    const res = await runCli(['python', 'setup', '--airflow', '4'], {cwd: tempDir()})
    expect(res.exitCode).toBe(2)
  })
})
