import {execa} from 'execa'
import {writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, inject, it} from 'vitest'

import {packageDir, publish, setDags, syncOnce} from '../helpers/sync.js'
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
  const home = tempDir()
  const r = await execa(inject('airflowPython')[major], ['-c', DAGBAG, folder], {
    reject: false,
    timeout: 300_000,
    env: {
      AIRFLOW_HOME: home,
      AIRFLOW__CORE__DAGS_FOLDER: folder,
      AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
      AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: `sqlite:///${path.join(home, 'airflow.db')}`,
      AIRFLOW__LOGGING__LOGGING_LEVEL: 'ERROR',
    },
  })
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '))
  if (!line) throw new Error(`DagBag run failed (${r.exitCode}):\n${r.stdout}\n${r.stderr}`)
  return JSON.parse(line.slice('RESULT '.length))
}

const dagFile = (id: string, tag: string): string => `"""${tag}"""
from datetime import datetime

from airflow import DAG

from team_af.lib.helpers import OWNER

with DAG(dag_id="${id}", start_date=datetime(2024, 1, 1), schedule=None, catchup=False, default_args={"owner": OWNER}) as dag:
    pass
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
})
