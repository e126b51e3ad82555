import {cpSync, existsSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, inject, it} from 'vitest'

import {REPO_ROOT, runCli} from '../helpers/cli.js'
import {airflowResult} from '../helpers/airflow-python.js'
import {ALL_TYPES, dagBag, generateJson as generate, layoutConfig as config, listGenerated, SFTP_TYPE, SPEC_B, SPEC_C, SPEC_UPLOAD} from '../helpers/generate-layouts.js'
import {tempDir} from '../helpers/tmp.js'

/**
 * generate.layout `loader:N` (docs/specs.md#file-layout): per N DAGs a small loader file that
 * Airflow parses and a module of the DAGs' code under `_dagctl/` that Airflow's safe mode skips.
 * What must hold, with Airflow's own DagBag on Airflow 3.3 and 2.11: every DAG loads, its fileloc is
 * the loader, only the loaders are parsed as DAG files; a broken spec breaks only its own loader and
 * the import error names the spec and DAG id; a task's worker (`_AIRFLOW_PARSING_CONTEXT_DAG_ID`)
 * builds only its DAG; validate (both engines) finds every DAG without a finding; --check names
 * the spec of a DAG whose code drifted in the module; layout switches leave no module behind; the
 * DagctlBundle serves a published loader package that loads.
 */

const SPEC_A = 'name: a\nschedule: "@daily"\ndescription: Airflow says hello\ntasks:\n  start: {type: empty}\n  run:\n    type: bash\n    command: echo airflow {{ ds }}\n    depends_on: start\n'

/** A platform task type whose operator refuses an argument: its DAGs fail when they are built (not at an import). */
const BROKEN_TYPE = `{#- dagctl-task-type
description: A bash task with an argument BashOperator does not take.
fields: {}
imports:
  airflow2: [from airflow.operators.bash import BashOperator]
  airflow3: [from airflow.providers.standard.operators.bash import BashOperator]
-#}
tasks[{{ task.id | py }}] = BashOperator(
    task_id={{ task.id | py }},
    bash_command="true",
    no_such_argument=1,
{% include "partials/task-args.py.njk" %}
)
`
const SPEC_BROKEN = 'name: d\nschedule: null\ntasks:\n  oops: {type: broken}\n'

