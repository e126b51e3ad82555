import {execa} from 'execa'
import {existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'

import {openStore, type Store} from '../../src/store/index.js'
import {startAirflow, type AirflowServer} from '../helpers/airflow-server.js'
import {budget} from '../helpers/budget.js'
import {REPO_ROOT, runCli} from '../helpers/cli.js'
import {MOTO_ENV, startMoto, type Moto} from '../helpers/moto.js'

/**
 * DagctlBundle in a real Airflow 3 (standalone: scheduler, dag-processor, api-server, triggerer,
 * LocalExecutor), package `acme` in a bucket on moto, releases written by the built CLI. A run
 * keeps the release it started on; new runs take HEAD; rollback is what new runs get; a damaged
 * HEAD is refused by the DAG processor, which keeps the last good release.
 */
const BUCKET = 'dagctl-bundle'
const PREFIX = 'airflow'
const DAG_ID = 'acme_pinned'
const MINUTE = 60_000

let moto: Moto
let airflow: AirflowServer
let store: Store
let work: string
let pkgDir: string
let signals: string
let out: string

function dagFile(code: string): string {
  return `import json, os, time
import pendulum
from airflow.sdk import DAG, task

CODE = ${JSON.stringify(code)}
SIGNALS = ${JSON.stringify(signals)}
OUT = ${JSON.stringify(out)}

with DAG(${JSON.stringify(DAG_ID)}, schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False, is_paused_upon_creation=False):
    @task
    def wait_for_signal(**context):
        # the test lets this run go on by writing SIGNALS/<run_id>
        signal = os.path.join(SIGNALS, context["dag_run"].run_id)
        deadline = time.monotonic() + 900
        while not os.path.exists(signal):
            if time.monotonic() > deadline:
                raise TimeoutError(signal)
            time.sleep(0.5)

    @task
    def report(**context):
        with open(os.path.join(OUT, context["dag_run"].run_id + ".json"), "w") as f:
            json.dump({"code": CODE, "file": __file__}, f)

    wait_for_signal() >> report()
`
}

const storeArgs = () => ['--store', `s3://${BUCKET}/${PREFIX}`, '--endpoint', moto.endpoint]

async function publish(code: string, message: string): Promise<number> {
  writeFileSync(path.join(pkgDir, 'dags', `${DAG_ID}.py`), dagFile(code))
  const res = await runCli(['publish', '--json', '--no-validate', '-m', message, ...storeArgs()], {cwd: pkgDir, env: MOTO_ENV})
  expect(res.exitCode, res.stderr).toBe(0)
  return res.json().release
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 5 * MINUTE): Promise<T> {
  const deadline = Date.now() + budget(timeoutMs)
  for (;;) {
    const value = await probe().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n--- airflow log ---\n${airflow.logTail()}`)
    await new Promise((r) => setTimeout(r, 1000))
  }
}

/** Airflow's log without colours */
const plainLog = () => airflow.logText().replace(/\x1b\[[0-9;]*m/g, '')

/** the DAG's bundle version as the DAG processor last parsed it */
async function dagVersion(): Promise<string | undefined> {
  const res = await airflow.api<{bundle_name: string; bundle_version: string | null}>('GET', `/dags/${DAG_ID}`)
  return res.status === 200 ? (res.body.bundle_version ?? undefined) : undefined
}

async function waitForDagVersion(version: string): Promise<void> {
  await waitFor(`${DAG_ID} parsed at bundle version ${version}`, async () => ((await dagVersion()) === version ? true : undefined))
}

async function trigger(runId: string, {released}: {released: boolean}): Promise<void> {
  if (released) writeFileSync(path.join(signals, runId), '')
  const res = await airflow.api('POST', `/dags/${DAG_ID}/dagRuns`, {dag_run_id: runId, logical_date: null})
  expect(res.status, JSON.stringify(res.body)).toBe(200)
}

async function run(runId: string): Promise<{state: string; bundle_version: string | null}> {
  return (await airflow.api('GET', `/dags/${DAG_ID}/dagRuns/${runId}`)).body
}

async function finished(runId: string): Promise<{code: string; file: string; bundleVersion: string | null}> {
  const r = await waitFor(`run ${runId} to finish`, async () => {
    const state = await run(runId)
    if (state.state === 'failed') throw new Error(`run ${runId} failed\n${airflow.logTail()}`)
    return state.state === 'success' ? state : undefined
  })
  const report = JSON.parse(readFileSync(path.join(out, `${runId}.json`), 'utf8'))
  return {code: report.code, file: report.file, bundleVersion: r.bundle_version}
}

async function taskState(runId: string, taskId: string): Promise<string | undefined> {
  const res = await airflow.api<{state: string | null}>('GET', `/dags/${DAG_ID}/dagRuns/${runId}/taskInstances/${taskId}`)
  return res.status === 200 ? (res.body.state ?? undefined) : undefined
}

beforeAll(async () => {
  work = path.join(os.tmpdir(), `dagctl-bundle-airflow-${process.pid}`)
  pkgDir = path.join(work, 'acme')
  signals = path.join(work, 'signals')
  out = path.join(work, 'out')
  for (const d of [path.join(pkgDir, 'dags'), signals, out]) mkdirSync(d, {recursive: true})
  writeFileSync(path.join(pkgDir, 'dagctl.yaml'), 'package: acme\nenvironments:\n  dev: {}\n')
  moto = await startMoto(inject('testPython'))
  await moto.createBucket(BUCKET, true)
  Object.assign(process.env, MOTO_ENV)
  store = await openStore({url: `s3://${BUCKET}/${PREFIX}`, root: work, endpoint: moto.endpoint})
  expect(await publish('release-1 code', 'first')).toBe(1)
  const bundles = [
    {name: 'dags-folder', classpath: 'airflow.dag_processing.bundles.local.LocalDagBundle', kwargs: {}},
    {
      name: 'acme',
      classpath: 'dagctl_airflow.DagctlBundle',
      kwargs: {
        store: `s3://${BUCKET}/${PREFIX}`,
        env: 'dev',
        package: 'acme',
        s3_endpoint: moto.endpoint,
        refresh_interval: 2,
        view_url_template: 'https://dags.example.com/acme/releases/{version}',
      },
    },
  ]
  airflow = await startAirflow(3, inject('airflowPython')['3'], {
    env: {
      ...MOTO_ENV,
      PYTHONPATH: path.join(REPO_ROOT, 'python', 'dagctl_airflow'),
      AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST: JSON.stringify(bundles),
      AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH: path.join(work, 'bundles'),
      AIRFLOW__DAG_PROCESSOR__BUNDLE_REFRESH_CHECK_INTERVAL: '1',
    },
  })
}, budget(10 * MINUTE))

afterAll(async () => {
  await airflow?.stop()
  await moto?.stop()
})

describe('DagctlBundle on Airflow 3.3 (standalone) with package acme on moto', () => {
  it('a run keeps the release it started on; a new run takes HEAD; after rollback new runs take the rolled-back files; a cleared old task runs its run\'s release', {timeout: budget(20 * MINUTE)}, async () => {
    await waitForDagVersion('1')
    const dag = (await airflow.api('GET', `/dags/${DAG_ID}`)).body
    expect(dag.bundle_name).toBe('acme')

    // run A starts on release 1 and waits in its first task
    await trigger('run_a', {released: false})
    await waitFor('run_a to be running its first task', async () => ((await taskState('run_a', 'wait_for_signal')) === 'running' ? true : undefined))
    expect((await run('run_a')).bundle_version).toBe('1')

    // release 2 changes the second task; the DAG processor takes it
    expect(await publish('release-2 code', 'second')).toBe(2)
    await waitForDagVersion('2')

    // run A's second task still runs release 1's code, from release 1's folder
    writeFileSync(path.join(signals, 'run_a'), '')
    const a = await finished('run_a')
    expect(a).toMatchObject({code: 'release-1 code', bundleVersion: '1'})
    expect(a.file).toContain(`${path.sep}acme${path.sep}versions${path.sep}1${path.sep}`)

    // a new run takes release 2
    await trigger('run_b', {released: true})
    expect(await finished('run_b')).toMatchObject({code: 'release-2 code', bundleVersion: '2'})

    // rollback writes release 3 with release 1's files: the next new run uses them
    const rb = await runCli(['rollback', '--to', '1', '--yes', '--json', ...storeArgs()], {cwd: pkgDir, env: MOTO_ENV})
    expect(rb.exitCode, rb.stderr).toBe(0)
    await waitForDagVersion('3')
    await trigger('run_c', {released: true})
    const c = await finished('run_c')
    expect(c).toMatchObject({code: 'release-1 code', bundleVersion: '3'})
    expect(c.file).toContain(`${path.sep}versions${path.sep}3${path.sep}`)

    // clearing run B's second task now (HEAD is release 3) re-runs it on run B's release, 2
    rmSync(path.join(out, 'run_b.json'))
    const cleared = await airflow.api('POST', `/dags/${DAG_ID}/clearTaskInstances`, {dry_run: false, dag_run_id: 'run_b', task_ids: ['report'], only_failed: false})
    expect(cleared.status, JSON.stringify(cleared.body)).toBe(200)
    await waitFor('the cleared task to run again', async () => (existsSync(path.join(out, 'run_b.json')) ? true : undefined))
    expect(await finished('run_b')).toMatchObject({code: 'release-2 code', bundleVersion: '2'})
  })

  it('a damaged HEAD (each reason) is refused by the DAG processor (named in its log), which keeps the last good release; a task on a tampered release fails with the refusal', {timeout: budget(15 * MINUTE)}, async () => {
    await waitForDagVersion('3')
    const meta = `_dagctl/dev/acme`
    const good = JSON.parse((await store.get(`${meta}/releases/0000000003.json`))!.body.toString())
    const setHead = async (release: number) => {
      const current = await store.get(`${meta}/HEAD.json`)
      await store.put(`${meta}/HEAD.json`, JSON.stringify({release, nonce: `test-${release}`, updatedAt: new Date().toISOString()}), {ifMatch: current!.etag})
    }
    // release 4: its DAG file's blob does not hash to the manifest's sha256
    const fakeSha = 'f'.repeat(64)
    await store.put(`${meta}/blobs/${fakeSha}`, 'raise SystemExit("tampered")  # airflow dag\n')
    await store.put(`${meta}/releases/0000000004.json`, JSON.stringify({...good, id: 4, parent: 3, files: {[`${DAG_ID}.py`]: {...good.files[`${DAG_ID}.py`], sha256: fakeSha, since: 4}}}))
    await setHead(4)
    await waitFor('the DAG processor to refuse release 4', async () =>
      /dagctl bundle acme: dagctl: refusing release 4 of package 'acme' \(sha256-mismatch, file 'acme_pinned\.py'\)/.test(plainLog()) ? true : undefined,
    )
    // release 5: a path outside the package
    await store.put(`${meta}/releases/0000000005.json`, JSON.stringify({...good, id: 5, parent: 3, files: {...good.files, '../escape.py': good.files[`${DAG_ID}.py`]}}))
    await setHead(5)
    await waitFor('the DAG processor to refuse release 5', async () =>
      /dagctl bundle acme: dagctl: refusing release 5 of package 'acme' \(path-outside-package, file '\.\.\/escape\.py'\)/.test(plainLog()) ? true : undefined,
    )
    // release 6: a manifest cut short; release 7: a blob the manifest names is not there
    const text = JSON.stringify({...good, id: 6, parent: 3})
    await store.put(`${meta}/releases/0000000006.json`, text.slice(0, text.length / 2))
    await setHead(6)
    await waitFor('the DAG processor to refuse release 6', async () => (/refusing release 6 of package 'acme' \(manifest-invalid\)/.test(plainLog()) ? true : undefined))
    await store.put(`${meta}/releases/0000000007.json`, JSON.stringify({...good, id: 7, parent: 3, files: {...good.files, 'acme_more.py': {sha256: 'e'.repeat(64), size: 10, since: 7}}}))
    await setHead(7)
    await waitFor('the DAG processor to refuse release 7', async () =>
      /refusing release 7 of package 'acme' \(blob-missing, file 'acme_more\.py'\)/.test(plainLog()) ? true : undefined,
    )
    expect(await dagVersion()).toBe('3')
    await trigger('run_d', {released: true})
    expect(await finished('run_d')).toMatchObject({code: 'release-1 code', bundleVersion: '3'})
    const versions = path.join(work, 'bundles', 'acme', 'versions')
    // nothing of 4 to 7 was written, not even a temp folder
    expect(readdirSync(versions).sort()).toEqual(['1', '2', '3'])

    // a task asked for a release whose folder is gone (cleaned up) and whose blob was tampered with
    // in the store since: the task fails with the refusal, and nothing is materialised
    const m2 = JSON.parse((await store.get(`${meta}/releases/0000000002.json`))!.body.toString())
    await store.put(`${meta}/blobs/${m2.files[`${DAG_ID}.py`].sha256}`, 'raise SystemExit("tampered")  # airflow dag\n')
    rmSync(path.join(versions, '2'), {recursive: true})
    const cleared = await airflow.api('POST', `/dags/${DAG_ID}/clearTaskInstances`, {dry_run: false, dag_run_id: 'run_b', task_ids: ['report'], only_failed: false})
    expect(cleared.status, JSON.stringify(cleared.body)).toBe(200)
    await waitFor('the task on the tampered release to fail', async () => ((await taskState('run_b', 'report')) === 'failed' ? true : undefined))
    expect(existsSync(path.join(versions, '2'))).toBe(false)
    const logs = (await execa('grep', ['-rl', "refusing release 2 of package 'acme' (sha256-mismatch, file 'acme_pinned.py')", path.join(airflow.home, 'logs')], {reject: false})).stdout
    expect(logs, 'the task log names the refusal').toMatch(/run_id=run_b/)
  })
})
