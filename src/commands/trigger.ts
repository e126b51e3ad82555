import {Args, Flags} from '@oclif/core'

import {BaseCommand, environmentFlags} from '../base-command.js'
import type {EventTriggerResult, ReplayResult, TriggerContext} from '../airflow/operate.js'
import type {TriggerOutcome} from '../airflow/trigger.js'
import type {ResolvedConfig} from '../config/load.js'
import {UsageError} from '../errors.js'
import {parseWaitTimeout, readConf, readEventText} from '../airflow/inputs.js'

export const airflowFlags = {
  'airflow-url': Flags.string({summary: 'Airflow address for this run (overrides environments.<env>.airflow.url and DAGCTL_AIRFLOW_URL).'}),
  retries: Flags.integer({summary: 'Retries on network errors, 429 and 5xx, with backoff (default 3, or trigger.retries).', min: 0, max: 20}),
}

export type TriggerResult = TriggerOutcome | EventTriggerResult | ReplayResult

export default class Trigger extends BaseCommand<typeof Trigger> {
  static override summary = 'Start a DAG run over the Airflow REST API: safe, idempotent, honest exit codes.'
  static override description = `Starts DAG_ID on the environment's Airflow (REST API v2 for Airflow 3, v1 for Airflow 2, detected).
Only DAGs on trigger.allow (default: the package's own <package>_*) may be triggered; a refusal sends no request (exit 5).
The run id is --run-id, or derived from --correlation-id, so the same request twice starts one run (the second is reported as already triggered, exit 0).
A trigger that finally fails exits 4 and is saved to the dead-letter file (--dlq, trigger.dlq; default .dagctl/trigger-dead-letters.jsonl); --replay FILE sends dead letters again.
--event takes a DataHub entity change event (file or - for stdin) and starts the DAGs its mapping (--mapping, trigger.mapping) gives.
Exit codes: 0 triggered (or already), 1 the run failed (--wait), 2 bad usage, 4 Airflow failed or unreachable, 5 not allowed, 124 --wait ran out.`
  static override examples = [
    '<%= config.bin %> trigger team_a_daily --conf \'{"date": "2026-01-01"}\'',
    '<%= config.bin %> trigger team_a_smoke --correlation-id "$CI_PIPELINE_ID" --wait --timeout 10m --env staging',
    '<%= config.bin %> trigger team_a_backfill --conf @conf.json --unpause --json',
    '<%= config.bin %> trigger --event event.json --mapping mappings.yaml',
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
  }

  public async run(): Promise<TriggerResult> {
    const {args, flags} = this
    const modes = [args.dag_id !== undefined, flags.event !== undefined, flags.replay !== undefined].filter(Boolean).length
    if (modes !== 1) {
      throw new UsageError(modes === 0 ? 'give a DAG_ID, --event FILE or --replay FILE' : 'give only one of DAG_ID, --event and --replay', {
        hint: 'dagctl trigger team_a_daily | dagctl trigger --event event.json | dagctl trigger --replay FILE',
      })
    }
    // Cheap checks first: a bad flag costs no config work and no request.
    if (flags.timeout !== undefined && !flags.wait) throw new UsageError('--timeout goes with --wait', {hint: 'dagctl trigger DAG_ID --wait --timeout 10m'})
    const timeoutMs = flags.wait ? parseWaitTimeout(flags.timeout) : 0
    const conf = flags.conf === undefined ? undefined : await readConf(flags.conf)
    if (flags['run-id'] !== undefined) {
      const {isValidRunId} = await import('../airflow/trigger.js')
      if (!isValidRunId(flags['run-id'])) throw new UsageError(`--run-id ${flags['run-id']}: use letters, digits and _ . ~ : + - (at most 250)`, {hint: 'Or pass --correlation-id with any text: dagctl derives a valid run id from it.'})
    }

    const resolved = this.loadConfig()
    const {allowPatterns, assertAllowed} = await import('../airflow/allowlist.js')
    const allow = allowPatterns(resolved.config)
    const dlqFile = resolved.resolvePath(flags.dlq ?? resolved.config.trigger.dlq ?? (await import('../airflow/dead-letter.js')).DEFAULT_DLQ)

    if (flags.event !== undefined) return this.runEvent(resolved, flags.event, flags.mapping, allow, dlqFile)
    if (args.dag_id !== undefined) assertAllowed(args.dag_id, allow) // before the client exists: a refusal sends nothing

    const ctx = await this.context(resolved, allow, dlqFile)
    try {
      if (flags.replay !== undefined) return await this.runReplay(ctx, resolved.resolvePath(flags.replay))
      const {triggerOrDeadLetter} = await import('../airflow/operate.js')
      const outcome = await triggerOrDeadLetter(ctx, {dagId: args.dag_id!, conf, runId: flags['run-id'], correlationId: flags['correlation-id'], unpause: flags.unpause, note: flags.note}, 'cli')
      this.reportTrigger(outcome)
      if (!flags.wait) return outcome
      const {waitForRun} = await import('../airflow/trigger.js')
      try {
        const done = await waitForRun(ctx.client, outcome, {timeoutMs, onState: (s) => this.note(`  ${outcome.run_id}: ${s}`)})
        this.printTasks(done)
        if (!this.jsonEnabled()) this.log(`Run ${done.run_id} of ${done.dag_id} succeeded.`)
        return done
      } catch (error) {
        const details = (error as {details?: unknown}).details as TriggerOutcome | undefined
        if (details?.tasks) this.printTasks(details)
        throw error
      }
    } finally {
      await ctx.client.close()
    }
  }

