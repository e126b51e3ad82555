import {execFileSync} from 'node:child_process'
import {cpSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {stringify} from 'yaml'

import {loadConfig} from '../../src/config/load.js'
import {generate} from '../../src/render/generate.js'
import {REPO_ROOT} from '../helpers/cli.js'
import {tempDir, writeFiles} from '../helpers/tmp.js'
import {TRICKY_STRINGS} from '../fixtures/specs/tricky-values.js'

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'specs')

/** A package using every built-in task type and a platform's own type, for one Airflow version. */
function packageFor(version: 2 | 3): string {
  const dir = tempDir()
  cpSync(path.join(FIXTURES, 'platform'), path.join(dir, 'platform'), {recursive: true})
  writeFiles(dir, {
    'pkg/dagctl.yaml': `extends: ../platform/platform.yaml\npackage: team_a\nimage: registry.example.com/team_a/jobs:1\nairflow:\n  version: ${version}\n`,
    'pkg/specs/all-types.yaml': readFileSync(path.join(FIXTURES, 'all-types.yaml'), 'utf8'),
    'pkg/specs/upload.yaml': readFileSync(path.join(FIXTURES, 'package', 'specs', 'upload.yaml'), 'utf8'),
  })
  return path.join(dir, 'pkg')
}

function run(root: string) {
  return generate({root, config: loadConfig({cwd: root, env: {}}).config, mode: 'write'})
}

function python(script: string, args: string[] = [], input?: string): string {
  return execFileSync('python3', ['-c', script, ...args], {encoding: 'utf8', input})
}

