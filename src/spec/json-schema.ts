import {z} from 'zod'

import {DagctlConfigSchema, PlatformConfigSchema} from '../config/schema.js'
import {buildSpecSchema} from './schema.js'
import type {TaskType} from './task-types.js'

export const SCHEMA_KINDS = ['spec', 'config', 'platform'] as const
export type SchemaKind = (typeof SCHEMA_KINDS)[number]

const TITLES: Record<SchemaKind, string> = {
  spec: 'dagctl DAG spec (specs/*.yaml)',
  config: 'dagctl package configuration (dagctl.yaml)',
  platform: "dagctl platform defaults (the file a dagctl.yaml extends)",
}

/**
 * JSON Schema (draft 2020-12) of what a user writes, from the same zod schemas dagctl validates
 * with, so an editor completes exactly what dagctl accepts. Input shapes: keys with defaults are
 * optional. The spec's includes a platform's own task types when given.
 */
export function jsonSchemaOf(kind: SchemaKind, taskTypes: TaskType[] = []): Record<string, unknown> {
  const schema = kind === 'spec' ? buildSpecSchema(taskTypes.map((t) => t.schema)) : kind === 'config' ? DagctlConfigSchema : PlatformConfigSchema
  const json = z.toJSONSchema(schema, {io: 'input', unrepresentable: 'any'}) as Record<string, unknown>
  return {$schema: json.$schema, title: TITLES[kind], ...json}
}
