import {execa, type ResultPromise} from 'execa'
import {spawn} from 'node:child_process'
import {closeSync, openSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {afterAll, describe, expect, it, onTestFinished} from 'vitest'

import {openStore, type Store} from '../../src/store/index.js'
import {BIN, runCli} from '../helpers/cli.js'
import {startFaultProxy} from '../helpers/fault-proxy.js'
import {MOTO_ENV} from '../helpers/moto.js'
import {freshStore, STORE_VARIANTS, stopSharedMoto, type StoreVariant} from '../helpers/stores.js'
import {dagctlOnTerminal} from '../helpers/pty.js'
import {tempDir, writeFiles} from '../helpers/tmp.js'

afterAll(stopSharedMoto)

const LOCAL = STORE_VARIANTS[0]
const S3 = STORE_VARIANTS[1]
const LIVE = 'dev/team_a/dags/'
const META = '_dagctl/dev/team_a/'

function corpus(n: number, tag: string): Record<string, string> {
  return Object.fromEntries(Array.from({length: n}, (_, i) => [`dags/team_a_${String(i).padStart(4, '0')}.py`, `# ${tag}\nfrom airflow import DAG\ndag_id = "team_a_${i}"\n`]))
}

async function setup(variant: StoreVariant, files: number): Promise<{dir: string; env: Record<string, string>; store: Store}> {
  const s = await freshStore(variant)
  const env = s.endpoint ? {...MOTO_ENV, AWS_ENDPOINT_URL_S3: s.endpoint} : {}
  const dir = tempDir({'dagctl.yaml': `package: team_a\nenvironments:\n  dev:\n    store: ${s.url}\n`, ...corpus(files, 'v1')})
  const store = await openStore({url: s.url, root: dir, endpoint: s.endpoint})
  return {dir, env, store}
}

/** Polls (no fixed sleep) until `cond` holds or the child has exited; generous deadline for a busy machine. */
async function waitFor(cond: () => Promise<boolean>, child: ResultPromise, what: string): Promise<void> {
  const deadline = Date.now() + 300_000
  while (!(await cond())) {
    if (child.exitCode !== null && child.exitCode !== undefined) throw new Error(`the publish ended (exit ${child.exitCode}) before ${what}`)
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setImmediate(r))
  }
}

/** live.json records `release` as being written: the live-tree step has started writing files. */
async function liveMarked(store: Store, release: number): Promise<boolean> {
  const obj = await store.get(`${META}live.json`)
  return obj !== undefined && (JSON.parse(obj.body.toString()) as {pending: number[]}).pending.includes(release)
}

/** How many live files do not hold the content tagged `tag`. */
async function liveNotAt(store: Store, tag: string): Promise<number> {
  const keys = await store.list(LIVE)
  let n = 0
  for (const k of keys) if (!(await store.get(k))!.body.toString().startsWith(`# ${tag}\n`)) n++
  return n
}

