/**
 * The Airflow engine on real Airflow 3.3 and 2.11 (the managed venvs of the test setup), driven
 * through the Airflow engine alone (python/dagctl_validate --airflow-only). Once `validate` lands these cases also run
 * through `dagctl validate --engine airflow`.
 */
import {execa} from 'execa'
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, inject, it} from 'vitest'

import {AIRFLOW_ENGINE_ARGS, runAirflowEngine, type AirflowEngineResult} from '../../src/python/airflow-engine.js'
import {budget, TIME_SCALE, waitFor} from '../helpers/budget.js'
import {REPO_ROOT, runCli} from '../helpers/cli.js'
import {tempDir} from '../helpers/tmp.js'

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'airflow')
const pythons = inject('airflowPython')
const IMPORT_FAILURES = new Set(['import-error', 'import-timeout', 'import-crash', 'dag-cycle', 'duplicate-dag-id'])

function pyFiles(dir: string): string[] {
  return readdirSync(dir, {recursive: true, encoding: 'utf8'})
    .filter((f) => f.endsWith('.py'))
    .map((f) => path.join(dir, f))
    .sort()
}

function findingsOf(result: AirflowEngineResult, file: string) {
  return result.findings.filter((f) => f.file === file)
}

describe.each([3, 2] as const)('Airflow %i engine', (version) => {
  const python = pythons[String(version) as '2' | '3']
  const versionDir = `v${version}`

  it('imports generated-style DAGs of every task type cleanly, with task counts and parse times', async () => {
    const files = ['team_a_k8s_extract.py', 'team_a_python_report.py'].map((f) => path.join(FIXTURES, versionDir, f))
    const result = await runAirflowEngine(python, {root: FIXTURES, files, airflow_version: version, options: {cache: false}})
    expect(result.airflow_version).toMatch(new RegExp(`^${version}\\.`))
    expect(result.findings).toEqual([])
    expect(result.dags).toEqual([
      {dag_id: 'team_a_k8s_extract', file: `${versionDir}/team_a_k8s_extract.py`, line: 11, tasks: 3},
      {dag_id: 'team_a_python_report', file: `${versionDir}/team_a_python_report.py`, line: 19, tasks: 4},
    ])
    for (const f of result.files) {
      expect(f.cached).toBe(false)
      expect(f.seconds).toBeGreaterThan(0)
    }
  })

  it('reports import errors, cycles, duplicate ids across workers, and files that hang, exit or crash, each as that file’s error', async () => {
    const files = [
      // each worker is handed two files at a time: the first worker gets dup_first and cycle, the second dup_second
      ...['team_a_dup_first.py', 'team_a_cycle.py', 'team_a_dup_second.py', 'team_a_k8s_extract.py'].map((f) => path.join(FIXTURES, versionDir, f)),
      ...pyFiles(path.join(FIXTURES, 'faults')),
    ]
    // two workers: the two files of the duplicate id go to different workers. The import timeout is
    // 2 s on a quiet machine, longer on a busy one, so that a good file is never the one that times out.
    const fileTimeout = Math.ceil(2 * TIME_SCALE)
    const result = await runAirflowEngine(python, {root: FIXTURES, files, airflow_version: version, options: {cache: false, workers: 2, file_timeout: fileTimeout}})
    const only = (file: string) => {
      const found = findingsOf(result, file)
      expect(found, `${file}: ${JSON.stringify(result.findings, null, 1)}`).toHaveLength(1)
      return found[0]
    }

    const importError = only('faults/import_error.py')
    expect(importError).toMatchObject({rule: 'import-error', severity: 'error', line: 4})
    expect(importError.message).toMatch(/^ModuleNotFoundError: No module named 'team_a_helpers_that_do_not_exist'/)
    expect(importError.message).toContain('import team_a_helpers_that_do_not_exist  # line 4')

    expect(only(`${versionDir}/team_a_cycle.py`)).toMatchObject({rule: 'dag-cycle', line: 5})
    expect(only(`${versionDir}/team_a_dup_second.py`)).toMatchObject({rule: 'duplicate-dag-id', line: 5})
    expect(only(`${versionDir}/team_a_dup_second.py`).message).toContain(`also found in ${versionDir}/team_a_dup_first.py`)
    expect(findingsOf(result, `${versionDir}/team_a_dup_first.py`)).toEqual([])
    const workerOf = (file: string) => result.files.find((f) => f.file === file)?.worker
    expect(workerOf(`${versionDir}/team_a_dup_first.py`)).not.toBe(workerOf(`${versionDir}/team_a_dup_second.py`))
    expect(result.dags.filter((d) => d.dag_id === 'team_a_twice')).toEqual([{dag_id: 'team_a_twice', file: `${versionDir}/team_a_dup_first.py`, line: 5, tasks: 1}])

    expect(only('faults/sleeps_forever.py')).toMatchObject({rule: 'import-timeout', line: 4})
    const spinning = only('faults/ignores_alarm.py')
    expect(spinning.rule).toBe('import-timeout')
    expect([5, 6]).toContain(spinning.line) // the stack was taken in the loop's test or its body
    expect(spinning.message).toMatch(/worker was killed/)
    expect(only('faults/calls_exit.py')).toMatchObject({rule: 'import-error', line: 4, message: expect.stringMatching(/^SystemExit: 3/)})
    expect(only('faults/calls_network.py')).toMatchObject({rule: 'import-error', line: 4, message: expect.stringMatching(/network access while importing a DAG file is blocked/)})
    expect(only('faults/hard_exit.py')).toMatchObject({rule: 'import-crash', message: expect.stringMatching(/exited with status 7/)})
    expect(only('faults/segfault_ctypes.py')).toMatchObject({rule: 'import-crash', line: 4, message: expect.stringMatching(/SIGSEGV/)})
    expect(only('faults/segfault_signal.py')).toMatchObject({rule: 'import-crash', line: 5, message: expect.stringMatching(/SIGSEGV/)})

    // a crashed or killed worker costs only its own file: the good DAG after them is intact
    expect(result.dags.map((d) => d.dag_id).sort()).toEqual(['team_a_k8s_extract', 'team_a_twice'])
    expect(result.files).toHaveLength(files.length)
  }, budget(180_000))

  it("reports exactly the import errors of DagBag loaded directly, on Airflow's bundled example DAGs", async () => {
    const exampleDir = (
      await execa(python, ['-c', 'import airflow, os; print(os.path.join(os.path.dirname(airflow.__file__), "example_dags"))'], {env: {AIRFLOW_HOME: tempDir()}})
    ).stdout.trim()
    const home = tempDir()
    const direct = await execa(python, ['-c', DIRECT_DAGBAG, exampleDir], {
      env: {AIRFLOW_HOME: home, AIRFLOW__CORE__LOAD_EXAMPLES: 'False', AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: `sqlite:///${home}/airflow.db`},
    })
    const expected = JSON.parse(direct.stdout.split('@@DAGBAG@@').at(-1)!) as {errors: Record<string, string>; dags: string[]}

    const result = await runAirflowEngine(python, {root: exampleDir, files: pyFiles(exampleDir), airflow_version: version, options: {cache: false}})
    const failures = result.findings.filter((f) => IMPORT_FAILURES.has(f.rule))
    expect(failures.map((f) => f.file).sort()).toEqual(Object.keys(expected.errors).sort())
    for (const f of failures.filter((x) => x.rule === 'import-error')) {
      expect(f.message.split('\n')[0]).toBe(expected.errors[f.file].trim().split('\n').at(-1))
    }
    expect(result.dags.map((d) => d.dag_id).sort()).toEqual(expected.dags)
    expect(expected.dags.length).toBeGreaterThan(40)
  }, budget(300_000))
})

