import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {REPO_ROOT, runCli, type CliResult} from '../helpers/cli.js'
import {tempDir, writeFiles} from '../helpers/tmp.js'

/**
 * The stream rule (src/ui/streams.ts, docs/architecture.md): the result and the data asked for on
 * stdout; progress, diffs shown before writing, notes and warnings on stderr; under --json stdout is
 * exactly one JSON document. Each command runs with the two streams apart, and every line is checked
 * for the stream it reached.
 */

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '')

/** The result lines all on stdout and nothing of stderr's kind there; the progress lines all on stderr. */
function expectStreams(res: CliResult, expected: {stdout: RegExp[]; stderr: RegExp[]}, what: string): void {
  const out = lines(res.stdout)
  const err = lines(res.stderr)
  for (const re of expected.stdout) {
    expect(out.some((l) => re.test(l)), `${what}: ${re} on stdout\n--- stdout ---\n${res.stdout}\n--- stderr ---\n${res.stderr}`).toBe(true)
    expect(err.some((l) => re.test(l)), `${what}: ${re} not on stderr`).toBe(false)
  }
  for (const re of expected.stderr) {
    expect(err.some((l) => re.test(l)), `${what}: ${re} on stderr\n--- stdout ---\n${res.stdout}\n--- stderr ---\n${res.stderr}`).toBe(true)
    expect(out.some((l) => re.test(l)), `${what}: ${re} not on stdout`).toBe(false)
  }
  // a step starting or its status (listr2's marks), an error or its hint never reach stdout
  for (const l of out) expect(l, `${what}: a progress or error line on stdout`).not.toMatch(/^\s*[❯›] |^Hint:|^Error:/)
}

/** Under --json: stdout parses as one document, and nothing for people reaches either stream. */
function expectJsonOnly(res: CliResult, what: string): any {
  expect(res.stderr, `${what}: stderr under --json`).toBe('')
  return res.json()
}

const DAG = (id: string) => `import pendulum\nfrom airflow.sdk import DAG\n\nwith DAG(dag_id="${id}", schedule="@daily", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False):\n    pass\n`
const SPEC = 'name: a\nschedule: "@daily"\ntasks:\n  start: {type: empty}\n'
const CACHE = {DAGCTL_CACHE_DIR: mkdtempSync(path.join(os.tmpdir(), 'dagctl-cache-'))}
afterAll(() => rmSync(CACHE.DAGCTL_CACHE_DIR, {recursive: true, force: true}))

