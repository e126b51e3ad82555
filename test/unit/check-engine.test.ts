import {readFileSync, readdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {validateDags} from '../../src/check/index.js'
import type {Finding, ValidationReport} from '../../src/check/types.js'
import {REPO_ROOT} from '../helpers/cli.js'
import {tempDir} from '../helpers/tmp.js'

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'dags')

function check(files: string[], airflowVersion: 2 | 3 = 3, root = FIXTURES): Promise<ValidationReport> {
  return validateDags({files, root, packageName: 'team_a', airflowVersion, engine: 'ast', cache: false})
}

/** `# expect: rule` comments of a fixture folder: the exact (file, line, rule) the engine must report. */
function expectations(folder: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(path.join(FIXTURES, folder))) {
    const lines = readFileSync(path.join(FIXTURES, folder, name), 'utf8').split('\n')
    lines.forEach((text, i) => {
      const m = /# expect: ([a-z0-9-]+)/.exec(text)
      if (m) out.push(`${folder}/${name}:${i + 1} ${m[1]}`)
    })
  }
  return out.sort()
}

const key = (f: Finding) => `${f.file}:${f.line} ${f.rule}`

describe('ast engine on good DAG files', () => {
  it('reports nothing for every common style, targeting Airflow 3 or 2', async () => {
    for (const version of [3, 2] as const) {
      const report = await check(['good'], version)
      expect(report.findings, `airflow ${version}`).toEqual([])
      expect(report.engine).toBe('ast')
      expect(report.summary).toMatchObject({errors: 0, warnings: 0, infos: 0})
    }
  })

  it('finds every DAG id: context manager, assignment, @dag with and without id, @asset, loops, f-strings, Path(__file__).stem, aliases', async () => {
    const report = await check(['good'])
    const ids = report.dags.map((d) => d.dagId).sort()
    expect(ids).toEqual(
      [
        'team_a_airflow3_assets',
        'team_a_assigned',
        'team_a_clean_orders',
        'team_a_raw_orders',
        'team_a_split_orders',
        'team_a_billing_daily',
        'team_a_billing_hourly',
        'team_a_billing_manual',
        'team_a_callables',
        'team_a_compat',
        'team_a_ingest_billing',
        'team_a_ingest_crm',
        'team_a_manual_only',
        'team_a_orders_export',
        'team_a_pair_alpha',
        'team_a_pair_beta',
        'team_a_reports',
        'team_a_shard_0',
        'team_a_shard_1',
        'team_a_shard_2',
        'team_a_sync_amer',
        'team_a_sync_apac',
        'team_a_sync_emea',
        'team_a_taskflow_etl',
        'team_a_templated',
        'team_a_timetabled',
        'team_a_weekly_summary',
      ].sort(),
    )
    expect(report.dags.find((d) => d.dagId === 'team_a_orders_export')).toEqual({dagId: 'team_a_orders_export', file: 'good/context_manager.py', line: 7})
    expect(report.summary.files).toBe(14)
  })

  it('recognises DAG and dag through every public path, also the compat provider (Airflow\'s own provider examples)', async () => {
    // the imports of Airflow's provider system tests, which run on Airflow 2 and 3 alike
    const dir = tempDir({
      'dags/example_s3.py': 'from datetime import datetime\nfrom airflow.providers.common.compat.sdk import DAG\n\nwith DAG(dag_id="team_a_example_s3", schedule="@once", start_date=datetime(2021, 1, 1), catchup=False) as dag:\n    pass\n',
      'dags/compat_module.py': 'from airflow.providers.common.compat import sdk\n\n@sdk.dag(schedule=None)\ndef team_a_compat_decorated():\n    pass\n\nteam_a_compat_decorated()\nwrong = sdk.DAG("other_team_x", schedule=None)\n',
      'dags/compat_decorator.py': 'from airflow.providers.common.compat.sdk import dag as compat_dag\n\n@compat_dag\ndef team_a_bare():\n    pass\n',
      'dags/definitions.py': 'from airflow.sdk.definitions.decorators import dag\n\n@dag(dag_id="team_a_definitions", schedule=None)\ndef build():\n    pass\n',
    })
    const report = await check(['dags'], 3, dir)
    expect(report.dags.map((d) => d.dagId).sort()).toEqual(['other_team_x', 'team_a_bare', 'team_a_compat_decorated', 'team_a_definitions', 'team_a_example_s3'])
    // the rules apply to them as to any DAG
    expect(report.findings.map((f) => `${f.file}:${f.line} ${f.rule}`)).toEqual(['dags/compat_decorator.py:3 missing-schedule', 'dags/compat_module.py:8 dag-id-prefix'])
  })

  it('a file whose DAGs only a wrapper builds gets a dag-factory-call info pointing to --engine airflow, never silence', async () => {
    const dir = tempDir({
      // a company wrapper elsewhere (not validated here) returns airflow.DAG(...)
      'dags/wrapped.py': 'from airflow.providers.standard.operators.empty import EmptyOperator\nfrom company.airflow_utils import create_dag\n\nMY_DAG = create_dag(dag_id="team_a_wrapped", owner="data")\nwith MY_DAG:\n    EmptyOperator(task_id="start")\n',
      // no Airflow import at all, but both words: Airflow's safe mode loads it
      'dags/only_wrapper.py': '# airflow dag built by our factory\nimport company_dags\n\nfor name in ("a", "b"):\n    globals()[name] = company_dags.build(name)\n',
      // dag-factory
      'dags/from_yaml.py': 'from airflow import DAG  # noqa: F401  (Airflow safe mode)\nimport dagfactory\n\ndagfactory.load_yaml_dags(globals_dict=globals())\n',
      // helpers: Airflow imported, nothing built at import time
      'dags/helpers.py': 'from airflow.sdk import BaseOperator\n\nclass MyOperator(BaseOperator):\n    def execute(self, context):\n        return make_dag_report()\n',
      'dags/main_only.py': 'from airflow.sdk import DAG\nfrom company.airflow_utils import create_dag\n\nif __name__ == "__main__":\n    create_dag(dag_id="team_a_local").test()\n',
      // a recognised DAG: the factory info is not needed
      'dags/plain.py': 'from airflow.sdk import DAG\nfrom company.airflow_utils import create_dag\n\nDAG(dag_id="team_a_plain", schedule=None)\nother = create_dag(dag_id="team_a_other")\n',
    })
    const report = await check(['dags'], 3, dir)
    const infos = report.findings.filter((f) => f.rule === 'dag-factory-call')
    expect(infos.map((f) => `${f.file}:${f.line}:${f.column} ${f.severity}`)).toEqual(['dags/from_yaml.py:4:1 info', 'dags/only_wrapper.py:5:23 info', 'dags/wrapped.py:4:10 info'])
    expect(infos[2].message).toContain('create_dag(...) may build one')
    expect(infos[2].hint).toContain('--engine airflow')
    expect(report.summary.errors).toBe(0)
  })

  it('Airflow 2 style is clean for Airflow 2 and warned about for Airflow 3', async () => {
    expect((await check(['good-airflow2'], 2)).findings).toEqual([])
    const three = await check(['good-airflow2'], 3)
    expect(three.findings.map(key)).toEqual([
      'good-airflow2/airflow2_style.py:5 airflow3-removed-import',
      'good-airflow2/airflow2_style.py:6 airflow3-removed-import',
      'good-airflow2/airflow2_style.py:10 airflow3-removed-argument',
    ])
    expect(three.findings.every((f) => f.severity === 'warning')).toBe(true)
  })
})

