import {existsSync, lstatSync, readFileSync, readlinkSync, writeFileSync, mkdirSync} from 'node:fs'
import path from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {PackageLayout} from '../../src/release/layout.js'
import {startFaultProxy} from '../helpers/fault-proxy.js'
import {MOTO_ENV} from '../helpers/moto.js'
import {freshStore, STORE_VARIANTS, stopSharedMoto} from '../helpers/stores.js'
import {headFiles, packageDir, publish, rollback, setDags, syncOnce, treeHashes, visibleTree} from '../helpers/sync.js'
import {tempDir} from '../helpers/tmp.js'

afterAll(stopSharedMoto)

const dag = (pkg: string, name: string, tag: string): string => `# ${tag}\nfrom airflow import DAG\ndag = DAG(dag_id="${pkg}_${name}")\n`

describe.each([STORE_VARIANTS[0], STORE_VARIANTS[1]])('dagctl sync against the $name store', (variant) => {
  it('publish, sync, change, rollback, remove a package: DIR/<package> equals HEAD exactly after each', async () => {
    const s = await freshStore(variant)
    const env: Record<string, string> = s.endpoint ? {...MOTO_ENV, AWS_ENDPOINT_URL_S3: s.endpoint} : {}
    const storeArgs = ['--store', s.url, ...(s.endpoint ? ['--endpoint', s.endpoint] : [])]
    const a = packageDir('team_a', s.url, {'team_a_one.py': dag('team_a', 'one', 'v1'), 'team_a_two.py': dag('team_a', 'two', 'v1'), 'lib/helpers.py': 'X = 1\n'})
    const b = packageDir('team_b', s.url, {'team_b_one.py': dag('team_b', 'one', 'v1')})
    expect(await publish(a, env)).toBe(1)
    expect(await publish(b, env)).toBe(1)
    const dir = tempDir()
    // A file and a folder sync did not write: never touched.
    writeFileSync(path.join(dir, 'hand_written.py'), 'keep me\n')
    mkdirSync(path.join(dir, 'team_c'))
    writeFileSync(path.join(dir, 'team_c', 'x.py'), 'not ours\n')

    const check = async (pkgs: string[]): Promise<void> => {
      for (const pkg of pkgs) {
        const head = await headFiles(s.store, 'dev', pkg)
        expect(treeHashes(path.join(dir, pkg)), pkg).toEqual(head.files)
        expect(lstatSync(path.join(dir, pkg)).isSymbolicLink()).toBe(true)
        expect(readlinkSync(path.join(dir, pkg))).toMatch(new RegExp(`^\\.dagctl-sync/versions/${pkg}/${head.release}-`))
      }
      expect(readFileSync(path.join(dir, 'hand_written.py'), 'utf8')).toBe('keep me\n')
      expect(readFileSync(path.join(dir, 'team_c', 'x.py'), 'utf8')).toBe('not ours\n')
    }

    let r = await syncOnce([...storeArgs, '--to', dir], env)
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.json.last.packages.map((p: {package: string; status: string}) => [p.package, p.status])).toEqual([['team_a', 'updated'], ['team_b', 'updated']])
    await check(['team_a', 'team_b'])
    expect(readFileSync(path.join(dir, '.airflowignore'), 'utf8')).toMatch(/^\.dagctl-sync$/m)
    // What a scan sees: the two packages and the files sync did not write, nothing else.
    expect(Object.keys(visibleTree(dir)).sort()).toEqual(['.airflowignore', 'hand_written.py', 'team_a/lib/helpers.py', 'team_a/team_a_one.py', 'team_a/team_a_two.py', 'team_b/team_b_one.py', 'team_c/x.py'])

    // change: one file changed, one removed, one added; only the new contents are downloaded
    setDags(a, {'team_a_one.py': dag('team_a', 'one', 'v2'), 'lib/helpers.py': 'X = 1\n', 'team_a_three.py': dag('team_a', 'three', 'v1')})
    expect(await publish(a, env)).toBe(2)
    r = await syncOnce([...storeArgs, '--to', dir], env)
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.json.last.packages.find((p: {package: string}) => p.package === 'team_a')).toMatchObject({status: 'updated', release: 2, previous: 1, downloaded: 2, fromCache: 1})
    expect(r.json.last.packages.find((p: {package: string}) => p.package === 'team_b')).toMatchObject({status: 'unchanged', release: 1})
    await check(['team_a', 'team_b'])

    // rollback to a release seen before: nothing downloaded
    expect(await rollback(a, env, 1)).toBe(3)
    r = await syncOnce([...storeArgs, '--to', dir, '-p', 'team_a', '-p', 'team_b'], env)
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.json.last.packages.find((p: {package: string}) => p.package === 'team_a')).toMatchObject({status: 'updated', release: 3, downloaded: 0, fromCache: 3})
    await check(['team_a', 'team_b'])

    // remove a package (its HEAD gone): kept without --prune-packages, removed with it
    await s.store.delete(new PackageLayout('dev', 'team_b').head)
    r = await syncOnce([...storeArgs, '--to', dir], env)
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.json.last.packages.find((p: {package: string}) => p.package === 'team_b')).toMatchObject({status: 'kept', release: 1})
    expect(existsSync(path.join(dir, 'team_b', 'team_b_one.py'))).toBe(true)
    r = await syncOnce([...storeArgs, '--to', dir, '--prune-packages'], env)
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.json.last.packages.find((p: {package: string}) => p.package === 'team_b')).toMatchObject({status: 'removed'})
    expect(existsSync(path.join(dir, 'team_b'))).toBe(false)
    await check(['team_a'])
    expect(Object.keys(visibleTree(dir)).sort()).toEqual(['.airflowignore', 'hand_written.py', 'team_a/lib/helpers.py', 'team_a/team_a_one.py', 'team_a/team_a_two.py', 'team_c/x.py'])
  })
})

