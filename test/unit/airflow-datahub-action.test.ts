import {execFile} from 'node:child_process'
import {readFileSync} from 'node:fs'
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

// The long-lived dagctl (`trigger --event - --stream`): one process for many events, and a dagctl
// that dies with an event in flight is replaced and sent the event again.
const FLAKY = path.join(REPO_ROOT, 'test', 'helpers', 'flaky_dagctl.py')
const MANY = `
import json, logging, sys
from datahub_actions.event.event_envelope import EventEnvelope
from datahub_actions.pipeline.pipeline_context import PipelineContext
from dagctl_datahub.action import DagctlAction, DagctlTriggerError

logging.basicConfig(level=logging.INFO)
action = DagctlAction.create(json.loads(sys.argv[2]), PipelineContext(pipeline_name="t", graph=None))
envelope = EventEnvelope.from_json(open(sys.argv[1]).read())
for i in range(int(sys.argv[3])):
    try:
        action.act(EventEnvelope.from_json(envelope.as_json()))
        print("RESULT ok")
    except DagctlTriggerError as e:
        print(f"RESULT raised {e.exit_code}: {e}")
action.close()
`

async function actMany(config: Record<string, unknown>, times: number): Promise<{stdout: string; stderr: string}> {
  return promisify(execFile)(inject('datahubPython'), ['-c', MANY, ENVELOPE, JSON.stringify(config), String(times)], {
    env: {...process.env, PYTHONPATH: path.join(REPO_ROOT, 'python', 'dagctl_datahub')},
    timeout: 120_000,
  })
}

describe('the DataHub Action\'s long-lived dagctl', () => {
  const refusing = () => tempDir({'dagctl.yaml': 'package: team_a\n', 'mapping.yaml': MAPPING})
  const flaky = (mode: string, launches: string) => ['python3', FLAKY, mode, launches, '--', 'node', BIN]

  it('answers many events from one process', async () => {
    const cwd = refusing()
    const launches = path.join(cwd, 'launches')
    const {stdout, stderr} = await actMany({command: flaky('none', launches), cwd, args: ['--mapping', 'mapping.yaml'], env: {DAGCTL_AIRFLOW_URL: 'http://127.0.0.1:9'}}, 5)
    expect(stdout.match(/RESULT ok/g)).toHaveLength(5)
    expect(stderr.match(/refused by policy/g)).toHaveLength(5)
    expect(readFileSync(launches, 'utf8').trim().split('\n')).toHaveLength(1)
  })

  it('a dagctl that dies with an event in flight is restarted and the event sent again, not dropped', async () => {
    const cwd = refusing()
    const launches = path.join(cwd, 'launches')
    const {stdout, stderr} = await actMany({command: flaky('before', launches), cwd, args: ['--mapping', 'mapping.yaml'], env: {DAGCTL_AIRFLOW_URL: 'http://127.0.0.1:9'}}, 3)
    expect(stdout.match(/RESULT ok/g)).toHaveLength(3)
    expect(stderr).toMatch(/dagctl stopped before answering \(attempt 1\)/)
    // every one of the 3 events reached a dagctl that answered it, the first one after the restart
    expect(stderr.match(/refused by policy/g)).toHaveLength(3)
    expect(readFileSync(launches, 'utf8').trim().split('\n')).toHaveLength(2)
  })

  it('a dagctl that dies every time raises after its restarts, so the pipeline\'s own retry applies', async () => {
    const cwd = refusing()
    const launches = path.join(cwd, 'launches')
    const {stdout} = await actMany({command: flaky('always', launches), cwd, restarts_per_event: 2}, 1)
    expect(stdout).toMatch(/RESULT raised 1: dagctl died 3 times on this event/)
    expect(readFileSync(launches, 'utf8').trim().split('\n')).toHaveLength(3)
  })
})
