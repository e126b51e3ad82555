import {readFileSync} from 'node:fs'
import {z} from 'zod'

import {ConfigError} from '../errors.js'
import {formatKeyPath, locate, parseYamlSource, zodIssueToConfigError, type YamlSource} from '../config/yaml-source.js'
import type {EntityChangeEvent} from './event.js'
import {globMatch} from './glob.js'

/**
 * The mapping file: which DataHub entity change events start which DAG, with which conf.
 * docs/mappings.md is the user's guide; every error names the file, line and key.
 */

/** One glob (`*`, `?`) or a list of them (any may match). */
const Matcher = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)])

const Match = z.strictObject({
  entityType: Matcher.optional(),
  category: Matcher.optional(),
  operation: Matcher.optional(),
  entityUrn: Matcher.optional(),
  modifier: Matcher.optional(),
  actor: Matcher.optional(),
  /** parameter name → glob; the event must carry each named parameter */
  parameters: z.record(z.string().min(1), Matcher).optional(),
})

const Rule = z.strictObject({
  name: z.string().min(1).optional(),
  match: Match,
  dag_id: z.string().regex(/^[A-Za-z0-9_.-]{1,250}$/, 'expected a DAG id (letters, digits, _ . -)'),
  /** the run's conf; strings may hold ${event.…} and ${correlation_id} */
  conf: z.record(z.string(), z.unknown()).optional(),
  note: z.string().optional(),
  unpause: z.boolean().optional(),
})

export const MappingSchema = z.strictObject({
  rules: z.array(Rule).min(1, 'a mapping needs at least one rule'),
})

export type MappingRule = z.infer<typeof Rule>

export interface Mapping {
  file: string
  rules: MappingRule[]
  src: YamlSource
}

export interface MappedTrigger {
  rule: string
  /** index of the rule in the file, for error locations */
  index: number
  dagId: string
  conf: Record<string, unknown>
  note?: string
  unpause: boolean
}

/** `${event.parameters.tagUrn}`, `${correlation_id}`; `$${` writes a literal `${`. */
const PLACEHOLDER = /\$\$\{|\$\{([^}]*)\}/g
const EXPRESSION = /^(?:event(?:\.[A-Za-z_][A-Za-z0-9_]*)+|correlation_id)$/

const HINT = 'See docs/mappings.md for the shape of a mapping file.'

export function loadMapping(file: string): Mapping {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new ConfigError(`cannot read the mapping file ${file}: ${(error as Error).message}`, {file, hint: 'Pass --mapping FILE or set trigger.mapping in dagctl.yaml.'})
  }
  const src = parseYamlSource(file, text, 'mapping file')
  const parsed = MappingSchema.safeParse(src.data ?? {})
  if (!parsed.success) throw zodIssueToConfigError(src, parsed.error, 'invalid mapping file', HINT)
  const rules = parsed.data.rules
  // Reject a bad template now, at its line, not when some event finally uses it.
  for (const [i, rule] of rules.entries()) {
    walkStrings(rule.conf ?? {}, ['rules', i, 'conf'], (value, keyPath) => checkTemplate(src, value, keyPath))
    if (rule.note !== undefined) checkTemplate(src, rule.note, ['rules', i, 'note'])
  }
  return {file, rules, src}
}

function checkTemplate(src: YamlSource, value: string, keyPath: Array<string | number>): void {
  for (const m of value.matchAll(PLACEHOLDER)) {
    if (m[0] === '$${') continue
    const expr = (m[1] ?? '').trim()
    if (!EXPRESSION.test(expr)) {
      throw new ConfigError(`invalid mapping file: ${formatKeyPath(keyPath)}: \${${m[1]}} is not a field reference`, {
        file: src.file,
        ...locate(src, keyPath),
        key: formatKeyPath(keyPath),
        hint: 'A placeholder names a field of the event, such as ${event.entityUrn} or ${event.parameters.tagUrn}, or ${correlation_id}. Nothing else is evaluated.',
      })
    }
  }
}

export function ruleName(rule: MappingRule, index: number): string {
  return rule.name ?? `rules[${index}]`
}

