import {cpSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {runCli} from '../helpers/cli.js'
import {ALL_TYPES, dagBag, generateJson as generate, layoutConfig as config, listGenerated, SFTP_TYPE, SPEC_B, SPEC_C, SPEC_UPLOAD} from '../helpers/generate-layouts.js'
import {tempDir} from '../helpers/tmp.js'

/**
 * generate.layout (docs/specs.md#file-layout): several DAGs per file, for Airflow's DAG processor,
 * which pays about 0.1 s per file. What must hold: Airflow's own DagBag loads every DAG of the
 * multi-DAG files on Airflow 3 and 2.11; a DAG that fails to build breaks only its own package's
 * file, and the import error names its spec; --check names the spec of a drifted DAG; switching
 * layouts with --clean leaves no stale file.
 */

const SPEC_A = 'name: a\nschedule: "@daily"\ntasks:\n  start: {type: empty}\n  run:\n    type: bash\n    command: echo {{ ds }}\n    depends_on: start\n'

describe.each([3, 2] as const)('multi-DAG files on Airflow %i', (version) => {
  it.each(['package', 'batch:2'])("layout %s: Airflow's DagBag loads every DAG, with its tasks and retries", async (layout) => {
    const root = tempDir({'dagctl.yaml': config('team_a', layout, version), 'specs/all_types.yaml': ALL_TYPES, 'specs/a.yaml': SPEC_A, 'specs/b.yaml': SPEC_B, 'specs/c.yaml': SPEC_C})
    const result = await generate(root)
    const files = layout === 'package' ? ['team_a.py'] : ['team_a-batch-001.py', 'team_a-batch-002.py']
    expect(listGenerated(root)).toEqual(files)
    expect(result.layout).toBe(layout)
    // safe mode reads a file only when it holds both words
    for (const f of files) expect(readFileSync(path.join(root, 'dags/generated', f), 'utf8')).toMatch(/airflow[\s\S]*DAG|DAG[\s\S]*airflow/)
    const bag = await dagBag(version, path.join(root, 'dags/generated'))
    expect(bag.errors).toEqual({})
    expect(Object.fromEntries(Object.entries(bag.dags).map(([id, d]) => [id, d.tasks]))).toEqual({team_a_a: 2, team_a_all_types: 6, team_a_b: 2, team_a_c: 1})
    expect(bag.dags.team_a_b.retries).toBe(4)
    // each DAG is where the result says it is
    for (const d of result.dags as Array<{dagId: string; file: string}>) expect(`dags/generated/${bag.dags[d.dagId].file}`).toBe(d.file)
  })

  it('layout package: validate (ast engine) finds every DAG of the file under its id, with no finding', async () => {
    const root = tempDir({'dagctl.yaml': config('team_a', 'package', version), 'specs/all_types.yaml': ALL_TYPES, 'specs/a.yaml': SPEC_A, 'specs/b.yaml': SPEC_B})
    await generate(root)
    const res = await runCli(['validate', '--engine', 'ast', '--json'], {cwd: root})
    expect(res.exitCode, res.stdout + res.stderr).toBe(0)
    expect(res.json().findings).toEqual([])
    expect(res.json().dags.map((d: {dagId: string}) => d.dagId).sort()).toEqual(['team_a_a', 'team_a_all_types', 'team_a_b'])
  })

  it("a DAG that fails to build in package A leaves package B's DAGs loaded; the import error names A's spec", async () => {
    const a = tempDir({
      'dagctl.yaml': config('team_a', 'package', version, 'task_templates: platform/'),
      'platform/sftp_upload.py.njk': SFTP_TYPE,
      'specs/a.yaml': SPEC_A,
      'specs/upload.yaml': SPEC_UPLOAD,
    })
    const b = tempDir({'dagctl.yaml': config('team_b', 'package', version), 'specs/a.yaml': SPEC_A, 'specs/b.yaml': SPEC_B})
    await generate(a)
    await generate(b)
    // the DAG folder as a sync or bundle lays it out: one folder per package
    const folder = tempDir()
    cpSync(path.join(a, 'dags/generated'), path.join(folder, 'team_a'), {recursive: true})
    cpSync(path.join(b, 'dags/generated'), path.join(folder, 'team_b'), {recursive: true})
    const bag = await dagBag(version, folder)
    expect(Object.keys(bag.dags).sort()).toEqual(['team_b_a', 'team_b_b'])
    expect(Object.keys(bag.errors)).toEqual(['team_a/team_a.py'])
    const error = bag.errors['team_a/team_a.py']
    expect(error).toContain('DagctlSpecError: 1 of 2 DAGs of this file failed to build')
    expect(error).toMatch(/specs\/upload\.yaml \(DAG team_a_upload\): ModuleNotFoundError: No module named 'airflow\.providers\.sftp'/)
    expect(error).not.toContain('specs/a.yaml')
  })
})

describe('generate with a multi-DAG layout (built binary)', () => {
  it('--check names the spec of the one drifted DAG in a multi-DAG file, and of a missing one', async () => {
    const root = tempDir({'dagctl.yaml': config('team_a', 'package'), 'specs/a.yaml': SPEC_A, 'specs/b.yaml': SPEC_B, 'specs/c.yaml': SPEC_C})
    await generate(root)
    expect((await runCli(['generate', '--check'], {cwd: root})).exitCode).toBe(0)
    const file = path.join(root, 'dags/generated/team_a.py')
    const original = readFileSync(file, 'utf8')
    // a hand edit inside team_a_b's function
    writeFileSync(file, original.replace('"retries": 4', '"retries": 1'))
    const res = await runCli(['generate', '--check', '--json'], {cwd: root})
    expect(res.exitCode).toBe(1)
    expect(res.json().stale).toEqual([{file: 'dags/generated/team_a.py', reason: 'changed', spec: 'specs/b.yaml', dagId: 'team_a_b'}])
    const human = await runCli(['generate', '--check'], {cwd: root})
    expect(human.exitCode).toBe(1)
    expect(human.stdout).toContain('stale     dags/generated/team_a.py (changed: DAG team_a_b, from specs/b.yaml)')
    expect(human.stderr).toContain('1 generated file is out of date')
    // a spec changed: its DAG is named
    writeFileSync(file, original)
    writeFileSync(path.join(root, 'specs/c.yaml'), SPEC_C.replace('echo c', 'echo C'))
    writeFileSync(path.join(root, 'specs/d.yaml'), SPEC_C.replace('name: c', 'name: d'))
    const stale = (await runCli(['generate', '--check', '--json'], {cwd: root})).json().stale
    expect(stale).toEqual([
      {file: 'dags/generated/team_a.py', reason: 'changed', spec: 'specs/c.yaml', dagId: 'team_a_c'},
      {file: 'dags/generated/team_a.py', reason: 'changed', spec: 'specs/d.yaml', dagId: 'team_a_d'},
    ])
    expect(readFileSync(file, 'utf8')).toBe(original)
  })

  it('switching layouts: generate removes the files whose DAGs moved (no DAG id twice), --clean those of a removed spec; --check passes', async () => {
    const root = tempDir({'dagctl.yaml': config('team_a', 'dag'), 'specs/a.yaml': SPEC_A, 'specs/b.yaml': SPEC_B, 'specs/c.yaml': SPEC_C, 'dags/generated/helper.py': 'print("hand-written")\n'})
    await generate(root)
    expect(listGenerated(root)).toEqual(['helper.py', 'team_a_a.py', 'team_a_b.py', 'team_a_c.py'])
    // layout, then the files it leaves, then what the switch removes of the layout before
    const steps: Array<[string, string[], string[]]> = [
      ['package', ['helper.py', 'team_a.py'], ['team_a_a.py', 'team_a_b.py', 'team_a_c.py']],
      ['batch:2', ['helper.py', 'team_a-batch-001.py', 'team_a-batch-002.py'], ['team_a.py']],
      ['batch:1', ['helper.py', 'team_a-batch-001.py', 'team_a-batch-002.py', 'team_a-batch-003.py'], []],
      ['batch:3', ['helper.py', 'team_a-batch-001.py'], ['team_a-batch-002.py', 'team_a-batch-003.py']],
      ['dag', ['helper.py', 'team_a_a.py', 'team_a_b.py', 'team_a_c.py'], ['team_a-batch-001.py']],
    ]
    for (const [layout, files, removed] of steps) {
      writeFileSync(path.join(root, 'dagctl.yaml'), config('team_a', layout))
      const res = await generate(root)
      expect(res.removed, layout).toEqual(removed.map((f) => `dags/generated/${f}`))
      expect(res.stale, layout).toEqual([])
      expect(listGenerated(root), layout).toEqual(files)
      expect((await runCli(['generate', '--check'], {cwd: root})).exitCode, layout).toBe(0)
    }
    // a file holding a DAG whose spec is gone is an orphan: reported, removed by --clean only
    writeFileSync(path.join(root, 'dagctl.yaml'), config('team_a', 'package'))
    await generate(root)
    rmSync(path.join(root, 'specs/c.yaml'))
    writeFileSync(path.join(root, 'dagctl.yaml'), config('team_a', 'batch:1'))
    const res = await generate(root)
    expect(res.stale).toEqual([{file: 'dags/generated/team_a.py', reason: 'orphan', spec: 'specs/a.yaml, specs/b.yaml, specs/c.yaml'}])
    expect((await runCli(['generate', '--check'], {cwd: root})).exitCode).toBe(1)
    const cleaned = await generate(root, '--clean')
    expect(cleaned.removed).toEqual(['dags/generated/team_a.py'])
    expect(listGenerated(root)).toEqual(['helper.py', 'team_a-batch-001.py', 'team_a-batch-002.py'])
    expect((await runCli(['generate', '--check'], {cwd: root})).exitCode).toBe(0)
    expect(readFileSync(path.join(root, 'dags/generated/helper.py'), 'utf8')).toBe('print("hand-written")\n')
  })

  it('a hand-written file where the package file would go stops the run (exit 3) and is left alone', async () => {
    const root = tempDir({'dagctl.yaml': config('team_a', 'package'), 'specs/a.yaml': SPEC_A, 'dags/generated/team_a.py': 'print("mine")\n'})
    const res = await runCli(['generate', '--json'], {cwd: root})
    expect(res.exitCode).toBe(3)
    expect(res.json().error.message).toContain('dags/generated/team_a.py exists and was not written by dagctl')
    expect(readFileSync(path.join(root, 'dags/generated/team_a.py'), 'utf8')).toBe('print("mine")\n')
  })

  it('a bad layout in dagctl.yaml is a config error naming the key', async () => {
    const root = tempDir({'dagctl.yaml': config('team_a', 'batch:0'), 'specs/a.yaml': SPEC_A})
    const res = await runCli(['generate', '--json'], {cwd: root})
    expect(res.exitCode).toBe(2)
    expect(JSON.stringify(res.json().error)).toContain('generate.layout')
  })
})