describe('generated Python (real python3)', () => {
  for (const version of [2, 3] as const) {
    it(`every task type renders to Python that py_compile accepts (Airflow ${version})`, () => {
      const root = packageFor(version)
      const result = run(root)
      expect(result.written.sort()).toEqual(['dags/generated/team_a_all_types.py', 'dags/generated/team_a_upload.py'])
      const files = result.written.map((f) => path.join(root, f))
      execFileSync('python3', ['-c', 'import py_compile, sys\nfor f in sys.argv[1:]: py_compile.compile(f, doraise=True)', ...files])
      const text = readFileSync(files[0], 'utf8')
      expect(text.split('\n')[0]).toBe('# dagctl:generated source=specs/all-types.yaml')
      expect(text).toMatch(/airflow/)
      expect(text).toMatch(/dag/)
      expect(text).toContain('from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator')
      expect(text).toContain('from kubernetes.client import models as k8s')
      if (version === 3) {
        expect(text).toContain('from airflow.sdk import DAG')
        expect(text).toContain('from airflow.providers.standard.operators.python import PythonOperator')
        expect(text).not.toMatch(/^from airflow\.operators\./m)
      } else {
        expect(text).toContain('from airflow import DAG')
        expect(text).toContain('from airflow.operators.bash import BashOperator')
        expect(text).toContain('from airflow.operators.empty import EmptyOperator')
        expect(text).not.toContain('providers.standard')
      }
      expect(readFileSync(files[1], 'utf8')).toContain('from airflow.providers.sftp.operators.sftp import SFTPOperator')
    })
  }

  it('the python task wrapper imports the job only when it runs, and honours JOB, argv and conf', () => {
    const root = packageFor(3)
    run(root)
    const dagFile = path.join(root, 'dags/generated/team_a_all_types.py')
    // The job module must not be imported at parse time: the DAG file names it only as a string.
    expect(readFileSync(dagFile, 'utf8')).not.toMatch(/^\s*(import|from) team_a_jobs/m)
    const jobs = tempDir({
      'team_a_jobs/__init__.py': '',
      'team_a_jobs/report.py': 'CALLS = []\ndef run(argv):\n    CALLS.append(argv)\n    return 0\nJOB = (run, "Build the report")\n',
      'team_a_jobs/transform.py': 'CALLS = []\ndef main(argv):\n    CALLS.append(argv)\n    return 3 if argv == ["fail"] else None\n',
    })
    const script = String.raw`
import ast, json, sys
sys.path.insert(0, sys.argv[2])
tree = ast.parse(open(sys.argv[1]).read())
fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "_dagctl_run_job")
ns = {}
exec(compile(ast.Module(body=[fn], type_ignores=[]), "wrapper", "exec"), ns)
run = ns["_dagctl_run_job"]
class Run:
    def __init__(self, conf): self.conf = conf
class Task:
    def __init__(self, task_id): self.task_id = task_id
import team_a_jobs.report as report, team_a_jobs.transform as transform
run("team_a_jobs.report", ["--default"], dag_run=Run(None), task=Task("report"))
run("team_a_jobs.report", ["--default"], dag_run=Run({"argv": ["--from-conf", 7]}), task=Task("report"))
run("team_a_jobs.transform:main", ["--fast"], dag_run=Run({"argv": {"transform": ["--for-me"], "other": ["x"]}}), task=Task("transform"))
run("team_a_jobs.transform:main", ["--fast"], dag_run=Run({"argv": {"other": ["x"]}}), task=Task("transform"))
try:
    run("team_a_jobs.transform:main", ["fail"], dag_run=None, task=Task("transform"))
    failed = None
except RuntimeError as e:
    failed = str(e)
print(json.dumps({"report": report.CALLS, "transform": transform.CALLS, "failed": failed}))
`
    const out = JSON.parse(python(script, [dagFile, jobs]))
    expect(out.report).toEqual([['--default'], ['--from-conf', '7']])
    expect(out.transform).toEqual([['--for-me'], ['--fast'], ['fail']])
    expect(out.failed).toMatch(/exit status 3/)
  })

  it('spec values with quotes, backslashes, newlines, unicode and template syntax reach Python exactly', () => {
    // Lone surrogates cannot be written to a UTF-8 YAML file; the literal test covers them.
    const values = TRICKY_STRINGS.filter((s) => !/[\ud800-\udfff]/.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')))
    const spec = {
      name: 'tricky',
      description: values.join(' | '),
      params: Object.fromEntries(values.map((v, i) => [`p${i}${v}`, v])),
      tasks: {
        pod: {type: 'kubernetes_pod', image: 'registry.example.com/x:1', arguments: values, env: Object.fromEntries(values.map((v, i) => [`V${i}`, v]))},
        ...Object.fromEntries(values.filter((v) => v !== '').map((v, i) => [`bash_${i}`, {type: 'bash', command: v}])),
      },
    }
    const root = tempDir({'dagctl.yaml': 'package: team_a\n', 'specs/tricky.yaml': stringify(spec)})
    run(root)
    const dagFile = path.join(root, 'dags/generated/team_a_tricky.py')
    const script = String.raw`
import ast, json, sys
tree = ast.parse(open(sys.argv[1], encoding="utf-8").read())
found = {"tasks": {}}
for node in tree.body:
    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
        kwargs = {k.arg: k.value for k in node.value.keywords}
        if getattr(node.targets[0], "id", None) == "dag":
            found["description"] = ast.literal_eval(kwargs["description"])
            found["params"] = ast.literal_eval(kwargs["params"])
        elif isinstance(node.targets[0], ast.Subscript):
            task_id = ast.literal_eval(kwargs["task_id"])
            found["tasks"][task_id] = {k: ast.literal_eval(v) for k, v in kwargs.items() if k in ("bash_command", "arguments", "env_vars")}
print(json.dumps(found))
`
    const found = JSON.parse(python(script, [dagFile]))
    expect(found.description).toBe(spec.description)
    expect(found.params).toEqual(spec.params)
    expect(Object.keys(found.params)).toEqual(Object.keys(spec.params))
    expect(found.tasks.pod.arguments).toEqual(values)
    expect(found.tasks.pod.env_vars).toEqual(spec.tasks.pod.env)
    for (const [id, task] of Object.entries(spec.tasks)) {
      if (id.startsWith('bash_')) expect(found.tasks[id].bash_command, id).toBe((task as unknown as {command: string}).command)
    }
    expect(Object.keys(found.tasks)).toHaveLength(Object.keys(spec.tasks).length)
  })

  it('is deterministic: twice, and in another folder, the same bytes', () => {
    const a = packageFor(3)
    const b = packageFor(3)
    const first = run(a)
    const bytes = (root: string) => Object.fromEntries(readdirSync(path.join(root, 'dags/generated')).map((f) => [f, readFileSync(path.join(root, 'dags/generated', f), 'utf8')]))
    const before = bytes(a)
    const second = run(a)
    expect(second.written).toEqual([])
    expect(second.unchanged.sort()).toEqual(first.written.sort())
    expect(bytes(a)).toEqual(before)
    run(b)
    expect(bytes(b)).toEqual(before)
    // A tag sends the spec down the authoritative YAML path (not the fast one): same bytes.
    const spec = path.join(b, 'specs/all-types.yaml')
    writeFileSync(spec, readFileSync(spec, 'utf8').replace('description: All task types', 'description: !!str All task types'))
    expect(run(b).written).toEqual([])
  })
})
