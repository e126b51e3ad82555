import {readFileSync} from 'node:fs'
import path from 'node:path'
import {Ajv, type ValidateFunction} from 'ajv'
import {Ajv2020} from 'ajv/dist/2020.js'
import addFormatsImport from 'ajv-formats'
import {parse} from 'yaml'

import {REPO_ROOT} from '../helpers/cli.js'
import type {RecordedRequest} from '../helpers/airflow-server.js'

const addFormats = addFormatsImport as unknown as (ajv: Ajv | Ajv2020) => void

/** The Airflow OpenAPI specs, copied into test/fixtures/schemas (origin and licence: test/fixtures/SOURCES.md). */
export const SCHEMAS_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'schemas')

interface Operation {
  requestBody?: {content?: Record<string, {schema?: unknown}>}
}
interface Spec {
  paths: Record<string, Record<string, Operation>>
  components: {schemas: Record<string, unknown>}
}

/**
 * Validates request bodies against the OpenAPI spec of one Airflow version: the operation is found
 * by method and path template, its `application/json` request schema compiled with ajv (OpenAPI
 * 3.1 = JSON Schema 2020-12 for v2; OpenAPI 3.0, its `nullable` rewritten, for v1) against the spec's own
 * component schemas.
 */
export class OpenApiBodies {
  private readonly specs: Array<{prefix: string; spec: Spec; ajv: Ajv | Ajv2020; id: string}> = []
  private readonly cache = new Map<string, ValidateFunction>()

  constructor(version: 2 | 3) {
    if (version === 3) {
      this.add('airflow-v2-openapi.yaml', '', new Ajv2020({strict: false, allErrors: true}))
      this.add('airflow-v2-simple-auth-manager-openapi.yaml', '', new Ajv2020({strict: false, allErrors: true}))
    } else {
      // v1's paths are relative to its server url /api/v1
      this.add('airflow-v1-openapi.yaml', '/api/v1', new Ajv({strict: false, allErrors: true}))
    }
  }

  private add(file: string, prefix: string, ajv: Ajv | Ajv2020): void {
    addFormats(ajv)
    const spec = parse(readFileSync(path.join(SCHEMAS_DIR, file), 'utf8')) as Spec
    if (file === 'airflow-v1-openapi.yaml') spec.components.schemas = fromOpenApi30(spec.components.schemas) as Record<string, unknown>
    const id = `https://dagctl.test/${file}`
    // only the component schemas: the rest of the document is not JSON Schema
    ajv.addSchema({$id: id, components: {schemas: spec.components.schemas}} as object)
    this.specs.push({prefix, spec, ajv, id})
  }

  /** The schema errors of one request's body; throws when the spec has no such operation with a JSON body. */
  validate(req: RecordedRequest): string[] {
    const pathOnly = req.path.split('?')[0]
    for (const {prefix, spec, ajv, id} of this.specs) {
      if (!pathOnly.startsWith(prefix)) continue
      const rel = pathOnly.slice(prefix.length)
      const template = matchTemplate(Object.keys(spec.paths), rel)
      if (!template) continue
      const op = spec.paths[template][req.method.toLowerCase()]
      const schema = op?.requestBody?.content?.['application/json']?.schema as {$ref?: string} | undefined
      if (!schema) throw new Error(`${req.method} ${template} has no JSON request body in the spec`)
      const key = `${id}|${req.method}|${template}`
      let validate = this.cache.get(key)
      if (!validate) {
        const ref = schema.$ref ? {$ref: `${id}${schema.$ref}`} : schema
        validate = ajv.compile(ref as object)
        this.cache.set(key, validate)
      }
      if (validate(req.body)) return []
      return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`)
    }
    throw new Error(`no operation in the spec for ${req.method} ${pathOnly}`)
  }
}

/**
 * OpenAPI 3.0's `nullable: true` as JSON Schema: `type: [t, "null"]` (null added to an enum), or
 * `anyOf: [schema, {type: null}]` where there is no type (next to a $ref or allOf).
 */
function fromOpenApi30(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(fromOpenApi30)
  if (node === null || typeof node !== 'object') return node
  const {nullable, ...rest} = node as Record<string, unknown>
  const out = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, fromOpenApi30(v)]))
  if (nullable !== true) return out
  if (typeof out.type === 'string') {
    return {...out, type: [out.type, 'null'], ...(Array.isArray(out.enum) ? {enum: [...out.enum, null]} : {})}
  }
  return {anyOf: [out, {type: 'null'}]}
}

/** The most specific path template (fewest {params}) that matches. */
function matchTemplate(templates: string[], actual: string): string | undefined {
  const candidates = templates.filter((t) => {
    const re = new RegExp(`^${t.split(/\{[^}]+\}/).map((s) => s.replace(/[.*+?^${}()|[\]\\~]/g, '\\$&')).join('[^/]+')}$`)
    return re.test(actual)
  })
  candidates.sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0))
  return candidates[0]
}
