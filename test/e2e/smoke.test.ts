import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {REPO_ROOT, runCli} from '../helpers/cli.js'
import {tempDir, writeFiles} from '../helpers/tmp.js'

// The smoke of every command: what .ci/run runs on the Node lines beside the oldest (with that
// Node first on PATH, so the built binary runs on it). Every command of the manifest answers
// --help; then one package's whole life on a local store, no Airflow, no S3.
const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, unknown>}

describe(`smoke of every command (node ${process.version} on PATH)`, () => {
  it('every command of the manifest answers --help', async () => {
    const ids = Object.keys(manifest.commands)
    expect(ids.length).toBeGreaterThan(10)
    for (const id of ids) {
      const res = await runCli([...id.split(':'), '--help'])
      expect(res.exitCode, `${id}: ${res.stderr}`).toBe(0)
      expect(res.stdout).toContain('USAGE')
    }
  })

  it('init, generate, validate, publish, list, releases, diff, rollback, fsck, config, schema, trigger, runs, errors', async () => {
    const root = tempDir({})
    const dir = path.join(root, 'team_a')
    const ok = async (args: string[], code = 0) => {
      const res = await runCli(args, {cwd: dir, env: {DAGCTL_STORE: `file://${path.join(root, 'store')}`, DAGCTL_AIRFLOW_URL: 'http://127.0.0.1:9'}})
      expect(res.exitCode, `dagctl ${args.join(' ')}: ${res.stdout}\n${res.stderr}`).toBe(code)
      return res
    }
    expect((await runCli(['init', dir, '--package', 'team_a'], {cwd: root})).exitCode).toBe(0)
    await ok(['generate'])
    await ok(['generate', '--check'])
    await ok(['validate', '--engine', 'ast'])
    expect((await ok(['publish', '--engine', 'ast', '--json'])).json()).toMatchObject({release: 1})
    writeFiles(dir, {'dags/team_a_extra.py': 'from airflow import DAG\nwith DAG(dag_id="team_a_extra"):\n    pass\n'})
    await ok(['diff'])
    await ok(['publish', '--engine', 'ast'])
    expect((await ok(['releases', '--json'])).json().releases).toHaveLength(2)
    await ok(['list'])
    await ok(['rollback', '--to', '1', '--yes'])
    await ok(['fsck'])
    await ok(['config'])
    await ok(['schema', 'spec'])
    await ok(['trigger', 'other_team_job'], 5)
    await ok(['runs', 'team_a_x', '--retries', '0'], 4)
    await ok(['errors', '--retries', '0'], 4)
  })
})
