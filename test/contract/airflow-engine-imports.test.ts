/**
 * How a package's DAG files import the package's own modules, on real Airflow 3.3 and 2.11, through
 * `dagctl validate --engine airflow`. In Airflow the package's files are in <DAG folder>/<package>/
 * (dagctl sync writes DIR/<package>/; the DagctlBundle's path holds <package>/; the contract test
 * bundle-sync.test.ts proves both on Airflow 3's own DagBag), so they import as `<package>.<module>`.
 * validate must judge the same way, or a package passes validate and fails in Airflow (or the reverse).
 */
import {writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, inject, it} from 'vitest'

import {runCli} from '../helpers/cli.js'
import {tempDir} from '../helpers/tmp.js'

const dag = (id: string, importLine: string): string => `from datetime import datetime

from airflow import DAG

${importLine}

with DAG(dag_id="${id}", start_date=datetime(2024, 1, 1), schedule=None, default_args={"owner": owner()}):
    pass
`

describe.each([3, 2] as const)('a package importing its own modules, Airflow %i', (version) => {
  const python = inject('airflowPython')[String(version) as '2' | '3']
  const validate = async (dir: string, ...extra: string[]) => {
    const res = await runCli(['validate', '--engine', 'airflow', '--python', python, '--json', ...extra], {cwd: dir, timeout: 300_000})
    return {exitCode: res.exitCode, report: res.json(), stderr: res.stderr}
  }

  it('`from <package>.helpers import` passes; `from helpers import` fails with the fix; a changed helper is not served from the cache', {timeout: 600_000}, async () => {
    const dir = tempDir({
      'dagctl.yaml': `package: team_a\nairflow:\n  version: ${version}\n`,
      'dags/common/__init__.py': '',
      'dags/common/owners.py': 'def owner():\n    return "team-a"\n',
      'dags/helpers.py': 'def owner():\n    return "team-a"\n',
      'dags/team_a_namespaced.py': dag('team_a_namespaced', 'from team_a.helpers import owner'),
      'dags/team_a_subpackage.py': dag('team_a_subpackage', 'from team_a.common.owners import owner'),
      'dags/team_a_bare.py': dag('team_a_bare', 'from helpers import owner'),
    })
    const first = await validate(dir)
    expect(first.report.engine).toBe('airflow')
    expect(first.report.dags.map((d: {dagId: string}) => d.dagId).sort()).toEqual(['team_a_namespaced', 'team_a_subpackage'])
    const errors = first.report.findings.filter((f: {severity: string}) => f.severity === 'error')
    expect(errors).toHaveLength(1)
    // one problem, one finding: the ast engine's own-module-import stands for Airflow's ModuleNotFoundError
    expect(errors[0]).toMatchObject({file: 'dags/team_a_bare.py', line: 5, rule: 'own-module-import'})
    expect(errors[0].hint).toContain('`from team_a.helpers import ...`')
    expect(first.exitCode).toBe(1)
    // the ast engine (CI's default) says the same without Airflow
    const ast = await runCli(['validate', '--engine', 'ast', '--json'], {cwd: dir})
    expect(ast.json().findings.map((f: {file: string; rule: string}) => `${f.file} ${f.rule}`)).toEqual(['dags/team_a_bare.py own-module-import'])

    // the helper breaks: the file that imports it is judged again (its result depended on the helper)
    writeFileSync(path.join(dir, 'dags', 'helpers.py'), 'def owner(:\n')
    const second = await validate(dir)
    const broken = second.report.findings.filter((f: {file: string; severity: string}) => f.file === 'dags/team_a_namespaced.py' && f.severity === 'error')
    expect(broken, JSON.stringify(second.report.findings)).toHaveLength(1)
    expect(broken[0].message).toMatch(/SyntaxError/)
  })
})
