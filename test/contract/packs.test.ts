import {execa} from 'execa'
import {createHash} from 'node:crypto'
import path from 'node:path'
import {afterAll, describe, expect, inject, it} from 'vitest'

import {ConflictError} from '../../src/errors.js'
import {fsck} from '../../src/release/fsck.js'
import {PackageLayout} from '../../src/release/layout.js'
import type {Manifest} from '../../src/release/manifest.js'
import {publish, type PublishOptions} from '../../src/release/publish.js'
import {rollback} from '../../src/release/rollback.js'
import type {Store} from '../../src/store/index.js'
import {budget} from '../helpers/budget.js'
import {REPO_ROOT} from '../helpers/cli.js'
import {startFaultProxy} from '../helpers/fault-proxy.js'
import {MOTO_ENV} from '../helpers/moto.js'
import {publishOptions} from '../helpers/publish-options.js'
import {freshStore, MINIO_VARIANT, STORE_VARIANTS, stopSharedMoto, type StoreVariant} from '../helpers/stores.js'
import {syncOnce, treeHashes} from '../helpers/sync.js'
import {tempDir, writeFiles} from '../helpers/tmp.js'

afterAll(stopSharedMoto)

/**
 * Packs (docs/store.md, "Packs"): a publish of many new contents writes them as one object, and
 * every reader (sync, the Python bundle reader, rollback's and repair's live-tree writes, fsck)
 * reads them back by range, checked by sha256. On the local store, moto and MinIO.
 */
const META = {author: 'tester', git: {}, dagctlVersion: '0.0.0-test'}
const layout = new PackageLayout('dev', 'team_a')
const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex')

function corpus(n: number, tag: string, from = 0): Record<string, string> {
  return Object.fromEntries(Array.from({length: n}, (_, i) => [`dags/team_a_${String(from + i).padStart(3, '0')}.py`, `# ${tag}\nfrom airflow import DAG\ndag_id = "team_a_${from + i}"\n`]))
}

function options(store: Store, root: string): PublishOptions {
  return publishOptions(store, root, {metadata: META})
}

async function manifest(store: Store, id: number): Promise<Manifest> {
  return JSON.parse((await store.get(layout.release(id)))!.body.toString()) as Manifest
}

async function liveHashes(store: Store): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const k of await store.list(layout.livePrefix)) out[k.slice(layout.livePrefix.length)] = sha((await store.get(k))!.body)
  return out
}

function expectedHashes(files: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(files).map(([p, body]) => [p.slice('dags/'.length), sha(body)]))
}

/** The Python reader of the Airflow 3 bundle (python/dagctl_airflow), as `python -m dagctl_airflow.check` reports. */
async function pythonRead(url: string, endpoint?: string): Promise<{ok: boolean; reason?: string; file?: string; files?: Record<string, string>}> {
  const res = await execa(inject('testPython'), ['-m', 'dagctl_airflow.check', url.startsWith('file://') ? url : url, '--env', 'dev', ...(endpoint ? ['--s3-endpoint', endpoint] : [])], {
    env: {...MOTO_ENV, PYTHONPATH: path.join(REPO_ROOT, 'python', 'dagctl_airflow')},
    reject: false,
    timeout: budget(120_000),
  })
  expect(res.stderr).toBe('')
  return JSON.parse(res.stdout).packages.team_a
}

const VARIANTS: StoreVariant[] = [STORE_VARIANTS[0], STORE_VARIANTS[1], MINIO_VARIANT]

