import path from 'node:path'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'

import {startAirflow, type AirflowServer} from '../helpers/airflow-server.js'
import {workspace} from '../helpers/github-runner.js'
import {packageRepo} from '../helpers/gitlab-ci-local.js'

/**
 * The smoke runs of both CI integrations against one real Airflow 3. GitLab: the template's smoke job: a default-branch pipeline with DAGCTL_SMOKE_DAG set publishes
 * to dev, then `dagctl trigger --wait` runs the DAG on a real Airflow 3 and the job's result is the
 * run's. GitHub: the action's `trigger` command, as a runner runs it. The DAGs are the test Airflow's
 * own (test/helpers/airflow-server.ts), of package team_a.
 */
describe('CI smoke runs against Airflow 3', () => {
  let airflow: AirflowServer
  beforeAll(async () => {
    airflow = await startAirflow(3, inject('airflowPython')['3'])
  })
  afterAll(async () => {
    await airflow?.stop()
  })

  it('a run that succeeds passes the pipeline; a run that fails fails it, naming the failed task; the password is in no log', async () => {
    const repo = packageRepo('team_a')
    const vars = (dag: string) => ({
      CI_COMMIT_BRANCH: 'main',
      DAGCTL_STORE: `file://${path.join(path.dirname(repo.dir), 'store')}`,
      DAGCTL_SMOKE_DAG: dag,
      DAGCTL_SMOKE_TIMEOUT: '10m',
      DAGCTL_AIRFLOW_URL: airflow.url,
      DAGCTL_AIRFLOW_USERNAME: airflow.username,
      DAGCTL_AIRFLOW_PASSWORD: airflow.password,
    })
    const ok = await repo.run(vars('team_a_ok'))
    expect(ok.exitCode, ok.log).toBe(0)
    expect(ok.log).toContain('PASS  dagctl-smoke-dev')
    expect(ok.log).toMatch(/Run \S+ of team_a_ok succeeded/)

    const bad = await repo.run(vars('team_a_fail'))
    expect(bad.exitCode).not.toBe(0)
    expect(bad.log).toContain('FAIL  dagctl-smoke-dev')
    expect(bad.log).toMatch(/boom\s+failed/)
    for (const r of [ok, bad]) expect(r.log).not.toContain(`PASSWORD=${airflow.password}`)
  })

  it('GitHub action, command trigger: waits for the run, writes the summary; a failing run fails the step', async () => {
    const w = workspace('team_a')
    const env = {DAGCTL_AIRFLOW_URL: airflow.url, DAGCTL_AIRFLOW_USERNAME: airflow.username, DAGCTL_AIRFLOW_PASSWORD: airflow.password}
    const ok = await w.run({command: 'trigger', 'package-dir': 'packages/team_a', dag: 'team_a_ok', timeout: '10m'}, env)
    expect(ok.exitCode, ok.stderr + ok.stdout).toBe(0)
    expect(ok.stdout).toMatch(/Run \S+ of team_a_ok succeeded/)
    expect(ok.summary).toContain('`team_a_ok` in dev: exit 0')
    const bad = await w.run({command: 'trigger', 'package-dir': 'packages/team_a', dag: 'team_a_fail', timeout: '10m'}, env)
    expect(bad.exitCode).toBe(1)
    expect(bad.summary).toContain('`team_a_fail` in dev: exit 1')
  })
})