describe.each([3, 2] as const)('layout loader:N on Airflow %i', (version) => {
  it("Airflow's DagBag loads every DAG from the loaders, with its tasks and retries; the modules are not parsed as DAG files", async () => {
    const root = tempDir({'dagctl.yaml': config('team_a', 'loader:2', version), 'specs/all_types.yaml': ALL_TYPES, 'specs/a.yaml': SPEC_A, 'specs/b.yaml': SPEC_B, 'specs/c.yaml': SPEC_C})
    const result = await generate(root)
    expect(result.layout).toBe('loader:2')
    expect(listGenerated(root)).toEqual(['_dagctl', 'team_a-loader-001.py', 'team_a-loader-002.py'])
    expect(listGenerated(root, '_dagctl')).toEqual(['team_a-loader-001.py', 'team_a-loader-002.py'])
    // safe mode parses a file only when it holds the word airflow: the modules never do (spec a's values hold it)
    for (const f of listGenerated(root, '_dagctl')) expect(readFileSync(path.join(root, 'dags/generated/_dagctl', f), 'utf8')).not.toMatch(/airflow/i)
    const bag = await dagBag(version, path.join(root, 'dags/generated'))
    expect(bag.errors).toEqual({})
    expect(bag.parsed).toEqual(['team_a-loader-001.py', 'team_a-loader-002.py'])
    expect(Object.fromEntries(Object.entries(bag.dags).map(([id, d]) => [id, d.tasks]))).toEqual({team_a_a: 2, team_a_all_types: 6, team_a_b: 2, team_a_c: 1})
    expect(bag.dags.team_a_b.retries).toBe(4)
    for (const d of result.dags as Array<{dagId: string; file: string}>) expect(`dags/generated/${bag.dags[d.dagId].file}`).toBe(d.file)
    // the loaders' imports are plain top-level statements, so the processor imports them once for all its parsing processes
    expect(bag.preImported['team_a-loader-001.py']).toEqual(expect.arrayContaining([version === 3 ? 'airflow.sdk' : 'airflow.operators.bash', 'airflow.providers.cncf.kubernetes.operators.pod']))
  })

  it('a DAG whose import fails (a provider missing) breaks only its own loader, whose import error names its spec and DAG id', async () => {
    const a = tempDir({
      'dagctl.yaml': config('team_a', 'loader:2', version, 'task_templates: platform/'),
      'platform/sftp_upload.py.njk': SFTP_TYPE,
      'specs/a.yaml': SPEC_A,
      'specs/b.yaml': SPEC_B,
      'specs/c.yaml': SPEC_C,
      'specs/upload.yaml': SPEC_UPLOAD,
    })
    const b = tempDir({'dagctl.yaml': config('team_b', 'loader:2', version), 'specs/a.yaml': SPEC_A})
    await generate(a)
    await generate(b)
    // the DAG folder as a sync or bundle lays it out: one folder per package
    const folder = tempDir()
    cpSync(path.join(a, 'dags/generated'), path.join(folder, 'team_a'), {recursive: true})
    cpSync(path.join(b, 'dags/generated'), path.join(folder, 'team_b'), {recursive: true})
    const bag = await dagBag(version, folder)
    // a, b in loader 1; c, upload in loader 2
    expect(Object.keys(bag.dags).sort()).toEqual(['team_a_a', 'team_a_b', 'team_b_a'])
    expect(Object.keys(bag.errors)).toEqual(['team_a/team_a-loader-002.py'])
    const error = bag.errors['team_a/team_a-loader-002.py']
    expect(error).toContain('DagctlSpecError: 1 of 2 DAGs of this file failed to build')
    expect(error).toMatch(/specs\/upload\.yaml \(DAG team_a_upload\): ModuleNotFoundError: No module named 'airflow\.providers\.sftp' \(line \d+ of this file\)/)
    expect(error).not.toContain('specs/c.yaml')
  })

  it("a task's worker (the parsing context set) builds only its own DAG: a DAG beside it that fails to build does not stop the task", async () => {
    const root = tempDir({
      'dagctl.yaml': config('team_a', 'loader:2', version, 'task_templates: platform/'),
      'platform/broken.py.njk': BROKEN_TYPE,
      'specs/c.yaml': SPEC_C,
      'specs/d.yaml': SPEC_BROKEN,
    })
    await generate(root)
    const folder = path.join(root, 'dags/generated')
    // the DAG processor (no parsing context): the loader fails, naming the broken spec
    const processor = await dagBag(version, folder)
    expect(Object.keys(processor.dags)).toEqual([])
    expect(processor.errors['team_a-loader-001.py']).toMatch(/1 of 2 DAGs of this file failed to build[\s\S]*specs\/d\.yaml \(DAG team_a_d\): \w+: Invalid arguments were passed to BashOperator[\s\S]*no_such_argument[\s\S]* \(line \d+ of _dagctl\/team_a-loader-001\.py\)/)
    // a task of team_a_c starts: its worker gets team_a_c, and does not build team_a_d
    const worker = await dagBag(version, folder, {_AIRFLOW_PARSING_CONTEXT_DAG_ID: 'team_a_c'})
    expect(worker.errors).toEqual({})
    expect(Object.keys(worker.dags)).toEqual(['team_a_c'])
  })

  it('validate finds every DAG of the module with no finding, with the ast engine and with --engine airflow', async () => {
    const root = tempDir({'dagctl.yaml': config('team_a', 'loader:2', version), 'specs/all_types.yaml': ALL_TYPES, 'specs/a.yaml': SPEC_A, 'specs/b.yaml': SPEC_B})
    await generate(root)
    for (const engine of ['ast', 'airflow']) {
      const res = await runCli(['validate', '--engine', engine, '--json'], {cwd: root})
      expect(res.exitCode, res.stdout + res.stderr).toBe(0)
      expect(res.json().findings, engine).toEqual([])
      expect(res.json().dags.map((d: {dagId: string}) => d.dagId).sort(), engine).toEqual(['team_a_a', 'team_a_all_types', 'team_a_b'])
    }
    if (version === 2) return
    // a finding in a module names the DAG and the spec it came from (a hand edit stands in for a rule that fires)
    const module = path.join(root, 'dags/generated/_dagctl/team_a-loader-001.py')
    writeFileSync(module, readFileSync(module, 'utf8').replace('        dag_id="team_a_all_types",\n', '        dag_id="team_a_all_types",\n        schedule_interval="@daily",\n'))
    const res = await runCli(['validate', '--engine', 'ast', '--json'], {cwd: root})
    const findings = res.json().findings as Array<{file: string; rule: string; message: string}>
    expect(findings.map((f) => [f.file, f.rule])).toEqual([['dags/generated/_dagctl/team_a-loader-001.py', 'airflow3-removed-argument']])
    expect(findings[0].message).toMatch(/ \(DAG team_a_all_types, from specs\/all_types\.yaml\)$/)
  })
})

