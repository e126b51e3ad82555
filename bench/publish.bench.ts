/**
 * dagctl publish / rollback beside `aws s3 sync`, on two S3 servers on loopback: moto (single-
 * threaded Python: every request waits its turn, so it measures request counts) and MinIO (Go,
 * concurrent: it shows what parallel requests buy). For each server and each tool, REPS sequences
 * in a fresh bucket, timed straight against the server (medians shown), and one more sequence
 * through a counting proxy (the test fault proxy with no faults) for the number of S3 requests:
 *
 *   (a) first upload of 1,000 DAG files
 *   (b) a fresh checkout with identical content (every mtime new, as in CI)
 *   (c) 10 files changed (fresh checkout again)
 *   rollback of the 1,000-file package whose last two releases differ in 10 files
 *       (beside it: what a sync user does, re-syncing the previous checkout)
 *
 * DAGCTL_BENCH_BEFORE=/path/to/an/older/bin/run.js adds that build as a column ("before"), measured
 * in the same run under the same load. DAGCTL_BENCH_REPS (default 3), DAGCTL_BENCH_SERVERS
 * (default "moto,minio"). Validation is skipped (--no-validate) to time publishing only, unless
 * DAGCTL_BENCH_VALIDATE=1: then every publish validates as a user's does by default, with the ast
 * engine (set in dagctl.yaml: `auto` would pick a managed Airflow venv where one is built), which
 * is where reusing HEAD's validation shows. Nothing here asserts a time.
 */
import {execa} from 'execa'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {startFaultProxy} from '../test/helpers/fault-proxy.js'
import {startMinio} from '../test/helpers/minio.js'
import {MOTO_ENV, startMoto, type S3TestServer} from '../test/helpers/moto.js'
import {ensureMinio} from '../test/setup/minio-build.js'
import {ensureVenv} from '../src/python/venv.js'
import {nodeEnv} from './node-lines.js'

const ROOT = path.resolve(import.meta.dirname, '..')
const BIN = path.join(ROOT, 'bin', 'run.js')

/**
 * The whole environment of a tool the bench runs (dagctl, aws, node; with extendEnv: false): an S3
 * server on loopback over http, and no NODE_EXTRA_CA_CERTS, which Node 20 reads at every start
 * (bench/node-lines.ts) and no tool here needs
 */
const toolEnv = (endpoint: string): NodeJS.ProcessEnv => ({...nodeEnv(), ...MOTO_ENV, AWS_ENDPOINT_URL_S3: endpoint, NO_COLOR: '1'})
const FILES = 1000
const CHANGED = 10
const REPS = Number(process.env.DAGCTL_BENCH_REPS ?? 3)
const SERVERS = (process.env.DAGCTL_BENCH_SERVERS ?? 'moto,minio').split(',').map((s) => s.trim())
const VALIDATE = process.env.DAGCTL_BENCH_VALIDATE === '1'
const PUBLISH = VALIDATE ? ['publish'] : ['publish', '--no-validate']
const CASES = ['(a) first upload', '(b) fresh checkout, same content', `(c) ${CHANGED} files changed`, `rollback (${CHANGED} files differ)`] as const

function dagFile(i: number, version: number): string {
  const id = `bench_dag_${String(i).padStart(4, '0')}`
  return `"""${id}: generated for the publish benchmark (v${version})."""
from datetime import datetime

from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG(dag_id="${id}", start_date=datetime(2025, 1, 1), schedule="@daily", catchup=False, tags=["bench"]) as dag:
    start = EmptyOperator(task_id="start")
    work = [EmptyOperator(task_id=f"work_{n}") for n in range(${5 + (i % 7)})]
    end = EmptyOperator(task_id="end")
    start >> work >> end
${'# padding to a realistic size\n'.repeat(20)}`
}

