import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'

import {startAirflow, type AirflowServer} from '../helpers/airflow-server.js'
import {budget} from '../helpers/budget.js'
import {runCli} from '../helpers/cli.js'
import {writeFiles} from '../helpers/tmp.js'

// `dagctl pools sync` on Airflow 2.11's REST API v1 (the v2 case runs in discover-airflow.test.ts).
const repo = mkdtempSync(path.join(os.tmpdir(), 'dagctl-pools-af2-'))
const pkgDir = path.join(repo, 'packages', 'pkg')
writeFiles(pkgDir, {
  'dagctl.yaml': 'package: pkg\nairflow:\n  version: 2\ndiscover:\n  root: ../..\n  template: python\n',
  'jobs/a.py': 'TENANT = "acme"\n\n\ndef run(argv):\n    return 0\n\n\nJOB = (run, "a")\n',
  'jobs/b.py': 'TENANT = "zeta"\n\n\ndef run(argv):\n    return 0\n\n\nJOB = (run, "b")\n',
})

describe('pools sync on real Airflow 2.11 (API v1)', () => {
  let airflow: AirflowServer
  beforeAll(async () => {
    airflow = await startAirflow(2, inject('airflowPython')['2'])
  }, budget(300_000))
  afterAll(async () => {
    await airflow?.stop()
    rmSync(repo, {recursive: true, force: true})
  }, budget(60_000))

  it('creates the missing pools, corrects a changed one, then changes nothing; --dry-run changes nothing', async () => {
    const env = {DAGCTL_AIRFLOW_URL: airflow.url, DAGCTL_AIRFLOW_USERNAME: airflow.username, DAGCTL_AIRFLOW_PASSWORD: airflow.password}
    const actions = (r: {json(): {pools: Array<{pool: string; action: string}>}}) => r.json().pools.map((p) => [p.pool, p.action])
    const dry = await runCli(['pools', 'sync', '--dry-run', '--json'], {cwd: pkgDir, env})
    expect(dry.exitCode, dry.stdout + dry.stderr).toBe(0)
    expect(dry.json().api).toBe('v1')
    expect(actions(dry)).toEqual([['tenant_acme', 'create'], ['tenant_zeta', 'create']])
    expect((await airflow.api('GET', '/pools/tenant_acme')).status).toBe(404)
    const sync = await runCli(['pools', 'sync', '--json'], {cwd: pkgDir, env})
    expect(sync.exitCode, sync.stdout + sync.stderr).toBe(0)
    expect((await airflow.api('GET', '/pools/tenant_acme')).body.slots).toBe(1)
    const changed = await airflow.api('PATCH', '/pools/tenant_zeta?update_mask=slots', {name: 'tenant_zeta', slots: 4})
    expect(changed.status, JSON.stringify(changed.body)).toBe(200)
    const again = await runCli(['pools', 'sync', '--json'], {cwd: pkgDir, env})
    expect(actions(again)).toEqual([['tenant_acme', 'unchanged'], ['tenant_zeta', 'update']])
    expect((await airflow.api('GET', '/pools/tenant_zeta')).body.slots).toBe(1)
    const last = await runCli(['pools', 'sync', '--json'], {cwd: pkgDir, env})
    expect(actions(last)).toEqual([['tenant_acme', 'unchanged'], ['tenant_zeta', 'unchanged']])
  }, budget(120_000))
})
