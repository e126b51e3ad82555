/**
 * dagctl publish / rollback beside `aws s3 sync`, both against the same moto S3 server on loopback,
 * each through a counting proxy (the test fault proxy with no faults) so that the number of S3
 * requests is measured, not guessed.
 *
 *   (a) first upload of 1,000 DAG files
 *   (b) a fresh checkout with identical content (every mtime new, as in CI)
 *   (c) 10 files changed (fresh checkout again)
 *   rollback of the 1,000-file package whose last two releases differ in 10 files
 *       (beside it: what a sync user does, re-syncing the previous checkout)
 *
 * Validation is skipped (--no-validate) to time publishing only. Nothing here asserts a time.
 */
import {execa} from 'execa'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {startFaultProxy} from '../test/helpers/fault-proxy.js'
import {MOTO_ENV, startMoto} from '../test/helpers/moto.js'
import {ensureVenv} from '../src/python/venv.js'

const ROOT = path.resolve(import.meta.dirname, '..')
const BIN = path.join(ROOT, 'bin', 'run.js')
const FILES = 1000
const CHANGED = 10

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
function checkout(dir: string, changedVersion: number): void {
  rmSync(dir, {recursive: true, force: true})
  mkdirSync(path.join(dir, 'dags'), {recursive: true})
  writeFileSync(path.join(dir, 'dagctl.yaml'), 'package: bench\nenvironments:\n  dev:\n    store: s3://bench/dagctl\n')
  for (let i = 0; i < FILES; i++) writeFileSync(path.join(dir, 'dags', `bench_dag_${String(i).padStart(4, '0')}.py`), dagFile(i, i < CHANGED ? changedVersion : 1))
  // S3's LastModified of the previous upload is "now": a fresh checkout is newer.
  const future = new Date(Date.now() + 60_000)
  for (let i = 0; i < FILES; i++) utimesSync(path.join(dir, 'dags', `bench_dag_${String(i).padStart(4, '0')}.py`), future, future)
}

interface Run {
  seconds: number
  /** user + system CPU of the process (and its children): steadier than wall time on a busy machine */
  cpu: number
  requests: number
  detail?: string
}