/** What `airflow dags list-import-errors --local` does: one DagBag over the folder, in one process. */
const DIRECT_DAGBAG = `
import json, os, sys
try:
    from airflow.dag_processing.dagbag import DagBag
    kw = {}
except ImportError:
    from airflow.models.dagbag import DagBag
    kw = {"include_examples": False}
folder = sys.argv[1]
bag = DagBag(folder, **kw)
errors = {os.path.relpath(k, folder): v for k, v in bag.import_errors.items()}
sys.stdout.write("@@DAGBAG@@" + json.dumps({"errors": errors, "dags": sorted(bag.dags)}))
`

describe('result cache (Airflow 3)', () => {
  const python = pythons['3']

  it('reuses unchanged files, and imports a file again when a helper module it imports or a file it reads changes', async () => {
    const root = tempDir({
      'team_a_uses_helper.py': 'from airflow.sdk import DAG\nfrom helpers.naming import dag_id\n\nwith DAG(dag_id=dag_id("uses_helper"), schedule=None) as dag:\n    pass\n',
      'team_a_plain.py': 'from airflow.sdk import DAG\n\nwith DAG(dag_id="team_a_plain", schedule=None) as dag:\n    pass\n',
      'helpers/__init__.py': '',
      'helpers/naming.py': 'def dag_id(name):\n    return "team_a_" + name\n',
      // a DAG factory: the DAG's id comes from a file it reads at import
      'team_a_factory.py': 'import pathlib\nfrom airflow.sdk import DAG\n\nname = (pathlib.Path(__file__).parent / "configs" / "factory.txt").read_text().strip()\nwith DAG(dag_id=name, schedule=None) as dag:\n    pass\n',
      'configs/factory.txt': 'team_a_from_config\n',
    })
    const cacheDir = tempDir()
    const files = ['team_a_uses_helper.py', 'team_a_plain.py', 'team_a_factory.py'].map((f) => path.join(root, f))
    const request = {root, files, options: {cache_dir: cacheDir, dagctl_version: '0.0.0-test'}}

    const cold = await runAirflowEngine(python, request)
    expect(cold.files.map((f) => f.cached)).toEqual([false, false, false])
    expect(cold.dags.map((d) => d.dag_id)).toEqual(['team_a_uses_helper', 'team_a_plain', 'team_a_from_config'])

    const warm = await runAirflowEngine(python, request)
    expect(warm.files.map((f) => f.cached)).toEqual([true, true, true])
    expect(warm.dags).toEqual(cold.dags)
    expect(warm.findings).toEqual(cold.findings)

    writeFileSync(path.join(root, 'helpers', 'naming.py'), 'def dag_id(name):\n    return "team_a_renamed_" + name\n')
    writeFileSync(path.join(root, 'configs', 'factory.txt'), 'team_a_from_new_config\n')
    const changed = await runAirflowEngine(python, request)
    expect(changed.files.map((f) => f.cached)).toEqual([false, true, false])
    expect(changed.dags.map((d) => d.dag_id)).toEqual(['team_a_renamed_uses_helper', 'team_a_plain', 'team_a_from_new_config'])

    // another dagctl version never trusts this one's results
    const upgraded = await runAirflowEngine(python, {...request, options: {...request.options, dagctl_version: '0.0.1-test'}})
    expect(upgraded.files.map((f) => f.cached)).toEqual([false, false, false])
  }, budget(300_000))
})

