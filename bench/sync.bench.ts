/**
 * dagctl sync beside `aws s3 sync` (the loop it replaces), against the same moto S3 server on
 * loopback, each through a counting proxy so requests are measured, not guessed. 100 packages of
 * 100 DAG files each are published (in-process, no validation); `aws s3 sync` copies the same live
 * trees (`<env>/`), which is what the hand-rolled sidecar does.
 *
 *   (1) publish returning → the new file visible in DIR, loops every 1 s and 5 s (median of 5)
 *   (2) an idle cycle over the 100 packages: requests and time
 *   (3) 10 files changed in one of the 100 packages: requests and time
 *
 * BENCH_SYNC_PACKAGES, BENCH_SYNC_FILES, BENCH_SYNC_RUNS make it smaller for a quick look.
 *
 * dagctl's cycles in (2) and (3) run in-process (the sidecar is a long-lived process); each
 * `aws s3 sync` is a new process, as in the shell loop it replaces. Nothing here asserts a time.
 */
import {execa, type ResultPromise} from 'execa'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {ensureVenv} from '../src/python/venv.js'
import {publish, type PublishOptions} from '../src/release/publish.js'
import {openStore} from '../src/store/index.js'
import {Syncer} from '../src/sync/syncer.js'
import {startFaultProxy} from '../test/helpers/fault-proxy.js'
import {MOTO_ENV, startMoto} from '../test/helpers/moto.js'

const ROOT = path.resolve(import.meta.dirname, '..')
const BIN = path.join(ROOT, 'bin', 'run.js')
const PACKAGES = Number(process.env.BENCH_SYNC_PACKAGES ?? 100)
const FILES = Number(process.env.BENCH_SYNC_FILES ?? 100)
const CHANGED = 10
const RUNS = Number(process.env.BENCH_SYNC_RUNS ?? 5)
/** the packages that change in (3), (3b) and (1) */
const CHG = Math.min(7, PACKAGES - 1)
const SAME = Math.min(8, PACKAGES - 2)
const LAT = Math.min(3, PACKAGES - 3)