  private async context(resolved: ResolvedConfig, allow: string[], dlqFile: string): Promise<TriggerContext> {
    const [{AirflowClient}, {airflowOptionsFrom}] = await Promise.all([import('../airflow/client.js'), import('../airflow/connection.js')])
    const log = this.flags.verbose ? (line: string) => process.stderr.write(`[airflow] ${line}\n`) : undefined
    const client = new AirflowClient(airflowOptionsFrom(resolved, {retries: this.flags.retries, log}))
    return {client, allow, dlqFile, env: resolved.envName}
  }

  private async runEvent(resolved: ResolvedConfig, eventArg: string, mappingFlag: string | undefined, allow: string[], dlqFile: string): Promise<EventTriggerResult> {
    const [{parseEvent}, {loadMapping}, {triggerFromEvent}] = await Promise.all([import('../airflow/event.js'), import('../airflow/mapping.js'), import('../airflow/operate.js')])
    const mappingPath = mappingFlag ?? resolved.config.trigger.mapping
    if (!mappingPath) {
      throw new UsageError('--event needs a mapping file', {key: 'trigger.mapping', hint: 'Pass --mapping FILE or set trigger.mapping in dagctl.yaml (docs/mappings.md).'})
    }
    const mapping = loadMapping(resolved.resolvePath(mappingPath))
    const text = await readEventText(eventArg, resolved.resolvePath)
    const parsed = parseEvent(text, eventArg === '-' ? 'stdin' : eventArg)
    let ctx: TriggerContext | undefined
    try {
      // the client only once a rule matched and every mapped DAG passed the allowlist
      const result = await triggerFromEvent(async () => (ctx = await this.context(resolved, allow, dlqFile)), parsed, mapping, allow)
      if (!this.jsonEnabled()) {
        if (result.matched.length === 0) this.log(`No rule in ${mappingPath} matches this ${parsed.event.category} ${parsed.event.operation} event on ${parsed.event.entityUrn}: nothing triggered.`)
        for (const t of result.triggers) this.reportTrigger(t)
      }
      return result
    } finally {
      await ctx?.client.close()
    }
  }

  private async runReplay(ctx: TriggerContext, file: string): Promise<ReplayResult> {
    const {replayDeadLetters} = await import('../airflow/operate.js')
    const result = await replayDeadLetters(ctx, file)
    if (!this.jsonEnabled()) {
      if (result.replayed.length === 0) this.log(`No dead letters in ${file}.`)
      for (const r of result.replayed) this.log(`${r.status === 'triggered' ? 'Triggered' : 'Already triggered'} ${r.dag_id} run ${r.run_id}  ${r.url}`)
      for (const r of result.skipped) this.note(`Skipped ${r.dag_id} run ${r.run_id}: meant for ${r.airflow} (use the --env or --airflow-url of that Airflow).`)
      this.log(`${result.replayed.length} dead letter${result.replayed.length === 1 ? '' : 's'} replayed; ${result.remaining} left in ${file}.`)
    }
    return result
  }

  private reportTrigger(o: TriggerOutcome): void {
    if (this.jsonEnabled()) return
    if (o.status === 'triggered') this.log(`Triggered ${o.dag_id} run ${o.run_id} (${o.state})`)
    else this.log(`Already triggered: ${o.dag_id} run ${o.run_id} exists (${o.state}); nothing new was started.`)
    this.log(`  ${o.url}`)
    if (o.unpaused) this.note(`Unpaused ${o.dag_id}.`)
    if (o.paused) this.note(`Note: ${o.dag_id} is paused, so the run stays queued until it is unpaused (--unpause, or the Airflow UI).`)
  }

  private printTasks(o: TriggerOutcome): void {
    if (this.jsonEnabled() || !o.tasks || o.tasks.length === 0) return
    const width = Math.max(...o.tasks.map((t) => t.task_id.length), 4)
    this.log(`${'task'.padEnd(width)}  state`)
    for (const t of o.tasks) this.log(`${t.task_id.padEnd(width)}  ${t.state ?? 'none'}`)
  }
}