export default async function bench(): Promise<void> {
  const python = ensureVenv(path.join(ROOT, 'bench', 'requirements.txt'), 'bench').python
  const moto = await startMoto(python)
  const proxy = await startFaultProxy({target: moto.endpoint})
  const work = mkdtempSync(path.join(os.tmpdir(), 'dagctl-bench-'))
  const env = {...process.env, ...MOTO_ENV, AWS_ENDPOINT_URL_S3: proxy.endpoint, NO_COLOR: '1'}
  const measure = async (cmd: string, args: string[], cwd: string): Promise<Run & {stdout: string}> => {
    proxy.resetCounts()
    const timing = path.join(work, 'time.txt')
    const t0 = performance.now()
    const res = await execa('/usr/bin/time', ['-f', '%U %S', '-o', timing, cmd, ...args], {cwd, env, reject: false})
    const seconds = (performance.now() - t0) / 1000
    if (res.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${res.exitCode}):\n${res.stderr}`)
    const [user, sys] = readFileSync(timing, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number)
    return {seconds, cpu: user + sys, requests: proxy.counts.total, stdout: res.stdout}
  }
  const dagctl = async (args: string[], cwd: string): Promise<Run> => {
    const r = await measure('node', [BIN, ...args, '--json'], cwd)
    const out = JSON.parse(r.stdout) as {release: number | null; uploaded?: number; live?: {written: number; deleted: number}}
    return {...r, detail: `release ${out.release ?? '-'}, ${out.uploaded ?? 0} blobs, live ${out.live?.written ?? 0} written/${out.live?.deleted ?? 0} removed`}
  }
  const sync = (cwd: string): Promise<Run> => measure(python, ['-m', 'awscli', 's3', 'sync', '--no-progress', '--only-show-errors', '--delete', 'dags/', 's3://bench/sync/', '--endpoint-url', proxy.endpoint], cwd)

  try {
    await moto.createBucket('bench', true)
    const pkg = path.join(work, 'pkg')
    const rows: Array<[string, Run, Run]> = []

    checkout(pkg, 1)
    rows.push(['(a) first upload', await dagctl(['publish', '--no-validate'], pkg), await sync(pkg)])
    checkout(pkg, 1)
    rows.push(['(b) fresh checkout, same content', await dagctl(['publish', '--no-validate'], pkg), await sync(pkg)])
    checkout(pkg, 2)
    rows.push([`(c) ${CHANGED} files changed`, await dagctl(['publish', '--no-validate'], pkg), await sync(pkg)])
    const previous = path.join(work, 'previous')
    checkout(previous, 1)
    rows.push([`rollback (${CHANGED} files differ)`, await dagctl(['rollback', '--steps', '1', '--yes'], pkg), await sync(previous)])

    console.log(`${FILES} DAG files of ~1.5 KB, moto ${moto.endpoint} behind a counting proxy; requests = HTTP requests to S3; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores\n`)
    const head = ['case', 'dagctl s', 'aws s3 sync s', 'speed-up', 'dagctl cpu s', 'sync cpu s', 'dagctl req', 'sync req', 'dagctl did']
    const table = [
      head,
      ...rows.map(([name, d, s]) => [name, d.seconds.toFixed(2), s.seconds.toFixed(2), `${(s.seconds / d.seconds).toFixed(1)}×`, d.cpu.toFixed(2), s.cpu.toFixed(2), String(d.requests), String(s.requests), d.detail ?? '']),
    ]
    const widths = head.map((_, i) => Math.max(...table.map((r) => r[i].length)))
    for (const r of table) console.log(r.map((c, i) => c.padEnd(widths[i])).join('  '))

    // Loopback answers in ~4 ms, so 1,001 requests cost aws s3 sync little. From a CI runner a
    // request to S3 takes tens of ms: the same cases again with 20 ms added to every request.
    const LATENCY_MS = 20
    const slow = await startFaultProxy({target: moto.endpoint, choose: () => 'slow', slowMs: LATENCY_MS})
    try {
      const slowEnv = {...env, AWS_ENDPOINT_URL_S3: slow.endpoint}
      const slowRun = async (cmd: string, args: string[], cwd: string): Promise<Run> => {
        slow.resetCounts()
        const t0 = performance.now()
        const res = await execa(cmd, args, {cwd, env: slowEnv, reject: false})
        if (res.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${res.exitCode}):\n${res.stderr}`)
        return {seconds: (performance.now() - t0) / 1000, cpu: 0, requests: slow.counts.total}
      }
      const slowSync = (cwd: string) => slowRun(python, ['-m', 'awscli', 's3', 'sync', '--no-progress', '--only-show-errors', '--delete', 'dags/', 's3://bench/sync/', '--endpoint-url', slow.endpoint], cwd)
      const slowDagctl = (args: string[], cwd: string) => slowRun('node', [BIN, ...args, '--json'], cwd)
      const slowRows: Array<[string, Run, Run]> = []
      checkout(pkg, 2)
      slowRows.push([`(c) ${CHANGED} files changed`, await slowDagctl(['publish', '--no-validate'], pkg), await slowSync(pkg)])
      checkout(pkg, 2)
      slowRows.push(['(b) fresh checkout, same content', await slowDagctl(['publish', '--no-validate'], pkg), await slowSync(pkg)])
      slowRows.push([`rollback (${CHANGED} files differ)`, await slowDagctl(['rollback', '--steps', '1', '--yes'], pkg), await slowSync(previous)])
      console.log(`\nthe same with ${LATENCY_MS} ms added to every S3 request (a CI runner's distance to S3):`)
      for (const [name, d, s] of slowRows) {
        console.log(`${name.padEnd(34)} dagctl ${d.seconds.toFixed(2)} s (${d.requests} req)  aws s3 sync ${s.seconds.toFixed(2)} s (${s.requests} req)  ${(s.seconds / d.seconds).toFixed(1)}×`)
      }
    } finally {
      await slow.stop()
    }

    // Start-up: what every command pays before its first request.
    const startup = async (args: string[]): Promise<string> => {
      const times: number[] = []
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now()
        await execa('node', [BIN, ...args], {cwd: pkg, env, reject: false})
        times.push(performance.now() - t0)
      }
      times.sort((a, b) => a - b)
      return `${Math.round(times[2])} ms`
    }
    const local = path.join(work, 'local')
    mkdirSync(local)
    writeFileSync(path.join(local, 'dagctl.yaml'), 'package: bench\n')
    console.log(`\nstart-up (median of 5): dagctl --version ${await startup(['--version'])}; list on a local store ${await startup(['list', '--store', `file://${path.join(local, 'store')}`])}; list on S3 (loads the AWS SDK) ${await startup(['list'])}`)
  } finally {
    await proxy.stop()
    await moto.stop()
    rmSync(work, {recursive: true, force: true})
  }
}
