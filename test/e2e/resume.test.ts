import {execa} from 'execa'
import {afterAll, describe, expect, it} from 'vitest'

import {fsck} from '../../src/release/fsck.js'
import {openStore, type Store} from '../../src/store/index.js'
import {budget, waitFor} from '../helpers/budget.js'
import {BIN, runCli} from '../helpers/cli.js'
import {startFaultProxy} from '../helpers/fault-proxy.js'
import {MOTO_ENV} from '../helpers/moto.js'
import {freshStore, MINIO_VARIANT, STORE_VARIANTS, stopSharedMoto, type StoreVariant} from '../helpers/stores.js'
import {tempDir, writeFiles} from '../helpers/tmp.js'

afterAll(stopSharedMoto)

/**
 * Work a killed publish left behind is reused, counted in requests through a counting proxy: a
 * publish killed with SIGKILL during its pack upload left the whole pack or nothing, and the next
 * one sends the pack once (answered 412 when it is there), and after a kill during the live-tree
 * update only the live files that still differ are rewritten. On moto and on MinIO.
 */
const FILES = 300
const base = '_dagctl/dev/team_a'
const live = 'dev/team_a/dags/'

function corpus(tag: string): Record<string, string> {
  return Object.fromEntries(Array.from({length: FILES}, (_, i) => [`dags/team_a_${String(i).padStart(3, '0')}.py`, `# ${tag}\nfrom airflow import DAG\ndag_id = "team_a_${i}"\n`]))
}

async function setUp(variant: StoreVariant): Promise<{dir: string; store: Store; env: Record<string, string>; endpoint: string}> {
  const s = await freshStore(variant)
  const dir = tempDir({'dagctl.yaml': `package: team_a\nenvironments:\n  dev:\n    store: ${s.url}\n`, ...corpus('v0')})
  return {dir, store: await openStore({url: s.url, root: dir, endpoint: s.endpoint}), env: {...MOTO_ENV, AWS_ENDPOINT_URL_S3: s.endpoint!}, endpoint: s.endpoint!}
}

/** Starts a publish and SIGKILLs it once `reached` holds; false when it finished first. */
async function killWhen(dir: string, env: Record<string, string>, what: string, reached: () => Promise<boolean>): Promise<boolean> {
  const child = execa('node', [BIN, 'publish', '--no-validate'], {cwd: dir, env: {NO_COLOR: '1', ...env}, reject: false, timeout: budget(180_000)})
  const hit = await waitFor(reached, {what, timeoutMs: 180_000, intervalMs: 10, stop: () => child.exitCode !== null})
  const killed = hit && child.kill('SIGKILL')
  const res = await child
  return killed && res.signal === 'SIGKILL'
}

/**
 * A server may still finish requests that arrived whole before the kill (MinIO does): the count
 * once three checks in a row agree.
 */
async function settled(count: () => Promise<number>): Promise<number> {
  let last = await count()
  let same = 0
  await waitFor(
    async () => {
      const now = await count()
      same = now === last ? same + 1 : 0
      last = now
      return same >= 3
    },
    {what: 'the store to settle after the kill', intervalMs: 50},
  )
  return last
}

async function noDamageNorLag(store: Store): Promise<void> {
  const report = await fsck({store, env: 'dev'})
  expect(report.findings.filter((f) => f.severity !== 'info')).toEqual([])
}

