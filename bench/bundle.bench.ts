/**
 * What a DAG processor's bundle refresh costs: DagctlBundle beside the amazon provider's S3DagBundle
 * (what Airflow 3 offers for an object store), on the same 1,000-file package in moto, each through
 * a counting proxy (S3 requests measured), once on loopback and once with 20 ms added to every
 * request (a cluster's distance to S3). Cases: (a) first refresh on an empty machine, (b) refresh
 * with nothing published, (c) refresh after a release that changes 10 files. The time is that of
 * the refresh call itself (bench/bundle_refresh.py), not of the Python start-up. Nothing here
 * asserts a time.
 */
import {execa} from 'execa'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {ensureAirflowEnv, ensureVenv} from '../src/python/venv.js'
import {startFaultProxy} from '../test/helpers/fault-proxy.js'
import {MOTO_ENV, startMoto} from '../test/helpers/moto.js'

const ROOT = path.resolve(import.meta.dirname, '..')
const BIN = path.join(ROOT, 'bin', 'run.js')
const FILES = 1000
const CHANGED = 10

const dagFile = (i: number, version: number) => {
  const id = `bench_dag_${String(i).padStart(4, '0')}`
  return `"""${id} (v${version})"""\nfrom datetime import datetime\nfrom airflow.sdk import DAG\nfrom airflow.providers.standard.operators.empty import EmptyOperator\n\nwith DAG(dag_id="${id}", start_date=datetime(2025, 1, 1), schedule="@daily", catchup=False):\n    EmptyOperator(task_id="start") >> [EmptyOperator(task_id=f"work_{n}") for n in range(${5 + (i % 7)})]\n${'# padding to a realistic size\n'.repeat(20)}`
}

export default async function bench(): Promise<void> {
  const testPython = ensureVenv(path.join(ROOT, 'test', 'requirements.txt'), 'test').python
  const airflowPython = ensureAirflowEnv(3).python
  const moto = await startMoto(testPython)
  const work = mkdtempSync(path.join(os.tmpdir(), 'dagctl-bench-bundle-'))
  const pkg = path.join(work, 'pkg')
  const write = (changedVersion: number) => {
    mkdirSync(path.join(pkg, 'dags'), {recursive: true})
    writeFileSync(path.join(pkg, 'dagctl.yaml'), 'package: bench\nenvironments:\n  dev: {}\n')
    for (let i = 0; i < FILES; i++) writeFileSync(path.join(pkg, 'dags', `bench_dag_${String(i).padStart(4, '0')}.py`), dagFile(i, i < CHANGED ? changedVersion : 1))
  }
  let version = 0
  const publish = async () => {
    write(++version)
    const res = await execa('node', [BIN, 'publish', '--no-validate', '--allow-mass-removal', '--store', `s3://bench/${prefix}`, '--endpoint', moto.endpoint], {cwd: pkg, env: {...MOTO_ENV}, reject: false})
    if (res.exitCode !== 0) throw new Error(res.stderr)
  }
  let prefix = ''
  try {
    await moto.createBucket('bench', true)
    for (const latency of [0, 20]) {
      prefix = `airflow-${latency}`
      version = 0
      await publish()
      const proxy = await startFaultProxy({target: moto.endpoint, ...(latency ? {choose: () => 'slow' as const, slowMs: latency} : {})})
      const storage = path.join(work, `bundles-${latency}`)
      const env = {
        ...process.env,
        ...MOTO_ENV,
        PYTHONPATH: path.join(ROOT, 'python', 'dagctl_airflow'),
        AIRFLOW_HOME: path.join(work, 'home'),
        AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
        AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH: storage,
        AIRFLOW_CONN_AWS_DEFAULT: JSON.stringify({conn_type: 'aws', extra: {endpoint_url: proxy.endpoint, region_name: 'us-east-1'}}),
      }
      const refresh = async (kind: 'dagctl' | 's3', step: string) => {
        proxy.resetCounts()
        const res = await execa(airflowPython, [path.join(ROOT, 'bench', 'bundle_refresh.py'), kind, step, 'bench', prefix, proxy.endpoint], {env, reject: false})
        if (res.exitCode !== 0) throw new Error(`${kind} ${step}: ${res.stderr}`)
        const out = JSON.parse(res.stdout.trim().split('\n').at(-1)!) as {seconds: number; files: number}
        return {...out, requests: proxy.counts.total}
      }
      const rows: Array<[string, Awaited<ReturnType<typeof refresh>>, Awaited<ReturnType<typeof refresh>>]> = []
      rows.push(['(a) first refresh, empty machine', await refresh('dagctl', 'cold'), await refresh('s3', 'cold')])
      rows.push(['(b) nothing published since', await refresh('dagctl', 'same'), await refresh('s3', 'same')])
      await publish()
      rows.push([`(c) a release changed ${CHANGED} files`, await refresh('dagctl', 'changed'), await refresh('s3', 'changed')])
      await proxy.stop()
      console.log(`\n${FILES} DAG files, moto behind a counting proxy${latency ? `, +${latency} ms per request` : ' (loopback)'}; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`)
      const head = ['case', 'DagctlBundle s', 'S3DagBundle s', 'DagctlBundle req', 'S3DagBundle req', 'files']
      const table = [head, ...rows.map(([name, d, s]) => [name, d.seconds.toFixed(2), s.seconds.toFixed(2), String(d.requests), String(s.requests), `${d.files}/${s.files}`])]
      const widths = head.map((_, i) => Math.max(...table.map((r) => r[i].length)))
      for (const r of table) console.log(r.map((c, i) => c.padEnd(widths[i])).join('  '))
    }
    console.log('\nDagctlBundle also keeps every release in a folder of its own (runs keep theirs); S3DagBundle has one folder, no versions.')
  } finally {
    await moto.stop()
    rmSync(work, {recursive: true, force: true})
  }
}
