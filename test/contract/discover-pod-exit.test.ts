import {execFile} from 'node:child_process'
import {cpSync, rmSync} from 'node:fs'
import path from 'node:path'
import {promisify} from 'node:util'
import {describe, expect, inject, it} from 'vitest'

import {budget} from '../helpers/budget.js'
import {REPO_ROOT, runCli} from '../helpers/cli.js'
import {tempDir} from '../helpers/tmp.js'

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'discover')

// No Kubernetes cluster runs here: the provider's own cleanup() is given the failed pod status a
// cluster would report, and the generated _DagctlPodOperator must turn a non-retryable exit code
// into AirflowFailException (no retry) and leave a retryable one as the provider's AirflowException.
describe.each([3, 2] as const)('kubernetes_pod job task on Airflow %i', (version) => {
  it('a non-retryable container exit code fails at once, a retryable one is an ordinary (retried) failure; argv from the conf is a list of strings', async () => {
    const dir = tempDir({}, 'dagctl-pod-exit-')
    cpSync(path.join(FIXTURES, 'monorepo'), dir, {recursive: true})
    rmSync(path.join(dir, 'packages', 'broken'), {recursive: true})
    const orders = path.join(dir, 'packages', 'orders')
    const gen = await runCli(['generate'], {cwd: orders, env: {DAGCTL_AIRFLOW_VERSION: String(version)}})
    expect(gen.exitCode, gen.stderr).toBe(0)
    const python = inject('airflowPython')[String(version) as '2' | '3']
    const file = path.join(orders, 'dags', 'generated', 'orders_daily_report.py')
    const {stdout} = await promisify(execFile)(python, [path.join(FIXTURES, 'pod_exit_check.py'), file, '3', '75', '1'], {timeout: budget(180_000)})
    const lines = stdout.trim().split('\n').filter((l) => /^(\d+|argv) /.test(l))
    expect(lines).toEqual(['3 AirflowFailException', '75 AirflowException', '1 AirflowFailException', "argv ['--date', '2024']"])
  }, budget(240_000))
})
