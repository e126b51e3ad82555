import {createHash} from 'node:crypto'
import {readFileSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {runCli} from '../helpers/cli.js'
import {tempDir, writeFiles} from '../helpers/tmp.js'

const sha = (s: string) => createHash('sha256').update(s).digest('hex')

/** A package with a local store and two releases: 1 = {a: a1, b: b1}, 2 = {a: a2, b: b1}. */
async function twoReleases(): Promise<{dir: string; store: string}> {
  const dir = tempDir({'dagctl.yaml': 'package: team_a\nenvironments:\n  dev:\n    store: file://store\n', 'dags/team_a_a.py': 'a1', 'dags/team_a_b.py': 'b1'})
  expect((await runCli(['publish', '--no-validate'], {cwd: dir})).exitCode).toBe(0)
  writeFiles(dir, {'dags/team_a_a.py': 'a2'})
  expect((await runCli(['publish', '--no-validate'], {cwd: dir})).exitCode).toBe(0)
  return {dir, store: path.join(dir, 'store')}
}

describe('fsck --repair with other damage in the store', () => {
  it('a missing blob of an old release and an edited live file: repairs the live file, says what it could not repair and why, exit 1', async () => {
    const {dir, store} = await twoReleases()
    rmSync(path.join(store, '_dagctl/dev/team_a/blobs', sha('a1')))
    writeFileSync(path.join(store, 'dev/team_a/dags/team_a_b.py'), 'edited by hand')
    const res = await runCli(['fsck', '--repair'], {cwd: dir})
    expect(res.exitCode, res.stdout + res.stderr).toBe(1)
    expect(res.stdout).toContain('repaired: team_a: 1 live file(s) written, 0 removed (team_a_b.py)')
    expect(res.stdout).toMatch(new RegExp(`not repaired: team_a: release 1: team_a_a.py needs blob ${sha('a1')}, which is missing or corrupt`))
    expect(res.stdout).toMatch(/why: a blob is the only copy of that content in the store, and --repair never writes blobs/)
    expect(res.stdout).toMatch(/fix: Restore the blob's previous version from bucket versioning .*docs\/runbook.md#fsck-found-damage/)
    expect(readFileSync(path.join(store, 'dev/team_a/dags/team_a_b.py'), 'utf8')).toBe('b1')
    const json = (await runCli(['fsck', '--repair', '--json'], {cwd: dir})).json()
    expect(json).toMatchObject({ok: false, damaged: true, lagging: false})
    expect(json.packages[0].notRepaired).toMatchObject([{code: 'BLOB_MISSING', why: expect.stringMatching(/never writes blobs/)}])
  })

  it("HEAD's own blob missing: the other live files are repaired, that one is listed as not repaired", async () => {
    const {dir, store} = await twoReleases()
    rmSync(path.join(store, '_dagctl/dev/team_a/blobs', sha('a2')))
    writeFileSync(path.join(store, 'dev/team_a/dags/team_a_a.py'), 'edited')
    writeFileSync(path.join(store, 'dev/team_a/dags/team_a_b.py'), 'edited')
    const res = await runCli(['fsck', '--repair'], {cwd: dir})
    expect(res.exitCode, res.stdout + res.stderr).toBe(1)
    expect(res.stdout).toContain('repaired: team_a: 1 live file(s) written, 0 removed (team_a_b.py)')
    expect(res.stdout).toMatch(/not repaired: team_a: live file team_a_a.py differs from release 2/)
    expect(res.stdout).toMatch(/why: HEAD's content for the file is not in the store/)
    expect(readFileSync(path.join(store, 'dev/team_a/dags/team_a_b.py'), 'utf8')).toBe('b1')
  })

  it('a live.json that does not parse: --repair rewrites it and every live file that differs, exit 0', async () => {
    const {dir, store} = await twoReleases()
    writeFileSync(path.join(store, '_dagctl/dev/team_a/live.json'), '{not json')
    writeFileSync(path.join(store, 'dev/team_a/dags/team_a_a.py'), 'edited')
    const before = await runCli(['fsck'], {cwd: dir})
    expect(before.exitCode).toBe(1)
    expect(before.stdout).toMatch(/DAMAGE team_a: _dagctl\/dev\/team_a\/live.json is not JSON/)
    const res = await runCli(['fsck', '--repair'], {cwd: dir})
    expect(res.exitCode, res.stdout + res.stderr).toBe(0)
    expect(res.stdout).toContain('repaired: team_a: 1 live file(s) written, 0 removed (team_a_a.py)')
    expect(readFileSync(path.join(store, 'dev/team_a/dags/team_a_a.py'), 'utf8')).toBe('a2')
    expect(JSON.parse(readFileSync(path.join(store, '_dagctl/dev/team_a/live.json'), 'utf8'))).toMatchObject({release: 2, pending: []})
  })
})
