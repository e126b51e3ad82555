import {execa} from 'execa'
import {readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {fsck} from '../../src/release/fsck.js'
import {openStore} from '../../src/store/index.js'
import {budget, waitFor} from '../helpers/budget.js'
import {BIN, runCli} from '../helpers/cli.js'
import {startFaultProxy, randomFaults} from '../helpers/fault-proxy.js'
import {MOTO_ENV} from '../helpers/moto.js'
import {freshStore, MINIO_VARIANT, sharedMoto, STORE_VARIANTS, stopSharedMoto, type StoreVariant} from '../helpers/stores.js'
import {dagctlOnTerminal} from '../helpers/pty.js'
import {tempDir, writeFiles} from '../helpers/tmp.js'

afterAll(stopSharedMoto)

const LOCAL = STORE_VARIANTS[0]
const S3 = STORE_VARIANTS[1]

function pkg(files: Record<string, string>, storeUrl: string): string {
  return tempDir({
    'dagctl.yaml': `package: team_a\nenvironments:\n  dev:\n    store: ${storeUrl}\n`,
    ...Object.fromEntries(Object.entries(files).map(([k, v]) => [`dags/${k}`, v])),
  })
}

function corpus(n: number, tag: string): Record<string, string> {
  return Object.fromEntries(Array.from({length: n}, (_, i) => [`team_a_${String(i).padStart(3, '0')}.py`, `# ${tag}\nfrom airflow import DAG\ndag_id = "team_a_${i}"\n`]))
}

function writeDags(dir: string, files: Record<string, string>): void {
  writeFiles(path.join(dir, 'dags'), files)
}

async function target(variant: StoreVariant): Promise<{url: string; env: Record<string, string>; endpoint?: string}> {
  const s = await freshStore(variant)
  return {url: s.url, endpoint: s.endpoint, env: s.endpoint ? {...MOTO_ENV, AWS_ENDPOINT_URL_S3: s.endpoint} : {}}
}

describe('publish and friends through the built binary', () => {
  it('publishes with --json, lists, shows history, and rollback without a terminal needs --yes (exit 2)', async () => {
    const t = await target(LOCAL)
    const dir = pkg({'team_a_a.py': 'a1', 'team_a_b.py': 'b1'}, t.url)
    const first = await runCli(['publish', '--json', '-m', 'first'], {cwd: dir, env: t.env})
    expect(first.exitCode, first.stderr).toBe(0)
    expect(first.json()).toMatchObject({release: 1, diff: {added: ['team_a_a.py', 'team_a_b.py'], unchanged: 0}})
    writeFiles(dir, {'dags/team_a_a.py': 'a2'})
    const dry = await runCli(['publish', '--dry-run'], {cwd: dir, env: t.env})
    expect(dry.stderr).toMatch(/~ team_a_a.py/)
    expect((await runCli(['publish', '--json', '--no-validate'], {cwd: dir, env: t.env})).json()).toMatchObject({release: 2, validation: {skipped: true}})
    const history = (await runCli(['releases', '--json'], {cwd: dir, env: t.env})).json()
    expect(history.releases.map((r: {id: number; current: boolean}) => [r.id, r.current])).toEqual([[2, true], [1, false]])
    expect(history.releases[0].validation).toEqual({skipped: true})
    const listed = (await runCli(['list', 'team_a', '--json'], {cwd: dir, env: t.env})).json()
    expect(listed.files.map((f: {path: string; release: number}) => [f.path, f.release])).toEqual([['team_a_a.py', 2], ['team_a_b.py', 1]])
    const noYes = await runCli(['rollback', '--to', '1'], {cwd: dir, env: t.env})
    expect(noYes.exitCode).toBe(2)
    expect(noYes.stderr).toMatch(/--yes/)
    // From another folder, with no dagctl.yaml: --store and --package are enough.
    const elsewhere = tempDir()
    const rb = await runCli(['rollback', '--to', '1', '--yes', '--json', '--store', t.url, '--package', 'team_a'], {cwd: elsewhere, env: t.env})
    expect(rb.exitCode, rb.stderr).toBe(0)
    expect(rb.json()).toMatchObject({release: 3, from: 2, to: 1})
    const check = await runCli(['fsck', '--json'], {cwd: dir, env: t.env})
    expect(check.exitCode).toBe(0)
    expect(check.json()).toMatchObject({ok: true, findings: []})
  })

  it('rollback asks on a terminal: "n" cancels, writes nothing and exits 0, "y" rolls back', async () => {
    const t = await target(LOCAL)
    const dir = pkg({'team_a_a.py': 'a1'}, t.url)
    expect((await runCli(['publish'], {cwd: dir, env: t.env})).exitCode).toBe(0)
    writeDags(dir, {'team_a_a.py': 'a2'})
    expect((await runCli(['publish'], {cwd: dir, env: t.env})).exitCode).toBe(0)
    // A pseudo-terminal: answer the prompt once it appears.
    const onTerminal = (answer: string) =>
      dagctlOnTerminal(`${answer}\n`, ['rollback', '--to', '1'], {cwd: dir, env: t.env})
    const no = await onTerminal('n')
    expect(no.stdout).toMatch(/Roll back team_a in dev from release 2 to the files of release 1\? \[y\/N\]/)
    expect(no.exitCode, no.stdout).toBe(0)
    expect(no.stdout).toMatch(/Cancelled: nothing changed\./)
    expect((await runCli(['releases', '--json'], {cwd: dir, env: t.env})).json().releases).toHaveLength(2)
    const yes = await onTerminal('y')
    expect(yes.exitCode, yes.stdout).toBe(0)
    expect(yes.stdout).toMatch(/Rolled back: release 3 is current/)
  })

  it('a manifest edited to name a path outside the package is refused by every reader', async () => {
    const t = await target(LOCAL)
    const dir = pkg({'team_a_a.py': 'a1'}, t.url)
    expect((await runCli(['publish'], {cwd: dir, env: t.env})).exitCode).toBe(0)
    writeFiles(dir, {'dags/team_a_a.py': 'a2'})
    expect((await runCli(['publish'], {cwd: dir, env: t.env})).exitCode).toBe(0)
    const storeDir = t.url.slice('file://'.length)
    for (const id of [1, 2]) {
      const file = path.join(storeDir, `_dagctl/dev/team_a/releases/000000000${id}.json`)
      const m = JSON.parse(readFileSync(file, 'utf8'))
      m.files['../../../etc/cron.d/evil'] = m.files['team_a_a.py']
      writeFileSync(file, JSON.stringify(m))
    }
    for (const args of [['list', 'team_a'], ['releases'], ['diff'], ['diff', '1', '2'], ['rollback', '--to', '1', '--yes'], ['publish']]) {
      const res = await runCli([...args, '--json'], {cwd: dir, env: t.env})
      expect(res.exitCode, args.join(' ')).toBe(5)
      expect(res.json().error.message).toContain('../../../etc/cron.d/evil')
    }
    const check = await runCli(['fsck', '--json'], {cwd: dir, env: t.env})
    expect(check.exitCode).toBe(1)
    expect(JSON.stringify(check.json().findings)).toContain('../../../etc/cron.d/evil')
    // Nothing outside the store was written.
    expect(() => readFileSync(path.join(storeDir, '..', 'etc', 'cron.d', 'evil'))).toThrow()
  })
})

// MinIO too: unlike moto (single-threaded), it serves the racing conditional writes truly at once.
describe.each([LOCAL, S3, MINIO_VARIANT])('reliability on $name', (variant) => {
  it('eight concurrent publishes: each ends 0 or 3, the history holds exactly the winners, fsck clean', async () => {
    const t = await target(variant)
    const dirs = Array.from({length: 8}, (_, i) => pkg(corpus(4, `publisher ${i}`), t.url))
    // eight node processes and their validate subprocesses on two cores: each gets a budget of its own
    const runs = await Promise.all(dirs.map((cwd) => execa('node', [BIN, 'publish', '--json'], {cwd, env: {NO_COLOR: '1', ...t.env}, reject: false, timeout: budget(240_000)})))
    const codes = runs.map((r) => r.exitCode)
    expect(codes.every((c) => c === 0 || c === 3), JSON.stringify(runs.map((r) => [r.exitCode, r.stderr.slice(-300)]))).toBe(true)
    const winners = runs.filter((r) => r.exitCode === 0).map((r) => JSON.parse(r.stdout).release as number)
    expect(winners.length).toBeGreaterThanOrEqual(1)
    for (const r of runs.filter((x) => x.exitCode === 3)) expect(JSON.parse(r.stdout).error.hint).toMatch(/Re-run/)
    const history = (await runCli(['releases', '--json'], {cwd: dirs[0], env: t.env})).json()
    expect(history.releases.map((r: {id: number}) => r.id).sort()).toEqual([...winners].sort())
    const check = await runCli(['fsck', '--json'], {cwd: dirs[0], env: t.env})
    expect(check.exitCode, check.stdout).toBe(0)
    expect(check.json().findings.filter((f: {severity: string}) => f.severity !== 'info')).toEqual([])
  }, budget(300_000))

  it('publish killed with SIGKILL at every stage: HEAD is always a complete release, fsck finds no damage', async () => {
    const t = await target(variant)
    const dir = pkg(corpus(12, 'v0'), t.url)
    expect((await runCli(['publish'], {cwd: dir, env: t.env})).exitCode).toBe(0)
    const store = await openStore({url: t.url, root: dir, endpoint: t.endpoint})
    const base = '_dagctl/dev/team_a'
    const etag = async (key: string) => (await store.get(key))?.etag
    const count = async (prefix: string) => (await store.list(prefix)).length
    // Each kill waits for a stage of the publish to be reached in the store, not for a time: the
    // same stages are hit however fast or slow the machine is. The stages, in the order of writes:
    const stages = ['blobs', 'manifest', 'head', 'live'] as const
    const reached = new Map<string, number>()
    let killed = 0
    const heads = new Set<number>()
    let lagging = 0
    // 20 kills on the local store; fewer on moto, where each round's fsck reads every blob.
    const kills = variant.kind === 'local' ? 20 : 6
    for (let i = 1; killed < kills && i <= kills * 2; i++) {
      writeDags(dir, corpus(12, `v${i}`))
      const stage = stages[i % stages.length]
      const before = {blobs: await count(`${base}/blobs/`), releases: await count(`${base}/releases/`), head: await etag(`${base}/HEAD.json`), live: await etag(`${base}/live.json`)}
      // 12 new files: kill after 1 to 11 of their blobs exist, or once the manifest, HEAD or live.json moved
      const some = 1 + Math.floor(Math.random() * 11)
      const child = execa('node', [BIN, 'publish', '--no-validate'], {cwd: dir, env: {NO_COLOR: '1', ...t.env}, reject: false, timeout: budget(120_000)})
      const check = {
        blobs: async () => (await count(`${base}/blobs/`)) >= before.blobs + some,
        manifest: async () => (await count(`${base}/releases/`)) > before.releases,
        head: async () => (await etag(`${base}/HEAD.json`)) !== before.head,
        live: async () => (await etag(`${base}/live.json`)) !== before.live,
      }[stage]
      const hit = await waitFor(check, {what: `publish ${i} to reach its ${stage} stage`, timeoutMs: 120_000, intervalMs: variant.kind === 'local' ? 2 : 10, stop: () => child.exitCode !== null})
      if (hit && child.kill('SIGKILL')) {
        killed++
        reached.set(stage, (reached.get(stage) ?? 0) + 1)
      }
      await child
      const report = await fsck({store, env: 'dev'})
      expect(report.findings.filter((f) => f.severity === 'damage'), `kill ${i} (${stage})`).toEqual([])
      expect(report.packages[0].head).not.toBeNull()
      if (report.findings.some((f) => f.severity === 'lag')) lagging++
      heads.add(report.packages[0].head!)
      if (i % 5 === 0) {
        const repaired = await fsck({store, env: 'dev', repair: true})
        expect(repaired.findings.filter((f) => f.severity !== 'info')).toEqual([])
      }
    }
    expect(killed, `kills by stage ${JSON.stringify([...reached])}`).toBe(kills)
    // The kills landed both before and after HEAD moved (otherwise the test proves little).
    expect(reached.get('blobs'), JSON.stringify([...reached])).toBeGreaterThan(0)
    expect(reached.get('live'), JSON.stringify([...reached])).toBeGreaterThan(0)
    expect(heads.size, `heads ${[...heads]} lagging ${lagging}`).toBeGreaterThanOrEqual(2)
    const final = await runCli(['publish', '--json'], {cwd: dir, env: t.env})
    expect(final.exitCode, final.stderr).toBe(0)
    const report = await fsck({store, env: 'dev'})
    expect(report.findings.filter((f) => f.severity !== 'info')).toEqual([])
  }, budget(300_000))
})

describe('faults between dagctl and S3', () => {
  it('publish and rollback through resets, 500s, 503s and slow answers: succeed through retries or exit 4; fsck clean either way', async () => {
    const moto = await sharedMoto()
    const outcomes: number[] = []
    let faults = 0
    for (const seed of [1, 2, 3]) {
      const t = await target(S3)
      const proxy = await startFaultProxy({target: moto.endpoint, choose: randomFaults(0.25, ['reset', 'reset-after', '500', '503', 'slow'], seed), slowMs: 300})
      try {
        const env = {...t.env, AWS_ENDPOINT_URL_S3: proxy.endpoint}
        const dir = pkg(corpus(6, 'v1'), t.url)
        for (const step of [1, 2]) {
          if (step === 2) writeDags(dir, corpus(6, 'v2'))
          const res = await runCli(['publish', '--json'], {cwd: dir, env})
          expect([0, 4], res.stdout + res.stderr).toContain(res.exitCode)
          outcomes.push(res.exitCode)
        }
        const rb = await runCli(['rollback', '--steps', '1', '--yes', '--json'], {cwd: dir, env})
        expect([0, 2, 4], rb.stdout + rb.stderr).toContain(rb.exitCode)
        outcomes.push(rb.exitCode)
        faults += Object.values(proxy.counts.faults).reduce((a, b) => a + b, 0)
        // Checked straight against moto, without faults.
        const report = await fsck({store: await openStore({url: t.url, root: dir, endpoint: moto.endpoint}), env: 'dev'})
        expect(report.findings.filter((f) => f.severity === 'damage')).toEqual([])
      } finally {
        await proxy.stop()
      }
    }
    expect(faults).toBeGreaterThan(10)
    expect(outcomes.filter((c) => c === 0).length).toBeGreaterThanOrEqual(5)
  }, budget(300_000))
})
