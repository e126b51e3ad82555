import {readFileSync, readdirSync} from 'node:fs'
import path from 'node:path'
import {z} from 'zod'

import {Duration} from '../config/schema.js'
import {parseYamlSource, zodIssueToConfigError} from '../config/yaml-source.js'
import {ConfigError} from '../errors.js'
import {BUILTIN_TASK_TYPES, COMMON_TASK_KEYS, builtinTaskSchemas, commonTaskFields} from './schema.js'

export type AirflowVersion = 2 | 3

/** One task type: the fields a spec gives it, the imports its code needs, the template that writes it. */
export interface TaskType {
  name: string
  schema: z.ZodObject
  /** `from x import Y` lines, per Airflow version */
  imports: Record<AirflowVersion, string[]>
  /** template name for the renderer's loader */
  template: string
  /** where a platform's type came from (absent for built-ins) */
  file?: string
  /** the template text, for a platform type */
  source?: string
}

const standardOperator = (module: string, cls: string): Record<AirflowVersion, string[]> => ({
  2: [`from airflow.operators.${module} import ${cls}`],
  3: [`from airflow.providers.standard.operators.${module} import ${cls}`],
})

const KPO_IMPORTS = [
  'from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator',
  'from airflow.providers.cncf.kubernetes.secret import Secret',
  'from kubernetes.client import models as k8s',
]

export const BUILTIN_IMPORTS: Record<(typeof BUILTIN_TASK_TYPES)[number], Record<AirflowVersion, string[]>> = {
  kubernetes_pod: {2: KPO_IMPORTS, 3: KPO_IMPORTS},
  python: standardOperator('python', 'PythonOperator'),
  bash: standardOperator('bash', 'BashOperator'),
  empty: standardOperator('empty', 'EmptyOperator'),
}

export function builtinTaskTypes(): TaskType[] {
  return BUILTIN_TASK_TYPES.map((name) => ({
    name,
    schema: builtinTaskSchemas[name] as unknown as z.ZodObject,
    imports: BUILTIN_IMPORTS[name],
    template: `tasks/${name}.py.njk`,
  }))
}

/** The header a platform's task template starts with: a nunjucks comment holding YAML. */
const MANIFEST = /^\{#-?[ \t]*dagctl-task-type[ \t]*\r?\n([\s\S]*?)-?#\}/

const IMPORT_LINE = /^(?:from [A-Za-z_][\w.]* import [A-Za-z_]\w*(?: as [A-Za-z_]\w*)?(?:, [A-Za-z_]\w*(?: as [A-Za-z_]\w*)?)*|import [A-Za-z_][\w.]*(?: as [A-Za-z_]\w*)?)$/

const FieldType = z.enum(['string', 'integer', 'number', 'boolean', 'duration', 'string_list', 'list', 'map', 'any'])

const FieldManifest = z.strictObject({
  type: FieldType,
  required: z.boolean().optional(),
  description: z.string().optional(),
  enum: z.array(z.string()).optional(),
})

const ImportLines = z.array(z.string().regex(IMPORT_LINE, 'expected one Python import line: `from pkg.mod import Name` or `import pkg.mod`'))

const TaskTypeManifest = z.strictObject({
  description: z.string().optional(),
  fields: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'a field name takes lower-case letters, digits and _'), FieldManifest).default({}),
  imports: z.union([ImportLines, z.strictObject({airflow2: ImportLines.default([]), airflow3: ImportLines.default([])})]).default([]),
})

function fieldSchema(field: z.infer<typeof FieldManifest>): z.ZodType {
  const json = z.unknown()
  let schema: z.ZodType
  switch (field.type) {
    case 'string':
      schema = field.enum ? z.enum(field.enum as [string, ...string[]]) : z.string()
      break
    case 'integer':
      schema = z.number().int()
      break
    case 'number':
      schema = z.number()
      break
    case 'boolean':
      schema = z.boolean()
      break
    case 'duration':
      schema = Duration
      break
    case 'string_list':
      schema = z.array(z.string())
      break
    case 'list':
      schema = z.array(json)
      break
    case 'map':
      schema = z.record(z.string(), json)
      break
    default:
      schema = json
  }
  if (field.description) schema = schema.describe(field.description)
  return field.required ? schema : schema.optional()
}

/** Reads `<dir>/<type>.py.njk` files: each one a task type a spec may use. */
export function loadPlatformTaskTypes(dir: string): TaskType[] {
  let names: string[]
  try {
    names = readdirSync(dir).filter((f) => f.endsWith('.py.njk')).sort()
  } catch (error) {
    throw new ConfigError(`cannot read the task_templates folder ${dir}: ${(error as Error).message}`, {
      key: 'task_templates',
      hint: 'Point task_templates in dagctl.yaml (or the platform file it extends) at a folder of <type>.py.njk files.',
    })
  }
  return names.map((name) => {
    const file = path.join(dir, name)
    const typeName = name.slice(0, -'.py.njk'.length)
    if (!/^[a-z][a-z0-9_]*$/.test(typeName)) {
      throw new ConfigError(`task template ${name}: a task type name takes lower-case letters, digits and _`, {file, hint: 'Rename the file to <type>.py.njk, e.g. sftp_upload.py.njk.'})
    }
    if ((BUILTIN_TASK_TYPES as readonly string[]).includes(typeName)) {
      throw new ConfigError(`task template ${name}: '${typeName}' is a built-in task type`, {file, hint: 'Give the platform type its own name.'})
    }
    const source = readFileSync(file, 'utf8')
    const m = MANIFEST.exec(source)
    if (!m) {
      throw new ConfigError(`task template ${name} does not start with a {# dagctl-task-type ... #} header`, {
        file,
        line: 1,
        hint: 'Start the template with the header that lists its fields and imports (docs/specs.md, "Your own task types").',
      })
    }
    // Parse the header as YAML of its own, padded so its line numbers are the template's.
    const src = parseYamlSource(file, `\n${m[1]}`, `task type header of ${name}`)
    const parsed = TaskTypeManifest.safeParse(src.data ?? {})
    if (!parsed.success) throw zodIssueToConfigError(src, parsed.error, `invalid task type header in ${name}`, 'See docs/specs.md, "Your own task types", for the header keys.')
    const manifest = parsed.data
    for (const field of Object.keys(manifest.fields)) {
      if (COMMON_TASK_KEYS.has(field) || field === 'id') {
        throw new ConfigError(`task template ${name}: field '${field}' is reserved (every task has it)`, {file, key: `fields.${field}`, hint: 'Rename the field.'})
      }
    }
    const shape: Record<string, z.ZodType> = {type: z.literal(typeName), ...commonTaskFields}
    for (const [field, def] of Object.entries(manifest.fields)) shape[field] = fieldSchema(def)
    let schema = z.strictObject(shape)
    if (manifest.description) schema = schema.describe(manifest.description)
    const imports = Array.isArray(manifest.imports) ? {2: manifest.imports, 3: manifest.imports} : {2: manifest.imports.airflow2, 3: manifest.imports.airflow3}
    return {name: typeName, schema: schema as unknown as z.ZodObject, imports, template: `platform/${name}`, file, source}
  })
}
