import {createHash} from 'node:crypto'
import path from 'node:path'
import {afterAll, describe, expect, inject, it} from 'vitest'

import {budget} from '../helpers/budget.js'
import {REPO_ROOT, runCli} from '../helpers/cli.js'
import {MOTO_ENV, startMoto, type Moto} from '../helpers/moto.js'
import {packageDir, publish, setDags, syncOnce, treeHashes} from '../helpers/sync.js'
import {airflowResult} from '../helpers/airflow-python.js'
import {tempDir} from '../helpers/tmp.js'

/**
 * The two ways dagctl hands releases to Airflow, side by side on one store: `dagctl sync` (a DAG
 * folder, DIR/<package>/) and DagctlBundle (an Airflow 3 DAG bundle). Pointed at the same HEAD,
 * Airflow 3's own BundleDagBag must get the same DAG ids, the same files with the same bytes, and
 * no import error from both, after each publish and after a rollback.
 */
const PKG = 'team_sbs'

/**
 * argv[1]: JSON {folder} (parse a folder) or {bundle: {store, package, name, s3_endpoint?, version?}}
 * (DagctlBundle.refresh(), then parse bundle.path). Prints RESULT {path, version, dags, errors, files}.
 */
const PARSE = `
import json, os, sys
from pathlib import Path
args = json.loads(sys.argv[1])
try:
    version = None
    if "bundle" in args:
        from dagctl_airflow import DagctlBundle
        b = args["bundle"]
        bundle = DagctlBundle(name=b["name"], store=b["store"], env="dev", package=b["package"], s3_endpoint=b.get("s3_endpoint"), version=b.get("version"))
        bundle.refresh()
        folder = str(bundle.path)
        v = bundle.get_current_version()
        version = getattr(v, "version", v)
    else:
        folder = args["folder"]
    from airflow.dag_processing.dagbag import BundleDagBag
    bag = BundleDagBag(dag_folder=folder, bundle_path=Path(folder))
    out = {"path": folder, "version": version, "dags": sorted(bag.dag_ids),
           "errors": {os.path.relpath(k, folder): (v.splitlines()[-1] if v else v) for k, v in bag.import_errors.items()},
           "files": sorted(os.path.relpath(d.fileloc, folder) for d in bag.dags.values())}
except Exception as e:
    import traceback
    out = {"crash": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()}
sys.__stdout__.write("RESULT " + json.dumps(out) + "\\n")
`

interface Parsed {path: string; version: string | null; dags: string[]; errors: Record<string, string>; files: string[]; crash?: string}

async function parse(args: Record<string, unknown>, storage: string, env: Record<string, string>): Promise<Parsed> {
  const out = await airflowResult<Parsed & {trace?: string}>(inject('airflowPython')['3'], PARSE, [JSON.stringify(args)], {
    ...env,
    PYTHONPATH: path.join(REPO_ROOT, 'python', 'dagctl_airflow'),
    AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH: storage,
  }, budget(300_000))
  if (out.crash) throw new Error(`the Airflow 3 parse crashed: ${out.crash}\n${out.trace}`)
  return out
}

const dagFile = (id: string, tag: string): string => `"""${tag}"""
from datetime import datetime

from airflow.sdk import DAG

with DAG(dag_id="${id}", start_date=datetime(2024, 1, 1), schedule=None, catchup=False, tags=["${tag}"]) as dag:
    pass
`
/** a DAG that imports its package's own module, as `<package>.<module>`: the one import that works under both deliveries */
const dagWithHelper = (id: string, tag: string): string =>
  dagFile(id, tag).replace('from airflow.sdk import DAG\n', `from airflow.sdk import DAG\n\nfrom ${PKG}.common.settings import RETRIES\n`).replace('catchup=False,', 'catchup=False, default_args={"retries": RETRIES},')

const sha = (s: string): string => createHash('sha256').update(s).digest('hex')
const hashes = (files: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(files).map(([k, v]) => [k, sha(v)]))

const RELEASE_1 = {
  'sbs_one.py': dagWithHelper('sbs_one', 'v1'),
  'sbs_two.py': dagFile('sbs_two', 'v1'),
  'nested/sbs_three.py': dagFile('sbs_three', 'v1'),
  'common/__init__.py': '',
  'common/settings.py': 'RETRIES = 1\n',
}
const RELEASE_2 = {
  'sbs_one.py': dagWithHelper('sbs_one', 'v2'),
  'sbs_four.py': dagFile('sbs_four', 'v2'),
  'nested/sbs_three.py': dagFile('sbs_three', 'v2'),
  'common/__init__.py': '',
  'common/settings.py': 'RETRIES = 2\n',
}
/** the DAG files: not the helper module common/ (published, imported by sbs_one) */
const dagIds = (files: Record<string, string>): string[] => Object.keys(files).filter((f) => f.includes('sbs_')).map((f) => path.basename(f, '.py')).sort()
const dagPaths = (files: Record<string, string>): string[] => Object.keys(files).filter((f) => f.includes('sbs_')).sort()

