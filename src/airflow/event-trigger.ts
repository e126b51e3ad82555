import type {ResolvedConfig} from '../config/load.js'
import {UsageError} from '../errors.js'
import {assertAllowed} from './allowlist.js'
import {eventCorrelationId, type EventForm, type ParsedEvent} from './event.js'
import {loadMapping, mapEvent, type Mapping} from './mapping.js'
import {triggerOrDeadLetter, type TriggerContext} from './operate.js'
import type {TriggerOutcome} from './trigger.js'

// Apart from operate.ts, so that a plain `trigger DAG_ID` loads no mapping: mapping.ts reads YAML
// and checks it with zod, which a trigger without --event would otherwise load (and compile) too.

/** The mapping of --event (--mapping, else trigger.mapping): read and checked once, for one event or a stream. */
export function openMapping(resolved: ResolvedConfig, mappingFlag: string | undefined): {mapping: Mapping; mappingPath: string} {
  const mappingPath = mappingFlag ?? resolved.config.trigger.mapping
  if (!mappingPath) {
    throw new UsageError('--event needs a mapping file', {key: 'trigger.mapping', hint: 'Pass --mapping FILE or set trigger.mapping in dagctl.yaml (docs/mappings.md).'})
  }
  return {mapping: loadMapping(resolved.resolvePath(mappingPath)), mappingPath}
}

export interface EventTriggerResult {
  form: EventForm
  event: {entityType: string; entityUrn: string; category: string; operation: string; modifier: string | null; time: number; version: number}
  correlation_id: string
  /** the rules that matched; none is fine (exit 0): most events are not for us */
  matched: Array<{rule: string; dag_id: string}>
  triggers: TriggerOutcome[]
}

/**
 * A DataHub event through the mapping: every matching rule starts its DAG with its conf, under a run
 * id derived from the event, so a redelivered event finds its run already there (409) and starts
 * nothing. The allowlist is checked for every mapped DAG before the first request.
 */
export async function triggerFromEvent(ctx: TriggerContext | (() => Promise<TriggerContext>), parsed: ParsedEvent, mapping: Mapping, allow: string[]): Promise<EventTriggerResult> {
  const e = parsed.event
  const correlationId = eventCorrelationId(e)
  const mapped = mapEvent(mapping, e, correlationId)
  for (const m of mapped) assertAllowed(m.dagId, allow)
  const triggers: TriggerOutcome[] = []
  if (mapped.length > 0) {
    const c = typeof ctx === 'function' ? await ctx() : ctx
    for (const m of mapped) {
      triggers.push(await triggerOrDeadLetter(c, {dagId: m.dagId, conf: m.conf, correlationId, unpause: m.unpause, note: m.note}, 'event'))
    }
  }
  return {
    form: parsed.form,
    event: {entityType: e.entityType, entityUrn: e.entityUrn, category: e.category, operation: e.operation, modifier: e.modifier ?? null, time: e.auditStamp.time, version: e.version ?? 0},
    correlation_id: correlationId,
    matched: mapped.map((m) => ({rule: m.rule, dag_id: m.dagId})),
    triggers,
  }
}