describe.each(VARIANTS)('packs on $name', (variant) => {
  it('a first publish of 100 files is one pack; a change of 10 adds 10 blobs; rollback, sync, the Python reader and fsck read the packed release', {timeout: budget(300_000)}, async () => {
    const s = await freshStore(variant)
    const v1 = corpus(100, 'v1')
    const root = tempDir({'dagctl.yaml': 'package: team_a\n', ...v1})
    const first = await publish(options(s.store, root))
    expect(first).toMatchObject({release: 1, uploaded: 100, reused: 0})
    const blobs = await s.store.list(layout.blobsPrefix)
    expect(blobs).toHaveLength(1)
    expect(blobs[0]).toMatch(/\/blobs\/pack-[0-9a-f]{64}$/)
    const packId = blobs[0].slice(blobs[0].lastIndexOf('pack-') + 5)
    const m1 = await manifest(s.store, 1)
    expect(m1.format).toBe(2)
    expect(new Set(Object.values(m1.files).map((f) => f.pack?.id))).toEqual(new Set([packId]))
    expect(await liveHashes(s.store)).toEqual(expectedHashes(v1))

    // 10 changed: fewer than a round of uploads, so loose blobs; the 90 others stay where they are
    const v2 = {...v1, ...corpus(10, 'v2')}
    writeFiles(root, v2)
    expect(await publish(options(s.store, root))).toMatchObject({release: 2, uploaded: 10})
    const m2 = await manifest(s.store, 2)
    expect(Object.values(m2.files).filter((f) => f.pack?.id === packId)).toHaveLength(90)
    expect(Object.values(m2.files).filter((f) => !f.pack)).toHaveLength(10)
    expect(await s.store.list(layout.blobsPrefix)).toHaveLength(11)

    // rollback: the 10 files come back from the pack (ranged reads), the live tree equals release 1
    expect(await rollback({store: s.store, env: 'dev', pkg: 'team_a', steps: 1, metadata: META})).toMatchObject({release: 3, to: 1})
    expect(await liveHashes(s.store)).toEqual(expectedHashes(v1))
    expect((await manifest(s.store, 3)).files).toEqual(Object.fromEntries(Object.entries(m1.files).map(([p, f]) => [p, {...f, since: p < 'team_a_010.py' ? 3 : 1}])))

    const report = await fsck({store: s.store, env: 'dev'})
    expect(report.findings).toEqual([])
    expect(report.packages[0]).toMatchObject({packs: 1, blobs: 10})

    // sync's fresh fill of release 3 (every content in the pack): one GET of the pack
    const proxy = s.endpoint ? await startFaultProxy({target: s.endpoint}) : undefined
    try {
      const dir = tempDir()
      const env: Record<string, string> = s.endpoint ? {...MOTO_ENV, AWS_ENDPOINT_URL_S3: proxy!.endpoint} : {}
      const r = await syncOnce(['--store', s.url, ...(proxy ? ['--endpoint', proxy.endpoint] : []), '--to', dir], env)
      expect(r.exitCode, r.stderr).toBe(0)
      expect(r.json.last.packages[0]).toMatchObject({status: 'updated', release: 3, downloaded: 100})
      expect(treeHashes(path.join(dir, 'team_a'))).toEqual(expectedHashes(v1))
      if (proxy) expect(proxy.requests.filter((q) => q.path.includes('/blobs/'))).toEqual([{method: 'GET', path: expect.stringContaining(`/blobs/pack-${packId}`), query: expect.any(String)}])
    } finally {
      await proxy?.stop()
    }

    // the Airflow 3 bundle's reader: ranged GET on S3, a read at offset on the local store
    const py = await pythonRead(s.url, s.endpoint)
    expect(py).toMatchObject({ok: true, files: expectedHashes(v1)})
  })

  it('a truncated pack: fsck names it (short, corrupt) per release, sync and the Python reader refuse the release as blob-missing, --repair writes what the pack still holds and says why not the rest', {timeout: budget(300_000)}, async () => {
    const s = await freshStore(variant)
    const v1 = corpus(40, 'v1')
    const root = tempDir({'dagctl.yaml': 'package: team_a\n', ...v1})
    await publish(options(s.store, root))
    const [packKey] = await s.store.list(layout.blobsPrefix)
    const pack = (await s.store.get(packKey))!.body
    const m1 = await manifest(s.store, 1)
    // keep the first half of the pack: the contents placed after the cut are gone
    const cut = Math.floor(pack.length / 2)
    await s.store.put(packKey, pack.subarray(0, cut))
    const lost = Object.entries(m1.files).filter(([, f]) => f.pack!.offset + f.size > cut).map(([p]) => p).sort()
    expect(lost.length).toBeGreaterThan(0)

    const report = await fsck({store: s.store, env: 'dev'})
    const damage = report.findings.filter((f) => f.severity === 'damage')
    expect(damage.map((f) => f.code).sort()).toEqual(['PACK_CORRUPT', 'PACK_SHORT'])
    expect(damage.find((f) => f.code === 'PACK_SHORT')).toMatchObject({key: packKey, message: expect.stringContaining(`release 1: ${lost.length} file(s) (${lost.slice(0, 5).join(', ')}`)})
    expect(damage.find((f) => f.code === 'PACK_SHORT')!.message).toMatch(/truncated/)

    const dir = tempDir()
    const env: Record<string, string> = s.endpoint ? {...MOTO_ENV, AWS_ENDPOINT_URL_S3: s.endpoint} : {}
    const r = await syncOnce(['--store', s.url, '--to', dir], env)
    expect(r.exitCode).toBe(1)
    expect(r.json.error.details.packages[0]).toMatchObject({status: 'failed', reason: 'blob-missing', file: lost[0]})
    expect(await pythonRead(s.url, s.endpoint)).toMatchObject({ok: false, reason: 'blob-missing', file: lost[0]})

    // the live tree loses two files: one whose content is before the cut, one after
    const kept = Object.keys(m1.files).find((p) => !lost.includes(p))!
    await s.store.delete(layout.live(kept))
    await s.store.delete(layout.live(lost[0]))
    const repaired = await fsck({store: s.store, env: 'dev', repair: true})
    expect(repaired.packages[0].repaired?.files).toEqual([kept])
    const notRepaired = repaired.packages[0].notRepaired!
    expect(notRepaired.map((n) => n.code).sort()).toEqual(['LIVE_MISSING', 'PACK_CORRUPT', 'PACK_SHORT'])
    expect(notRepaired.find((n) => n.code === 'PACK_SHORT')!.why).toMatch(/never writes blobs or packs/)
    expect(notRepaired.find((n) => n.code === 'LIVE_MISSING')).toMatchObject({key: layout.live(lost[0]), why: expect.stringMatching(/pack is missing, short or corrupt/)})
  })

  it('two first publishes at once: the same contents make the same pack (the second PUT finds it), different ones two packs; one wins, the store stays sound', {timeout: budget(300_000)}, async () => {
    for (const same of [true, false]) {
      const s = await freshStore(variant)
      const a = tempDir({'dagctl.yaml': 'package: team_a\n', ...corpus(60, 'a')})
      const b = tempDir({'dagctl.yaml': 'package: team_a\n', ...corpus(60, same ? 'a' : 'b')})
      const results = await Promise.allSettled([publish(options(s.store, a)), publish(options(s.store, b))])
      const won = results.filter((r) => r.status === 'fulfilled')
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
      expect(won).toHaveLength(1)
      expect(lost).toHaveLength(1)
      expect(lost[0].reason).toBeInstanceOf(ConflictError)
      expect((await s.store.list(layout.blobsPrefix)).filter((k) => k.includes('/pack-'))).toHaveLength(same ? 1 : 2)
      const report = await fsck({store: s.store, env: 'dev'})
      expect(report.findings.filter((f) => f.severity !== 'info')).toEqual([])
      expect((await pythonRead(s.url, s.endpoint)).ok).toBe(true)
    }
  })
})
