import {execFile} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {promisify} from 'node:util'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'

import {BIN, REPO_ROOT, runCli, type CliResult} from '../helpers/cli.js'
import {startAirflow, startRecordingProxy, type AirflowServer, type RecordingProxy} from '../helpers/airflow-server.js'
import {OpenApiBodies} from './airflow-openapi.js'

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'datahub')
const WRONG_PASSWORD = 'Wr0ng-pa55word-must-not-leak'
const BOGUS_TOKEN = 'bogus-token-must-not-leak-1234567890'

const MAPPING = `# the test mapping: two rules, both to team_a_on_tag
rules:
  - name: owner-added
    match:
      entityType: dataset
      category: OWNER
      operation: [ADD]
      entityUrn: "urn:li:dataset:*"
    dag_id: team_a_on_tag
    conf:
      urn: \${event.entityUrn}
      owner: \${event.parameters.ownerUrn}
      owner_type: \${event.parameters.ownerType}
      when: \${event.auditStamp.time}
      label: "\${event.category}/\${event.operation}"
  - name: snowflake-tag-added
    match:
      category: TAG
      operation: ADD
      entityUrn: "urn:li:dataset:(urn:li:dataPlatform:snowflake,*"
      parameters:
        tagUrn: "urn:li:tag:*"
    dag_id: team_a_on_tag
    conf:
      urn: \${event.entityUrn}
      tag: \${event.parameters.tagUrn}
`

/**
 * The contract of trigger / runs / errors against one real Airflow, started once for the file.
 * Every dagctl call goes through a recording proxy, so each body sent is validated against that
 * version's OpenAPI spec at the end, and "sent no request" is a count.
 */
