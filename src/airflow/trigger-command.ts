import type {ResolvedConfig} from '../config/load.js'
import {DagctlError, UsageError} from '../errors.js'
import {allowPatterns, assertAllowed} from './allowlist.js'
import {parseWaitTimeout, readConf, readEventText} from './inputs.js'
import type {EventTriggerResult} from './event-trigger.js'
import type {ReplayResult, TriggerContext} from './operate.js'
import type {TriggerOutcome} from './trigger.js'

/** What `dagctl trigger` was asked: its argument and flags, as given. */
export interface TriggerInput {
  dagId?: string
  conf?: string
  runId?: string
  correlationId?: string
  note?: string
  unpause?: boolean
  wait?: boolean
  timeout?: string
  dlq?: string
  replay?: string
  event?: string
  mapping?: string
  /** with --event -: read one event per line (NDJSON) until stdin ends, answer one JSON line each */
  stream?: boolean
  retries?: number
  /** log every request on stderr */
  verbose?: boolean
}

/** Where the lines for people go: `out` the result (stdout), `note` progress and notes (stderr). Both no-ops under --json. */
export interface TriggerView {
  out(line: string): void
  note(line: string): void
}

export type TriggerResult = TriggerOutcome | EventTriggerResult | ReplayResult | StreamResult

/** What `--stream` returns once stdin has ended: how many events it answered, and how. */
export interface StreamResult {
  events: number
  failed: number
}

/**
 * One answer line of `--stream`, per event, in the order the events came: `exitCode` is the one the
 * one-shot `trigger --event` would have exited with for that event (0 done, 2 bad event, 4 Airflow
 * failed and the request is a dead letter, 5 refused by the allowlist), with its result or error.
 */
export interface StreamAnswer {
  line: number
  exitCode: number
  /** the stream itself cannot go on (dagctl.yaml or the mapping is broken): dagctl exits with exitCode after this line */
  fatal?: true
  result?: EventTriggerResult
  error?: Record<string, unknown>
}

/**
 * `dagctl trigger`: one DAG (optionally --wait), a DataHub event through its mapping, or a replay of
 * dead letters. Cheap checks first: a bad flag costs no config work and no request, and a DAG off
 * the allowlist is refused before the client exists.
 */
export async function runTrigger(input: TriggerInput, loadConfig: () => ResolvedConfig, view: TriggerView): Promise<TriggerResult> {
  const modes = [input.dagId !== undefined, input.event !== undefined, input.replay !== undefined].filter(Boolean).length
  if (modes !== 1) {
    throw new UsageError(modes === 0 ? 'give a DAG_ID, --event FILE or --replay FILE' : 'give only one of DAG_ID, --event and --replay', {
      hint: 'dagctl trigger team_a_daily | dagctl trigger --event event.json | dagctl trigger --replay FILE',
    })
  }
  if (input.stream && input.event !== '-') throw new UsageError('--stream reads events from stdin: give --event -', {hint: 'dagctl trigger --event - --stream < events.ndjson'})
  if (input.timeout !== undefined && !input.wait) throw new UsageError('--timeout goes with --wait', {hint: 'dagctl trigger DAG_ID --wait --timeout 10m'})
  const timeoutMs = input.wait ? parseWaitTimeout(input.timeout) : 0
  const conf = input.conf === undefined ? undefined : await readConf(input.conf)
  if (input.runId !== undefined) {
    const {isValidRunId} = await import('./trigger.js')
    if (!isValidRunId(input.runId)) throw new UsageError(`--run-id ${input.runId}: use letters, digits and _ . ~ : + - (at most 250)`, {hint: 'Or pass --correlation-id with any text: dagctl derives a valid run id from it.'})
  }

  const resolved = input.stream ? await Promise.resolve().then(loadConfig).catch(fatalAnswer) : loadConfig()
  const allow = allowPatterns(resolved.config)
  // before the client exists, and before anything else loads: a refusal sends nothing and costs little
  if (input.dagId !== undefined) assertAllowed(input.dagId, allow)
  const dlqFile = resolved.resolvePath(input.dlq ?? resolved.config.trigger.dlq ?? (await import('./dead-letter.js')).DEFAULT_DLQ)
  const open = () => openContext(resolved, allow, dlqFile, input)

  if (input.stream) return streamEvents(resolved, input.mapping, allow, open, view).catch(fatalAnswer)
  if (input.event !== undefined) return triggerEvent(resolved, input.event, input.mapping, allow, open, view)

  const ctx = await open()
  try {
    if (input.replay !== undefined) return await replay(ctx, resolved.resolvePath(input.replay), view)
    const {triggerOrDeadLetter} = await import('./operate.js')
    const outcome = await triggerOrDeadLetter(ctx, {dagId: input.dagId!, conf, runId: input.runId, correlationId: input.correlationId, unpause: input.unpause, note: input.note}, 'cli')
    reportTrigger(outcome, view)
    if (!input.wait) return outcome
    const {waitForRun} = await import('./trigger.js')
    try {
      const done = await waitForRun(ctx.client, outcome, {timeoutMs, onState: (s) => view.note(`  ${outcome.run_id}: ${s}`)})
      printTasks(done, view)
      view.out(`Run ${done.run_id} of ${done.dag_id} succeeded.`)
      return done
    } catch (error) {
      const details = (error as {details?: unknown}).details as TriggerOutcome | undefined
      if (details?.tasks) printTasks(details, view)
      throw error
    }
  } finally {
    await ctx.client.close()
  }
}