const name = (p: number): string => `pkg_${String(p).padStart(3, '0')}`
function dagFile(pkg: string, i: number, tag: string): string {
  return `"""${pkg}_${i} (${tag})"""\nfrom datetime import datetime\n\nfrom airflow import DAG\n\nwith DAG(dag_id="${pkg}_${i}", start_date=datetime(2025, 1, 1), schedule="@daily", catchup=False) as dag:\n    pass\n${'# padding\n'.repeat(100)}`
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

async function waitFor(cond: () => boolean, timeoutMs = 120_000, what: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

export default async function bench(): Promise<void> {
  const python = ensureVenv(path.join(ROOT, 'bench', 'requirements.txt'), 'bench').python
  const moto = await startMoto(python)
  const proxy = await startFaultProxy({target: moto.endpoint})
  const work = mkdtempSync(path.join(os.tmpdir(), 'dagctl-bench-sync-'))
  Object.assign(process.env, MOTO_ENV)
  const env = {...process.env, ...MOTO_ENV, NO_COLOR: '1'}
  const url = 's3://bench/dagctl'
  const loops: ResultPromise[] = []
  try {
    await moto.createBucket('bench', true)
    const direct = await openStore({url, root: work, endpoint: moto.endpoint})
    const pkgDir = (p: number): string => path.join(work, 'src', name(p))
    const write = (p: number, tag: (i: number) => string): void => {
      const dir = path.join(pkgDir(p), 'dags')
      mkdirSync(dir, {recursive: true})
      for (let i = 0; i < FILES; i++) writeFileSync(path.join(dir, `${name(p)}_${String(i).padStart(3, '0')}.py`), dagFile(name(p), i, tag(i)))
    }
    const pub = async (p: number): Promise<void> => {
      const options: PublishOptions = {
        store: direct,
        env: 'dev',
        pkg: name(p),
        root: pkgDir(p),
        dagsDir: path.join(pkgDir(p), 'dags'),
        extensions: [],
        validate: false,
        validateOptions: {} as PublishOptions['validateOptions'],
        allowMassRemoval: false,
        metadata: {author: 'bench', git: {}, dagctlVersion: '0.1.0'},
      }
      await publish(options)
    }
    const t0 = performance.now()
    for (let p = 0; p < PACKAGES; p++) {
      write(p, () => 'v1')
      await pub(p)
    }
    console.log(`set-up: ${PACKAGES} packages × ${FILES} files published in ${((performance.now() - t0) / 1000).toFixed(0)} s`)

    const viaProxy = await openStore({url, root: work, endpoint: proxy.endpoint})
    const dagctlDir = path.join(work, 'dagctl-dags')
    const awsDir = path.join(work, 'aws-dags')
    const syncer = new Syncer({store: viaProxy, env: 'dev', dir: dagctlDir, graceMs: 300_000})
    const awsSync = (dest: string, endpoint: string): string[] => ['-m', 'awscli', 's3', 'sync', '--no-progress', '--only-show-errors', '--delete', 's3://bench/dagctl/dev/', dest, '--endpoint-url', endpoint]
    const measure = async <T>(fn: () => Promise<T>): Promise<{seconds: number; requests: number}> => {
      proxy.resetCounts()
      const t = performance.now()
      await fn()
      return {seconds: (performance.now() - t) / 1000, requests: proxy.counts.total}
    }
    const first = {dagctl: await measure(() => syncer.cycle()), aws: await measure(() => execa(python, awsSync(awsDir, proxy.endpoint), {env}))}
    // (2) idle
    const idleD: Array<{seconds: number; requests: number}> = []
    const idleA: Array<{seconds: number; requests: number}> = []
    for (let i = 0; i < 3; i++) {
      idleD.push(await measure(() => syncer.cycle()))
      idleA.push(await measure(() => execa(python, awsSync(awsDir, proxy.endpoint), {env})))
    }
    // (3) 10 files changed in one package (their size changes too: see 3b)
    write(CHG, (i) => (i < CHANGED ? 'v2-changed' : 'v1'))
    await pub(CHG)
    const changedD = await measure(async () => {
      const r = await syncer.cycle()
      if (!r.packages.some((p) => p.package === name(CHG) && p.status === 'updated' && p.downloaded === CHANGED)) throw new Error(`unexpected: ${JSON.stringify(r.packages.find((p) => p.package === name(CHG)))}`)
    })
    const changedA = await measure(() => execa(python, awsSync(awsDir, proxy.endpoint), {env}))
    // (3b) the same, but each changed file keeps its size: what does each side have afterwards?
    write(SAME, (i) => (i < CHANGED ? 'v3' : 'v1'))
    await pub(SAME)
    await syncer.cycle()
    await execa(python, awsSync(awsDir, proxy.endpoint), {env})
    const fresh = (file: string): boolean => readFileSync(file, 'utf8').includes('(v3)')
    const sameSize = {
      dagctl: Array.from({length: CHANGED}, (_, i) => fresh(path.join(dagctlDir, name(SAME), `${name(SAME)}_${String(i).padStart(3, '0')}.py`))).filter(Boolean).length,
      aws: Array.from({length: CHANGED}, (_, i) => fresh(path.join(awsDir, name(SAME), 'dags', `${name(SAME)}_${String(i).padStart(3, '0')}.py`))).filter(Boolean).length,
    }
    await syncer.close()

    // (1) publish returning → visible, both as loops (dagctl sync's loop; aws s3 sync in a shell loop)
    const latency: Record<string, {dagctl: number[]; aws: number[]}> = {}
    let sizeStep = 0
    for (const interval of [1, 5]) {
      const dDir = path.join(work, `loop-dagctl-${interval}`)
      const aDir = path.join(work, `loop-aws-${interval}`)
      const d = execa('node', [BIN, 'sync', '--store', url, '--endpoint', moto.endpoint, '--to', dDir, '--interval', `${interval}s`], {env, reject: false})
      const a = execa('bash', ['-c', `while true; do "${python}" ${awsSync(aDir, moto.endpoint).map((x) => `'${x}'`).join(' ')}; sleep ${interval}; done`], {env, reject: false})
      loops.push(d, a)
      // aws s3 sync copies the live trees as they are in the bucket: <package>/dags/<file>
      const target = (dir: string): string => (dir === aDir ? path.join(dir, name(LAT), 'dags', `${name(LAT)}_000.py`) : path.join(dir, name(LAT), `${name(LAT)}_000.py`))
      // both loops through their first full copy: the last file of the last package is there
      const last = name(PACKAGES - 1)
      const lastFile = `${last}_${String(FILES - 1).padStart(3, '0')}.py`
      await waitFor(() => existsSync(path.join(dDir, last, lastFile)) && existsSync(path.join(aDir, last, 'dags', lastFile)), 900_000)
      await new Promise((r) => setTimeout(r, interval * 1000 + 2000))
      latency[interval] = {dagctl: [], aws: []}
      for (let run = 0; run < RUNS; run++) {
        // a size that changes every run: downloading, aws s3 sync skips a changed object of the same
        // size (it only compares LastModified one way), which would leave it waiting forever
        const tag = `i${interval}r${run}${'_'.repeat(++sizeStep)}`
        write(LAT, (i) => (i === 0 ? tag : 'v1'))
        await pub(LAT)
        const published = performance.now()
        const seen = {dagctl: 0, aws: 0}
        await waitFor(() => {
          if (!seen.dagctl && existsSync(target(dDir)) && readFileSync(target(dDir), 'utf8').includes(`(${tag})`)) seen.dagctl = performance.now()
          if (!seen.aws && existsSync(target(aDir)) && readFileSync(target(aDir), 'utf8').includes(`(${tag})`)) seen.aws = performance.now()
          return Boolean(seen.dagctl && seen.aws)
        }, 120_000, () => `release ${tag} (seen: ${JSON.stringify(seen)};)`)
        latency[interval].dagctl.push((seen.dagctl - published) / 1000)
        latency[interval].aws.push((seen.aws - published) / 1000)
      }
      d.kill('SIGTERM')
      a.kill('SIGKILL')
      await Promise.allSettled([d, a])
    }

    console.log(`\nmoto ${moto.endpoint} behind a counting proxy; requests = HTTP requests to S3; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores\n`)
    const rows: string[][] = [['case', 'dagctl sync', 'aws s3 sync', 'ratio']]
    for (const interval of [1, 5]) {
      const dm = median(latency[interval].dagctl)
      const am = median(latency[interval].aws)
      rows.push([`(1) publish → visible, every ${interval}s (median of ${RUNS})`, `${dm.toFixed(2)} s`, `${am.toFixed(2)} s`, `${(am / dm).toFixed(1)}×`])
    }
    const idleDm = {seconds: median(idleD.map((x) => x.seconds)), requests: median(idleD.map((x) => x.requests))}
    const idleAm = {seconds: median(idleA.map((x) => x.seconds)), requests: median(idleA.map((x) => x.requests))}
    rows.push([`(2) idle cycle, ${PACKAGES} packages (median of 3)`, `${idleDm.seconds.toFixed(2)} s, ${idleDm.requests} req`, `${idleAm.seconds.toFixed(2)} s, ${idleAm.requests} req`, `${(idleAm.seconds / idleDm.seconds).toFixed(1)}× time, ${(idleAm.requests / idleDm.requests).toFixed(2)}× req`])
    rows.push([`(3) ${CHANGED} files changed in 1 of ${PACKAGES}`, `${changedD.seconds.toFixed(2)} s, ${changedD.requests} req`, `${changedA.seconds.toFixed(2)} s, ${changedA.requests} req`, `${(changedA.seconds / changedD.seconds).toFixed(1)}× time, ${(changedA.requests / changedD.requests).toFixed(2)}× req`])
    rows.push([`(3b) ${CHANGED} files changed, same size: files updated`, `${sameSize.dagctl} of ${CHANGED}`, `${sameSize.aws} of ${CHANGED}`, ''])
    rows.push([`first sync of ${PACKAGES * FILES} files`, `${first.dagctl.seconds.toFixed(2)} s, ${first.dagctl.requests} req`, `${first.aws.seconds.toFixed(2)} s, ${first.aws.requests} req`, ''])
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
    for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i])).join('  '))
    console.log(`\n(1) raw, seconds: ${JSON.stringify(latency)}`)
  } finally {
    for (const l of loops) l.kill('SIGKILL')
    await Promise.allSettled(loops)
    await proxy.stop()
    await moto.stop()
    rmSync(work, {recursive: true, force: true})
  }
}
