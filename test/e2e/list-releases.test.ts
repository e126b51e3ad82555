import {rmSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {formatTimestamp} from '../../src/ui/time.js'
import {runCli} from '../helpers/cli.js'
import {tempDir, writeFiles} from '../helpers/tmp.js'

const dag = (...ids: string[]) => `from airflow import DAG\n${ids.map((id) => `with DAG(dag_id="${id}"):\n    pass\n`).join('')}`

function pkg(files: Record<string, string>): string {
  return tempDir({
    'dagctl.yaml': 'package: team_a\nenvironments:\n  dev:\n    store: file://store\n',
    ...Object.fromEntries(Object.entries(files).map(([k, v]) => [`dags/${k}`, v])),
  })
}

describe('list and releases', () => {
  it('list --package shows each file\'s DAG ids and the release that last changed it (a rollback counts); the positional form still works, with a note', async () => {
    const dir = pkg({'team_a_x.py': dag('team_a_x', 'team_a_y'), 'team_a_z.py': dag('team_a_z'), 'helpers.py': 'X = 1\n'})
    expect((await runCli(['publish'], {cwd: dir})).exitCode).toBe(0)
    writeFiles(dir, {'dags/team_a_z.py': `${dag('team_a_z')}# changed\n`})
    expect((await runCli(['publish'], {cwd: dir})).exitCode).toBe(0)
    expect((await runCli(['rollback', '--to', '1', '--yes'], {cwd: dir})).exitCode).toBe(0)

    const json = (await runCli(['list', '--package', 'team_a', '--json'], {cwd: dir})).json()
    expect(json).toMatchObject({package: 'team_a', release: 3, validated: true})
    expect(json.files.map((f: {path: string; dags: string[]; release: number}) => [f.path, f.dags, f.release])).toEqual([
      ['helpers.py', [], 1],
      ['team_a_x.py', ['team_a_x', 'team_a_y'], 1],
      ['team_a_z.py', ['team_a_z'], 3],
    ])
    const human = await runCli(['list', '-p', 'team_a'], {cwd: dir})
    expect(human.exitCode).toBe(0)
    expect(human.stdout).toMatch(/^PATH\s+DAGS\s+RELEASE\s+SIZE\s+SHA256$/m)
    expect(human.stdout).toMatch(/^team_a_x\.py\s+team_a_x, team_a_y\s+1\s/m)
    expect(human.stdout).toMatch(/^helpers\.py\s+-\s+1\s/m)
    const old = await runCli(['list', 'team_a'], {cwd: dir})
    expect(old.exitCode).toBe(0)
    expect(old.stdout).toBe(human.stdout)
    expect(old.stderr).toMatch(/`dagctl list team_a` is deprecated .*use `dagctl list --package team_a`/)
    const limited = await runCli(['list', '-p', 'team_a', '-n', '1', '--json'], {cwd: dir})
    expect(limited.json().files).toHaveLength(1)
  })

  it('timestamps are ISO 8601 UTC to the second in list and releases; -n limits releases', async () => {
    expect(formatTimestamp('2026-12-01T08:09:22.123Z')).toBe('2026-12-01T08:09:22Z')
    expect(formatTimestamp(new Date(Date.UTC(2026, 11, 1, 8, 9, 22, 999)))).toBe('2026-12-01T08:09:22Z')
    const dir = pkg({'team_a_x.py': dag('team_a_x')})
    expect((await runCli(['publish'], {cwd: dir})).exitCode).toBe(0)
    writeFiles(dir, {'dags/team_a_x.py': `${dag('team_a_x')}# 2\n`})
    expect((await runCli(['publish'], {cwd: dir})).exitCode).toBe(0)
    const created = (await runCli(['releases', '--json'], {cwd: dir})).json().releases.map((r: {createdAt: string}) => formatTimestamp(r.createdAt))
    const releases = await runCli(['releases', '-n', '1', '-p', 'team_a'], {cwd: dir})
    expect(releases.stdout.split('\n').filter((l) => /^\*?\s+\d/.test(l))).toHaveLength(1)
    expect(releases.stdout).toContain(created[0])
    expect(releases.stdout).toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/)
    const list = await runCli(['list'], {cwd: dir})
    expect(list.stdout).toMatch(new RegExp(`^team_a\\s+2\\s+1\\s+${created[0]}\\s`, 'm'))
  })
})

describe('removing every DAG', () => {
  it('exits 5 (mass removal) naming --allow-mass-removal, which then works; an empty folder with nothing published is exit 2 without that hint', async () => {
    const dir = pkg({'team_a_x.py': dag('team_a_x'), 'team_a_y.py': dag('team_a_y')})
    expect((await runCli(['publish'], {cwd: dir})).exitCode).toBe(0)
    for (const f of ['team_a_x.py', 'team_a_y.py']) rmSync(path.join(dir, 'dags', f))
    const refused = await runCli(['publish', '--json'], {cwd: dir})
    expect(refused.exitCode).toBe(5)
    expect(refused.json().error).toMatchObject({code: 'MASS_REMOVAL', hint: expect.stringContaining('--allow-mass-removal')})
    const allowed = await runCli(['publish', '--allow-mass-removal', '--json'], {cwd: dir})
    expect(allowed.exitCode, allowed.stdout + allowed.stderr).toBe(0)
    expect(allowed.json()).toMatchObject({release: 2, diff: {removed: ['team_a_x.py', 'team_a_y.py']}})
    expect((await runCli(['list', '-p', 'team_a', '--json'], {cwd: dir})).json().files).toEqual([])

    const empty = pkg({})
    writeFiles(empty, {'dags/README.md': 'not a DAG'})
    const nothing = await runCli(['publish', '--json'], {cwd: empty})
    expect(nothing.exitCode).toBe(2)
    expect(nothing.json().error.code).toBe('NOTHING_TO_PUBLISH')
    expect(nothing.json().error.hint).not.toMatch(/allow-mass-removal/)
  })
})