async function openContext(resolved: ResolvedConfig, allow: string[], dlqFile: string, input: TriggerInput): Promise<TriggerContext> {
  const [{AirflowClient}, {airflowOptionsFrom}] = await Promise.all([import('./client.js'), import('./connection.js')])
  const log = input.verbose ? (line: string) => process.stderr.write(`[airflow] ${line}\n`) : undefined
  const client = new AirflowClient(airflowOptionsFrom(resolved, {retries: input.retries, log}))
  return {client, allow, dlqFile, env: resolved.envName}
}

async function triggerEvent(resolved: ResolvedConfig, eventArg: string, mappingFlag: string | undefined, allow: string[], open: () => Promise<TriggerContext>, view: TriggerView): Promise<EventTriggerResult> {
  const [{parseEvent}, {openMapping, triggerFromEvent}] = await Promise.all([import('./event.js'), import('./event-trigger.js')])
  const {mapping, mappingPath} = openMapping(resolved, mappingFlag)
  const text = await readEventText(eventArg, resolved.resolvePath)
  const parsed = parseEvent(text, eventArg === '-' ? 'stdin' : eventArg)
  let ctx: TriggerContext | undefined
  try {
    // the client only once a rule matched and every mapped DAG passed the allowlist
    const result = await triggerFromEvent(async () => (ctx = await open()), parsed, mapping, allow)
    if (result.matched.length === 0) view.out(`No rule in ${mappingPath} matches this ${parsed.event.category} ${parsed.event.operation} event on ${parsed.event.entityUrn}: nothing triggered.`)
    for (const t of result.triggers) reportTrigger(t, view)
    return result
  } finally {
    await ctx?.client.close()
  }
}

/**
 * `trigger --event - --stream`: a long-lived dagctl for the DataHub Action. Config, mapping and
 * allowlist are read once; the Airflow client (and its keep-alive connections and token) once the
 * first rule matches. Each stdin line is one event, through exactly what the one-shot command does
 * (the run id derived from the event, dead letters), answered by one JSON line on stdout. A failed
 * event is an answer, not the end of the stream; stdin's end is. A caller that lost an answer (this
 * process died) sends the event again: its run id makes that an "already triggered", never a second run.
 */