/** A checkout of the package: every file written now, as a CI clone does. */
function checkout(dir: string, changedVersion: number, store: string): void {
  rmSync(dir, {recursive: true, force: true})
  mkdirSync(path.join(dir, 'dags'), {recursive: true})
  writeFileSync(path.join(dir, 'dagctl.yaml'), `package: bench\n${VALIDATE ? 'validate:\n  engine: ast\n' : ''}environments:\n  dev:\n    store: ${store}\n`)
  for (let i = 0; i < FILES; i++) writeFileSync(path.join(dir, 'dags', `bench_dag_${String(i).padStart(4, '0')}.py`), dagFile(i, i < CHANGED ? changedVersion : 1))
  // S3's LastModified of the previous upload is "now": a fresh checkout is newer.
  const future = new Date(Date.now() + 60_000)
  for (let i = 0; i < FILES; i++) utimesSync(path.join(dir, 'dags', `bench_dag_${String(i).padStart(4, '0')}.py`), future, future)
}

interface Run {
  seconds: number
  /** user + system CPU of the process (and its children): steadier than wall time on a busy machine */
  cpu: number
  detail?: string
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

export default async function bench(): Promise<void> {
  const python = ensureVenv(path.join(ROOT, 'bench', 'requirements.txt'), 'bench').python
  const work = mkdtempSync(path.join(os.tmpdir(), 'dagctl-bench-'))
  const tools: Array<{name: string; bin?: string}> = [{name: 'dagctl', bin: BIN}]
  if (process.env.DAGCTL_BENCH_BEFORE) tools.push({name: 'before', bin: path.resolve(process.env.DAGCTL_BENCH_BEFORE)})
  tools.push({name: 'aws s3 sync'})
  let bucketSeq = 0

  const measure = async (cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run & {stdout: string}> => {
    const timing = path.join(work, 'time.txt')
    const t0 = performance.now()
    const res = await execa('/usr/bin/time', ['-f', '%U %S', '-o', timing, cmd, ...args], {cwd, env, extendEnv: false, reject: false})
    const seconds = (performance.now() - t0) / 1000
    if (res.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${res.exitCode}):\n${res.stderr}`)
    const [user, sys] = readFileSync(timing, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number)
    return {seconds, cpu: user + sys, stdout: res.stdout}
  }

  /** One sequence of the four cases for one tool in a fresh bucket; `endpoint` may be the counting proxy. */
  const sequence = async (server: S3TestServer, tool: {name: string; bin?: string}, endpoint: string, onCase?: () => void): Promise<Run[]> => {
    const bucket = `bench-${++bucketSeq}`
    await server.createBucket(bucket, true)
    const env = toolEnv(endpoint)
    const timed = async <R extends Run>(r: Promise<R>): Promise<R> => {
      const out = await r
      onCase?.()
      return out
    }
    const pkg = path.join(work, 'pkg')
    const previous = path.join(work, 'previous')
    const store = `s3://${bucket}/dagctl`
    if (tool.bin) {
      const dagctl = async (args: string[]): Promise<Run> => {
        // a fresh CI job: no local result cache of earlier runs (DAGCTL_CACHE_DIR empty each time)
        const runEnv = VALIDATE ? {...env, DAGCTL_CACHE_DIR: mkdtempSync(path.join(work, 'cache-'))} : env
        const r = await timed(measure('node', [tool.bin!, ...args, '--json'], pkg, runEnv))
        const out = JSON.parse(r.stdout) as {release: number | null; uploaded?: number; live?: {written: number; deleted: number}; validation?: {validated?: number; reused?: number}}
        const checked = out.validation?.validated === undefined ? '' : `, validated ${out.validation.validated}/reused ${out.validation.reused ?? 0}`
        return {...r, detail: `release ${out.release ?? '-'}, ${out.uploaded ?? 0} blobs, live ${out.live?.written ?? 0} written/${out.live?.deleted ?? 0} removed${checked}`}
      }
      checkout(pkg, 1, store)
      const a = await dagctl(PUBLISH)
      checkout(pkg, 1, store)
      const b = await dagctl(PUBLISH)
      checkout(pkg, 2, store)
      const c = await dagctl(PUBLISH)
      const r = await dagctl(['rollback', '--steps', '1', '--yes'])
      return [a, b, c, r]
    }
    const sync = (cwd: string) => timed(measure(python, ['-m', 'awscli', 's3', 'sync', '--no-progress', '--only-show-errors', '--delete', 'dags/', `s3://${bucket}/sync/`, '--endpoint-url', endpoint], cwd, env))
    checkout(pkg, 1, store)
    const a = await sync(pkg)
    checkout(pkg, 1, store)
    const b = await sync(pkg)
    checkout(pkg, 2, store)
    const c = await sync(pkg)
    checkout(previous, 1, store)
    const r = await sync(previous)
    return [a, b, c, r]
  }

  let lastMoto: S3TestServer | undefined
  try {
    console.log(`${FILES} DAG files of ~1.5 KB, ${VALIDATE ? 'validated (ast engine)' : 'publish --no-validate'}; times are medians of ${REPS} runs straight against each server on loopback; requests counted in one more run through a counting proxy`)
    console.log(`load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} cores at the start\n`)
    for (const kind of SERVERS) {
      const server = kind === 'minio' ? await startMinio(await ensureMinio({onProgress: (m) => console.error(m)})) : await startMoto(python)
      try {
        const runs = new Map<string, Run[][]>()
        const requests = new Map<string, number[]>()
        // Interleaved: each repetition runs every tool once, so a change of load hits them alike.
        for (let rep = 0; rep <= REPS; rep++) {
          for (const tool of tools) {
            if (rep === 0) {
              const proxy = await startFaultProxy({target: server.endpoint})
              const counts: number[] = []
              try {
                await sequence(server, tool, proxy.endpoint, () => {
                  counts.push(proxy.counts.total)
                  proxy.resetCounts()
                })
              } finally {
                await proxy.stop()
              }
              requests.set(tool.name, counts)
            } else {
              const list = runs.get(tool.name) ?? []
              list.push(await sequence(server, tool, server.endpoint))
              runs.set(tool.name, list)
            }
          }
        }
        console.log(`--- ${kind} (${server.endpoint}) ---`)
        const sync = 'aws s3 sync'
        const head = ['case', ...tools.map((t) => `${t.name} s`), 'speed-up vs sync', ...tools.map((t) => `${t.name} cpu s`), ...tools.map((t) => `${t.name} req`), 'dagctl did']
        const table = [
          head,
          ...CASES.map((name, i) => {
            const sec = (t: string) => median((runs.get(t) ?? []).map((seq) => seq[i].seconds))
            const cpu = (t: string) => median((runs.get(t) ?? []).map((seq) => seq[i].cpu))
            return [
              name,
              ...tools.map((t) => sec(t.name).toFixed(2)),
              `${(sec(sync) / sec('dagctl')).toFixed(1)}×`,
              ...tools.map((t) => cpu(t.name).toFixed(2)),
              ...tools.map((t) => String(requests.get(t.name)?.[i] ?? '?')),
              runs.get('dagctl')?.[0]?.[i].detail ?? '',
            ]
          }),
        ]
        const widths = head.map((_, i) => Math.max(...table.map((r) => r[i].length)))
        for (const r of table) console.log(r.map((c, i) => c.padEnd(widths[i])).join('  '))
        console.log(`load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`)
      } finally {
        if (kind === 'moto') lastMoto = server
        else await server.stop()
      }
    }

    // Loopback answers in ~4 ms, so 1,001 requests cost aws s3 sync little. From a CI runner a
    // request to S3 takes tens of ms: the same cases again with 20 ms added to every request (moto).
    const moto = lastMoto ?? (await startMoto(python))
    lastMoto = moto
    const LATENCY_MS = 20
    const slow = await startFaultProxy({target: moto.endpoint, choose: () => 'slow', slowMs: LATENCY_MS})
    try {
      await moto.createBucket('slow', true)
      const pkg = path.join(work, 'pkg')
      const previous = path.join(work, 'previous')
      const store = 's3://slow/dagctl'
      const slowEnv = toolEnv(slow.endpoint)
      const slowRun = async (cmd: string, args: string[], cwd: string): Promise<{seconds: number; requests: number}> => {
        slow.resetCounts()
        const t0 = performance.now()
        const res = await execa(cmd, args, {cwd, env: slowEnv, extendEnv: false, reject: false})
        if (res.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${res.exitCode}):\n${res.stderr}`)
        return {seconds: (performance.now() - t0) / 1000, requests: slow.counts.total}
      }
      const slowSync = (cwd: string) => slowRun(python, ['-m', 'awscli', 's3', 'sync', '--no-progress', '--only-show-errors', '--delete', 'dags/', 's3://slow/sync/', '--endpoint-url', slow.endpoint], cwd)
      const slowDagctl = (args: string[]) => {
        if (VALIDATE) slowEnv.DAGCTL_CACHE_DIR = mkdtempSync(path.join(work, 'cache-'))
        return slowRun('node', [BIN, ...args, '--json'], pkg)
      }
      // seed both sides without latency
      checkout(pkg, 1, store)
      const seedEnv = {...slowEnv, AWS_ENDPOINT_URL_S3: moto.endpoint}
      await execa('node', [BIN, ...PUBLISH], {cwd: pkg, env: seedEnv})
      await execa(python, ['-m', 'awscli', 's3', 'sync', '--only-show-errors', 'dags/', 's3://slow/sync/', '--endpoint-url', moto.endpoint], {cwd: pkg, env: seedEnv})
      const slowRows: Array<[string, {seconds: number; requests: number}, {seconds: number; requests: number}]> = []
      checkout(pkg, 2, store)
      slowRows.push([`(c) ${CHANGED} files changed`, await slowDagctl(PUBLISH), await slowSync(pkg)])
      checkout(pkg, 2, store)
      slowRows.push(['(b) fresh checkout, same content', await slowDagctl(PUBLISH), await slowSync(pkg)])
      checkout(previous, 1, store)
      slowRows.push([`rollback (${CHANGED} files differ)`, await slowDagctl(['rollback', '--steps', '1', '--yes']), await slowSync(previous)])
      console.log(`the same on moto with ${LATENCY_MS} ms added to every S3 request (a CI runner's distance to S3), one run each:`)
      for (const [name, d, s] of slowRows) {
        console.log(`${name.padEnd(34)} dagctl ${d.seconds.toFixed(2)} s (${d.requests} req)  aws s3 sync ${s.seconds.toFixed(2)} s (${s.requests} req)  ${(s.seconds / d.seconds).toFixed(1)}×`)
      }
    } finally {
      await slow.stop()
    }

    // Start-up: what every command pays before its first request.
    const startup = async (args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<string> => {
      const times: number[] = []
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now()
        await execa('node', [BIN, ...args], {cwd, env, extendEnv: false, reject: false})
        times.push(performance.now() - t0)
      }
      return `${Math.round(median(times))} ms`
    }
    const local = path.join(work, 'local')
    mkdirSync(local)
    writeFileSync(path.join(local, 'dagctl.yaml'), 'package: bench\nenvironments:\n  dev:\n    store: s3://slow/dagctl\n')
    const env = toolEnv(moto.endpoint)
    console.log(
      `\nstart-up (median of 5): dagctl --version ${await startup(['--version'], env, local)}; list on a local store ${await startup(['list', '--store', `file://${path.join(local, 'store')}`], env, local)}; list on S3 (loads the AWS SDK) ${await startup(['list'], env, local)}`,
    )
  } finally {
    await lastMoto?.stop()
    rmSync(work, {recursive: true, force: true})
  }
}