describe('ast engine on bad DAG files', () => {
  it('reports exactly the marked (line, rule) pairs, one fixture per rule', async () => {
    const report = await check(['bad'])
    const got = report.findings.filter((f) => f.rule !== 'syntax-error').map(key).sort()
    expect(got).toEqual(expectations('bad'))
    const rules = new Set(report.findings.map((f) => f.rule))
    for (const rule of ['dag-id-prefix', 'duplicate-dag-id', 'top-level-code', 'missing-schedule', 'airflow3-removed-import', 'airflow3-removed-argument', 'missing-dag-id', 'syntax-error']) {
      expect(rules, rule).toContain(rule)
    }
  })

  it('gives syntax errors with line and column', async () => {
    const report = await check(['bad/syntax_error.py'])
    expect(report.findings).toHaveLength(1)
    expect(report.findings[0]).toMatchObject({file: 'bad/syntax_error.py', line: 6, column: 12, rule: 'syntax-error', severity: 'error'})
    expect(report.findings[0].message).toMatch(/invalid syntax/)
  })

  it('names both places of a duplicate DAG id', async () => {
    const report = await check(['bad/duplicate_a.py', 'bad/duplicate_b.py'])
    expect(report.findings).toHaveLength(1)
    expect(report.findings[0].message).toContain('bad/duplicate_a.py:3')
    expect(report.findings[0].message).toContain('bad/duplicate_b.py:5')
  })

  it('gives top-level-code hints, severities and columns', async () => {
    const report = await check(['bad/top_level_code.py'])
    const first = report.findings[0]
    expect(first).toMatchObject({line: 13, column: 10, rule: 'top-level-code', severity: 'warning'})
    expect(first.message).toMatch(/^Variable\.get\(\) runs at import time/)
    expect(first.hint).toMatch(/var\.value/)
  })

  it('puts the replacement import in each airflow3-removed-import hint', async () => {
    const report = await check(['bad/airflow3_removed_import.py'])
    const hint = (line: number) => report.findings.find((f) => f.line === line)?.hint
    expect(hint(3)).toContain('from airflow.providers.standard.operators.bash import BashOperator')
    expect(hint(4)).toContain('from airflow.providers.standard.operators.empty import EmptyOperator')
    expect(hint(2)).toContain('from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator')
    expect(hint(10)).toContain('pendulum.datetime')
    // not a finding when the target is Airflow 2
    expect((await check(['bad/airflow3_removed_import.py'], 2)).findings).toEqual([])
  })

  it('gives dynamic ids an info, never an error', async () => {
    const report = await check(['dynamic'])
    expect(report.findings.map(key).sort()).toEqual(expectations('dynamic'))
    expect(report.findings.every((f) => f.severity === 'info')).toBe(true)
  })
})