describe.each([STORE_VARIANTS[1], MINIO_VARIANT])('a killed publish leaves work the next one reuses ($name)', (variant) => {
  it('killed during its pack upload, which never landed: nothing is current, and the next publish sends the one pack', {timeout: budget(600_000)}, async () => {
    const {dir, store, env, endpoint} = await setUp(variant)
    // the pack's PUT never reaches the server (the SDK retries it) while the publish is killed
    const holding = await startFaultProxy({target: endpoint, choose: (req) => (req.method === 'PUT' && (req.url ?? '').includes('/blobs/pack-') ? 'reset' : 'pass')})
    try {
      const seen = () => holding.requests.some((r) => r.method === 'PUT' && r.path.includes('/blobs/pack-'))
      expect(await killWhen(dir, {...env, AWS_ENDPOINT_URL_S3: holding.endpoint}, 'the pack upload to start', async () => seen())).toBe(true)
    } finally {
      await holding.stop()
    }
    expect(await store.list(`${base}/`)).toEqual([])
    const proxy = await startFaultProxy({target: endpoint})
    try {
      const res = await runCli(['publish', '--no-validate', '--json'], {cwd: dir, env: {...env, AWS_ENDPOINT_URL_S3: proxy.endpoint}})
      expect(res.exitCode, res.stderr).toBe(0)
      const blobPuts = proxy.requests.filter((r) => r.method === 'PUT' && r.path.includes('/blobs/'))
      expect(blobPuts).toHaveLength(1)
      expect(blobPuts[0].path).toMatch(/\/blobs\/pack-[0-9a-f]{64}$/)
      expect({uploaded: res.json().uploaded, reused: res.json().reused}).toEqual({uploaded: FILES, reused: 0})
    } finally {
      await proxy.stop()
    }
    await noDamageNorLag(store)
  })

  it('killed after its pack landed, before the manifest: the next publish finds the pack (one PUT, 412) and re-sends nothing', {timeout: budget(600_000)}, async () => {
    const {dir, store, env, endpoint} = await setUp(variant)
    // the manifest's PUT never reaches the server: the publish is killed once the pack is stored
    const holding = await startFaultProxy({target: endpoint, choose: (req) => (req.method === 'PUT' && (req.url ?? '').includes('/releases/') ? 'reset' : 'pass')})
    const packs = async () => (await store.list(`${base}/blobs/`)).filter((k) => k.includes('/pack-')).length
    try {
      expect(await killWhen(dir, {...env, AWS_ENDPOINT_URL_S3: holding.endpoint}, 'the pack to be stored', async () => (await packs()) === 1)).toBe(true)
    } finally {
      await holding.stop()
    }
    expect(await store.get(`${base}/HEAD.json`)).toBeUndefined()
    const proxy = await startFaultProxy({target: endpoint})
    try {
      const res = await runCli(['publish', '--no-validate', '--json'], {cwd: dir, env: {...env, AWS_ENDPOINT_URL_S3: proxy.endpoint}})
      expect(res.exitCode, res.stderr).toBe(0)
      expect(proxy.requests.filter((r) => r.method === 'PUT' && r.path.includes('/blobs/'))).toHaveLength(1)
      expect({uploaded: res.json().uploaded, reused: res.json().reused}).toEqual({uploaded: 0, reused: FILES})
      // no listing of the blobs prefix: the pack's own create-only PUT answered it
      expect(proxy.requests.filter((r) => r.method === 'GET' && r.query.includes('list-type') && r.query.includes('/blobs/'))).toHaveLength(0)
    } finally {
      await proxy.stop()
    }
    expect(await packs()).toBe(1)
    await noDamageNorLag(store)
  })

  it('killed during the live-tree update: the next publish rewrites only the live files that still differ', {timeout: budget(600_000)}, async () => {
    const {dir, store, env, endpoint} = await setUp(variant)
    expect((await runCli(['publish', '--no-validate'], {cwd: dir, env})).exitCode).toBe(0)
    let lagging = 0
    for (let attempt = 1; ; attempt++) {
      const old = new Map((await store.listObjects(live)).map((o) => [o.key, o.etag]))
      const changed = async () => (await store.listObjects(live)).filter((o) => old.get(o.key) !== o.etag).length
      writeFiles(dir, corpus(`v${attempt}`))
      if (await killWhen(dir, env, 'some live files to be rewritten', async () => (await changed()) >= 30)) {
        lagging = FILES - (await settled(changed))
        if (lagging > 0) break
      }
      expect(attempt, 'the kill never landed during the live-tree update').toBeLessThan(4)
    }
    const proxy = await startFaultProxy({target: endpoint})
    try {
      // Same files again: nothing to release, the live tree is healed.
      const res = await runCli(['publish', '--no-validate', '--json'], {cwd: dir, env: {...env, AWS_ENDPOINT_URL_S3: proxy.endpoint}})
      expect(res.exitCode, res.stderr).toBe(0)
      const livePuts = proxy.requests.filter((r) => r.method === 'PUT' && r.path.includes(`/${live}`)).length
      expect({livePuts, written: res.json().live.written}).toEqual({livePuts: lagging, written: lagging})
    } finally {
      await proxy.stop()
    }
    await noDamageNorLag(store)
  })
})