export function matchesRule(rule: MappingRule, e: EntityChangeEvent): boolean {
  const m = rule.match
  const fields: Array<[z.infer<typeof Matcher> | undefined, unknown]> = [
    [m.entityType, e.entityType],
    [m.category, e.category],
    [m.operation, e.operation],
    [m.entityUrn, e.entityUrn],
    [m.modifier, e.modifier],
    [m.actor, e.auditStamp.actor],
  ]
  for (const [matcher, value] of fields) if (matcher !== undefined && !matchOne(matcher, value)) return false
  for (const [name, matcher] of Object.entries(m.parameters ?? {})) {
    if (!matchOne(matcher, e.parameters?.[name])) return false
  }
  return true
}

function matchOne(matcher: string | string[], value: unknown): boolean {
  if (value === undefined || value === null) return false
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return (Array.isArray(matcher) ? matcher : [matcher]).some((p) => globMatch(p, text))
}

/** Every rule that matches the event (each starts its DAG), with its conf filled in. */
export function mapEvent(mapping: Mapping, event: EntityChangeEvent, correlationId: string): MappedTrigger[] {
  const out: MappedTrigger[] = []
  for (const [i, rule] of mapping.rules.entries()) {
    if (!matchesRule(rule, event)) continue
    const ctx = {event, correlation_id: correlationId}
    const render = (v: unknown, keyPath: Array<string | number>): unknown => renderValue(mapping, v, keyPath, ctx)
    out.push({
      rule: ruleName(rule, i),
      index: i,
      dagId: rule.dag_id,
      conf: render(rule.conf ?? {}, ['rules', i, 'conf']) as Record<string, unknown>,
      ...(rule.note === undefined ? {} : {note: String(render(rule.note, ['rules', i, 'note']))}),
      unpause: rule.unpause ?? false,
    })
  }
  return out
}

/**
 * The whole substitution language: a string that is exactly one placeholder takes the field's
 * value with its type (a number stays a number, an object an object); placeholders inside a longer
 * string are written as text. No expressions, no code.
 */
function renderValue(mapping: Mapping, value: unknown, keyPath: Array<string | number>, ctx: Record<string, unknown>): unknown {
  if (Array.isArray(value)) return value.map((v, i) => renderValue(mapping, v, [...keyPath, i], ctx))
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderValue(mapping, v, [...keyPath, k], ctx)]))
  }
  if (typeof value !== 'string') return value
  const whole = /^\$\{([^}]*)\}$/.exec(value)
  if (whole) return lookup(mapping, whole[1].trim(), keyPath, ctx)
  return value.replace(PLACEHOLDER, (m, expr: string | undefined) => {
    if (m === '$${') return '${'
    const v = lookup(mapping, (expr ?? '').trim(), keyPath, ctx)
    return typeof v === 'string' ? v : JSON.stringify(v)
  })
}

function lookup(mapping: Mapping, expr: string, keyPath: Array<string | number>, ctx: Record<string, unknown>): unknown {
  let node: unknown = ctx
  for (const seg of expr.split('.')) {
    node = node !== null && typeof node === 'object' && Object.hasOwn(node, seg) ? (node as Record<string, unknown>)[seg] : undefined
  }
  if (node === undefined) {
    if (expr === 'event.version') return 0
    throw new ConfigError(`mapping ${ruleName(mapping.rules[keyPath[1] as number], keyPath[1] as number)}: \${${expr}} is not in this event`, {
      file: mapping.file,
      ...locate(mapping.src, keyPath),
      key: formatKeyPath(keyPath),
      hint: 'Narrow the rule\'s match so that it only takes events that carry this field (e.g. match.parameters), or remove the placeholder.',
    })
  }
  return node
}

function walkStrings(value: unknown, keyPath: Array<string | number>, visit: (value: string, keyPath: Array<string | number>) => void): void {
  if (typeof value === 'string') visit(value, keyPath)
  else if (Array.isArray(value)) value.forEach((v, i) => walkStrings(v, [...keyPath, i], visit))
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) walkStrings(v, [...keyPath, k], visit)
}
