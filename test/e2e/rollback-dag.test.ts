import {writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {runCli} from '../helpers/cli.js'
import {gitIn} from '../helpers/git.js'
import {tempDir} from '../helpers/tmp.js'

/**
 * `rollback --dag` takes back the files that make the DAG and nothing it does not say: with the
 * loader layout the loader and its module together (an old module under a new loader would build
 * DAGs from the wrong functions); a file that holds other DAGs is refused (exit 5, naming them)
 * unless --whole-file says to take them back too. Real generate, validate (ast) and a file:// store.
 */
const CONFIG = [
  'package: team_a',
  'airflow:\n  version: 3',
  'image: registry.example.com/team_a/jobs:1',
  'policy:\n  owner: data\n  allowed_registries: [registry.example.com/]',
  'generate:\n  layout: "loader:2"',
  'validate:\n  engine: ast',
  'environments:\n  dev:\n    store: file://store',
  '',
].join('\n')
const spec = (name: string, word: string) => `name: ${name}\nschedule: "@daily"\ntasks:\n  only: {type: bash, command: "echo ${word}"}\n`

async function cli(root: string, args: string[], exit = 0): Promise<any> {
  const res = await runCli([...args, '--json'], {cwd: root})
  expect(res.exitCode, `${args.join(' ')}\n${res.stdout}\n${res.stderr}`).toBe(exit)
  return res.json()
}

describe('rollback --dag', () => {
  it('takes a loader and its module back together, and refuses to take other DAGs of the same file back unless --whole-file', async () => {
    // loader 001 holds a and b, loader 002 holds c alone
    const root = tempDir({'dagctl.yaml': CONFIG, 'specs/a.yaml': spec('a', 'one'), 'specs/b.yaml': spec('b', 'one'), 'specs/c.yaml': spec('c', 'one')})
    await cli(root, ['generate'])
    expect((await cli(root, ['publish'])).release).toBe(1)
    for (const n of ['a', 'b']) writeFileSync(path.join(root, 'specs', `${n}.yaml`), spec(n, 'two'))
    // another task type: other imports, so loader 002 changes too, not only its module
    writeFileSync(path.join(root, 'specs', 'c.yaml'), 'name: c\nschedule: "@daily"\ntasks:\n  only: {type: empty}\n')
    await cli(root, ['generate'])
    expect((await cli(root, ['publish'])).release).toBe(2)

    // c's code is the pair of loader 002: both go back, nothing else (run from a git checkout,
    // whose commit the rollback release records: its metadata is read beside the plan)
    const git = gitIn(root)
    git('init', '-q')
    git('commit', '-q', '--allow-empty', '-m', 'checkout')
    const c = await cli(root, ['rollback', '--dag', 'team_a_c', '--yes'])
    expect(c).toMatchObject({release: 3, to: 1, dag: 'team_a_c'})
    expect(c.sharedWith).toBeUndefined()
    expect(c.diff.changed).toEqual(['generated/_dagctl/team_a-loader-002.py', 'generated/team_a-loader-002.py'])
    expect((await cli(root, ['releases'])).releases[0]).toMatchObject({id: 3, gitSha: git('rev-parse', 'HEAD')})

    // a shares loader 001 with b: refused, naming b, nothing written
    const refused = await cli(root, ['rollback', '--dag', 'team_a_a', '--to', '1', '--yes'], 5)
    expect(refused.error).toMatchObject({code: 'DAG_FILE_SHARED', details: {dag: 'team_a_a', sharedWith: ['team_a_b']}})
    expect(refused.error.message).toContain('team_a_b')
    expect(refused.error.hint).toContain('--whole-file')
    expect((await cli(root, ['releases'])).releases.map((r: {id: number}) => r.id)).toEqual([3, 2, 1])

    const both = await cli(root, ['rollback', '--dag', 'team_a_a', '--to', '1', '--whole-file', '--yes'])
    expect(both).toMatchObject({release: 4, to: 1, dag: 'team_a_a', sharedWith: ['team_a_b']})
    expect(both.diff.changed).toEqual(['generated/_dagctl/team_a-loader-001.py'])
    // now HEAD's files are release 1's: nothing differs, so nothing to refuse
    const same = await cli(root, ['rollback', '--dag', 'team_a_b', '--to', '1', '--dry-run'])
    expect(same).toMatchObject({diff: {changed: []}})
    expect(same.sharedWith).toBeUndefined()
  })
})