describe('every command keeps the stream rule', () => {
  it('publish, rollback: diff and steps on stderr, the result on stdout; --json alone on stdout', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\n', 'dags/team_a_a.py': DAG('team_a_a')})
    const env = CACHE
    const first = await runCli(['publish', '-m', 'one', '--engine', 'ast'], {cwd: dir, env})
    expect(first.exitCode, first.stderr).toBe(0)
    expectStreams(first, {
      stdout: [/^Published release 1 of team_a to dev\.$/],
      stderr: [/^❯ Validate and compare/, /^✔ Upload 1 new content/, /^team_a in dev \(file:\/\/\.dagctl\/store\), against no release yet:$/, /^\+ team_a_a\.py$/, /^1 added, 0 changed/, /^› 1\/1$/],
    }, 'publish')
    expect(lines(first.stdout)).toHaveLength(1)

    writeFiles(dir, {'dags/team_a_a.py': DAG('team_a_a').replace('@daily', '@hourly')})
    const dry = await runCli(['publish', '--dry-run', '--engine', 'ast'], {cwd: dir, env})
    expectStreams(dry, {stdout: [/^Dry run: nothing written\.$/], stderr: [/^~ team_a_a\.py$/]}, 'publish --dry-run')
    const second = await runCli(['publish', '--json', '--engine', 'ast'], {cwd: dir, env})
    expect(expectJsonOnly(second, 'publish --json').release).toBe(2)
    const same = await runCli(['publish', '--engine', 'ast'], {cwd: dir, env})
    expectStreams(same, {stdout: [/^Nothing changed: release 2 stays current\.$/], stderr: [/0 added, 0 changed, 0 removed, 1 unchanged/]}, 'publish, no change')

    const back = await runCli(['rollback', '--yes'], {cwd: dir})
    expect(back.exitCode, back.stderr).toBe(0)
    expectStreams(back, {
      stdout: [/^Rolled back: release 3 is current in dev\.$/],
      stderr: [/^Roll back team_a in dev from release 2 to the files of release 1:$/, /^~ team_a_a\.py$/, /^✔ /],
    }, 'rollback')
    expect(lines(back.stdout)).toHaveLength(1)
    expectJsonOnly(await runCli(['rollback', '--yes', '--to', '2', '--json'], {cwd: dir}), 'rollback --json')

    // what was asked for is the result: the diff of `diff`, the tables of list/releases, fsck's report
    expectStreams(await runCli(['diff', '1', '2'], {cwd: dir}), {stdout: [/^team_a in dev: 1 → 2$/, /^~ team_a_a\.py$/], stderr: []}, 'diff')
    expectStreams(await runCli(['list'], {cwd: dir}), {stdout: [/^PACKAGE\s+RELEASE/, /^team_a\s+4\s/], stderr: []}, 'list')
    expectStreams(await runCli(['releases'], {cwd: dir}), {stdout: [/^\s+ID\s+TIME/, /^\*\s+4\s/], stderr: []}, 'releases')
    const fsck = await runCli(['fsck'], {cwd: dir})
    expectStreams(fsck, {stdout: [/^team_a: HEAD 4/, /^OK$/], stderr: []}, 'fsck')
    for (const argv of [['diff', '1', '2'], ['list'], ['releases'], ['fsck']]) expectJsonOnly(await runCli([...argv, '--json'], {cwd: dir}), argv[0])
    for (const r of [first, back]) expect(r.stderr).not.toMatch(/^(Published|Rolled back)/m)
  })

  it('init, generate, validate, config, schema, doctor', async () => {
    const root = tempDir()
    const init = await runCli(['init', 'pkg'], {cwd: root})
    expectStreams(init, {stdout: [/^created  dagctl\.yaml$/, /^Package pkg: /], stderr: [/^Next: cd pkg && dagctl generate/]}, 'init')
    const dir = path.join(root, 'pkg')
    writeFiles(dir, {'specs/a.yaml': SPEC})
    expectStreams(await runCli(['generate'], {cwd: dir}), {stdout: [/^written   dags\/generated\/pkg-loader-001\.py$/, /^written   dags\/generated\/_dagctl\/pkg-loader-001\.py$/, /^Generated 2 DAGs/], stderr: []}, 'generate')
    writeFiles(dir, {'specs/a.yaml': SPEC.replace('@daily', '@hourly')})
    const check = await runCli(['generate', '--check'], {cwd: dir})
    expect(check.exitCode).toBe(1)
    expectStreams(check, {stdout: [/^stale     dags\/generated\/_dagctl\/pkg-loader-001\.py \(changed: DAG pkg_a, from specs\/a\.yaml\)$/], stderr: [/^Error: 1 generated file is out of date/, /^Hint: Run `dagctl generate --clean`/]}, 'generate --check')
    expect(expectJsonOnly(await runCli(['generate', '--check', '--json'], {cwd: dir}), 'generate --check --json').stale).toHaveLength(1)

    writeFiles(dir, {'dags/broken.py': 'def broken(:\n'})
    const bad = await runCli(['validate', '--engine', 'ast'], {cwd: dir, env: CACHE})
    expect(bad.exitCode).toBe(1)
    expectStreams(bad, {stdout: [/^  dags\/broken\.py:1:\d+ syntax-error error/, /^✖ 1 error, 0 warnings/], stderr: [/^Error: validation failed: 1 error in dags\/broken\.py$/, /^Hint: Fix the findings/]}, 'validate')
    expect(expectJsonOnly(await runCli(['validate', '--engine', 'ast', '--json'], {cwd: dir, env: CACHE}), 'validate --json').summary.errors).toBe(1)
    const report = path.join(dir, 'report.xml')
    const toFile = await runCli(['validate', '--engine', 'ast', '--format', 'junit', '-o', report], {cwd: dir, env: CACHE})
    expectStreams(toFile, {stdout: [/^  dags\/broken\.py:1:\d+ syntax-error error/], stderr: [/^report written to /]}, 'validate -o')

    expectStreams(await runCli(['config'], {cwd: dir}), {stdout: [/^# .*dagctl\.yaml \(environment dev\)$/, /^package\s+"pkg"/], stderr: []}, 'config')
    expectJsonOnly(await runCli(['config', '--json'], {cwd: dir}), 'config --json')
    const schema = await runCli(['schema', 'config'], {cwd: dir})
    expect(JSON.parse(schema.stdout)).toHaveProperty('$schema')
    expect(schema.stderr).toBe('')
    expectStreams(await runCli(['schema', 'config', '-o', path.join(dir, 's.json')], {cwd: dir}), {stdout: [], stderr: [/^wrote the config schema to /]}, 'schema -o')
    const deprecated = await runCli(['schema', 'config', '--out', path.join(dir, 's.json')], {cwd: dir})
    expect(deprecated.exitCode).toBe(0)
    expect(deprecated.stdout).toBe('')
    expect(deprecated.stderr).toMatch(/"--out" flag has been deprecated\. Use "--output/)

    const doctor = await runCli(['doctor', '--python', 'python3'], {cwd: dir})
    expectStreams(doctor, {stdout: [/^(ok|FAIL|warn|info)\s+python\s/], stderr: []}, 'doctor')
  })

  it('Airflow commands: the error on stderr for people, the JSON error alone on stdout', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\nenvironments:\n  dev:\n    airflow:\n      url: http://127.0.0.1:9\n'})
    for (const argv of [['trigger', 'team_a_daily'], ['runs', 'team_a_daily'], ['errors']]) {
      const human = await runCli([...argv, '--retries', '0'], {cwd: dir})
      expect(human.exitCode, human.stderr).toBe(4)
      expect(human.stdout, argv[0]).toBe('')
      expect(human.stderr, argv[0]).toMatch(/^Error: /m)
      const json = await runCli([...argv, '--retries', '0', '--json'], {cwd: dir})
      expect(json.exitCode).toBe(4)
      expect(json.json().error.exitCode, argv[0]).toBe(4)
      expect(json.stderr, argv[0]).toBe('')
    }
  })

  it('every command of the manifest, without a dagctl.yaml: under --json stdout is one JSON document, stderr is empty', async () => {
    const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, unknown>}
    // cluster up would start a whole platform here (airflow standalone on port 8080) and leave it
    // running after the test, for the rest of the suite and beyond: its dry run prints the same report
    const argv: Record<string, string[]> = {runs: ['team_a_daily'], trigger: ['team_a_daily'], schema: ['config'], doctor: ['--python', '/nonexistent/python3'], 'cluster:up': ['--dry-run']}
    // python setup would install Airflow: its streams are checked in test/contract/airflow-engine-python.test.ts
    const ids = Object.keys(manifest.commands).filter((id) => id !== 'python:setup')
    expect(ids.length).toBeGreaterThanOrEqual(15)
    for (const id of ids) {
      const dir = tempDir()
      const res = await runCli([...id.split(':'), ...(argv[id] ?? []), '--json'], {cwd: dir})
      const doc = expectJsonOnly(res, id)
      expect(typeof doc, id).toBe('object')
      if (res.exitCode !== 0 && doc.error) expect(doc.error.exitCode, id).toBe(res.exitCode)
      // nothing was started that outlives the command: no cluster state recorded
      expect(existsSync(path.join(dir, '.dagctl', 'cluster')), id).toBe(false)
    }
  })

  it('in a log (not a TTY) a 3,000-file upload prints a few progress lines, not one per file', async () => {
    const files: Record<string, string> = {'dagctl.yaml': 'package: team_a\n'}
    for (let i = 0; i < 3000; i++) files[`dags/f${i}.py`] = `# ${i}\n`
    const dir = tempDir(files)
    const res = await runCli(['publish', '--no-validate'], {cwd: dir, timeout: 600_000})
    expect(res.exitCode, res.stderr.slice(-2000)).toBe(0)
    const status = lines(res.stderr).filter((l) => l.startsWith('›'))
    expect(status.length, status.join('\n')).toBeGreaterThan(0)
    expect(status.length, status.join('\n')).toBeLessThanOrEqual(30)
    expect(status.at(-1)).toBe('› 3000/3000')
    expect(lines(res.stdout)).toEqual(['Published release 1 of team_a to dev.'])
  }, 600_000)
})