export function airflowContract(version: 2 | 3, options: {action?: boolean} = {}): void {
  describe(`dagctl against Airflow ${version === 3 ? '3 (/api/v2)' : '2.11 (/api/v1)'}`, () => {
    let airflow: AirflowServer
    let proxy: RecordingProxy
    let project: string

    beforeAll(async () => {
      airflow = await startAirflow(version, inject('airflowPython')[String(version) as '2' | '3'])
      proxy = await startRecordingProxy(airflow.url)
      project = mkdtempSync(path.join(os.tmpdir(), 'dagctl-trigger-project-'))
      writeFileSync(path.join(project, 'dagctl.yaml'), 'package: team_a\ntrigger:\n  mapping: mapping.yaml\n')
      writeFileSync(path.join(project, 'mapping.yaml'), MAPPING)
    })

    afterAll(async () => {
      await proxy?.close()
      await airflow?.stop()
      if (project) rmSync(project, {recursive: true, force: true})
    })

    const env = (extra: Record<string, string> = {}): Record<string, string> => ({
      DAGCTL_AIRFLOW_URL: proxy.url,
      DAGCTL_AIRFLOW_USERNAME: airflow.username,
      DAGCTL_AIRFLOW_PASSWORD: airflow.password,
      ...extra,
    })
    const dagctl = (args: string[], extra: Record<string, string> = {}, input?: string): Promise<CliResult> => runCli(args, {cwd: project, env: env(extra), input})
    const runsOf = async (dagId: string) => (await airflow.api<{dag_runs: Array<{dag_run_id: string; conf: unknown; state: string}>}>('GET', `/dags/${dagId}/dagRuns?limit=100`)).body.dag_runs
    const secretsIn = (res: CliResult) => [airflow.password, WRONG_PASSWORD, BOGUS_TOKEN, Buffer.from(`admin:${airflow.password}`).toString('base64')].filter((s) => (res.stdout + res.stderr).includes(s))

    it('a DAG that succeeds reaches success with --wait, and the task sees the conf', async () => {
      const conf = {date: '2026-01-01', n: 3, nested: {ok: true}}
      const res = await dagctl(['trigger', 'team_a_ok', '--conf', JSON.stringify(conf), '--wait', '--timeout', '3m', '--json'])
      expect(res.exitCode, res.stderr).toBe(0)
      const out = res.json()
      expect(out).toMatchObject({dag_id: 'team_a_ok', status: 'triggered', state: 'success', api: version === 3 ? 'v2' : 'v1'})
      expect(out.url).toContain(`/dags/team_a_ok/`)
      expect(out.url).toContain(encodeURIComponent(out.run_id))
      expect(out.tasks).toEqual([expect.objectContaining({task_id: 'echo_conf', state: 'success'})])
      // the run carries the conf, and the task ran with it
      expect((await airflow.api('GET', `/dags/team_a_ok/dagRuns/${out.run_id}`)).body.conf).toEqual(conf)
      expect(JSON.parse(readFileSync(path.join(airflow.outDir, `${out.run_id}.json`), 'utf8'))).toEqual(conf)
    })

    it('a DAG that fails exits 1 and names its failed task', async () => {
      const res = await dagctl(['trigger', 'team_a_fail', '--correlation-id', 'fail-1', '--wait', '--timeout', '3m'])
      expect(res.exitCode, res.stderr).toBe(1)
      expect(res.stderr).toMatch(/failed: boom \(failed\)/)
      expect(res.stdout).toMatch(/boom\s+failed/)
      expect(res.stdout).toMatch(/prepare\s+success/)
      // the same run again, under --json: already there, already failed
      const json = await dagctl(['trigger', 'team_a_fail', '--correlation-id', 'fail-1', '--wait', '--timeout', '3m', '--json'])
      expect(json.exitCode).toBe(1)
      expect(json.json().error).toMatchObject({code: 'RUN_FAILED', details: {state: 'failed', dag_id: 'team_a_fail'}})
      expect(json.json().error.details.tasks).toContainEqual(expect.objectContaining({task_id: 'boom', state: 'failed'}))
    })

    it('the same correlation id twice starts one run (the second is "already triggered", exit 0)', async () => {
      const first = await dagctl(['trigger', 'team_a_ok', '--correlation-id', 'ci-pipeline-4711', '--conf', '{"attempt": 1}', '--json'])
      const second = await dagctl(['trigger', 'team_a_ok', '--correlation-id', 'ci-pipeline-4711', '--conf', '{"attempt": 2}', '--json'])
      expect(first.exitCode, first.stderr).toBe(0)
      expect(second.exitCode, second.stderr).toBe(0)
      expect(first.json().status).toBe('triggered')
      expect(second.json()).toMatchObject({status: 'already_triggered', run_id: first.json().run_id})
      const runs = (await runsOf('team_a_ok')).filter((r) => r.dag_run_id === first.json().run_id)
      expect(runs).toHaveLength(1)
      expect(runs[0].conf).toEqual({attempt: 1})
      // and `runs` shows it
      const listed = await dagctl(['runs', 'team_a_ok', '--tasks', '--json'])
      expect(listed.exitCode, listed.stderr).toBe(0)
      const row = listed.json().runs.find((r: {run_id: string}) => r.run_id === first.json().run_id)
      expect(row).toMatchObject({conf: {attempt: 1}, url: first.json().url})
      expect(row.tasks.map((t: {task_id: string}) => t.task_id)).toEqual(['echo_conf'])
      // one time format everywhere: ISO 8601, UTC, to the second
      // (Airflow 2 leaves queued_at empty, and a run not started yet has no start_date)
      for (const t of [row.queued_at, row.start_date, row.end_date].filter((v) => v !== null)) expect(t).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
      expect((await dagctl(['runs', 'team_a_ok', '-n', '1', '--json'])).json().runs).toHaveLength(1)
    })

    it('a paused DAG is reported; with --unpause it runs', async () => {
      const paused = await dagctl(['trigger', 'team_a_paused', '--correlation-id', 'paused-1', '--json'])
      expect(paused.exitCode, paused.stderr).toBe(0)
      expect(paused.json()).toMatchObject({paused: true, unpaused: false, state: 'queued'})
      const human = await dagctl(['trigger', 'team_a_paused', '--correlation-id', 'paused-1'])
      expect(human.stderr).toMatch(/team_a_paused is paused/)
      // waiting on a run that cannot start runs out: 124, with where it stands
      const waited = await dagctl(['trigger', 'team_a_paused', '--correlation-id', 'paused-1', '--wait', '--timeout', '3s', '--json'])
      expect(waited.exitCode).toBe(124)
      expect(waited.json().error).toMatchObject({code: 'WAIT_TIMEOUT', exitCode: 124, details: {state: 'queued', paused: true}})
      const res = await dagctl(['trigger', 'team_a_paused', '--correlation-id', 'paused-1', '--unpause', '--wait', '--timeout', '3m', '--json'])
      expect(res.exitCode, res.stderr).toBe(0)
      expect(res.json()).toMatchObject({status: 'already_triggered', unpaused: true, paused: false, state: 'success'})
      expect((await airflow.api('GET', '/dags/team_a_paused')).body.is_paused).toBe(false)
    })

    it('a DAG outside the allowlist is refused (exit 5) without a single request', async () => {
      const before = proxy.requests.length
      const res = await dagctl(['trigger', 'other_pkg_job', '--json'])
      expect(res.exitCode).toBe(5)
      expect(res.json().error).toMatchObject({code: 'NOT_ALLOWED', exitCode: 5})
      expect(proxy.requests.length).toBe(before)
      expect(await runsOf('other_pkg_job')).toEqual([])
    })

    it('a wrong password exits 4 with a hint and no secret anywhere, --verbose included', async () => {
      for (const args of [['trigger', 'team_a_ok'], ['trigger', 'team_a_ok', '--verbose'], ['trigger', 'team_a_ok', '--json', '--verbose']]) {
        const res = await dagctl(args, {DAGCTL_AIRFLOW_PASSWORD: WRONG_PASSWORD})
        expect(res.exitCode, res.stderr).toBe(4)
        expect(res.stdout + res.stderr).toMatch(/DAGCTL_AIRFLOW_PASSWORD/)
        expect(secretsIn(res)).toEqual([])
        expect(res.stdout + res.stderr).not.toMatch(/authorization|Basic [A-Za-z0-9+/=]{8}|Bearer \w/i)
      }
      const token = await dagctl(['errors', '--verbose'], {DAGCTL_AIRFLOW_TOKEN: BOGUS_TOKEN})
      expect(token.exitCode).toBe(4)
      expect(token.stderr).toMatch(/DAGCTL_AIRFLOW_TOKEN/)
      expect(secretsIn(token)).toEqual([])
      const dlq = readFileSync(path.join(project, '.dagctl', 'trigger-dead-letters.jsonl'), 'utf8')
      expect(dlq).not.toContain(WRONG_PASSWORD)
      rmSync(path.join(project, '.dagctl'), {recursive: true, force: true})
    })

    it('Airflow gone mid-way exits 4 with a dead letter (no secret in it); --replay sends it once Airflow is back', async () => {
      const dlq = path.join(project, 'dead.jsonl')
      // the version probe, the login and the DAG read go through; the trigger's connection dies
      proxy.failWhen = /^POST \/api\/v\d\/dags\/team_a_ok\/dagRuns$/
      const res = await dagctl(['trigger', 'team_a_ok', '--conf', '{"replayed": true}', '--retries', '1', '--dlq', dlq, '--json'])
      proxy.failWhen = undefined
      expect(res.exitCode, res.stderr).toBe(4)
      expect(res.json().error).toMatchObject({exitCode: 4, details: {dead_letter: dlq}})
      const runId = res.json().error.details.run_id as string
      const text = readFileSync(dlq, 'utf8')
      expect(text).not.toContain(airflow.password)
      expect(text).not.toMatch(/authorization|access_token/i)
      const letters = text.trim().split('\n').map((l) => JSON.parse(l))
      expect(letters).toEqual([expect.objectContaining({dag_id: 'team_a_ok', run_id: runId, conf: {replayed: true}})])
      expect((await runsOf('team_a_ok')).some((r) => r.dag_run_id === runId)).toBe(false)

      const replay = await dagctl(['trigger', '--replay', dlq, '--json'])
      expect(replay.exitCode, replay.stderr).toBe(0)
      expect(replay.json()).toMatchObject({remaining: 0, replayed: [expect.objectContaining({run_id: runId, status: 'triggered'})]})
      expect(readFileSync(dlq, 'utf8')).toBe('')
      const run = (await runsOf('team_a_ok')).find((r) => r.dag_run_id === runId)
      expect(run?.conf).toEqual({replayed: true})
    })

    it('a DataHub PlatformEvent through the mapping starts the mapped DAG with the mapped conf, once', async () => {
      const event = readFileSync(path.join(FIXTURES, 'platform-event-entity-change-event-owner-added.json'), 'utf8')
      const first = await dagctl(['trigger', '--event', '-', '--json'], {}, event)
      expect(first.exitCode, first.stderr).toBe(0)
      const out = first.json()
      expect(out).toMatchObject({form: 'platform_event', matched: [{rule: 'owner-added', dag_id: 'team_a_on_tag'}]})
      const runId = out.triggers[0].run_id as string
      const conf = {urn: 'urn:li:dataset:abc', owner: 'urn:li:corpuser:jdoe', owner_type: 'BUSINESS_OWNER', when: 1649953100653, label: 'OWNER/ADD'}
      expect((await airflow.api('GET', `/dags/team_a_on_tag/dagRuns/${runId}`)).body.conf).toEqual(conf)
      const again = await dagctl(['trigger', '--event', path.join(FIXTURES, 'platform-event-entity-change-event-owner-added.json'), '--json'])
      expect(again.exitCode).toBe(0)
      expect(again.json().triggers[0]).toMatchObject({run_id: runId, status: 'already_triggered'})
      // an event no rule takes: exit 0, nothing sent
      const before = proxy.requests.length
      const none = await dagctl(['trigger', '--event', path.join(FIXTURES, 'entity-change-event-soft-delete.json'), '--json'])
      expect(none.exitCode).toBe(0)
      expect(none.json()).toMatchObject({matched: [], triggers: []})
      expect(proxy.requests.length).toBe(before)
    })

    if (options.action) {
      it('the DataHub Action (real acryl-datahub-actions) starts the mapped DAG once when the same event is delivered twice', async () => {
        const before = (await runsOf('team_a_on_tag')).length
        const driver = `
import json, logging, sys
from datahub_actions.event.event_envelope import EventEnvelope
from datahub_actions.pipeline.pipeline_context import PipelineContext
from datahub_actions.action.action_registry import action_registry
from dagctl_datahub.action import DagctlAction

logging.basicConfig(level=logging.INFO)
cfg = json.loads(sys.argv[2])
# the pipeline resolves "type: dagctl_datahub.action:DagctlAction" through the registry
cls = action_registry.get("dagctl_datahub.action:DagctlAction")
assert cls is DagctlAction
action = cls.create(cfg, PipelineContext(pipeline_name="dagctl-test", graph=None))
envelope = EventEnvelope.from_json(open(sys.argv[1]).read())
action.act(envelope)
action.act(EventEnvelope.from_json(envelope.as_json()))  # the redelivery
action.close()
print("acted twice")
`
        const config = {command: ['node', BIN], cwd: project, env: env(), args: []}
        const {stdout, stderr} = await promisify(execFile)(inject('datahubPython'), ['-c', driver, path.join(FIXTURES, 'event-envelope-entity-change-event-tag-added.json'), JSON.stringify(config)], {
          env: {...process.env, PYTHONPATH: path.join(REPO_ROOT, 'python', 'dagctl_datahub')},
          timeout: 120_000,
        })
        expect(stdout).toContain('acted twice')
        expect(stderr).toMatch(/triggered team_a_on_tag/)
        expect(stderr).toMatch(/already_triggered team_a_on_tag/)
        const runs = await runsOf('team_a_on_tag')
        expect(runs.length).toBe(before + 1)
        expect(runs.map((r) => r.conf)).toContainEqual({urn: 'urn:li:dataset:(urn:li:dataPlatform:snowflake,datahub_community.datahub_slack.message_file,PROD)', tag: 'urn:li:tag:COLUMNFIELD'})
        expect(stderr).not.toContain(airflow.password)
      })
    }

    if (options.action) {
      it('the Action\'s long-lived dagctl killed after starting a run but before answering: the event is sent again, and starts no second run', async () => {
        // a fresh event (its own entity), so its run id is new to this Airflow
        const envelope = JSON.parse(readFileSync(path.join(FIXTURES, 'event-envelope-entity-change-event-tag-added.json'), 'utf8'))
        envelope.event.entityUrn = 'urn:li:dataset:(urn:li:dataPlatform:snowflake,restart_test.table,PROD)'
        envelope.event.auditStamp.time += 12_345
        const dir = mkdtempSync(path.join(os.tmpdir(), 'dagctl-action-restart-'))
        const eventFile = path.join(dir, 'event.json')
        writeFileSync(eventFile, JSON.stringify(envelope))
        const launches = path.join(dir, 'launches')
        const driver = `
import json, logging, sys
from datahub_actions.event.event_envelope import EventEnvelope
from datahub_actions.pipeline.pipeline_context import PipelineContext
from dagctl_datahub.action import DagctlAction

logging.basicConfig(level=logging.INFO)
action = DagctlAction.create(json.loads(sys.argv[2]), PipelineContext(pipeline_name="dagctl-test", graph=None))
action.act(EventEnvelope.from_json(open(sys.argv[1]).read()))
action.close()
print("acted")
`
        const before = (await runsOf('team_a_on_tag')).length
        const command = ['python3', path.join(REPO_ROOT, 'test', 'helpers', 'flaky_dagctl.py'), 'after', launches, '--', 'node', BIN]
        const {stdout, stderr} = await promisify(execFile)(inject('datahubPython'), ['-c', driver, eventFile, JSON.stringify({command, cwd: project, env: env(), args: []})], {
          env: {...process.env, PYTHONPATH: path.join(REPO_ROOT, 'python', 'dagctl_datahub')},
          timeout: 120_000,
        })
        rmSync(dir, {recursive: true, force: true})
        expect(stdout).toContain('acted')
        expect(stderr).toMatch(/dagctl stopped before answering \(attempt 1\)/)
        // the resend found the run the killed dagctl had started
        expect(stderr).toMatch(/already_triggered team_a_on_tag/)
        const runs = await runsOf('team_a_on_tag')
        expect(runs.length).toBe(before + 1)
        expect(runs.map((r) => r.conf)).toContainEqual({urn: envelope.event.entityUrn, tag: 'urn:li:tag:COLUMNFIELD'})
      })
    }

    it('errors lists the file Airflow could not import', async () => {
      const res = await dagctl(['errors', '--json'])
      expect(res.exitCode, res.stderr).toBe(0)
      const out = res.json()
      expect(out.total).toBeGreaterThanOrEqual(1)
      expect(out.import_errors).toContainEqual(expect.objectContaining({filename: expect.stringContaining('team_a_broken.py'), stack_trace: expect.stringContaining('broken on purpose')}))
      for (const e of out.import_errors) expect(e.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    })

    it('every request body dagctl sent validates against the OpenAPI spec of this version', () => {
      const bodies = new OpenApiBodies(version)
      const sent = proxy.requests.filter((r) => r.body !== undefined)
      const kinds = new Set(sent.map((r) => `${r.method} ${r.path.split('?')[0].replace(/\/dags\/[^/]+/, '/dags/{id}')}`))
      const prefix = version === 3 ? '/api/v2' : '/api/v1'
      // the calls that carry a body were all exercised
      expect(kinds).toContain(`POST ${prefix}/dags/{id}/dagRuns`)
      expect(kinds).toContain(`PATCH ${prefix}/dags/{id}`)
      if (version === 3) expect(kinds).toContain('POST /auth/token')
      const failures = sent.map((r) => ({req: `${r.method} ${r.path}`, errors: bodies.validate(r)})).filter((f) => f.errors.length > 0)
      expect(failures).toEqual([])
      // and the validator can say no: v2 wants logical_date and refuses unknown fields
      if (version === 3) {
        expect(bodies.validate({method: 'POST', path: '/api/v2/dags/x/dagRuns', body: {dag_run_id: 'r', conf: {}}})).not.toEqual([])
        expect(bodies.validate({method: 'POST', path: '/api/v2/dags/x/dagRuns', body: {logical_date: null, execution_date: null}})).not.toEqual([])
      } else {
        expect(bodies.validate({method: 'POST', path: '/api/v1/dags/x/dagRuns', body: {conf: 'not an object'}})).not.toEqual([])
      }
      expect(existsSync(BIN)).toBe(true)
    })
  })
}
