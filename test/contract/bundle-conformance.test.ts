import {execa} from 'execa'
import {readFileSync, readdirSync, statSync} from 'node:fs'
import path from 'node:path'
import {afterAll, describe, expect, inject, it} from 'vitest'

import {openStore} from '../../src/store/index.js'
import {budget} from '../helpers/budget.js'
import {REPO_ROOT} from '../helpers/cli.js'
import {MOTO_ENV} from '../helpers/moto.js'
import {freshStore, STORE_VARIANTS, stopSharedMoto} from '../helpers/stores.js'
import {tempDir} from '../helpers/tmp.js'

afterAll(stopSharedMoto)

/**
 * The Python reader of python/dagctl_airflow/ (what DagctlBundle runs inside Airflow 3) against
 * the shared store-conformance fixture: the TypeScript sync reader is held to the same
 * expected.json, so the two cannot drift apart.
 */
const FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'store-conformance')
const EXPECTED = JSON.parse(readFileSync(path.join(FIXTURE, 'expected.json'), 'utf8')) as {
  env: string
  packages: Record<string, {ok: boolean; release: number; files?: Record<string, string>; reason?: string; file?: string | null}>
}
const PKG = path.join(REPO_ROOT, 'python', 'dagctl_airflow')

function pythonEnv(extra: Record<string, string> = {}): Record<string, string> {
  const scratch = tempDir({}, 'dagctl-bundle-py-')
  return {
    ...(process.env as Record<string, string>),
    PYTHONPATH: PKG,
    AIRFLOW_HOME: path.join(scratch, 'home'),
    AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH: path.join(scratch, 'bundles'),
    AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
    ...extra,
  }
}

/** what a reader made of each package, in the shape of expected.json */
function comparable(report: {packages: Record<string, Record<string, unknown>>}) {
  return Object.fromEntries(
    Object.entries(report.packages).map(([name, r]) => [
      name,
      r.ok ? {ok: true, release: r.release, files: r.files} : {ok: false, release: r.release, reason: r.reason, file: r.file},
    ]),
  )
}

async function runCheck(storeUrl: string, extraEnv: Record<string, string> = {}, args: string[] = []) {
  const into = tempDir({}, 'dagctl-check-into-')
  const res = await execa(inject('airflowPython')['3'], ['-m', 'dagctl_airflow.check', storeUrl, '--env', EXPECTED.env, '--into', into, ...args], {
    env: pythonEnv(extraEnv),
    reject: false,
  })
  expect(res.exitCode, res.stderr).toBe(1) // the fixture has bad packages
  return {report: JSON.parse(res.stdout), into}
}

function filesUnder(dir: string): string[] {
  const out: string[] = []
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = path.join(d, name)
      if (statSync(full).isDirectory()) walk(full)
      else out.push(path.relative(dir, full))
    }
  }
  walk(dir)
  return out.sort()
}

describe('store conformance: the Python bundle reader', () => {
  it('reads the fixture store (file://) exactly as expected.json says, and materialises nothing of a refused release', async () => {
    const {report, into} = await runCheck(`file://${path.join(FIXTURE, 'store')}`)
    expect(comparable(report)).toEqual(EXPECTED.packages)
    for (const [name, want] of Object.entries(EXPECTED.packages)) {
      if (want.ok) continue
      expect(report.packages[name].materialised, name).toBe(false)
      expect(report.packages[name].message).toContain(`package '${name}'`)
      expect(report.packages[name].message).toContain(`release ${want.release}`)
    }
    // only the good packages' releases were written, and nothing half-written is left
    const good = Object.entries(EXPECTED.packages).filter(([, want]) => want.ok).map(([name]) => `${name}/`)
    expect(good.length).toBeGreaterThan(2)
    expect(filesUnder(into).filter((f) => !good.some((g) => f.startsWith(g)))).toEqual([])
  })

  it('reads the same store copied into S3 (moto, boto3) exactly as expected.json says', async () => {
    const s3 = await freshStore(STORE_VARIANTS[2], 'team/airflow')
    const local = await openStore({url: `file://${path.join(FIXTURE, 'store')}`, root: REPO_ROOT})
    for (const key of await local.list('')) await s3.store.put(key, (await local.get(key))!.body)
    const {report} = await runCheck(s3.url, {...MOTO_ENV}, ['--s3-endpoint', s3.endpoint!])
    expect(comparable(report)).toEqual(EXPECTED.packages)
    // the DAG processor's HEAD check is a conditional GET: an unchanged HEAD is a 304, nothing more
    const probe = `
import json, sys
from dagctl_airflow.store import NOT_MODIFIED, open_reader
r = open_reader(sys.argv[1], endpoint_url=sys.argv[2])
key = "_dagctl/dev/alpha/HEAD.json"
head = r.get(key)
print(json.dumps({"unchanged": r.get(key, if_none_match=head.etag) is NOT_MODIFIED,
                  "changed": r.get(key, if_none_match='"0"').body == head.body,
                  "missing": r.get("_dagctl/dev/nobody/HEAD.json") is None}))
`
    const res = await execa(inject('airflowPython')['3'], ['-c', probe, s3.url, s3.endpoint!], {env: pythonEnv({...MOTO_ENV}), reject: false})
    expect(res.exitCode, res.stderr).toBe(0)
    expect(JSON.parse(res.stdout)).toEqual({unchanged: true, changed: true, missing: true})
  })

  it('DagctlBundle on Airflow 3: conformance, versions, refresh, refusals, cleanup, view_url (python/dagctl_airflow/tests)', {timeout: budget(180_000)}, async () => {
    const res = await execa(inject('airflowPython')['3'], ['-m', 'unittest', 'discover', '-s', path.join(PKG, 'tests'), '-t', PKG, '-v'], {
      env: pythonEnv(),
      reject: false,
      all: true,
    })
    expect(res.exitCode, res.all).toBe(0)
    expect(res.all).toMatch(/Ran \d+ tests/)
  })
})