describe.each([
  {variant: LOCAL, files: 3000},
  {variant: S3, files: 600},
])('SIGINT while the live tree is brought in line ($variant.name, $files files)', ({variant, files}) => {
  it('stops, says HEAD is release 2 and exactly how many live files lag, exits 130; fsck summarises the lag and exits 1; repair or the next publish heals it', {timeout: 900_000}, async () => {
    const {dir, env, store} = await setup(variant, files)
    const first = await runCli(['publish', '--no-validate'], {cwd: dir, env, timeout: 600_000})
    expect(first.exitCode, first.stderr).toBe(0)
    writeFiles(dir, corpus(files, 'v2'))
    const child = execa('node', [BIN, 'publish', '--no-validate'], {cwd: dir, env: {NO_COLOR: '1', ...env}, reject: false})
    await waitFor(() => liveMarked(store, 2), child, 'the live tree step started')
    child.kill('SIGINT')
    const done = await child
    const out = `${done.stdout}\n${done.stderr}`
    expect(done.exitCode, out).toBe(130)
    expect(out).toMatch(/HEAD is release 2 \(this release is current\)/)
    const m = /(\d+) of (\d+) live files still lag it/.exec(out)
    expect(m, out).not.toBeNull()
    const [lagging, total] = [Number(m![1]), Number(m![2])]
    expect(total).toBe(files)
    expect(lagging).toBeGreaterThan(0)
    // What it says is what the store holds.
    expect(await liveNotAt(store, 'v2')).toBe(lagging)
    expect(out).toContain('dagctl fsck --env dev --package team_a --repair')
    expect(out).toMatch(/next publish or rollback heals it too/)

    // fsck: one line for the package, no file list, exit 1 (Airflow runs the live tree).
    const check = await runCli(['fsck'], {cwd: dir, env, timeout: 600_000})
    expect(check.exitCode, check.stdout + check.stderr).toBe(1)
    const lagLines = check.stdout.split('\n').filter((l) => l.startsWith('LAG'))
    expect(lagLines, check.stdout).toEqual([
      `LAG    team_a: ${lagging} live file(s) lag release 2 (live.json says release 1 with 2 being written, HEAD is 2); run \`dagctl fsck --env dev --package team_a --repair\` (the next publish or rollback heals it too)`,
    ])
    expect(check.stdout).not.toMatch(/team_a_\d{4}\.py/)
    expect(check.stderr).toContain('--repair')
    // --verbose lists every file (into a file: a pipe's draining before exit is another test's subject).
    const listing = path.join(tempDir(), 'fsck.txt')
    const fd = openSync(listing, 'w')
    const code = await new Promise<number | null>((resolve, reject) => {
      const p = spawn('node', [BIN, 'fsck', '--verbose'], {cwd: dir, env: {...process.env, NO_COLOR: '1', ...env}, stdio: ['ignore', fd, 'ignore']})
      p.on('error', reject)
      p.on('exit', (c) => resolve(c))
    }).finally(() => closeSync(fd))
    expect(code).toBe(1)
    expect(readFileSync(listing, 'utf8').split('\n').filter((l) => /live file team_a_\d{4}\.py differs from release 2/.test(l))).toHaveLength(lagging)

    if (variant.kind === 'local') {
      // The next publish (same content: no new release) heals it.
      const again = await runCli(['publish', '--no-validate'], {cwd: dir, env, timeout: 600_000})
      expect(again.exitCode, again.stderr).toBe(0)
      expect(again.stdout + again.stderr).toMatch(/Nothing changed: release 2 stays current \(live tree healed/)
    } else {
      const repair = await runCli(['fsck', '--repair'], {cwd: dir, env, timeout: 600_000})
      expect(repair.exitCode, repair.stdout + repair.stderr).toBe(0)
      expect(repair.stdout).toMatch(/repaired: team_a: \d+ live file\(s\) written/)
    }
    expect(await liveNotAt(store, 'v2')).toBe(0)
    const clean = await runCli(['fsck'], {cwd: dir, env, timeout: 600_000})
    expect(clean.exitCode, clean.stdout).toBe(0)
    expect(clean.stdout).toMatch(/^OK$/m)
  })
})

describe('SIGTERM and SIGINT before HEAD moves (local store, and moto for the upload)', () => {
  it('SIGTERM during the upload: exit 143, nothing became current, HEAD still release 1, live tree untouched', {timeout: 600_000}, async () => {
    // S3 (moto) behind a proxy that holds the pack's PUT for 3 s: the upload is one request, so
    // this is how a signal lands while it is in flight
    const {dir, env, store} = await setup(S3, 600)
    expect((await runCli(['publish', '--no-validate'], {cwd: dir, env, timeout: 600_000})).exitCode).toBe(0)
    writeFiles(dir, corpus(600, 'v2'))
    const proxy = await startFaultProxy({target: env.AWS_ENDPOINT_URL_S3, choose: (req) => (req.method === 'PUT' && (req.url ?? '').includes('/blobs/pack-') ? 'slow' : 'pass'), slowMs: 3000})
    onTestFinished(() => proxy.stop())
    const child = execa('node', [BIN, 'publish', '--no-validate'], {cwd: dir, env: {NO_COLOR: '1', ...env, AWS_ENDPOINT_URL_S3: proxy.endpoint}, reject: false})
    await waitFor(async () => proxy.requests.some((r) => r.method === 'PUT' && r.path.includes('/blobs/pack-')), child, 'the upload started')
    child.kill('SIGTERM')
    const done = await child
    const out = `${done.stdout}\n${done.stderr}`
    expect(done.exitCode, out).toBe(143)
    expect(out).toMatch(/interrupted \(SIGTERM\) while uploading: nothing of this publish became current; HEAD is still release 1 and the live tree is unchanged/)
    expect(JSON.parse((await store.get(`${META}HEAD.json`))!.body.toString()).release).toBe(1)
    expect(await liveNotAt(store, 'v1')).toBe(0)
    const check = await runCli(['fsck'], {cwd: dir, env, timeout: 600_000})
    expect(check.exitCode, check.stdout).toBe(0)
  })

  it('rollback interrupted in the live tree says the same and --json carries the state', {timeout: 600_000}, async () => {
    const {dir, env, store} = await setup(LOCAL, 3000)
    expect((await runCli(['publish', '--no-validate'], {cwd: dir, env, timeout: 600_000})).exitCode).toBe(0)
    writeFiles(dir, corpus(3000, 'v2'))
    expect((await runCli(['publish', '--no-validate'], {cwd: dir, env, timeout: 600_000})).exitCode).toBe(0)
    const child = execa('node', [BIN, 'rollback', '--to', '1', '--yes', '--json'], {cwd: dir, env: {NO_COLOR: '1', ...env}, reject: false})
    await waitFor(() => liveMarked(store, 3), child, 'the live tree step started')
    child.kill('SIGINT')
    const done = await child
    expect(done.exitCode, done.stderr).toBe(130)
    const error = JSON.parse(done.stdout).error
    expect(error.code).toBe('INTERRUPTED')
    expect(error.details).toMatchObject({state: 'live-tree-lags', head: 3, total: 3000, repair: 'dagctl fsck --env dev --package team_a --repair'})
    expect(await liveNotAt(store, 'v1')).toBe(error.details.lagging)
  })

  it('a second SIGINT stops at once (here while validating), and says how to see the state', {timeout: 600_000}, async () => {
    const {dir, env, store} = await setup(LOCAL, 3000)
    expect((await runCli(['publish', '--no-validate'], {cwd: dir, env, timeout: 600_000})).exitCode).toBe(0)
    writeFiles(dir, corpus(3000, 'v2'))
    const child = execa('node', [BIN, 'publish'], {cwd: dir, env: {NO_COLOR: '1', ...env}, reject: false, all: true})
    let seen = ''
    child.all!.on('data', (chunk: Buffer) => (seen += chunk.toString()))
    await waitFor(async () => seen.includes('Validate and compare'), child, 'validation started')
    child.kill('SIGINT')
    await waitFor(async () => seen.includes('SIGINT received: stopping at the next safe point'), child, 'the first SIGINT was acknowledged')
    child.kill('SIGINT')
    const done = await child
    expect(done.exitCode, done.all).toBe(130)
    expect(done.stderr).toMatch(/SIGINT again: stopping at once\. HEAD always names a complete release/)
    expect(done.stderr).toMatch(/dagctl fsck --repair/)
    expect(JSON.parse((await store.get(`${META}HEAD.json`))!.body.toString()).release).toBe(1)
  })

  it('Ctrl-C at the rollback prompt: exit 130, nothing changed', {timeout: 300_000}, async () => {
    const {dir, env} = await setup(LOCAL, 2)
    expect((await runCli(['publish', '--no-validate'], {cwd: dir, env})).exitCode).toBe(0)
    writeFiles(dir, corpus(2, 'v2'))
    expect((await runCli(['publish', '--no-validate'], {cwd: dir, env})).exitCode).toBe(0)
    // On a pseudo-terminal, Ctrl-C is a keystroke readline sees (not a signal to the process).
    const res = await dagctlOnTerminal('\x03', ['rollback', '--to', '1'], {cwd: dir, env})
    expect(res.exitCode, res.stdout).toBe(130)
    expect(res.stdout).toMatch(/interrupted \(SIGINT\) at the confirmation: nothing changed/)
    expect((await runCli(['releases', '--json'], {cwd: dir, env})).json().releases).toHaveLength(2)
  })
})