describe('dagctl sync: cost and configuration', () => {
  it('an idle cycle on S3 costs one listing and one conditional HEAD read (304) per package', async () => {
    const s = await freshStore(STORE_VARIANTS[1])
    const proxy = await startFaultProxy({target: s.endpoint!})
    try {
      const env = {...MOTO_ENV, AWS_ENDPOINT_URL_S3: s.endpoint!}
      for (const pkg of ['p_one', 'p_two', 'p_three']) await publish(packageDir(pkg, s.url, {[`${pkg}_a.py`]: dag(pkg, 'a', 'v1')}), env)
      const dir = tempDir()
      const {startSync} = await import('../helpers/sync.js')
      const sync = startSync(['--store', s.url, '--endpoint', proxy.endpoint, '--to', dir, '--interval', '0.2s', '--metrics-port', '0', '--metrics-host', '127.0.0.1'], MOTO_ENV)
      try {
        await sync.waitFor(/cycle 1: 3 package\(s\) at HEAD/)
        const port = Number((await sync.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)/))[1])
        const {default: parse} = await import('parse-prometheus-text-format')
        const requests = async (): Promise<Record<string, number>> => {
          const families = parse(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())
          const fam = families.find((f: {name: string}) => f.name === 'dagctl_sync_store_requests_total')
          return Object.fromEntries((fam?.metrics ?? []).map((m: {labels: Record<string, string>; value: string}) => [`${m.labels.kind}:${m.labels.result}`, Number(m.value)]))
        }
        const cycles = async (): Promise<number> => {
          const families = parse(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())
          const fam = families.find((f: {name: string}) => f.name === 'dagctl_sync_cycles_total')
          return (fam?.metrics ?? []).reduce((n: number, m: {value: string}) => n + Number(m.value), 0)
        }
        // Between two reads of the counters, count the cycles and the proxy's requests.
        const c0 = await cycles()
        const r0 = await requests()
        proxy.resetCounts()
        let c1 = c0
        while (c1 < c0 + 3) c1 = await cycles()
        const r1 = await requests()
        const seen = proxy.counts.total
        const n = c1 - c0
        expect((r1['head:not-modified'] ?? 0) - (r0['head:not-modified'] ?? 0)).toBeGreaterThanOrEqual(3 * n)
        expect((r1['manifest:ok'] ?? 0) - (r0['manifest:ok'] ?? 0)).toBe(0)
        expect((r1['blob:ok'] ?? 0) - (r0['blob:ok'] ?? 0)).toBe(0)
        // one list + three HEAD reads per cycle (a cycle may be in flight at either end)
        expect(seen).toBeLessThanOrEqual(4 * (n + 2))
        expect(proxy.counts.byMethod.GET).toBe(seen)
      } finally {
        sync.proc.kill('SIGTERM')
        await sync.proc
      }
    } finally {
      await proxy.stop()
    }
  })

  it('runs with no dagctl.yaml from DAGCTL_* variables alone', async () => {
    const s = await freshStore(STORE_VARIANTS[0])
    await publish(packageDir('team_v', s.url, {'team_v_a.py': dag('team_v', 'a', 'v1')}), {})
    const dir = tempDir()
    const {runCli} = await import('../helpers/cli.js')
    const r = await runCli(['sync'], {cwd: tempDir(), env: {DAGCTL_STORE: s.url, DAGCTL_ENV: 'dev', DAGCTL_SYNC_TO: dir, DAGCTL_SYNC_ONCE: '1', DAGCTL_SYNC_PACKAGES: 'team_v', DAGCTL_LOG_FORMAT: 'json'}})
    expect(r.exitCode, r.stderr).toBe(0)
    expect(treeHashes(path.join(dir, 'team_v'))).toEqual((await headFiles(s.store, 'dev', 'team_v')).files)
    const lines = r.stderr.trim().split('\n').map((l) => JSON.parse(l))
    expect(lines.length).toBeGreaterThan(0)
    for (const l of lines) expect(Object.keys(l)).toEqual(expect.arrayContaining(['cycle', 'package', 'release', 'msg', 'level', 'time']))
    expect(lines).toContainEqual(expect.objectContaining({cycle: 1, package: 'team_v', release: 1, msg: expect.stringMatching(/release 1 is visible/)}))
  })

  it('takes the store from dagctl.yaml when there is one and no --store', async () => {
    const s = await freshStore(STORE_VARIANTS[0])
    const pkg = packageDir('team_y', s.url, {'team_y_a.py': dag('team_y', 'a', 'v1')})
    await publish(pkg, {})
    const dir = tempDir()
    const {runCli} = await import('../helpers/cli.js')
    const r = await runCli(['sync', '--once', '--to', dir, '--json'], {cwd: pkg})
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.json().last.packages).toEqual([expect.objectContaining({package: 'team_y', status: 'updated', release: 1})])
  })

  it('refuses a DIR whose .airflowignore does not exclude the versions folder (exit 2), and leaves it as it was', async () => {
    const s = await freshStore(STORE_VARIANTS[0])
    await publish(packageDir('team_w', s.url, {'team_w_a.py': dag('team_w', 'a', 'v1')}), {})
    const dir = tempDir({'.airflowignore': 'scratch/\n'})
    const r = await syncOnce(['--store', s.url, '--to', dir], {})
    expect(r.exitCode).toBe(2)
    expect(r.json.error.message).toMatch(/\.airflowignore/)
    expect(readFileSync(path.join(dir, '.airflowignore'), 'utf8')).toBe('scratch/\n')
    expect(existsSync(path.join(dir, 'team_w'))).toBe(false)
  })
})
