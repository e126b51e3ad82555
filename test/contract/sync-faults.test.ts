import {existsSync, readdirSync, readlinkSync} from 'node:fs'
import path from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import parse from 'parse-prometheus-text-format'

import {PackageLayout} from '../../src/release/layout.js'
import {PackageRepository} from '../../src/release/repository.js'
import {openStore} from '../../src/store/index.js'
import {startFaultProxy} from '../helpers/fault-proxy.js'
import {MOTO_ENV} from '../helpers/moto.js'
import {freshStore, STORE_VARIANTS, stopSharedMoto} from '../helpers/stores.js'
import {headFiles, packageDir, publish, setDags, startSync, syncOnce, treeHashes} from '../helpers/sync.js'
import {tempDir} from '../helpers/tmp.js'

afterAll(stopSharedMoto)

const dag = (pkg: string, name: string, tag: string): string => `# ${tag}\nfrom airflow import DAG\ndag = DAG(dag_id="${pkg}_${name}")\n`

async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

async function metric(port: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  const families = parse(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())
  const fam = families.find((f) => f.name === name)
  return (fam?.metrics ?? []).filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v)).reduce((n, m) => n + Number(m.value), 0)
}

describe('dagctl sync refuses bad input and survives faults', () => {
  it('a tampered manifest, an unparsable one, a corrupt and a missing blob: those packages stay on their last good release, the others carry on, --once exits non-zero naming package, release and file', async () => {
    const root = tempDir()
    const url = `file://${root}/store`
    const store = await openStore({url, root})
    const names = ['p_path', 'p_json', 'p_sha', 'p_gone', 'p_good']
    const dirs = Object.fromEntries(names.map((p) => [p, packageDir(p, url, {[`${p}_a.py`]: dag(p, 'a', 'v1')})]))
    for (const p of names) await publish(dirs[p], {})
    const dir = tempDir()
    expect((await syncOnce(['--store', url, '--to', dir], {})).exitCode).toBe(0)
    for (const p of names) {
      setDags(dirs[p], {[`${p}_a.py`]: dag(p, 'a', 'v2'), [`${p}_b.py`]: dag(p, 'b', 'v2')})
      expect(await publish(dirs[p], {})).toBe(2)
    }
    const layout = (p: string) => new PackageLayout('dev', p)
    const manifestOf = async (p: string) => JSON.parse((await store.get(layout(p).release(2)))!.body.toString())
    // path outside the package
    const m1 = await manifestOf('p_path')
    m1.files['../evil.py'] = m1.files['p_path_b.py']
    await store.put(layout('p_path').release(2), JSON.stringify(m1))
    // not JSON
    await store.put(layout('p_json').release(2), '{"format": 1, "files": ')
    // a blob whose content does not hash to its name
    const m3 = await manifestOf('p_sha')
    await store.put(layout('p_sha').blob(m3.files['p_sha_b.py'].sha256), 'tampered\n')
    // a blob gone
    const m4 = await manifestOf('p_gone')
    await store.delete(layout('p_gone').blob(m4.files['p_gone_b.py'].sha256))

    const r = await syncOnce(['--store', url, '--to', dir], {})
    expect(r.exitCode, r.stderr).toBe(5)
    const byPkg = Object.fromEntries(r.json.error.details.packages.map((p: {package: string}) => [p.package, p]))
    expect(byPkg.p_path).toMatchObject({reason: 'path-outside-package', file: '../evil.py', head: 2, release: 1})
    expect(byPkg.p_json).toMatchObject({reason: 'manifest-invalid', file: null, head: 2, release: 1})
    expect(byPkg.p_sha).toMatchObject({reason: 'sha256-mismatch', file: 'p_sha_b.py', head: 2, release: 1})
    expect(byPkg.p_gone).toMatchObject({reason: 'blob-missing', file: 'p_gone_b.py', head: 2, release: 1})
    expect(byPkg.p_good).toBeUndefined()
    expect(r.stderr).toMatch(/p_path: release 2 of p_path: the manifest names "\.\.\/evil\.py"/)
    expect(r.stderr).toMatch(/p_sha: release 2 of p_sha: the blob of p_sha_b\.py does not hash/)
    // nothing of a refused release is visible; the good package moved on
    for (const p of names.slice(0, 4)) expect(Object.keys(treeHashes(path.join(dir, p)))).toEqual([`${p}_a.py`])
    expect(treeHashes(path.join(dir, 'p_good'))).toEqual((await headFiles(store, 'dev', 'p_good')).files)
    expect(existsSync(path.join(root, 'evil.py')) || existsSync(path.join(dir, 'evil.py'))).toBe(false)
    // only damage (no refused manifest) exits 1
    const r2 = await syncOnce(['--store', url, '--to', dir, '-p', 'p_sha', '-p', 'p_good'], {})
    expect(r2.exitCode).toBe(1)
    expect(r2.json.error.details.packages).toEqual([expect.objectContaining({package: 'p_sha', reason: 'sha256-mismatch'})])
  })

  it('a store outage (fault proxy): the last good tree stays, failures are counted, /healthz turns 503 after --unhealthy-after cycles and back to 200', async () => {
    const s = await freshStore(STORE_VARIANTS[1])
    let down = false
    const proxy = await startFaultProxy({target: s.endpoint!, choose: () => (down ? '500' : 'pass')})
    const env = {...MOTO_ENV, AWS_ENDPOINT_URL_S3: s.endpoint!}
    const pkg = packageDir('team_o', s.url, {'team_o_a.py': dag('team_o', 'a', 'v1')})
    await publish(pkg, env)
    const dir = tempDir()
    const sync = startSync(['--store', s.url, '--endpoint', proxy.endpoint, '--to', dir, '--interval', '0.2s', '--unhealthy-after', '2', '--metrics-port', '0', '--metrics-host', '127.0.0.1', '--log-format', 'json'], MOTO_ENV)
    try {
      const port = Number((await sync.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)/))[1])
      const status = async (p: string): Promise<number> => (await fetch(`http://127.0.0.1:${port}${p}`)).status
      await waitFor(async () => (await status('/readyz')) === 200, 'ready')
      expect(await status('/healthz')).toBe(200)
      const v1 = treeHashes(path.join(dir, 'team_o'))
      down = true
      setDags(pkg, {'team_o_a.py': dag('team_o', 'a', 'v2')})
      await publish(pkg, env) // straight to moto, not through the proxy
      await waitFor(async () => (await status('/healthz')) === 503, '/healthz 503')
      expect(treeHashes(path.join(dir, 'team_o'))).toEqual(v1)
      expect(await metric(port, 'dagctl_sync_errors_total', {reason: 'store-failed'})).toBeGreaterThanOrEqual(2)
      expect(await metric(port, 'dagctl_sync_consecutive_failed_cycles')).toBeGreaterThanOrEqual(2)
      expect(await metric(port, 'dagctl_sync_store_requests_total', {result: 'error'})).toBeGreaterThan(0)
      expect(await metric(port, 'dagctl_sync_release', {package: 'team_o'})).toBe(1)
      down = false
      await waitFor(async () => (await status('/healthz')) === 200, '/healthz 200 again')
      await waitFor(async () => (await metric(port, 'dagctl_sync_release', {package: 'team_o'})) === 2, 'release 2 visible')
      expect(treeHashes(path.join(dir, 'team_o'))).toEqual((await headFiles(s.store, 'dev', 'team_o')).files)
      expect(await metric(port, 'dagctl_sync_visible_lag_seconds', {package: 'team_o'})).toBeGreaterThan(0)
      expect(await metric(port, 'dagctl_sync_last_success_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 3600)
      // every failure was logged, as JSON lines with cycle, package and release; no credential anywhere
      const lines = sync.stderr().trim().split('\n').map((l) => JSON.parse(l))
      expect(lines.filter((l) => l.level === 'error' && l.reason === 'store-failed').length).toBeGreaterThanOrEqual(2)
      const metricsText = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
      for (const text of [sync.stderr(), metricsText]) expect(text).not.toContain(MOTO_ENV.AWS_SECRET_ACCESS_KEY)
    } finally {
      sync.proc.kill('SIGTERM')
      await sync.proc
      await proxy.stop()
    }
    expect(sync.proc.exitCode).toBe(0)
  })

  it('--once with the store down exits 4 and leaves DIR as it was, after the attempts AWS_MAX_ATTEMPTS allows', async () => {
    const s = await freshStore(STORE_VARIANTS[1])
    let down = false
    const refused = new Map<string, number>()
    const proxy = await startFaultProxy({
      target: s.endpoint!,
      choose: (req) => {
        if (!down) return 'pass'
        const request = `${req.method} ${req.url}`
        refused.set(request, (refused.get(request) ?? 0) + 1)
        return '503'
      },
    })
    try {
      const env = {...MOTO_ENV, AWS_ENDPOINT_URL_S3: s.endpoint!}
      await publish(packageDir('team_d', s.url, {'team_d_a.py': dag('team_d', 'a', 'v1')}), env)
      const dir = tempDir()
      const args = ['--store', s.url, '--endpoint', proxy.endpoint, '--to', dir]
      expect((await syncOnce(args, MOTO_ENV)).exitCode).toBe(0)
      const before = treeHashes(path.join(dir, 'team_d'))
      down = true
      // 503 is S3's SlowDown, which the SDK backs off from for up to 30 s over dagctl's 6 attempts:
      // a job that wants an outage to fail fast says so, as for the AWS CLI
      const r = await syncOnce(args, {...MOTO_ENV, AWS_MAX_ATTEMPTS: '2'})
      expect(r.exitCode, r.stderr).toBe(4)
      // each request tried twice: once, and one retry
      expect(refused.size).toBeGreaterThan(0)
      expect([...refused.values()]).toEqual([...refused.values()].map(() => 2))
      expect(r.json.error.code).toBe('SYNC_STORE_FAILED')
      expect(r.json.error.details.packages.map((p: {reason: string}) => p.reason)).toContain('store-failed')
      expect(treeHashes(path.join(dir, 'team_d'))).toEqual(before)
    } finally {
      await proxy.stop()
    }
  })

  it('SIGKILL in the middle of a cycle, again and again: no half-written version is ever visible, and the next run repairs everything', async () => {
    const root = tempDir()
    const url = `file://${root}/store`
    const store = await openStore({url, root})
    const big = (tag: string): Record<string, string> => Object.fromEntries(Array.from({length: 300}, (_, i) => [`sub${i % 5}/team_k_${i}.py`, `${dag('team_k', String(i), tag)}${'#'.repeat(4000)}\n`]))
    const pkg = packageDir('team_k', url, big('v1'))
    await publish(pkg, {})
    const dir = tempDir()
    const repo = new PackageRepository(store, 'dev', 'team_k')
    const releases = new Map<number, Record<string, string>>()
    let killedMidBuild = 0
    for (let round = 0; round < 5; round++) {
      if (round > 0) {
        setDags(pkg, big(`v${round + 1}`))
        await publish(pkg, {})
      }
      const head = await headFiles(store, 'dev', 'team_k')
      releases.set(head.release, head.files)
      const sync = startSync(['--store', url, '--to', dir, '--once'], {})
      const tmp = path.join(dir, '.dagctl-sync', 'tmp')
      // kill as soon as a tree is being built (or when it has finished, if it was too quick to catch)
      await waitFor(() => sync.proc.exitCode !== null || (existsSync(tmp) && readdirSync(tmp).some((n) => n.startsWith('tree-'))), 'a build in progress', 60_000)
      if (sync.proc.exitCode === null) killedMidBuild++
      sync.proc.kill('SIGKILL')
      await sync.proc
      // whatever is visible is one complete release
      if (existsSync(path.join(dir, 'team_k'))) {
        const id = Number(/\/(\d+)-/.exec(readlinkSync(path.join(dir, 'team_k')))![1])
        expect(treeHashes(path.join(dir, 'team_k'))).toEqual(releases.get(id) ?? (await repo.manifest(id)).files)
      }
    }
    expect(killedMidBuild).toBeGreaterThan(0)
    const r = await syncOnce(['--store', url, '--to', dir], {})
    expect(r.exitCode, r.stderr).toBe(0)
    expect(treeHashes(path.join(dir, 'team_k'))).toEqual((await headFiles(store, 'dev', 'team_k')).files)
    expect(readdirSync(path.join(dir, '.dagctl-sync', 'tmp'))).toEqual([])
  })

  it('SIGTERM in the loop ends the current cycle cleanly and exits 0', async () => {
    const root = tempDir()
    const url = `file://${root}/store`
    await publish(packageDir('team_t', url, {'team_t_a.py': dag('team_t', 'a', 'v1')}), {})
    const dir = tempDir()
    const sync = startSync(['--store', url, '--to', dir, '--interval', '30s'], {})
    await sync.waitFor(/syncing every package/)
    sync.proc.kill('SIGTERM')
    await sync.proc
    expect(sync.proc.exitCode, sync.stderr()).toBe(0)
    expect(sync.stderr()).toMatch(/cycle 1: 1 package\(s\) at HEAD/)
    expect(sync.stderr()).toMatch(/stopped after 1 cycle/)
    expect(treeHashes(path.join(dir, 'team_t'))).toEqual((await headFiles(await openStore({url, root}), 'dev', 'team_t')).files)
    expect(existsSync(path.join(dir, '.dagctl-sync', 'lock'))).toBe(false)

    // and while it waits between cycles
    const again = startSync(['--store', url, '--to', dir, '--interval', '30s'], {})
    await again.waitFor(/cycle 1:/)
    again.proc.kill('SIGTERM')
    await again.proc
    expect(again.proc.exitCode, again.stderr()).toBe(0)
  })
})
