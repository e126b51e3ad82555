import {execa} from 'execa'
import path from 'node:path'
import {describe, expect, inject, it} from 'vitest'

import {PythonBridge, RULES, validateDags} from '../../src/check/index.js'
import {AST_RULE_NAMES} from '../../src/check/rule-names.js'
import {REPO_ROOT} from '../helpers/cli.js'
import {tempDir} from '../helpers/tmp.js'

const GOOD = path.join(REPO_ROOT, 'test', 'fixtures', 'dags', 'good', 'context_manager.py')

describe('PythonBridge', () => {
  it('turns a missing interpreter into exit 2 with a hint', async () => {
    const bridge = new PythonBridge('/nonexistent/bin/python3')
    const err = await bridge.call('dagctl_validate', {}).catch((e: unknown) => e)
    expect(err).toMatchObject({exitCode: 2, code: 'PYTHON_MISSING', hint: expect.stringMatching(/--python PATH/)})
    expect((err as Error).message).toContain('/nonexistent/bin/python3')
  })

  it('turns the helper\'s error answer into exit 2 with its hint: engine airflow without Airflow', async () => {
    const dir = tempDir({'dags/a.py': 'x = 1\n'})
    // the tests' own venv (moto, no Airflow), whatever the machine's python3 has installed
    const python = inject('testPython')
    const err = await validateDags({files: ['dags'], root: dir, packageName: 'team_a', airflowVersion: 3, engine: 'airflow', python, cache: false}).catch((e: unknown) => e)
    expect(err).toMatchObject({exitCode: 2, code: 'AIRFLOW_MISSING'})
    expect((err as {hint: string}).hint).toContain('dagctl python setup --airflow 3')
    expect((err as {hint: string}).hint).toContain('--engine ast')
  })

  it('auto falls back to the ast engine when Airflow is not importable', async () => {
    const report = await validateDags({files: [GOOD], root: path.dirname(GOOD), packageName: 'team_a', airflowVersion: 3, engine: 'auto', python: inject('testPython'), cache: false})
    expect(report.engine).toBe('ast')
    expect(report.dags.map((d) => d.dagId)).toEqual(['team_a_orders_export'])
  })

  it('reports a helper crash (not JSON on stdout) as a failure with the stderr tail', async () => {
    const bridge = new PythonBridge('python3', REPO_ROOT, (async () => ({exitCode: 1, stdout: '', stderr: 'Traceback (most recent call last):\nBoom: broken', failed: true})) as never)
    await expect(bridge.call('x.py', {})).rejects.toMatchObject({code: 'PYTHON_HELPER_FAILED', message: expect.stringContaining('Boom: broken')})
  })

  it('an interpreter too old to read the helper (Python 2) is exit 2, not a crash', async () => {
    const py2 = (async () => ({exitCode: 1, stdout: '', stderr: '  File "/x/python/dagctl_validate/walk.py", line 109\n    return {n: (kind, f"{module}.{n}") for n in names}\nSyntaxError: invalid syntax', failed: true})) as never
    const bridge = new PythonBridge('python2', undefined, py2)
    await expect(bridge.call('dagctl_validate', {})).rejects.toMatchObject({exitCode: 2, code: 'PYTHON_TOO_OLD', hint: expect.stringContaining('3.8')})
  })

  it('one process checks many files', async () => {
    const calls: string[][] = []
    const spy = (async (file: string, args: string[], options: never) => {
      calls.push([file, ...args])
      return execa(file, args, options)
    }) as never
    const files: Record<string, string> = {}
    for (let i = 0; i < 30; i++) files[`dags/d${i}.py`] = `from airflow.sdk import DAG\nDAG(dag_id="team_a_d${i}", schedule=None)\n`
    const dir = tempDir(files)
    const report = await validateDags({files: ['dags'], root: dir, packageName: 'team_a', airflowVersion: 3, engine: 'ast', cache: false}, {bridge: new PythonBridge('python3', undefined, spy)})
    expect(report.summary).toMatchObject({files: 30, dags: 30, errors: 0})
    expect(calls).toHaveLength(1)
  })
})

describe('rule catalogue', () => {
  it('the Python helper and src/check/rules.ts list the same rules and severities', async () => {
    const {stdout} = await execa('python3', [path.join(REPO_ROOT, 'python', 'dagctl_validate'), '--rules'])
    const python = JSON.parse(stdout) as Record<string, string>
    expect(python).toEqual(Object.fromEntries(RULES.map((r) => [r.name, r.severity])))
    // and validate.rules of dagctl.yaml accepts exactly these (plus the Airflow engine's own)
    expect(Object.keys(python)).toEqual([...AST_RULE_NAMES])
  })
})
