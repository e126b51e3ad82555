import {execFileSync} from 'node:child_process'
import {cpSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {REPO_ROOT, runCli} from '../helpers/cli.js'
import {tempDir, writeFiles} from '../helpers/tmp.js'

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'specs')
const CONFIG = 'package: team_a\nimage: registry.example.com/team_a/jobs:1\npolicy:\n  owner: data\n  tags: [team-a]\n  allowed_registries: [registry.example.com/]\n'
const SPEC_A = 'name: a\nschedule: "@daily"\ntasks:\n  start: {type: empty}\n  run:\n    type: bash\n    command: echo {{ ds }}\n    depends_on: start\n'
const SPEC_B = 'name: b\nschedule: 6h\ntasks:\n  pod: {type: kubernetes_pod, cmds: [run]}\n'

const listGenerated = (root: string) => readdirSync(path.join(root, 'dags/generated')).sort()

describe('dagctl generate (built binary)', () => {
  it('writes one file per spec, reports the result as JSON, and leaves unchanged files alone', async () => {
    const root = tempDir({'dagctl.yaml': CONFIG, 'specs/a.yaml': SPEC_A, 'specs/nested/b.yaml': SPEC_B})
    const first = await runCli(['generate', '--json'], {cwd: root})
    expect(first.exitCode).toBe(0)
    expect(first.json()).toEqual({
      written: ['dags/generated/team_a_a.py', 'dags/generated/team_a_b.py'],
      unchanged: [],
      removed: [],
      stale: [],
      dags: [
        {dagId: 'team_a_a', file: 'dags/generated/team_a_a.py', spec: 'specs/a.yaml', tasks: 2},
        {dagId: 'team_a_b', file: 'dags/generated/team_a_b.py', spec: 'specs/nested/b.yaml', tasks: 1},
      ],
      layout: 'dag',
      check: false,
    })
    execFileSync('python3', ['-m', 'py_compile', ...listGenerated(root).map((f) => path.join(root, 'dags/generated', f))])
    const human = await runCli(['generate'], {cwd: root})
    expect(human.exitCode).toBe(0)
    expect(human.stdout).toContain('Generated 2 DAGs: 0 written, 2 unchanged.')
    const check = await runCli(['generate', '--check'], {cwd: root})
    expect(check.exitCode).toBe(0)
  })

  it('--check exits 1 listing missing, changed and orphan files, and writes nothing', async () => {
    const root = tempDir({'dagctl.yaml': CONFIG, 'specs/a.yaml': SPEC_A, 'specs/b.yaml': SPEC_B})
    expect((await runCli(['generate'], {cwd: root})).exitCode).toBe(0)
    writeFileSync(path.join(root, 'specs/a.yaml'), SPEC_A.replace('@daily', '@hourly'))
    rmSync(path.join(root, 'specs/b.yaml'))
    writeFileSync(path.join(root, 'specs/c.yaml'), SPEC_A.replace('name: a', 'name: c'))
    const before = listGenerated(root).map((f) => readFileSync(path.join(root, 'dags/generated', f), 'utf8'))
    const res = await runCli(['generate', '--check', '--json'], {cwd: root})
    expect(res.exitCode).toBe(1)
    // the report, like validate's and fsck's: not wrapped in an error
    const report = res.json()
    expect(report.error).toBeUndefined()
    expect(report.check).toBe(true)
    expect(report.stale).toEqual([
      {file: 'dags/generated/team_a_a.py', reason: 'changed', spec: 'specs/a.yaml'},
      {file: 'dags/generated/team_a_c.py', reason: 'missing', spec: 'specs/c.yaml'},
      {file: 'dags/generated/team_a_b.py', reason: 'orphan', spec: 'specs/b.yaml'},
    ])
    expect(listGenerated(root)).toEqual(['team_a_a.py', 'team_a_b.py'])
    expect(listGenerated(root).map((f) => readFileSync(path.join(root, 'dags/generated', f), 'utf8'))).toEqual(before)
    const human = await runCli(['generate', '--check'], {cwd: root})
    expect(human.exitCode).toBe(1)
    expect(human.stdout).toContain('stale     dags/generated/team_a_b.py (orphan, from specs/b.yaml)')
    expect(human.stderr).toMatch(/3 generated files are out of date/)
    expect(human.stderr).toMatch(/Hint: Run `dagctl generate --clean`/)
  })

  it('--clean removes generated files whose spec is gone, never a hand-written file', async () => {
    const root = tempDir({'dagctl.yaml': CONFIG, 'specs/a.yaml': SPEC_A, 'specs/b.yaml': SPEC_B})
    expect((await runCli(['generate'], {cwd: root})).exitCode).toBe(0)
    const handWritten = 'from airflow.sdk import DAG\n# written by hand: no dagctl marker\n'
    writeFiles(root, {'dags/generated/team_a_hand.py': handWritten, 'dags/generated/notes.txt': 'x'})
    rmSync(path.join(root, 'specs/b.yaml'))
    const plain = await runCli(['generate', '--json'], {cwd: root})
    expect(plain.exitCode).toBe(0)
    expect(plain.json().stale).toEqual([{file: 'dags/generated/team_a_b.py', reason: 'orphan', spec: 'specs/b.yaml'}])
    expect(existsSync(path.join(root, 'dags/generated/team_a_b.py'))).toBe(true)
    const clean = await runCli(['generate', '--clean', '--json'], {cwd: root})
    expect(clean.exitCode).toBe(0)
    expect(clean.json()).toMatchObject({removed: ['dags/generated/team_a_b.py'], stale: [], unchanged: ['dags/generated/team_a_a.py']})
    expect(listGenerated(root)).toEqual(['notes.txt', 'team_a_a.py', 'team_a_hand.py'])
    expect(readFileSync(path.join(root, 'dags/generated/team_a_hand.py'), 'utf8')).toBe(handWritten)
    expect((await runCli(['generate', '--check', '--clean'], {cwd: root})).exitCode).toBe(2)
  })

  it('refuses (exit 3) to replace a hand-written file that has a generated file name', async () => {
    const root = tempDir({'dagctl.yaml': CONFIG, 'specs/a.yaml': SPEC_A, 'dags/generated/team_a_a.py': '# mine\n'})
    const res = await runCli(['generate', '--json'], {cwd: root})
    expect(res.exitCode).toBe(3)
    expect(res.json().error.code).toBe('HAND_WRITTEN_FILE')
    expect(readFileSync(path.join(root, 'dags/generated/team_a_a.py'), 'utf8')).toBe('# mine\n')
  })

  const BAD: Array<{what: string; text: string; line: number; key: string}> = [
    {what: 'malformed YAML', text: 'name: bad\ntasks: [\n', line: 3, key: ''},
    {what: 'unknown key', text: 'name: bad\ntasks:\n  t:\n    type: bash\n    command: ls\n    retrys: 2\n', line: 6, key: 'tasks.t.retrys'},
    {what: 'wrong type', text: 'name: bad\ncatchup: "yes"\ntasks:\n  t: {type: empty}\n', line: 2, key: 'catchup'},
    {what: 'unknown depends_on', text: 'name: bad\ntasks:\n  t:\n    type: empty\n    depends_on: [nope]\n', line: 5, key: 'tasks.t.depends_on[0]'},
    {what: 'cycle', text: 'name: bad\ntasks:\n  x: {type: empty, depends_on: y}\n  y: {type: empty, depends_on: x}\n', line: 3, key: 'tasks.x.depends_on'},
    {what: 'bad task id', text: 'name: bad\ntasks:\n  "no spaces": {type: empty}\n', line: 3, key: 'tasks.no spaces'},
    {what: 'unknown task type', text: 'name: bad\ntasks:\n  t: {type: spark}\n', line: 3, key: 'tasks.t.type'},
  ]
  for (const c of BAD) {
    it(`a bad spec (${c.what}) exits 2 with file, line and key, and writes nothing`, async () => {
      const root = tempDir({'dagctl.yaml': CONFIG, 'specs/a.yaml': SPEC_A, 'specs/bad.yaml': c.text})
      const res = await runCli(['generate', '--json'], {cwd: root})
      expect(res.exitCode).toBe(2)
      const {location} = res.json().error
      expect(location.file).toBe(path.join(root, 'specs/bad.yaml'))
      expect(location.line).toBe(c.line)
      if (c.key) expect(location.key).toBe(c.key)
      expect(existsSync(path.join(root, 'dags/generated'))).toBe(false)
      const human = await runCli(['generate'], {cwd: root})
      expect(human.stderr).toContain(`at ${path.join(root, 'specs/bad.yaml')}:${c.line}`)
      expect(human.stderr).not.toMatch(/\n\s+at .*\.js:\d+/)
    })
  }

  it('reports every bad spec, not only the first', async () => {
    const root = tempDir({'dagctl.yaml': CONFIG, 'specs/a.yaml': 'name: a\ntasks: {}\n', 'specs/b.yaml': 'name: b\nfoo: 1\ntasks:\n  t: {type: empty}\n'})
    const res = await runCli(['generate'], {cwd: root})
    expect(res.exitCode).toBe(2)
    expect(res.stderr).toMatch(/and 1 more error/)
    expect(res.stderr).toContain(`${path.join(root, 'specs/b.yaml')}:2 key foo`)
  })

  it('refuses an image outside policy.allowed_registries with exit 5, naming file, line and key', async () => {
    const root = tempDir({'dagctl.yaml': CONFIG, 'specs/a.yaml': SPEC_A, 'specs/evil.yaml': 'name: evil\ntasks:\n  pod:\n    type: kubernetes_pod\n    image: docker.io/someone/miner:latest\n'})
    const res = await runCli(['generate', '--json'], {cwd: root})
    expect(res.exitCode).toBe(5)
    expect(res.json().error).toMatchObject({name: 'PolicyError', code: 'POLICY_REGISTRY', location: {file: path.join(root, 'specs/evil.yaml'), line: 5, key: 'tasks.pod.image'}})
    expect(existsSync(path.join(root, 'dags/generated'))).toBe(false)
  })

  it("uses a platform's own task type from the task_templates folder its extends: file names", async () => {
    const dir = tempDir()
    cpSync(path.join(FIXTURES, 'platform'), path.join(dir, 'platform'), {recursive: true})
    cpSync(path.join(FIXTURES, 'package'), path.join(dir, 'package'), {recursive: true})
    const root = path.join(dir, 'package')
    const res = await runCli(['generate', '--json'], {cwd: root})
    expect(res.exitCode).toBe(0)
    const text = readFileSync(path.join(root, 'dags/generated/team_a_upload.py'), 'utf8')
    expect(text).toContain('from airflow.providers.sftp.operators.sftp import SFTPOperator')
    expect(text).toContain('remote_filepath="/inbox/it\'s \\"quoted\\".csv",')
    expect(text).toContain('tags=["platform"],')
    execFileSync('python3', ['-m', 'py_compile', path.join(root, 'dags/generated/team_a_upload.py')])
    // its fields are checked like the built-ins'
    writeFileSync(path.join(root, 'specs/upload.yaml'), 'name: upload\ntasks:\n  up:\n    type: sftp_upload\n    conn_id: x\n    local_path: /a\n    remote_path: 7\n')
    const bad = await runCli(['generate', '--json'], {cwd: root})
    expect(bad.exitCode).toBe(2)
    expect(bad.json().error.location).toMatchObject({line: 7, key: 'tasks.up.remote_path'})
    // and editors learn about it
    const schema = await runCli(['schema', 'spec'], {cwd: root})
    expect(schema.stdout).toContain('Upload a file to an SFTP server.')
  })

  it('schema prints JSON Schemas of specs and dagctl.yaml', async () => {
    const spec = await runCli(['schema', 'spec', '--json'], {cwd: tempDir()})
    expect(spec.exitCode).toBe(0)
    const s = spec.json()
    expect(s.$schema).toMatch(/json-schema.org/)
    expect(Object.keys(s.properties)).toEqual(expect.arrayContaining(['name', 'schedule', 'tasks', 'default_args', 'paused', 'params']))
    const config = await runCli(['schema', 'config'], {cwd: tempDir()})
    expect(JSON.parse(config.stdout).properties.policy.properties).toHaveProperty('allowed_registries')
    expect(JSON.parse(config.stdout).required).toEqual(['package'])
  })

  it('has examples in its help', async () => {
    for (const cmd of ['generate', 'init', 'schema']) {
      const help = await runCli([cmd, '--help'])
      expect(help.stdout, cmd).toMatch(/EXAMPLES/)
    }
  })
})
