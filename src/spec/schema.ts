import {z} from 'zod'

import {Duration, Resources} from '../config/schema.js'
import {scheduleProblem} from './schedule.js'

/**
 * The YAML DAG spec (docs/specs.md). Objects are strict: a typo is an error naming the key.
 * No transforms here, so the same schema gives the JSON Schema editors complete against
 * (`dagctl schema spec`); the render model (model.ts) does the normalising.
 */

/** Airflow's rule for DAG and task ids (KEY_REGEX), and its length limit. */
export const AIRFLOW_ID = /^[A-Za-z0-9_.-]+$/
export const AIRFLOW_ID_MAX = 250

export const TaskId = z
  .string()
  .regex(AIRFLOW_ID, 'a task id takes letters, digits, _, . and - only')
  .max(AIRFLOW_ID_MAX, `a task id is at most ${AIRFLOW_ID_MAX} characters`)

export const DagName = z
  .string()
  .regex(AIRFLOW_ID, 'a DAG name takes letters, digits, _, . and - only')
  .max(AIRFLOW_ID_MAX, `the DAG id is at most ${AIRFLOW_ID_MAX} characters`)
  .describe('The DAG id becomes <package>_<name>.')

export const Schedule = z
  .union([
    z.null(),
    z.string().superRefine((value, ctx) => {
      const problem = scheduleProblem(value)
      if (problem) ctx.addIssue({code: 'custom', message: problem})
    }),
  ])
  .describe('A cron expression ("0 6 * * *"), a preset (@daily), an interval (30m, 6h, 1d), or null: manual runs only.')

const timeZones = new Map<string, boolean>()

/** Whether ICU knows the zone; cached, since building a formatter per spec is slow. */
function validTimeZone(name: string): boolean {
  let known = timeZones.get(name)
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en', {timeZone: name})
      known = true
    } catch {
      known = false
    }
    timeZones.set(name, known)
  }
  return known
}

export const TimeZone = z.string().refine(validTimeZone, 'expected an IANA time zone such as UTC or Europe/Berlin').describe('IANA time zone of start_date and of cron schedules.')

const START_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/

export const StartDate = z
  .string()
  .regex(START_DATE, 'expected a date (2024-01-01) or a date and time (2024-01-01T06:00)')
  .refine((value) => {
    const [, y, mo, d, h = '0', mi = '0', s = '0'] = START_DATE.exec(value) ?? []
    const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)))
    return date.getUTCMonth() === Number(mo) - 1 && date.getUTCDate() === Number(d) && Number(h) < 24 && Number(mi) < 60 && Number(s) < 60
  }, 'not a calendar date and time')
  .describe('First logical date, in `timezone`. Quote it in YAML or write it plainly: both stay text.')

export function parseStartDate(value: string): number[] {
  const [, ...parts] = START_DATE.exec(value)!
  return parts.map((p) => Number(p ?? 0))
}

export const TRIGGER_RULES = [
  'all_success',
  'all_failed',
  'all_done',
  'all_done_setup_success',
  'one_success',
  'one_failed',
  'one_done',
  'none_failed',
  'none_failed_min_one_success',
  'none_skipped',
  'always',
  'all_skipped',
] as const

/** Fields every task takes, whatever its type. */
export const commonTaskFields = {
  depends_on: z.union([TaskId, z.array(TaskId)]).optional().describe('Task ids this task runs after.'),
  retries: z.number().int().min(0).max(100).optional(),
  retry_delay: Duration.optional(),
  retry_exponential_backoff: z.boolean().optional(),
  max_retry_delay: Duration.optional(),
  execution_timeout: Duration.optional(),
  trigger_rule: z.enum(TRIGGER_RULES).optional(),
  pool: z.string().min(1).optional(),
}

export const COMMON_TASK_KEYS = new Set(['type', ...Object.keys(commonTaskFields)])

const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name takes letters, digits and _')
const EnvValue = z.union([z.string(), z.number(), z.boolean()])

export const KubernetesSecret = z
  .strictObject({
    secret: z.string().min(1).describe('Name of the Kubernetes Secret.'),
    key: z.string().min(1).optional().describe('One key of the Secret; without it, every key becomes an environment variable.'),
    env: EnvName.optional().describe('Environment variable that receives `key`.'),
    mount_path: z.string().startsWith('/').optional().describe('Mount the Secret as files at this path instead.'),
  })
  .refine((s) => !(s.env && s.mount_path), {message: 'give either env or mount_path, not both'})
  .refine((s) => !s.env || s.key, {message: 'env needs the key of the Secret it reads', path: ['key']})
  .refine((s) => !(s.mount_path && s.key), {message: 'a mounted Secret shows every key as a file: drop key, or use env', path: ['key']})

