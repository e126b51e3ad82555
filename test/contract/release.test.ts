import {mkdirSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {ConflictError, ExitCode, PolicyError} from '../../src/errors.js'
import {fsck} from '../../src/release/fsck.js'
import {PackageRepository} from '../../src/release/repository.js'
import {planPublish, publish, uploadBlobs, writeRelease, type PublishOptions} from '../../src/release/publish.js'
import {diffReleases, listFiles, listPackages, listReleases} from '../../src/release/queries.js'
import {rollback} from '../../src/release/rollback.js'
import type {Store} from '../../src/store/index.js'
import {packageDir, publishOptions} from '../helpers/publish-options.js'
import {freshStore, STORE_VARIANTS, stopSharedMoto} from '../helpers/stores.js'
import {tempDir, writeFiles} from '../helpers/tmp.js'

afterAll(stopSharedMoto)

const META = {author: 'tester', git: {sha: 'abc123', branch: 'main'}, dagctlVersion: '0.0.0-test'}

const pkgDir = packageDir

function options(store: Store, root: string, extra: Partial<PublishOptions> = {}): PublishOptions {
  return publishOptions(store, root, {extensions: ['.sql'], validate: true, metadata: META, ...extra})
}

async function liveTree(store: Store, env = 'dev', pkg = 'team_a'): Promise<Record<string, string>> {
  const prefix = `${env}/${pkg}/dags/`
  const out: Record<string, string> = {}
  for (const k of await store.list(prefix)) out[k.slice(prefix.length)] = (await store.get(k))!.body.toString()
  return out
}

describe.each(STORE_VARIANTS)('releases on $name', (variant) => {
  it('publishes, skips equal content, uploads only new contents, touches only changed live files', async () => {
    const {store} = await freshStore(variant)
    const root = pkgDir({'team_a_one.py': 'one', 'sub/team_a_two.py': 'two', 'q.sql': 'select 1', 'notes.txt': 'not published'})
    const first = await publish(options(store, root, {message: 'first'}))
    expect(first).toMatchObject({release: 1, parent: null, uploaded: 3, skipped: ['notes.txt'], diff: {added: ['q.sql', 'sub/team_a_two.py', 'team_a_one.py']}})
    expect(await liveTree(store)).toEqual({'team_a_one.py': 'one', 'sub/team_a_two.py': 'two', 'q.sql': 'select 1'})

    const again = await publish(options(store, root))
    expect(again.release).toBeNull()
    expect(again.diff.unchanged).toBe(3)

    writeFiles(root, {'dags/team_a_one.py': 'one_v2', 'dags/team_a_three.py': 'two'})
    const before = store.requestCount
    const second = await publish(options(store, root, {message: 'second'}))
    expect(second).toMatchObject({release: 2, parent: 1, uploaded: 1, diff: {added: ['team_a_three.py'], changed: ['team_a_one.py'], removed: [], unchanged: 2}, live: {written: 2, deleted: 0}})
    // Reads of HEAD, its manifest, the release list, live.json; 1 blob, manifest, HEAD, 2 marks, 2 live files.
    expect(store.requestCount - before).toBeLessThanOrEqual(14)
    expect((await liveTree(store))['team_a_one.py']).toBe('one_v2')

    const rows = await listReleases(store, 'dev', 'team_a', 10)
    expect(rows.map((r) => [r.id, r.current, r.message, r.changes])).toEqual([
      [2, true, 'second', {added: 1, changed: 1, removed: 0}],
      [1, false, 'first', {added: 3, changed: 0, removed: 0}],
    ])
    expect(rows[0]).toMatchObject({author: 'tester', gitSha: 'abc123', branch: 'main'})
    expect(await listPackages(store, 'dev')).toMatchObject([{package: 'team_a', release: 2, files: 4}])
    const files = await listFiles(store, 'dev', 'team_a')
    expect(files.files.find((f) => f.path === 'team_a_one.py')).toMatchObject({release: 2, size: 6})
    expect(files.files.find((f) => f.path === 'q.sql')).toMatchObject({release: 1})
    expect((await diffReleases({store, env: 'dev', pkg: 'team_a', from: '1', to: '2'})).diff).toMatchObject({added: ['team_a_three.py'], changed: ['team_a_one.py']})
    writeFiles(root, {'dags/team_a_one.py': 'one_v3'})
    expect((await diffReleases({store, env: 'dev', pkg: 'team_a', dagsDir: path.join(root, 'dags'), root})).diff.changed).toEqual(['team_a_one.py'])
    expect((await fsck({store, env: 'dev'})).findings).toEqual([])
  })

  it('rolls back as a new release: --to, --steps, --dag; history only grows', async () => {
    const {store} = await freshStore(variant)
    const root = pkgDir({'team_a_a.py': 'a1', 'team_a_b.py': 'b1'})
    await publish(options(store, root))
    writeFiles(root, {'dags/team_a_a.py': 'a2', 'dags/team_a_b.py': 'b2'})
    await publish(options(store, root))
    writeFiles(root, {'dags/team_a_a.py': 'a3', 'dags/team_a_c.py': 'c3'})
    await publish(options(store, root))

    const dry = await rollback({store, env: 'dev', pkg: 'team_a', to: 1, dryRun: true, metadata: META})
    expect(dry).toMatchObject({release: null, from: 3, to: 1, diff: {changed: ['team_a_a.py', 'team_a_b.py'], removed: ['team_a_c.py']}})
    expect((await new PackageRepository(store, 'dev', 'team_a').readHead()).head?.release).toBe(3)

    const one = await rollback({store, env: 'dev', pkg: 'team_a', dag: 'team_a_a', steps: 2, metadata: META})
    expect(one).toMatchObject({release: 4, from: 3, to: 1, diff: {changed: ['team_a_a.py']}})
    expect(await liveTree(store)).toEqual({'team_a_a.py': 'a1', 'team_a_b.py': 'b2', 'team_a_c.py': 'c3'})

    const whole = await rollback({store, env: 'dev', pkg: 'team_a', to: 2, metadata: META})
    expect(whole.release).toBe(5)
    expect(await liveTree(store)).toEqual({'team_a_a.py': 'a2', 'team_a_b.py': 'b2'})
    const history = await listReleases(store, 'dev', 'team_a', 10)
    expect(history.map((r) => r.id)).toEqual([5, 4, 3, 2, 1])
    expect(history[0].rollback).toEqual({from: 4, to: 2})
    expect(history[1].rollback).toEqual({from: 3, to: 1, dag: 'team_a_a'})
    // --steps 1 reads HEAD once, and HEAD's manifest and its parent's side by side (the parent
    // guessed as HEAD's id minus one, read beside HEAD's manifest)
    const reads: string[] = []
    const watched = new Proxy(store, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown
        if (prop === 'get') return (key: string, ...rest: unknown[]) => (reads.push(key), (value as Store['get']).call(target, key, ...(rest as [])))
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    const back = await rollback({store: watched, env: 'dev', pkg: 'team_a', steps: 1, metadata: META})
    expect(back).toMatchObject({release: 6, to: 4})
    expect(reads.filter((k) => k.endsWith('/HEAD.json'))).toHaveLength(1)
    expect(reads.filter((k) => k.includes('/releases/')).sort()).toEqual(['_dagctl/dev/team_a/releases/0000000004.json', '_dagctl/dev/team_a/releases/0000000005.json'])
    await expect(rollback({store, env: 'dev', pkg: 'team_a', to: 99, metadata: META})).rejects.toMatchObject({exitCode: ExitCode.USAGE})
    expect((await fsck({store, env: 'dev'})).ok).toBe(true)
  })

  it('a publish that loses the HEAD swap exits 3, becomes an orphan, and its id is never reused', async () => {
    const {store} = await freshStore(variant)
    const rootA = pkgDir({'team_a_x.py': 'A'})
    const rootB = pkgDir({'team_a_x.py': 'B'})
    await publish(options(store, rootA))
    writeFiles(rootA, {'dags/team_a_x.py': 'A2'})
    const planA = await planPublish(options(store, rootA))
    await uploadBlobs(planA)
    const mA = await writeRelease(planA)
    // B reads HEAD 1 (and sees release 2 claimed) before A makes 2 current.
    const planB = await planPublish(options(store, rootB))
    await planA.repo.swapHead(mA.id, planA.headRead)
    await uploadBlobs(planB)
    const mB = await writeRelease(planB)
    expect(mB.id).toBe(3)
    const lost = await planB.repo.swapHead(mB.id, planB.headRead).catch((error: unknown) => error)
    expect(lost).toBeInstanceOf(ConflictError)
    expect((lost as ConflictError).exitCode).toBe(3)
    expect((lost as ConflictError).hint).toMatch(/Re-run/)
    await planA.repo.updateLive({contents: planA.contents})
    expect((await listReleases(store, 'dev', 'team_a', 10)).map((r) => r.id)).toEqual([2, 1])
    const report = await fsck({store, env: 'dev'})
    expect(report.ok).toBe(true)
    expect(report.findings).toMatchObject([{severity: 'info', code: 'ORPHAN_RELEASES'}])
    writeFiles(rootA, {'dags/team_a_x.py': 'A3'})
    expect((await publish(options(store, rootA))).release).toBe(4)
    // going back one step skips the orphan (rollback reads id 3 on a guess, and must not take it)
    expect(await rollback({store, env: 'dev', pkg: 'team_a', steps: 1, metadata: META})).toMatchObject({release: 5, from: 4, to: 2})
    expect((await listReleases(store, 'dev', 'team_a', 10)).map((r) => r.id)).toEqual([5, 4, 2, 1])
  })

  it('two publishes that pick the same id: the second claim of the manifest key is a conflict', async () => {
    const {store} = await freshStore(variant)
    const planA = await planPublish(options(store, pkgDir({'team_a_x.py': 'A'})))
    const planB = await planPublish(options(store, pkgDir({'team_a_x.py': 'B'})))
    await uploadBlobs(planA)
    await uploadBlobs(planB)
    // Interleave: both compute the next id before either claims it.
    const repo = planA.repo
    const ids = await Promise.all([repo.nextId(), planB.repo.nextId()])
    expect(ids).toEqual([1, 1])
    const results = await Promise.allSettled([writeRelease(planA), writeRelease(planB)])
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError)
  })

  it('heals a live tree left half-written, and fsck --repair brings a damaged one in line', async () => {
    const {store} = await freshStore(variant)
    const root = pkgDir({'team_a_a.py': 'a1', 'team_a_b.py': 'b1'})
    await publish(options(store, root))
    // A writer that died after marking release 2 pending and copying one of its files.
    writeFiles(root, {'dags/team_a_a.py': 'a2', 'dags/team_a_b.py': 'b2'})
    const plan = await planPublish(options(store, root))
    await uploadBlobs(plan)
    const m2 = await writeRelease(plan)
    await plan.repo.swapHead(m2.id, plan.headRead)
    const {etag} = await plan.repo.readLiveState()
    await store.put('_dagctl/dev/team_a/live.json', JSON.stringify({release: 1, pending: [2], updatedAt: new Date().toISOString()}), {ifMatch: etag!})
    await store.put('dev/team_a/dags/team_a_a.py', 'a2')
    let report = await fsck({store, env: 'dev'})
    // Lag is not damage, but it is not healthy either: Airflow runs the live tree.
    expect(report).toMatchObject({ok: false, damaged: false, lagging: true})
    expect(report.packages[0].lag).toEqual({release: 2, files: 1, repair: 'dagctl fsck --env dev --package team_a --repair'})
    expect(report.findings.map((f) => [f.severity, f.code])).toEqual([
      ['lag', 'LIVE_BEHIND'],
      ['lag', 'LIVE_DIFFERS'],
    ])
    // The next publish (of something else) heals it on the way.
    writeFiles(root, {'dags/team_a_a.py': 'a1'})
    await publish(options(store, root))
    expect(await liveTree(store)).toEqual({'team_a_a.py': 'a1', 'team_a_b.py': 'b2'})
    expect((await fsck({store, env: 'dev'})).findings).toEqual([])

    // Damage behind live.json's back: a file changed, one deleted, one added.
    await store.put('dev/team_a/dags/team_a_a.py', 'tampered')
    await store.delete('dev/team_a/dags/team_a_b.py')
    await store.put('dev/team_a/dags/evil.py', 'x')
    report = await fsck({store, env: 'dev'})
    expect(report.ok).toBe(false)
    expect(report.findings.map((f) => f.code).sort()).toEqual(['LIVE_DIFFERS', 'LIVE_EXTRA', 'LIVE_MISSING'])
    report = await fsck({store, env: 'dev', repair: true})
    expect(report.ok).toBe(true)
    expect(report.findings).toEqual([])
    expect(await liveTree(store)).toEqual({'team_a_a.py': 'a1', 'team_a_b.py': 'b2'})
  })

  it('fsck names a corrupt blob and a missing manifest', async () => {
    const {store} = await freshStore(variant)
    const root = pkgDir({'team_a_a.py': 'a1'})
    await publish(options(store, root))
    writeFiles(root, {'dags/team_a_a.py': 'a2'})
    await publish(options(store, root))
    const blobs = await store.list('_dagctl/dev/team_a/blobs/')
    await store.put(blobs[0], 'not what the name says')
    await store.delete('_dagctl/dev/team_a/releases/0000000001.json')
    const report = await fsck({store, env: 'dev'})
    expect(report.ok).toBe(false)
    expect(report.findings.filter((f) => f.severity === 'damage').map((f) => f.code).sort()).toEqual(['BLOB_CORRUPT', 'BLOB_MISSING', 'RELEASE_MISSING'])
  })
})

describe('publish guardrails (local store)', () => {
  it('refuses a symlink that leaves the package, and mass removal without the flag (exit 5)', async () => {
    const {store} = await freshStore(STORE_VARIANTS[0])
    const outside = tempDir({'secret.py': 'x'})
    const root = pkgDir({'team_a_a.py': 'a', 'team_a_b.py': 'b', 'team_a_c.py': 'c'})
    symlinkSync(path.join(outside, 'secret.py'), path.join(root, 'dags', 'team_a_link.py'))
    const err = await publish(options(store, root)).catch((error: unknown) => error)
    expect(err).toBeInstanceOf(PolicyError)
    expect((err as PolicyError).message).toMatch(/team_a_link.py leaves the package/)
    rmSync(path.join(root, 'dags', 'team_a_link.py'))
    mkdirSync(path.join(root, 'shared'))
    writeFileSync(path.join(root, 'shared', 'team_a_inside.py'), 'inside')
    symlinkSync(path.join(root, 'shared', 'team_a_inside.py'), path.join(root, 'dags', 'team_a_inside.py'))
    expect((await publish(options(store, root))).release).toBe(1)
    for (const f of ['team_a_a.py', 'team_a_b.py', 'team_a_c.py']) rmSync(path.join(root, 'dags', f))
    const mass = await publish(options(store, root)).catch((error: unknown) => error)
    expect(mass).toMatchObject({exitCode: ExitCode.POLICY, code: 'MASS_REMOVAL'})
    expect((await publish(options(store, root, {allowMassRemoval: true}))).release).toBe(2)
  })

  it('--dry-run writes nothing', async () => {
    const {store} = await freshStore(STORE_VARIANTS[0])
    const res = await publish({...options(store, pkgDir({'team_a_a.py': 'a'})), dryRun: true})
    expect(res).toMatchObject({release: null, dryRun: true, diff: {added: ['team_a_a.py']}})
    expect(await store.list('')).toEqual([])
  })
})