describe('an interpreter whose Airflow is broken', () => {
  it('answers with an error and a hint instead of a traceback', async () => {
    const fake = tempDir({'airflow/__init__.py': 'raise ImportError("half-installed airflow")\n'})
    const request = {root: FIXTURES, files: [path.join(FIXTURES, 'v3', 'team_a_cycle.py')], options: {cache: false}}
    await expect(runAirflowEngine('python3', request, {env: {...process.env, PYTHONPATH: fake}})).rejects.toThrow(/AIRFLOW_BROKEN: .* cannot load Airflow: ImportError: half-installed airflow \(Run `dagctl doctor`/)
  })
})

describe('no worker outlives the engine', () => {
  it('kills a worker stuck in a file when the engine process is killed', async () => {
    const request = {root: FIXTURES, files: [path.join(FIXTURES, 'faults', 'ignores_alarm.py')], options: {cache: false, file_timeout: 600}}
    const engine = execa(pythons['3'], [...AIRFLOW_ENGINE_ARGS], {input: JSON.stringify(request), reject: false})
    const children = (): number[] => {
      try {
        return readFileSync(`/proc/${engine.pid}/task/${engine.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
      } catch {
        return []
      }
    }
    // the engine imports Airflow before it forks its workers: seconds when quiet, more when busy
    let workers: number[] = []
    const forked = await waitFor(() => (workers = children()).length > 0, {what: 'the engine to fork a worker', timeoutMs: 60_000, intervalMs: 100, stop: () => engine.exitCode !== null})
    expect(forked, 'the engine exited before it forked a worker').toBe(true)
    engine.kill('SIGKILL')
    await engine
    const alive = (pid: number) => {
      try {
        // a zombie waiting for init to reap it counts as gone
        return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))
      } catch {
        return false
      }
    }
    await waitFor(() => !workers.some(alive), {what: `the workers ${workers.join(', ')} to die with the engine`, timeoutMs: 10_000, intervalMs: 50}).catch(() => {})
    expect(workers.filter(alive)).toEqual([])
  }, budget(120_000))
})

// The same engine through the command a user runs.
describe('through dagctl validate --engine airflow', () => {
  it('reports an import error and a duplicate id across files, with exit 1', async () => {
    const read = (rel: string) => readFileSync(path.join(FIXTURES, rel), 'utf8')
    const dir = tempDir({
      'dagctl.yaml': 'package: team_a\n',
      'dags/team_a_k8s_extract.py': read('v3/team_a_k8s_extract.py'),
      'dags/team_a_dup_first.py': read('v3/team_a_dup_first.py'),
      'dags/team_a_dup_second.py': read('v3/team_a_dup_second.py'),
      'dags/team_a_broken.py': read('faults/import_error.py'),
      'dags/team_a_syntax.py': 'from airflow.sdk import DAG\n\ndef broken(:\n    pass\n',
      // a company wrapper, installed in the Airflow image (here: on PYTHONPATH; a module beside dags/
      // is not published, so Airflow could not import it): the ast engine cannot see its DAG
      // (dag-factory-call info), DagBag does
      'company/company_factory.py': 'from airflow.sdk import DAG\n\ndef create_dag(dag_id):\n    return DAG(dag_id=dag_id, schedule=None)\n',
      'dags/team_a_wrapped.py': 'from company_factory import create_dag\n\nMY_DAG = create_dag(dag_id="team_a_wrapped")  # an airflow dag\n',
    })
    const res = await runCli(['validate', '--engine', 'airflow', '--python', pythons['3'], '--json'], {cwd: dir, env: {PYTHONPATH: path.join(dir, 'company')}, timeout: budget(300_000)})
    expect(res.exitCode).toBe(1)
    const report = res.json()
    expect(report.engine).toBe('airflow')
    const rules = (report.findings as Array<{file: string; rule: string}>).map((f) => `${path.basename(f.file)} ${f.rule}`)
    expect(rules).toEqual(expect.arrayContaining(['team_a_broken.py import-error', 'team_a_dup_second.py duplicate-dag-id']))
    // one syntax error is one finding, as with the ast engine (not also an import-error)
    expect(rules.filter((r) => r.startsWith('team_a_syntax.py'))).toEqual(['team_a_syntax.py syntax-error'])
    // Airflow imported the wrapper's file: its DAG is found, and the ast engine's "cannot see" info is gone
    expect(rules.filter((r) => r.startsWith('team_a_wrapped.py'))).toEqual([])
    expect((report.dags as Array<{dagId: string}>).map((d) => d.dagId)).toContain('team_a_wrapped')
    const ast = await runCli(['validate', '--engine', 'ast', '--json', 'dags/team_a_wrapped.py'], {cwd: dir})
    expect((ast.json().findings as Array<{rule: string}>).map((f) => f.rule)).toEqual(['dag-factory-call'])
  }, budget(300_000))
})