describe('generate with layout loader:N (built binary)', () => {
  it('--check names the spec of a DAG whose code drifted in a module, and of a DAG missing from a loader', async () => {
    const root = tempDir({'dagctl.yaml': config('team_a', 'loader:50'), 'specs/a.yaml': SPEC_A, 'specs/b.yaml': SPEC_B, 'specs/c.yaml': SPEC_C})
    await generate(root)
    expect((await runCli(['generate', '--check'], {cwd: root})).exitCode).toBe(0)
    const module = path.join(root, 'dags/generated/_dagctl/team_a-loader-001.py')
    const original = readFileSync(module, 'utf8')
    writeFileSync(module, original.replace('"retries": 4', '"retries": 1'))
    const res = await runCli(['generate', '--check', '--json'], {cwd: root})
    expect(res.exitCode).toBe(1)
    expect(res.json().stale).toEqual([{file: 'dags/generated/_dagctl/team_a-loader-001.py', reason: 'changed', spec: 'specs/b.yaml', dagId: 'team_a_b'}])
    // a new spec: the loader misses its DAG, the module its function
    writeFileSync(module, original)
    writeFileSync(path.join(root, 'specs/bb.yaml'), SPEC_C.replace('name: c', 'name: bb'))
    const stale = (await runCli(['generate', '--check', '--json'], {cwd: root})).json().stale
    expect(stale).toEqual([
      {file: 'dags/generated/team_a-loader-001.py', reason: 'changed', spec: 'specs/bb.yaml', dagId: 'team_a_bb'},
      {file: 'dags/generated/_dagctl/team_a-loader-001.py', reason: 'changed', spec: 'specs/bb.yaml', dagId: 'team_a_bb'},
    ])
  })

  it('switching layouts to and from loader:N removes the files (and modules) whose DAGs moved; --clean an orphan loader with its module', async () => {
    const root = tempDir({'dagctl.yaml': config('team_a', 'batch:2'), 'specs/a.yaml': SPEC_A, 'specs/b.yaml': SPEC_B, 'specs/c.yaml': SPEC_C})
    await generate(root)
    const steps: Array<[string, string[], string[]]> = [
      ['loader:2', ['_dagctl', 'team_a-loader-001.py', 'team_a-loader-002.py'], ['team_a-batch-001.py', 'team_a-batch-002.py']],
      ['loader:3', ['_dagctl', 'team_a-loader-001.py'], ['team_a-loader-002.py', '_dagctl/team_a-loader-002.py']],
      ['dag', ['team_a_a.py', 'team_a_b.py', 'team_a_c.py'], ['team_a-loader-001.py', '_dagctl/team_a-loader-001.py']],
      ['loader:1', ['_dagctl', 'team_a-loader-001.py', 'team_a-loader-002.py', 'team_a-loader-003.py'], ['team_a_a.py', 'team_a_b.py', 'team_a_c.py']],
    ]
    for (const [layout, files, removed] of steps) {
      writeFileSync(path.join(root, 'dagctl.yaml'), config('team_a', layout))
      const res = await generate(root)
      expect(res.removed, layout).toEqual(removed.map((f) => `dags/generated/${f}`))
      expect(res.stale, layout).toEqual([])
      expect(listGenerated(root), layout).toEqual(files)
      expect((await runCli(['generate', '--check'], {cwd: root})).exitCode, layout).toBe(0)
    }
    expect(existsSync(path.join(root, 'dags/generated/_dagctl/team_a-loader-003.py'))).toBe(true)
    // a spec removed: its loader and module are orphans, reported and removed by --clean only
    const {rmSync} = await import('node:fs')
    rmSync(path.join(root, 'specs/c.yaml'))
    const res = await generate(root)
    expect(res.stale).toEqual([
      {file: 'dags/generated/team_a-loader-003.py', reason: 'orphan', spec: 'specs/c.yaml'},
      {file: 'dags/generated/_dagctl/team_a-loader-003.py', reason: 'orphan', spec: 'specs/c.yaml'},
    ])
    expect((await runCli(['generate', '--check'], {cwd: root})).exitCode).toBe(1)
    const cleaned = await generate(root, '--clean')
    expect(cleaned.removed).toEqual(['dags/generated/team_a-loader-003.py', 'dags/generated/_dagctl/team_a-loader-003.py'])
    expect((await runCli(['generate', '--check'], {cwd: root})).exitCode).toBe(0)
  })
})

