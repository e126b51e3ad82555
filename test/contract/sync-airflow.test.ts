import {execa} from 'execa'
import {writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, inject, it} from 'vitest'

import {readlinkSync} from 'node:fs'

import {packageDir, publish, rollback, setDags, startSync, syncOnce} from '../helpers/sync.js'
import {airflowResult} from '../helpers/airflow-python.js'
import {tempDir} from '../helpers/tmp.js'

/** Airflow's own DagBag over the DAG folder, in the managed venv, with a throw-away AIRFLOW_HOME. */
const DAGBAG = `
import json, os, sys
folder = sys.argv[1]
try:
    try:
        # Airflow 3: what the dag processor parses the dags-folder bundle with (it puts the bundle on sys.path)
        from pathlib import Path
        from airflow.dag_processing.dagbag import BundleDagBag
        bag = BundleDagBag(dag_folder=folder, bundle_path=Path(folder))
    except ImportError:
        # Airflow 2: settings put the dags folder on sys.path
        from airflow.models.dagbag import DagBag
        bag = DagBag(dag_folder=folder, include_examples=False)
    out = {"dags": sorted(bag.dag_ids), "errors": {os.path.relpath(k, folder): v.splitlines()[-1] if v else v for k, v in bag.import_errors.items()}, "files": sorted(os.path.relpath(d.fileloc, folder) for d in bag.dags.values())}
except Exception as e:
    out = {"crash": f"{type(e).__name__}: {e}"}
sys.__stdout__.write("RESULT " + json.dumps(out) + "\\n")
`

async function dagBag(major: '2' | '3', folder: string): Promise<{dags?: string[]; errors?: Record<string, string>; files?: string[]; crash?: string}> {
  return airflowResult<{dags?: string[]; errors?: Record<string, string>; files?: string[]; crash?: string}>(inject('airflowPython')[major], DAGBAG, [folder], {AIRFLOW__CORE__DAGS_FOLDER: folder})
}

const dagFile = (id: string, tag: string): string => `"""${tag}"""
from datetime import datetime

from airflow import DAG

from team_af.lib.helpers import OWNER

with DAG(dag_id="${id}", start_date=datetime(2024, 1, 1), schedule=None, catchup=False, default_args={"owner": OWNER}) as dag:
    pass
`

/**
 * Airflow's own DAG-file listing (list_py_file_paths: os.walk following links, .airflowignore
 * applied) in a tight loop until the stop file exists. argv: folder, stop file, JSON {package:
 * [[names of release 1], [names of release 2], ...]}. Each listing must hold, per package, the file
 * names of one release: all of them, or (a listing that crossed a swap) only some of them.
 */
const LISTING = `
import json, os, sys
folder, stop, releases = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
from airflow.utils.file import list_py_file_paths
sets = {pkg: [frozenset(r) for r in rs] for pkg, rs in releases.items()}
scans = violations = partial = 0
seen = set()
print("READY", flush=True)
while not os.path.exists(stop):
    scans += 1
    try:
        paths = list_py_file_paths(folder)
    except Exception as e:
        violations += 1
        print(json.dumps({"violation": f"{type(e).__name__}: {e}"}), flush=True)
        continue
    by = {}
    for p in paths:
        rel = os.path.relpath(p, folder).split(os.sep)
        if len(rel) > 1:
            by.setdefault(rel[0], set()).add("/".join(rel[1:]))
    for pkg, options in sets.items():
        got = frozenset(by.get(pkg, ()))
        if got in options:
            seen.add((pkg, options.index(got)))
        elif any(got <= o for o in options):
            # the walk listed one release, then opened files by path after the swap: those the new
            # release removed are gone (Airflow logs "Error while examining") -- never a file of two releases
            partial += 1
        else:
            violations += 1
            print(json.dumps({"violation": f"{pkg}: {sorted(got)}"}), flush=True)
print(json.dumps({"summary": {"scans": scans, "violations": violations, "partial": partial, "seen": len(seen)}}), flush=True)
`