export const builtinTaskSchemas = {
  kubernetes_pod: z
    .strictObject({
      type: z.literal('kubernetes_pod'),
      ...commonTaskFields,
      image: z.string().min(1).optional().describe("Container image; default: the package's `image` in dagctl.yaml."),
      cmds: z.array(z.string()).optional().describe('Entrypoint (the container command).'),
      arguments: z.array(z.string()).optional().describe('Arguments; Airflow templates such as {{ ds }} are kept for Airflow.'),
      namespace: z.string().min(1).optional(),
      resources: Resources.optional(),
      env: z.record(EnvName, EnvValue).optional(),
      secrets: z.array(KubernetesSecret).optional(),
      service_account: z.string().min(1).optional(),
      image_pull_policy: z.enum(['Always', 'IfNotPresent', 'Never']).optional(),
      labels: z.record(z.string(), z.string()).optional(),
    })
    .describe('Runs a container on Kubernetes (KubernetesPodOperator).'),
  python: z
    .strictObject({
      type: z.literal('python'),
      ...commonTaskFields,
      callable: z
        .string()
        .regex(/^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*(:[A-Za-z_]\w*)?$/, 'expected module:function, or a module with a JOB = (entrypoint, "description")')
        .describe('module:function, called as function(argv); a module alone means module.JOB[0].'),
      argv: z.array(z.string()).optional().describe("Default argv when the run's conf carries none."),
    })
    .describe('Calls a Python job entrypoint, imported inside the task (never when Airflow parses the DAG).'),
  bash: z
    .strictObject({
      type: z.literal('bash'),
      ...commonTaskFields,
      command: z.string().min(1).describe('Shell command; Airflow templates such as {{ ds }} are kept for Airflow.'),
      env: z.record(EnvName, EnvValue).optional(),
    })
    .describe('Runs a shell command (BashOperator).'),
  empty: z.strictObject({type: z.literal('empty'), ...commonTaskFields}).describe('Does nothing: a join or a marker (EmptyOperator).'),
}

export const BUILTIN_TASK_TYPES = Object.keys(builtinTaskSchemas) as Array<keyof typeof builtinTaskSchemas>

export const DefaultArgs = z.strictObject({
  retries: z.number().int().min(0).max(100).optional(),
  retry_delay: Duration.optional(),
  retry_exponential_backoff: z.boolean().optional(),
  max_retry_delay: Duration.optional(),
  execution_timeout: Duration.optional(),
})

/** A JSON value, as DAG params hold. */
export const JsonValue: z.ZodType<unknown> = z.lazy(() => z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(JsonValue), z.record(z.string(), JsonValue)]))

/** The spec schema for a set of task type schemas (built-in plus a platform's own). */
export function buildSpecSchema(taskSchemas: ReadonlyArray<z.ZodObject>) {
  const Task = z.discriminatedUnion('type', taskSchemas as unknown as [z.ZodObject, ...z.ZodObject[]])
  return z
    .strictObject({
      name: DagName,
      description: z.string().optional(),
      schedule: Schedule.optional(),
      timezone: TimeZone.optional(),
      start_date: StartDate.optional(),
      catchup: z.boolean().optional(),
      max_active_runs: z.number().int().min(1).optional(),
      max_active_tasks: z.number().int().min(1).optional(),
      tags: z.array(z.string().min(1).max(100)).optional().describe('Added to the policy tags of dagctl.yaml (union, in order, no duplicates).'),
      owner: z.string().min(1).optional(),
      paused: z.boolean().optional().describe('Paused when Airflow first sees the DAG.'),
      params: z.record(z.string(), JsonValue).optional(),
      default_args: DefaultArgs.optional(),
      tasks: z.record(TaskId, Task).refine((t) => Object.keys(t).length > 0, 'a DAG needs at least one task'),
    })
    .describe('A dagctl DAG spec (docs/specs.md).')
}

export type SpecSchema = ReturnType<typeof buildSpecSchema>
export type DagSpec = z.infer<SpecSchema>
export type TaskSpec = Record<string, unknown> & {type: string; depends_on?: string | string[]}
