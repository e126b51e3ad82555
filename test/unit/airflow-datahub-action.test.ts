import {execFile} from 'node:child_process'
import path from 'node:path'
import {promisify} from 'node:util'
import {describe, expect, inject, it} from 'vitest'

import {BIN, REPO_ROOT} from '../helpers/cli.js'
import {tempDir} from '../helpers/tmp.js'

const ENVELOPE = path.join(REPO_ROOT, 'test', 'fixtures', 'datahub', 'event-envelope-entity-change-event-tag-added.json')

// The Action's error paths, with the real acryl-datahub-actions and the built dagctl, no Airflow:
// every case below stops before dagctl sends a request.
const DRIVER = `
import json, logging, sys
from datahub_actions.event.event_envelope import EventEnvelope
from datahub_actions.pipeline.pipeline_context import PipelineContext
from dagctl_datahub.action import DagctlAction, DagctlTriggerError

logging.basicConfig(level=logging.INFO)
action = DagctlAction.create(json.loads(sys.argv[2]), PipelineContext(pipeline_name="t", graph=None))
try:
    action.act(EventEnvelope.from_json(open(sys.argv[1]).read()))
    print("RESULT ok")
except DagctlTriggerError as e:
    print(f"RESULT raised {e.exit_code}: {e}")
`

async function act(config: Record<string, unknown>): Promise<{stdout: string; stderr: string}> {
  return promisify(execFile)(inject('datahubPython'), ['-c', DRIVER, ENVELOPE, JSON.stringify(config)], {
    env: {...process.env, PYTHONPATH: path.join(REPO_ROOT, 'python', 'dagctl_datahub')},
    timeout: 60_000,
  })
}

const MAPPING = 'rules:\n  - match: {category: TAG}\n    dag_id: other_team_job\n'

describe('the DataHub Action\'s answers to dagctl\'s exit codes', () => {
  it('a refusal by the allowlist (exit 5) is a warning, not a retry', async () => {
    const cwd = tempDir({'dagctl.yaml': 'package: team_a\n', 'mapping.yaml': MAPPING})
    const {stdout, stderr} = await act({command: ['node', BIN], cwd, args: ['--mapping', 'mapping.yaml'], env: {DAGCTL_AIRFLOW_URL: 'http://127.0.0.1:9'}})
    expect(stdout).toContain('RESULT ok')
    expect(stderr).toMatch(/WARNING.*refused by policy: DAG other_team_job is not on this package's trigger allowlist/)
  })

  it('a broken mapping (exit 2) raises with dagctl\'s message, so the pipeline sees the failure', async () => {
    const cwd = tempDir({'dagctl.yaml': 'package: team_a\n', 'mapping.yaml': 'rules:\n  - match: {categroy: TAG}\n    dag_id: team_a_x\n'})
    const {stdout} = await act({command: ['node', BIN], cwd, args: ['--mapping', 'mapping.yaml']})
    expect(stdout).toMatch(/RESULT raised 2: dagctl trigger exited 2: invalid mapping file: unknown key 'categroy'/)
  })

  it('Airflow unreachable (exit 4) raises; a missing dagctl raises too', async () => {
    const cwd = tempDir({'dagctl.yaml': 'package: team_a\n', 'mapping.yaml': 'rules:\n  - match: {category: TAG}\n    dag_id: team_a_x\n'})
    const down = await act({command: ['node', BIN], cwd, args: ['--mapping', 'mapping.yaml', '--retries', '0'], env: {DAGCTL_AIRFLOW_URL: 'http://127.0.0.1:9', DAGCTL_AIRFLOW_PASSWORD: 'pw-not-in-logs'}})
    expect(down.stdout).toMatch(/RESULT raised 4: .*ECONNREFUSED/)
    expect(down.stdout + down.stderr).not.toContain('pw-not-in-logs')
    const missing = await act({command: ['dagctl-does-not-exist'], cwd})
    expect(missing.stdout).toMatch(/RESULT raised 127: cannot run dagctl-does-not-exist/)
  })
})