let moto: Moto | undefined
afterAll(async () => {
  await moto?.stop()
})

interface Target {
  /** store URL, extra CLI args, env for the CLI and Python, bundle kwargs */
  url: string
  cli: string[]
  env: Record<string, string>
  endpoint?: string
}

const TARGETS: Array<[string, () => Promise<Target>]> = [
  ['the local store (file://)', async () => ({url: `file://${tempDir({}, 'dagctl-sbs-store-')}/store`, cli: [], env: {}})],
  [
    'S3 (moto)',
    async () => {
      moto ??= await startMoto(inject('testPython'))
      const bucket = `sbs-${Date.now()}`
      await moto.createBucket(bucket, true)
      return {url: `s3://${bucket}/airflow`, cli: ['--endpoint', moto.endpoint], env: {...MOTO_ENV}, endpoint: moto.endpoint}
    },
  ],
]

describe.each(TARGETS)('dagctl sync and DagctlBundle side by side on %s: Airflow 3 gets the same DAGs from both', (_name, makeTarget) => {
  it('after two publishes and after a rollback: same DAG ids, same files and bytes, no import error', {timeout: budget(15 * 60_000)}, async () => {
    const t = await makeTarget()
    const pkg = packageDir(PKG, t.url, RELEASE_1)
    const dir = tempDir({}, 'dagctl-sbs-dags-')
    const storage = tempDir({}, 'dagctl-sbs-bundles-')
    const bundleName = `sbs_${process.pid}`
    const bundle = {store: t.url, package: PKG, name: bundleName, s3_endpoint: t.endpoint}

    /** sync --once, then DagctlBundle.refresh(); both parsed by Airflow 3; both checked against `files` (release `release`) */
    const sideBySide = async (release: number, files: Record<string, string>, bundleArgs: Record<string, unknown> = bundle): Promise<void> => {
      const s = await syncOnce(['--store', t.url, ...t.cli, '--to', dir], t.env)
      expect(s.exitCode, s.stderr).toBe(0)
      expect(s.json.last.packages[0]).toMatchObject({package: PKG, release})
      const synced = await parse({folder: dir}, storage, t.env)
      const bundled = await parse({bundle: bundleArgs}, storage, t.env)

      // same DAG ids, no import error, on both
      expect(synced.errors).toEqual({})
      expect(bundled.errors).toEqual({})
      expect(synced.dags).toEqual(dagIds(files))
      expect(bundled.dags).toEqual(synced.dags)
      // the same DAG files at the same relative paths: both put the package under <path>/<package>/,
      // so its own modules import as <package>.<module> from both
      expect(synced.files).toEqual(dagPaths(files).map((f) => `${PKG}/${f}`))
      expect(bundled.files).toEqual(synced.files)
      // the same file set and bytes: what was published, on both
      expect(treeHashes(path.join(dir, PKG))).toEqual(hashes(files))
      expect(treeHashes(path.join(bundled.path, PKG))).toEqual(treeHashes(path.join(dir, PKG)))
      // and the bundle says it is at that release, in its own folder
      expect(bundled.version).toBe(String(release))
      expect(bundled.path).toBe(path.join(storage, bundleName, 'versions', String(release)))
    }

    expect(await publish(pkg, t.env, ...t.cli)).toBe(1)
    await sideBySide(1, RELEASE_1)

    setDags(pkg, RELEASE_2)
    expect(await publish(pkg, t.env, ...t.cli)).toBe(2)
    await sideBySide(2, RELEASE_2)

    // rollback to 1 writes release 3 with release 1's files: both deliveries take it
    expect(await rollbackTo(1, pkg, t)).toBe(3)
    await sideBySide(3, RELEASE_1)
  })
})

/** rollback with the store flags (an S3 store needs --endpoint) */
async function rollbackTo(to: number, pkg: string, t: Target): Promise<number> {
  const r = await runCli(['rollback', '--to', String(to), '--yes', '--json', ...t.cli], {cwd: pkg, env: t.env})
  if (r.exitCode !== 0) throw new Error(`rollback failed (${r.exitCode}): ${r.stdout}\n${r.stderr}`)
  return r.json().release
}
