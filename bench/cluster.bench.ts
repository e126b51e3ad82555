/**
 * `cluster up` beside `airflow standalone` alone, and the time from `publish` returning to the DAG
 * being known to Airflow's API (sync at 1 s) beside a DAG file written straight into the DAG folder
 * (Airflow's own parse: what is left without dagctl). Median of BENCH_CLUSTER_RUNS (5). Needs the
 * managed Airflow 3 venv (`dagctl python setup --airflow 3`). Nothing here asserts a time.
 */
import {execa} from 'execa'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {airflowEnv, airflowHealth, LOCAL_PASSWORD} from '../src/cluster/airflow.js'
import {detachedSpawner, freePort, processStartTime, stopProcess} from '../src/cluster/process.js'
import {ensureAirflowEnv} from '../src/python/venv.js'

const BIN = path.resolve(import.meta.dirname, '..', 'bin', 'run.js')
const RUNS = Number(process.env.BENCH_CLUSTER_RUNS ?? 5)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`

async function untilHealthy(url: string, limitMs = 600_000): Promise<void> {
  const deadline = Date.now() + limitMs
  while (!(await airflowHealth(3, url, LOCAL_PASSWORD)).healthy) {
    if (Date.now() > deadline) throw new Error(`${url} not healthy`)
    await sleep(250)
  }
}

export default async function bench(): Promise<void> {
  const python = ensureAirflowEnv(3, {stdio: 'ignore'}).python
  const root = mkdtempSync(path.join(os.tmpdir(), 'dagctl-bench-cluster-'))
  try {
    // (1) airflow standalone alone, same settings as the cluster's
    const home = path.join(root, 'alone', 'home')
    const dags = path.join(root, 'alone', 'dags')
    mkdirSync(home, {recursive: true})
    mkdirSync(dags, {recursive: true})
    writeFileSync(path.join(home, 'passwords.json'), JSON.stringify({admin: LOCAL_PASSWORD}))
    const port = await freePort()
    const env = airflowEnv({version: 3, python, home, dagsDir: dags, port, logPort: await freePort(), triggerLogPort: await freePort()})
    let t = Date.now()
    const {pid} = detachedSpawner({command: python, args: ['-m', 'airflow', 'standalone'], env, cwd: root, log: path.join(root, 'alone.log')})
    const record = {pid, startTime: processStartTime(pid) ?? '', command: [], log: ''}
    await untilHealthy(`http://127.0.0.1:${port}`)
    const alone = Date.now() - t
    await stopProcess(record)

    // (2) cluster up from nothing (venvs built) to healthy
    await execa('node', [BIN, 'init', 'bench'], {cwd: root})
    const pkg = path.join(root, 'bench')
    rmSync(path.join(pkg, 'specs'), {recursive: true, force: true})
    rmSync(path.join(pkg, 'dags'), {recursive: true, force: true})
    mkdirSync(path.join(pkg, 'specs'))
    mkdirSync(path.join(pkg, 'dags'))
    const cport = await freePort()
    t = Date.now()
    await execa('node', [BIN, 'cluster', 'up', '--port', String(cport), '--metrics-port', String(await freePort())], {cwd: pkg, env: {NO_COLOR: '1'}})
    const up = Date.now() - t
    const url = `http://127.0.0.1:${cport}`
    try {
      const token = ((await (await fetch(`${url}/auth/token`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({username: 'admin', password: LOCAL_PASSWORD})})).json()) as {access_token: string}).access_token
      const known = async (id: string) => (await fetch(`${url}/api/v2/dags/${id}`, {headers: {authorization: `Bearer ${token}`}})).status === 200
      const dagFile = (id: string) => `from airflow.sdk import DAG\nimport pendulum\nwith DAG(${JSON.stringify(id)}, schedule=None, start_date=pendulum.datetime(2024, 1, 1)):\n    pass\n`
      const wait = async (id: string, from: number) => {
        while (!(await known(id))) await sleep(100)
        return Date.now() - from
      }
      const viaPublish: number[] = []
      const direct: number[] = []
      const clusterDags = path.join(pkg, '.dagctl', 'cluster', 'local', 'dags')
      for (let i = 0; i < RUNS; i++) {
        writeFileSync(path.join(pkg, 'dags', `bench_p${i}.py`), dagFile(`bench_p${i}`))
        await execa('node', [BIN, 'publish', '--engine', 'ast', '-m', `p${i}`], {cwd: pkg, env: {NO_COLOR: '1'}})
        viaPublish.push(await wait(`bench_p${i}`, Date.now()))
        writeFileSync(path.join(clusterDags, `direct_${i}.py`), dagFile(`direct_${i}`))
        direct.push(await wait(`direct_${i}`, Date.now()))
      }
      console.log(`| case | dagctl (cluster up, publish + sync 1 s) | Airflow alone |`)
      console.log(`| --- | --- | --- |`)
      console.log(`| start to healthy | ${s(up)} (cluster up) | ${s(alone)} (airflow standalone) |`)
      console.log(`| new DAG known to the API, median of ${RUNS} | ${s(median(viaPublish))} after publish returns | ${s(median(direct))} after writing the file into the DAG folder |`)
      console.log(`  publish runs: ${viaPublish.map(s).join(', ')}; direct: ${direct.map(s).join(', ')}; load ${os.loadavg()[0].toFixed(1)}`)
    } finally {
      await execa('node', [BIN, 'cluster', 'down'], {cwd: pkg, reject: false})
    }
  } finally {
    rmSync(root, {recursive: true, force: true})
  }
}
