import {readFileSync, readdirSync} from 'node:fs'
import path from 'node:path'
import {expect, inject} from 'vitest'

import {airflowResult} from './airflow-python.js'
import {REPO_ROOT, runCli} from './cli.js'

// What the tests of generate.layout share (test/e2e/generate-layout.test.ts: package, batch:N;
// generate-loader.test.ts: loader:N): specs, a task type whose provider the test Airflows lack,
// the package's dagctl.yaml, and Airflow's own DagBag over the generated folder.

export const ALL_TYPES = readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'specs', 'all-types.yaml'), 'utf8')
export const SPEC_B = 'name: b\nschedule: 6h\ndefault_args: {retries: 4}\ntasks:\n  pod: {type: kubernetes_pod, cmds: [run]}\n  py: {type: python, callable: "jobs.b:main", depends_on: pod}\n'
export const SPEC_C = 'name: c\nschedule: null\ntasks:\n  only: {type: bash, command: "echo c"}\n'

/** A platform task type whose provider (SFTP) the test Airflows do not have: its DAGs fail to import. */
export const SFTP_TYPE = `{#- dagctl-task-type
description: Upload a file to an SFTP server.
fields:
  conn_id: {type: string, required: true}
  local_path: {type: string, required: true}
  remote_path: {type: string, required: true}
imports:
  - from airflow.providers.sftp.operators.sftp import SFTPOperator
-#}
tasks[{{ task.id | py }}] = SFTPOperator(
    task_id={{ task.id | py }},
    ssh_conn_id={{ task.conn_id | py }},
    local_filepath={{ task.local_path | py }},
    remote_filepath={{ task.remote_path | py }},
    operation="put",
{% include "partials/task-args.py.njk" %}
)
`
export const SPEC_UPLOAD = 'name: upload\nschedule: "@daily"\ntasks:\n  send: {type: sftp_upload, conn_id: partner, local_path: /data/x.csv, remote_path: /inbox/x.csv}\n'

/** The package's dagctl.yaml, with `generate.layout` when one is given. */
export function layoutConfig(pkg: string, layout: string | undefined, version: 2 | 3 = 3, extra = ''): string {
  return [
    `package: ${pkg}`,
    `airflow:\n  version: ${version}`,
    `image: registry.example.com/${pkg}/jobs:1`,
    'policy:\n  owner: data\n  allowed_registries: [registry.example.com/]',
    layout === undefined ? '' : `generate:\n  layout: "${layout}"`,
    extra,
    '',
  ].join('\n')
}

/** The generated folder's entries (or a sub-folder's), without Python's __pycache__. */
export const listGenerated = (root: string, sub = ''): string[] => readdirSync(path.join(root, 'dags/generated', sub)).filter((f) => f !== '__pycache__').sort()

/** Airflow's own DagBag over a folder, safe mode on (Airflow's default): the DAGs, their files, the import errors and the files it parsed. */
const DAGBAG = `
import json, os, sys
folder = sys.argv[1]
try:
    from pathlib import Path
    from airflow.dag_processing.dagbag import BundleDagBag
    bag = BundleDagBag(dag_folder=folder, bundle_path=Path(folder), safe_mode=True)
except ImportError:
    from airflow.models.dagbag import DagBag
    bag = DagBag(dag_folder=folder, include_examples=False, safe_mode=True)
rel = lambda p: os.path.relpath(p, folder) if os.path.isabs(p) else p
out = {
    "dags": {d.dag_id: {"tasks": len(d.tasks), "file": rel(d.fileloc), "retries": d.default_args.get("retries")} for d in bag.dags.values()},
    "errors": {rel(k): v for k, v in bag.import_errors.items()},
    # Airflow 3: the path in the bundle; Airflow 2.11: the path with the DAG folder cut off
    "parsed": sorted((s.file[len(folder):] if s.file.startswith(folder) else s.file).lstrip("/") for s in bag.dagbag_stats),
}
# what the DAG processor imports once for all its parsing processes (Airflow's own scan of a file's top-level imports)
from airflow.utils.file import iter_airflow_imports
out["preImported"] = {f: sorted(iter_airflow_imports(os.path.join(folder, f))) for f in sorted(os.listdir(folder)) if f.endswith(".py")}
sys.__stdout__.write("RESULT " + json.dumps(out) + "\\n")
`

export interface BagResult {
  dags: Record<string, {tasks: number; file: string; retries?: number}>
  errors: Record<string, string>
  parsed: string[]
  preImported: Record<string, string[]>
}

export async function dagBag(major: 2 | 3, folder: string, env: Record<string, string> = {}): Promise<BagResult> {
  return airflowResult<BagResult>(inject('airflowPython')[String(major) as '2' | '3'], DAGBAG, [folder], {AIRFLOW__CORE__DAGS_FOLDER: folder, ...env})
}

export async function generateJson(root: string, ...args: string[]) {
  const res = await runCli(['generate', '--json', ...args], {cwd: root})
  expect(res.exitCode, res.stdout + res.stderr).toBe(0)
  return res.json()
}