async function streamEvents(resolved: ResolvedConfig, mappingFlag: string | undefined, allow: string[], open: () => Promise<TriggerContext>, view: TriggerView): Promise<StreamResult> {
  const [{parseEvent}, {openMapping, triggerFromEvent}, {createInterface}] = await Promise.all([import('./event.js'), import('./event-trigger.js'), import('node:readline')])
  const {mapping} = openMapping(resolved, mappingFlag)
  let ctx: TriggerContext | undefined
  const context = async () => (ctx ??= await open())
  const result: StreamResult = {events: 0, failed: 0}
  const answer = (a: StreamAnswer) =>
    new Promise<void>((resolve) => {
      if (process.stdout.write(`${JSON.stringify(a)}\n`)) resolve()
      else process.stdout.once('drain', resolve)
    })
  let line = 0
  try {
    for await (const text of createInterface({input: process.stdin, crlfDelay: Infinity})) {
      line++
      if (text.trim() === '') continue
      result.events++
      try {
        const parsed = parseEvent(text, `stdin line ${line}`)
        await answer({line, exitCode: 0, result: await triggerFromEvent(context, parsed, mapping, allow)})
      } catch (error) {
        result.failed++
        const err = error as Error
        await answer(
          err instanceof DagctlError
            ? {line, exitCode: err.exitCode, error: err.toJSON()}
            : {line, exitCode: 1, error: {name: 'Error', message: err.message, exitCode: 1}},
        )
      }
    }
  } finally {
    await ctx?.client.close()
  }
  view.note(`${result.events} event${result.events === 1 ? '' : 's'} answered, ${result.failed} failed.`)
  return result
}

/** A stream that cannot start says why on stdout too, as its one answer line, so the caller knows not to send the event again. */
function fatalAnswer(error: Error): never {
  const body = error instanceof DagctlError ? {exitCode: error.exitCode, error: error.toJSON()} : {exitCode: 1, error: {name: 'Error', message: error.message, exitCode: 1}}
  process.stdout.write(`${JSON.stringify({line: 0, fatal: true, ...body})}\n`)
  throw error
}

async function replay(ctx: TriggerContext, file: string, view: TriggerView): Promise<ReplayResult> {
  const {replayDeadLetters} = await import('./operate.js')
  const result = await replayDeadLetters(ctx, file)
  if (result.replayed.length === 0) view.out(`No dead letters in ${file}.`)
  for (const r of result.replayed) view.out(`${r.status === 'triggered' ? 'Triggered' : 'Already triggered'} ${r.dag_id} run ${r.run_id}  ${r.url}`)
  for (const r of result.skipped) view.note(`Skipped ${r.dag_id} run ${r.run_id}: meant for ${r.airflow} (use the --env or --airflow-url of that Airflow).`)
  view.out(`${result.replayed.length} dead letter${result.replayed.length === 1 ? '' : 's'} replayed; ${result.remaining} left in ${file}.`)
  return result
}

function reportTrigger(o: TriggerOutcome, view: TriggerView): void {
  if (o.status === 'triggered') view.out(`Triggered ${o.dag_id} run ${o.run_id} (${o.state})`)
  else view.out(`Already triggered: ${o.dag_id} run ${o.run_id} exists (${o.state}); nothing new was started.`)
  view.out(`  ${o.url}`)
  if (o.unpaused) view.note(`Unpaused ${o.dag_id}.`)
  if (o.paused) view.note(`Note: ${o.dag_id} is paused, so the run stays queued until it is unpaused (--unpause, or the Airflow UI).`)
}

function printTasks(o: TriggerOutcome, view: TriggerView): void {
  if (!o.tasks || o.tasks.length === 0) return
  const width = Math.max(...o.tasks.map((t) => t.task_id.length), 4)
  view.out(`${'task'.padEnd(width)}  state`)
  for (const t of o.tasks) view.out(`${t.task_id.padEnd(width)}  ${t.state ?? 'none'}`)
}