describe.each(['3', '2'] as const)('Airflow %s parses what dagctl sync puts in its DAG folder', (major) => {
  it('after publish + sync: the release, no import error, no duplicate id (the previous version still on disk); without the ignore rule the scan breaks', async () => {
    const root = tempDir()
    const url = `file://${root}/store`
    const pkg = packageDir('team_af', url, {'team_af_one.py': dagFile('team_af_one', 'v1'), 'team_af_two.py': dagFile('team_af_two', 'v1'), 'lib/helpers.py': 'OWNER = "team-af"\n', 'lib/__init__.py': ''})
    await publish(pkg, {})
    const dir = tempDir()
    writeFileSync(path.join(dir, 'platform_dag.py'), dagFile('platform_hand_written', 'not from sync').replace('from team_af.lib.helpers import OWNER', 'OWNER = "platform"'))
    expect((await syncOnce(['--store', url, '--to', dir], {})).exitCode).toBe(0)
    const first = await dagBag(major, dir)
    expect(first).toEqual({dags: ['platform_hand_written', 'team_af_one', 'team_af_two'], errors: {}, files: ['platform_dag.py', 'team_af/team_af_one.py', 'team_af/team_af_two.py']})

    setDags(pkg, {'team_af_one.py': dagFile('team_af_one', 'v2'), 'team_af_three.py': dagFile('team_af_three', 'v2'), 'lib/helpers.py': 'OWNER = "team-af-2"\n', 'lib/__init__.py': ''})
    await publish(pkg, {})
    const r = await syncOnce(['--store', url, '--to', dir, '--grace', '1h'], {})
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.json.last.packages[0]).toMatchObject({status: 'updated', release: 2})
    const second = await dagBag(major, dir)
    expect(second).toEqual({dags: ['platform_hand_written', 'team_af_one', 'team_af_three'], errors: {}, files: ['platform_dag.py', 'team_af/team_af_one.py', 'team_af/team_af_three.py']})

    // Why sync writes .airflowignore: without it the versions folder is scanned too.
    writeFileSync(path.join(dir, '.airflowignore'), '')
    const broken = await dagBag(major, dir)
    expect(broken.crash ?? JSON.stringify(broken.errors)).toMatch(/recursive loop|[Dd]uplicat/)
  }, 600_000)

  it('Airflow\'s own file listing, in a tight loop while releases are rolled back and forth, lists one release, never files of two, never fails', async () => {
    const root = tempDir()
    const url = `file://${root}/store`
    const names = (k: number): string[] => Array.from({length: 2 + k}, (_, i) => `team_s_v${k}_${i}.py`)
    const files = (k: number): Record<string, string> => Object.fromEntries(names(k).map((n) => [n, dagFile(n.replace('.py', ''), `v${k}`).replace('from team_af.lib.helpers import OWNER', 'OWNER = "s"')]))
    const pkg = packageDir('team_s', url, files(1))
    const ids = [await publish(pkg, {})]
    for (let k = 2; k <= 3; k++) {
      setDags(pkg, files(k))
      ids.push(await publish(pkg, {}, '--allow-mass-removal'))
    }
    const dir = tempDir()
    const sync = startSync(['--store', url, '--to', dir, '--interval', '0.05s', '--grace', '1h'], {})
    const stop = `${tempDir()}/stop`
    const home = tempDir()
    const lister = execa(inject('airflowPython')[major], ['-c', LISTING, dir, stop, JSON.stringify({team_s: [1, 2, 3].map(names)})], {
      reject: false,
      env: {AIRFLOW_HOME: home, AIRFLOW__CORE__DAGS_FOLDER: dir, AIRFLOW__CORE__LOAD_EXAMPLES: 'False', AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: `sqlite:///${path.join(home, 'airflow.db')}`},
    })
    try {
      await sync.waitFor(/cycle 1: 1 package\(s\) at HEAD/)
      await new Promise<void>((resolve, reject) => {
        lister.stdout!.on('data', (c: Buffer) => c.toString().includes('READY') && resolve())
        void lister.then((r) => reject(new Error(`the listing loop ended: ${r.stderr}`)))
      })
      for (const k of [1, 3, 2, 1, 3, 2]) {
        const id = await rollback(pkg, {}, ids[k - 1])
        const deadline = Date.now() + 90_000
        while (!readlinkSync(path.join(dir, 'team_s')).includes(`/${id}-`)) {
          if (Date.now() > deadline) throw new Error(`release ${id} never became visible`)
          await new Promise((r) => setTimeout(r, 20))
        }
      }
    } finally {
      writeFileSync(stop, '')
      sync.proc.kill('SIGTERM')
      await sync.proc
    }
    const out = await lister
    const summary = JSON.parse(out.stdout.trim().split('\n').at(-1)!).summary
    expect(summary.violations, out.stdout.slice(0, 2000)).toBe(0)
    expect(summary.scans).toBeGreaterThan(6)
    expect(summary.seen).toBeGreaterThanOrEqual(2)
    console.log(`Airflow ${major} listing: ${summary.scans} scans, ${summary.partial} crossed a swap`)
  }, 600_000)
})
