import {DagctlError, PolicyError, RemoteError} from '../errors.js'
import {formatTimestamp} from '../ui/time.js'
import {assertAllowed} from './allowlist.js'
import type {AirflowClient} from './client.js'
import {appendDeadLetter, newDeadLetterId, readDeadLetters, writeDeadLetters, type DeadLetter} from './dead-letter.js'
import {runIdFor, triggerDag, type TriggerOutcome, type TriggerRequest} from './trigger.js'

/** What `trigger` needs around one Airflow client: the policy, the dead-letter file, where it runs. */
export interface TriggerContext {
  client: AirflowClient
  allow: string[]
  dlqFile: string
  env: string
}

/**
 * One trigger, with the dead-letter rule: a request that finally fails on the remote side (exit 4)
 * is appended, scrubbed, to the dead-letter file before the error goes up. Policy refusals and
 * usage errors are not dead letters: sending them again would fail again.
 */
export async function triggerOrDeadLetter(ctx: TriggerContext, req: TriggerRequest, source: string): Promise<TriggerOutcome> {
  assertAllowed(req.dagId, ctx.allow)
  const runId = runIdFor(req)
  try {
    return await triggerDag(ctx.client, req, runId)
  } catch (error) {
    if (!(error instanceof RemoteError)) throw error
    const letter: DeadLetter = {
      version: 1,
      id: newDeadLetterId(),
      at: formatTimestamp(new Date()),
      env: ctx.env,
      airflow: ctx.client.displayUrl,
      dag_id: req.dagId,
      run_id: runId,
      ...(req.conf === undefined ? {} : {conf: req.conf}),
      ...(req.correlationId ? {correlation_id: req.correlationId} : {}),
      ...(req.unpause ? {unpause: true} : {}),
      ...(req.note === undefined ? {} : {note: req.note}),
      source,
      error: {code: error.code, message: error.message},
      replays: 0,
    }
    appendDeadLetter(ctx.dlqFile, letter, ctx.client.scrubber)
    throw new RemoteError(error.message, {
      code: error.code,
      hint: `${error.hint ? `${error.hint} ` : ''}The request was saved to ${ctx.dlqFile}; \`dagctl trigger --replay ${ctx.dlqFile}\` sends it again (same run id, so it never starts twice).`,
      details: {...error.details, dag_id: req.dagId, run_id: runId, dead_letter: ctx.dlqFile},
    })
  }
}

export interface ReplayResult {
  file: string
  /** sent now, or found already triggered */
  replayed: Array<{id: string; dag_id: string; run_id: string; status: TriggerOutcome['status']; url: string}>
  failed: Array<{id: string; dag_id: string; run_id: string; error: {code: string; message: string}}>
  /** meant for another Airflow than this run's: left as they are */
  skipped: Array<{id: string; dag_id: string; run_id: string; airflow: string}>
  remaining: number
}

/**
 * Sends every dead letter again with its own run id. The ones that went through (or were there
 * already) leave the file; the rest stay, with the new error and a replay count. The file is
 * rewritten at once at the end. Letters meant for another Airflow are skipped and kept. Exit 4 when any remain (5 when only policy refusals remain).
 */
export async function replayDeadLetters(ctx: TriggerContext, file: string): Promise<ReplayResult> {
  const letters = readDeadLetters(file)
  const result: ReplayResult = {file, replayed: [], failed: [], skipped: [], remaining: 0}
  const keep: DeadLetter[] = []
  for (const l of letters) {
    if (l.airflow !== ctx.client.displayUrl) {
      // never send a prod request to staging because the wrong --env was given
      keep.push(l)
      result.skipped.push({id: l.id, dag_id: l.dag_id, run_id: l.run_id, airflow: l.airflow})
      continue
    }
    try {
      assertAllowed(l.dag_id, ctx.allow)
      const outcome = await triggerDag(ctx.client, {dagId: l.dag_id, runId: l.run_id, conf: l.conf, correlationId: l.correlation_id, unpause: l.unpause, note: l.note}, l.run_id)
      result.replayed.push({id: l.id, dag_id: l.dag_id, run_id: l.run_id, status: outcome.status, url: outcome.url})
    } catch (error) {
      if (!(error instanceof DagctlError)) throw error
      const err = {code: error.code, message: ctx.client.scrubber.scrub(error.message)}
      keep.push({...l, error: err, replays: (l.replays ?? 0) + 1})
      result.failed.push({id: l.id, dag_id: l.dag_id, run_id: l.run_id, error: err})
    }
  }
  if (letters.length > 0 && keep.length !== letters.length) writeDeadLetters(file, keep)
  else if (result.failed.length > 0) writeDeadLetters(file, keep)
  result.remaining = keep.length
  if (result.failed.length > 0) {
    const onlyPolicy = result.failed.every((f) => f.error.code === 'NOT_ALLOWED')
    const message = `${result.failed.length} of ${letters.length} dead letter${letters.length === 1 ? '' : 's'} failed again (kept in ${file}); ${result.replayed.length} went through`
    const details = result as unknown as Record<string, unknown>
    if (onlyPolicy) throw new PolicyError(message, {code: 'NOT_ALLOWED', hint: 'Those DAGs are not on trigger.allow; remove the lines or widen the allowlist.', details})
    throw new RemoteError(message, {code: 'REPLAY_INCOMPLETE', hint: `Run \`dagctl trigger --replay ${file}\` again once Airflow answers.`, details})
  }
  return result
}
