import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {airflowFlags, environmentFlags} from '../flags.js'
import {runTrigger, type TriggerResult} from '../airflow/trigger-command.js'

export type {TriggerResult} from '../airflow/trigger-command.js'

export default class Trigger extends BaseCommand<typeof Trigger> {
  static override summary = 'Start a DAG run over the Airflow REST API: safe, idempotent, honest exit codes.'
  static override description = `Starts DAG_ID on the environment's Airflow (REST API v2 for Airflow 3, v1 for Airflow 2, detected).
Only DAGs on trigger.allow (default: the package's own <package>_*) may be triggered; a refusal sends no request (exit 5).
The run id is --run-id, or derived from --correlation-id, so the same request twice starts one run (the second is reported as already triggered, exit 0).
A trigger that finally fails exits 4 and is saved to the dead-letter file (--dlq, trigger.dlq; default .dagctl/trigger-dead-letters.jsonl); --replay FILE sends dead letters again.
--event takes a DataHub entity change event (file or - for stdin) and starts the DAGs its mapping (--mapping, trigger.mapping) gives; --event - --stream takes one event per line until stdin ends and answers each with a JSON line {line, exitCode, result|error}.
Exit codes: 0 triggered (or already), 1 the run failed (--wait), 2 bad usage, 4 Airflow failed or unreachable, 5 not allowed, 124 --wait ran out.`
  static override examples = [
    '<%= config.bin %> trigger team_a_daily --conf \'{"date": "2026-01-01"}\'',
    '<%= config.bin %> trigger team_a_smoke --correlation-id "$CI_PIPELINE_ID" --wait --timeout 10m --env staging',
    '<%= config.bin %> trigger team_a_backfill --conf @conf.json --unpause --json',
    '<%= config.bin %> trigger --event event.json --mapping mappings.yaml',
    '<%= config.bin %> trigger --event - --stream < events.ndjson',
    '<%= config.bin %> trigger --replay .dagctl/trigger-dead-letters.jsonl',
  ]

  static override args = {
    // ignoreStdin: oclif would otherwise read piped stdin (the --event - payload) into DAG_ID
    dag_id: Args.string({description: 'The DAG to start (not with --event or --replay).', ignoreStdin: true}),
  }

  static override flags = {
    env: environmentFlags.env,
    ...airflowFlags,
    conf: Flags.string({summary: 'The run\'s conf: a JSON object, or @FILE holding one.'}),
    'run-id': Flags.string({summary: 'The run id to use (letters, digits, _ . ~ : + -).', exclusive: ['correlation-id']}),
    'correlation-id': Flags.string({summary: 'Derive the run id from this: the same id twice starts one run.'}),
    note: Flags.string({summary: 'A note on the run (shown in the Airflow UI).'}),
    unpause: Flags.boolean({summary: 'Unpause the DAG if it is paused (a paused DAG\'s run stays queued).'}),
    wait: Flags.boolean({summary: 'Follow the run until it ends: exit 0 success, 1 failed (with the failed tasks), 124 timeout.'}),
    timeout: Flags.string({summary: 'How long --wait waits (30s, 10m, 2h; default 30m).'}),
    dlq: Flags.string({summary: 'Dead-letter file for triggers that finally fail (default trigger.dlq or .dagctl/trigger-dead-letters.jsonl).'}),
    replay: Flags.string({summary: 'Send the dead letters in FILE again; the ones that go through leave the file.', exclusive: ['event', 'conf', 'run-id', 'correlation-id', 'wait']}),
    event: Flags.string({summary: 'A DataHub entity change event (FILE, or - for stdin) to map to DAG runs.', exclusive: ['conf', 'run-id', 'correlation-id', 'wait']}),
    mapping: Flags.string({summary: 'The event mapping file (default trigger.mapping).', dependsOn: ['event']}),
    stream: Flags.boolean({summary: 'With --event -: one event per stdin line (NDJSON) until stdin ends, one JSON answer line per event on stdout (the DataHub Action\'s mode).', dependsOn: ['event'], exclusive: ['json']}),
  }

  public async run(): Promise<TriggerResult> {
    const {args, flags} = this
    const json = this.jsonEnabled()
    const view = {out: (line: string) => json || this.log(line), note: (line: string) => this.note(line)}
    const input = {...flags, dagId: args.dag_id, runId: flags['run-id'], correlationId: flags['correlation-id']}
    return runTrigger(input, () => this.loadConfig(), view)
  }
}
