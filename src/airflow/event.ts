import {createHash} from 'node:crypto'

import {UsageError} from '../errors.js'
import {isPlainObject} from '../util/plain.js'

/** DataHub's EntityChangeEvent_v1 in its JSON form (fixtures in test/fixtures/datahub). */
export interface EntityChangeEvent {
  entityType: string
  entityUrn: string
  category: string
  operation: string
  modifier?: string | null
  parameters?: Record<string, unknown> | null
  auditStamp: {time: number; actor: string; impersonator?: string | null; message?: string | null}
  version?: number
}

export type EventForm = 'entity_change_event' | 'platform_event' | 'event_envelope'

export interface ParsedEvent {
  event: EntityChangeEvent
  form: EventForm
}

const HINT = 'Pass an EntityChangeEvent_v1 as JSON, a PlatformEvent wrapping one (payload.value), or a DataHub Action event envelope ({event_type, event, meta}). docs/mappings.md shows each.'

/**
 * Reads any of the three shapes an entity change event reaches dagctl in: the event itself, a
 * PlatformEvent from Kafka or the events API whose payload.value is a JSON string, or the
 * envelope a DataHub Action gets (EventEnvelope.as_json()).
 */
export function parseEvent(text: string, source: string): ParsedEvent {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new UsageError(`event from ${source} is not JSON: ${(error as Error).message}`, {file: source === 'stdin' ? undefined : source, code: 'EVENT_INVALID', hint: HINT})
  }
  if (!isPlainObject(value)) throw new UsageError(`event from ${source} is not a JSON object`, {code: 'EVENT_INVALID', hint: HINT})
  if ('event_type' in value && 'event' in value) {
    if (value.event_type !== 'EntityChangeEvent_v1') {
      throw new UsageError(`event from ${source} is a ${String(value.event_type)}; dagctl maps EntityChangeEvent_v1 only`, {code: 'EVENT_UNSUPPORTED', hint: 'Filter the Action pipeline on event_type: EntityChangeEvent_v1.'})
    }
    const inner = typeof value.event === 'string' ? parseJsonString(value.event, source) : value.event
    return {event: checkEvent(inner, source), form: 'event_envelope'}
  }
  if ('payload' in value && 'name' in value) {
    if (value.name !== 'entityChangeEvent') {
      throw new UsageError(`event from ${source} is a platform event named ${String(value.name)}; dagctl maps entityChangeEvent only`, {code: 'EVENT_UNSUPPORTED', hint: HINT})
    }
    const payload = value.payload as {value?: unknown}
    if (!isPlainObject(payload) || typeof payload.value !== 'string') {
      throw new UsageError(`platform event from ${source} has no payload.value string`, {code: 'EVENT_INVALID', key: 'payload.value', hint: HINT})
    }
    return {event: checkEvent(parseJsonString(payload.value, source), source), form: 'platform_event'}
  }
  return {event: checkEvent(value, source), form: 'entity_change_event'}
}

function parseJsonString(text: string, source: string): unknown {
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new UsageError(`the event inside ${source} is not JSON: ${(error as Error).message}`, {code: 'EVENT_INVALID', key: 'payload.value', hint: HINT})
  }
}

function checkEvent(value: unknown, source: string): EntityChangeEvent {
  if (!isPlainObject(value)) throw new UsageError(`event from ${source} is not a JSON object`, {code: 'EVENT_INVALID', hint: HINT})
  for (const key of ['entityType', 'entityUrn', 'category', 'operation'] as const) {
    if (typeof value[key] !== 'string' || value[key] === '') {
      throw new UsageError(`event from ${source} has no ${key}`, {code: 'EVENT_INVALID', key, hint: HINT})
    }
  }
  const stamp = value.auditStamp as {time?: unknown; actor?: unknown} | undefined
  if (!isPlainObject(stamp) || typeof stamp.time !== 'number') {
    throw new UsageError(`event from ${source} has no auditStamp.time`, {code: 'EVENT_INVALID', key: 'auditStamp.time', hint: HINT})
  }
  if (value.version !== undefined && value.version !== null && typeof value.version !== 'number') {
    throw new UsageError(`event from ${source}: version must be a number`, {code: 'EVENT_INVALID', key: 'version', hint: HINT})
  }
  return value as unknown as EntityChangeEvent
}

/**
 * What makes two deliveries the same change: urn, category, operation, modifier, the time of the
 * change and the event version (missing = 0). DataHub delivers at least once; this id turns a
 * redelivery into the same run id, so it triggers once.
 */
export function eventCorrelationId(e: EntityChangeEvent): string {
  const key = JSON.stringify([e.entityUrn, e.category, e.operation, e.modifier ?? null, e.auditStamp.time, e.version ?? 0])
  return `datahub:${createHash('sha256').update(key).digest('hex').slice(0, 40)}`
}