describe('a loader:N package through publish, dagctl sync and the DagctlBundle (Airflow 3)', () => {
  const PARSE = `
import json, os, sys
from pathlib import Path
args = json.loads(sys.argv[1])
if "bundle" in args:
    from dagctl_airflow import DagctlBundle
    b = args["bundle"]
    bundle = DagctlBundle(name=b["name"], store=b["store"], env="dev", package=b["package"])
    bundle.refresh()
    folder = str(bundle.path)
else:
    folder = args["folder"]
from airflow.dag_processing.bundles.base import BaseDagBundle
from airflow.dag_processing.dagbag import BundleDagBag
bag = BundleDagBag(dag_folder=folder, bundle_path=Path(folder), safe_mode=True)
out = {"dags": {d.dag_id: [os.path.relpath(d.fileloc, folder), len(d.tasks)] for d in bag.dags.values()},
       "errors": {os.path.relpath(k, folder): v for k, v in bag.import_errors.items()},
       "parsed": sorted((s.file[len(folder):] if s.file.startswith(folder) else s.file).lstrip("/") for s in bag.dagbag_stats),
       "modules": sorted(f.name for f in Path(folder, "team_l", "generated", "_dagctl").iterdir() if f.suffix == ".py")}
sys.__stdout__.write("RESULT " + json.dumps(out) + "\\n")
`
  interface Parsed {
    dags: Record<string, [string, number]>
    errors: Record<string, string>
    parsed: string[]
    modules: string[]
  }

  it('publish ships the modules; sync and the bundle serve them; Airflow 3 loads every DAG from the loaders, the same from both', async () => {
    const storeUrl = `file://${tempDir({}, 'dagctl-loader-store-')}/store`
    const root = tempDir({
      'dagctl.yaml': `${config('team_l', 'loader:2')}environments:\n  dev:\n    store: ${storeUrl}\n`,
      'specs/a.yaml': SPEC_A,
      'specs/b.yaml': SPEC_B,
      'specs/c.yaml': SPEC_C,
    })
    await generate(root)
    const pub = await runCli(['publish', '--no-validate', '--json'], {cwd: root})
    expect(pub.exitCode, pub.stdout + pub.stderr).toBe(0)
    // the live tree of the release holds the modules (package files under dags/, like any other)
    const live = path.join(storeUrl.slice('file://'.length), 'dev', 'team_l', 'dags', 'generated')
    expect(readdirSync(path.join(live, '_dagctl')).sort()).toEqual(['team_l-loader-001.py', 'team_l-loader-002.py'])

    const synced = tempDir({}, 'dagctl-loader-sync-')
    const sync = await runCli(['sync', '--once', '--json', '--to', synced], {cwd: root})
    expect(sync.exitCode, sync.stdout + sync.stderr).toBe(0)
    const env = {PYTHONPATH: path.join(REPO_ROOT, 'python', 'dagctl_airflow'), AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH: tempDir({}, 'dagctl-loader-bundles-')}
    const python = inject('airflowPython')['3']
    const fromSync = await airflowResult<Parsed>(python, PARSE, [JSON.stringify({folder: synced})], env)
    const fromBundle = await airflowResult<Parsed>(python, PARSE, [JSON.stringify({bundle: {store: storeUrl, package: 'team_l', name: `loader_${process.pid}`}})], env)
    for (const got of [fromSync, fromBundle]) {
      expect(got.errors).toEqual({})
      expect(got.dags).toEqual({
        team_l_a: ['team_l/generated/team_l-loader-001.py', 2],
        team_l_b: ['team_l/generated/team_l-loader-001.py', 2],
        team_l_c: ['team_l/generated/team_l-loader-002.py', 1],
      })
      expect(got.modules).toEqual(['team_l-loader-001.py', 'team_l-loader-002.py'])
      expect(got.parsed.filter((f) => f.includes('_dagctl/'))).toEqual([])
    }
  })
})
