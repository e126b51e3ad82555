/**
 * The import paths the ast engine recognises as DAG, dag and asset (python/dagctl_validate/dag_paths.py)
 * are exactly what the managed Airflow 3 and 2 venvs export (test/helpers/derive_dag_paths.py): a new
 * pin of Airflow or of the compat provider that adds or drops a path fails here.
 */
import {execa} from 'execa'
import path from 'node:path'
import {describe, expect, inject, it} from 'vitest'

import {REPO_ROOT} from '../helpers/cli.js'

const pythons = inject('airflowPython')
type Paths = {DAG: string[]; dag: string[]; asset: string[]}

describe('public import paths of DAG and dag', () => {
  it('dag_paths.py lists the union of what Airflow 3.3 and 2.11 (with the compat provider) export', async () => {
    const derived = await Promise.all(
      (['3', '2'] as const).map(async (v) => {
        const {stdout} = await execa(pythons[v], [path.join(REPO_ROOT, 'test', 'helpers', 'derive_dag_paths.py')], {env: {AIRFLOW__LOGGING__LOGGING_LEVEL: 'ERROR'}, timeout: 300_000})
        return JSON.parse(stdout) as Paths
      }),
    )
    const union = (k: keyof Paths) => [...new Set(derived.flatMap((d) => d[k]))].sort()
    // the compat provider's path is in both: the import Airflow's own provider examples use
    expect(derived[0].DAG).toContain('airflow.providers.common.compat.sdk.DAG')
    expect(derived[1].DAG).toContain('airflow.providers.common.compat.sdk.DAG')
    const {stdout} = await execa('python3', ['-c', 'import json, sys; sys.path.insert(0, sys.argv[1]); from dagctl_validate import dag_paths as d; print(json.dumps({"DAG": sorted(d.DAG_CLASSES), "dag": sorted(d.DAG_DECORATORS), "asset": sorted(d.ASSET_DECORATORS)}))', path.join(REPO_ROOT, 'python')])
    expect(JSON.parse(stdout)).toEqual({DAG: union('DAG'), dag: union('dag'), asset: union('asset')})
  }, 600_000)
})