describe('validateDags', () => {
  it('takes folders and files, absolute or relative to root, and reports paths relative to root with /', async () => {
    const dir = tempDir({
      'dags/nested/deeper/a.py': 'from airflow.sdk import DAG\nDAG(dag_id="pkg_x_a", schedule=None)\n',
      'dags/.hidden/skip.py': 'x = (',
      'dags/__pycache__/skip.py': 'x = (',
      'dags/notes.txt': 'x = (',
      'b.py': 'from airflow.sdk import DAG\nDAG(dag_id="other_b", schedule=None)\n',
    })
    const report = await validateDags({files: [path.join(dir, 'dags'), 'b.py'], root: dir, packageName: 'pkg_x', airflowVersion: 3, engine: 'ast', cache: false})
    expect(report.summary.files).toBe(2)
    expect(report.dags.map((d) => d.file)).toEqual(['b.py', 'dags/nested/deeper/a.py'])
    expect(report.findings.map(key)).toEqual(['b.py:2 dag-id-prefix'])
  })

  it('skips what .airflowignore excludes, as Airflow does: globs for Airflow 3, regexps for Airflow 2', async () => {
    const dag = (id: string) => `from airflow.sdk import DAG\nDAG(dag_id="${id}", schedule=None)\n`
    const dir = tempDir({
      'dags/.airflowignore': '# test scaffolding lives beside the DAGs\ntests/\n*_scratch.py\nlegacy/old_*.py\n',
      'dags/keep.py': dag('team_a_keep'),
      'dags/tests/test_dags.py': dag('whatever_test_id'),
      'dags/my_scratch.py': dag('scratch'),
      'dags/nested/other_scratch.py': dag('scratch2'),
      'dags/legacy/old_one.py': dag('old'),
      'dags/legacy/new_one.py': dag('team_a_new'),
    })
    const three = await validateDags({files: ['dags'], root: dir, packageName: 'team_a', airflowVersion: 3, engine: 'ast', cache: false})
    expect(three.dags.map((d) => d.file)).toEqual(['dags/keep.py', 'dags/legacy/new_one.py'])
    expect(three.findings).toEqual([])

    const two = tempDir({
      'dags/.airflowignore': 'tests\n_scratch\\.py$\n',
      'dags/keep.py': dag('team_a_keep'),
      'dags/tests/test_dags.py': dag('whatever_test_id'),
      'dags/sub/my_scratch.py': dag('scratch'),
    })
    const report = await validateDags({files: ['dags'], root: two, packageName: 'team_a', airflowVersion: 2, engine: 'ast', cache: false})
    expect(report.dags.map((d) => d.file)).toEqual(['dags/keep.py'])
    // a file named on the command line is checked even when ignored
    const named = await validateDags({files: ['dags/tests/test_dags.py'], root: two, packageName: 'team_a', airflowVersion: 2, engine: 'ast', cache: false})
    expect(named.findings.map(key)).toEqual(['dags/tests/test_dags.py:2 dag-id-prefix'])
  })

  it('worker processes (past 200 files) give the same report as one process', async () => {
    const files: Record<string, string> = {}
    for (let i = 0; i < 230; i++) {
      const id = i % 50 === 0 ? `other_${i}` : i % 70 === 1 ? 'team_a_twice' : `team_a_n${i}`
      files[`dags/d${String(i).padStart(3, '0')}.py`] = `from airflow.sdk import DAG, Variable\nX = Variable.get("x")\nDAG(dag_id="${id}", schedule=None)\n`
    }
    files['dags/broken.py'] = 'def f(:\n'
    // an ignore comment the workers' files carry back
    files['dags/d007.py'] = files['dags/d007.py'].replace('X = Variable.get("x")', 'X = Variable.get("x")  # dagctl: ignore[top-level-code]')
    const dir = tempDir(files)
    const run = (workers: number, cacheDir?: string) =>
      validateDags({files: ['dags'], root: dir, packageName: 'team_a', airflowVersion: 3, engine: 'ast', cache: cacheDir !== undefined, cacheDir, engineOptions: {workers}})
    const [one, two] = [await run(1), await run(2)]
    expect(two).toEqual(one)
    expect(one.summary).toMatchObject({files: 231, dags: 230, errors: 5 + 3 + 1})
    expect(one.suppressions?.inline).toEqual([{file: 'dags/d007.py', line: 2, rules: ['top-level-code'], silenced: 1}])
    // with an empty result cache (a fresh CI job) the workers also read the files; then a warm run reads them here
    const cacheDir = tempDir()
    expect(await run(2, cacheDir)).toEqual(one)
    expect(await run(2, cacheDir)).toEqual(one)
    expect(await run(1, tempDir())).toEqual(one)
  })

  it('refuses a path that does not exist with exit 2', async () => {
    await expect(check(['no/such/folder'])).rejects.toMatchObject({exitCode: 2, message: expect.stringContaining('no/such/folder')})
  })

  it('with a cache folder, reuses results of unchanged files and re-checks changed ones', async () => {
    const dir = tempDir({
      'dags/a.py': 'from airflow.sdk import DAG\nDAG(dag_id="team_a_a", schedule=None)\n',
      'dags/b.py': 'from airflow.sdk import DAG\nDAG(dag_id="team_a_b", schedule=None)\n',
    })
    const cacheDir = tempDir()
    const run = () => validateDags({files: ['dags'], root: dir, packageName: 'team_a', airflowVersion: 3, engine: 'ast', cacheDir})
    const cold = await run()
    expect(cold.findings).toEqual([])
    const cacheFiles = readdirSync(path.join(cacheDir, 'validate-ast'))
    expect(cacheFiles).toHaveLength(1)
    expect(await run()).toEqual(cold)
    // proof of reuse: an entry edited in the cache comes back as if the engine had found it
    const cacheFile = path.join(cacheDir, 'validate-ast', cacheFiles[0])
    const original = readFileSync(cacheFile, 'utf8')
    const entries = JSON.parse(original)
    entries['dags/a.py'][2] = [{file: 'dags/a.py', line: 1, column: 1, rule: 'dynamic-dag-id', severity: 'info', message: 'from the cache', hint: null}]
    writeFileSync(cacheFile, JSON.stringify(entries))
    expect((await run()).findings.map((f) => f.message)).toEqual(['from the cache'])
    writeFileSync(cacheFile, original)
    // a changed file is parsed again, and cross-file checks see cached and fresh results together
    writeFileSync(path.join(dir, 'dags', 'b.py'), 'from airflow.sdk import DAG\nDAG(dag_id="team_a_a", schedule=None)\n')
    expect((await run()).findings.map(key)).toEqual(['dags/b.py:2 duplicate-dag-id'])
    // a damaged cache only costs a cold run
    writeFileSync(path.join(cacheDir, 'validate-ast', cacheFiles[0]), '{not json')
    expect((await run()).findings.map(key)).toEqual(['dags/b.py:2 duplicate-dag-id'])
  })
})
