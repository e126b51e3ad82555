import {deepMerge} from '../config/load.js'
import {durationSeconds, type DagctlConfig} from '../config/schema.js'
import {formatKeyPath, locate} from '../config/yaml-source.js'
import {ConfigError, PolicyError} from '../errors.js'
import {dependsOn, type LoadedSpec} from './load.js'
import {scheduleModel, type ScheduleModel} from './schedule.js'
import {AIRFLOW_ID_MAX, BUILTIN_TASK_TYPES, COMMON_TASK_KEYS, parseStartDate, type TaskSpec} from './schema.js'
import type {AirflowVersion, TaskType} from './task-types.js'

/**
 * From a valid spec and the resolved config to what the templates write: every default and policy
 * merged (platform < package < spec), durations in seconds, images checked against policy.
 * Templates only print these values through `| py`; they decide nothing.
 */

/** Where DAG comes from: the task SDK on Airflow 3, the models on Airflow 2. */
export const DAG_IMPORT: Record<AirflowVersion, string> = {2: 'from airflow import DAG', 3: 'from airflow.sdk import DAG'}

export const DEFAULT_START_DATE = '2024-01-01'
export const DEFAULT_TIMEZONE = 'UTC'

/** Task keyword arguments every operator takes; durations in seconds. */
export interface TaskArgs {
  retries?: number
  retry_delay?: number
  /** Airflow 2: a flag (delay doubles); Airflow 3.3: the multiplier itself (0 or 1: a fixed delay) */
  retry_exponential_backoff?: boolean | number
  max_retry_delay?: number
  execution_timeout?: number
  trigger_rule?: string
  pool?: string
}

export interface TaskModel {
  id: string
  type: string
  template: string
  upstream: string[]
  args: TaskArgs
  /** the type's own fields, normalised */
  [field: string]: unknown
}

export interface DagModel {
  dag_id: string
  description?: string
  schedule: ScheduleModel
  timezone: string
  /** year, month, day, hour, minute, second */
  start: number[]
  catchup: boolean
  max_active_runs?: number
  max_active_tasks?: number
  tags: string[]
  params?: Record<string, unknown>
  paused?: boolean
  /** render templated fields as native Python objects (discovered jobs' pod argv) */
  render_native?: boolean
  default_args: TaskArgs & {owner?: string}
  tasks: TaskModel[]
  /** [upstream, downstream] in spec order */
  edges: Array<[string, string]>
}

export interface RenderModel {
  source: string
  /** the line in `source` the DAG comes from (a discovered job's JOB, a schedule entry) */
  source_line?: number
  /** the task type whose non-retryable exit codes fail at once (discovered jobs, schedules) */
  exit_policy?: string
  airflow_version: AirflowVersion
  package: string
  dag: DagModel
  /** import statements: DAG first, then the built-in task types', then a platform's */
  imports: string[]
  uses_python: boolean
}

const seconds = (v: string | number | undefined): number | undefined => (v === undefined ? undefined : durationSeconds(v))

/** Union in order, without duplicates: policy tags first, then the spec's. */
export function mergeTags(...lists: Array<string[] | undefined>): string[] {
  return [...new Set(lists.flatMap((l) => l ?? []))]
}

/** `python:3.12` → `docker.io/library/python:3.12`: the registry an image is really pulled from. */
export function qualifiedImage(image: string): string {
  const slash = image.indexOf('/')
  const first = slash === -1 ? '' : image.slice(0, slash)
  if (first && (first.includes('.') || first.includes(':') || first === 'localhost')) return image
  return `docker.io/${slash === -1 ? `library/${image}` : image}`
}

/** Whether `image` comes from one of `registries` (`host`, `host/`, `host/path/`). */
export function imageAllowed(image: string, registries: string[]): boolean {
  const ref = qualifiedImage(image)
  return registries.some((entry) => {
    const prefix = entry.endsWith('/') ? entry : `${entry}/`
    return ref.startsWith(prefix) || ref.startsWith(qualifiedImage(prefix.slice(0, -1)) + '/')
  })
}

const stringMap = (m: Record<string, string | number | boolean> | undefined): Record<string, string> | undefined =>
  m === undefined ? undefined : Object.fromEntries(Object.entries(m).map(([k, v]) => [k, String(v)]))

/**
 * A spec's `retry_exponential_backoff: true` means "the delay doubles each retry". Airflow 2 takes
 * that flag as it is; Airflow 3.3 reads the same argument as the multiplier, so `True` there is a
 * multiplier of 1 and the delay never grows: it gets 2.0 (Airflow's "standard exponential backoff").
 */
export function exponentialBackoff(value: boolean | undefined, version: AirflowVersion): boolean | number | undefined {
  if (value === undefined || version === 2) return value
  return value ? 2 : 0
}

function taskArgs(task: TaskSpec, version: AirflowVersion): TaskArgs {
  return {
    retries: task.retries as number | undefined,
    retry_delay: seconds(task.retry_delay as string | number | undefined),
    retry_exponential_backoff: exponentialBackoff(task.retry_exponential_backoff as boolean | undefined, version),
    max_retry_delay: seconds(task.max_retry_delay as string | number | undefined),
    execution_timeout: seconds(task.execution_timeout as string | number | undefined),
    trigger_rule: task.trigger_rule as string | undefined,
    pool: task.pool as string | undefined,
  }
}

type Resources = NonNullable<DagctlConfig['policy']['resources']>

function quantities(q: Record<string, string | number | undefined> | undefined): Record<string, string> | undefined {
  if (!q) return undefined
  const out = Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]))
  return Object.keys(out).length > 0 ? out : undefined
}

function kubernetesPodFields(loaded: LoadedSpec, id: string, task: TaskSpec, config: DagctlConfig): Record<string, unknown> {
  const policy = config.policy
  const keyPath = ['tasks', id, 'image']
  const image = (task.image as string | undefined) ?? config.image
  if (!image) {
    throw new ConfigError(`invalid spec: ${formatKeyPath(['tasks', id])}: a kubernetes_pod task needs an image, and dagctl.yaml sets no default`, {
      file: loaded.file,
      ...locate(loaded.src, ['tasks', id]),
      key: formatKeyPath(keyPath),
      code: 'SPEC_INVALID',
      hint: 'Set `image:` on the task, or the package default `image:` in dagctl.yaml.',
    })
  }
  const registries = policy.allowed_registries
  if (registries && !imageAllowed(image, registries)) {
    const fromConfig = task.image === undefined
    throw new PolicyError(`image ${image}${fromConfig ? " (the package's default image)" : ''} is not from an allowed registry (${registries.join(', ')})`, {
      file: loaded.file,
      ...locate(loaded.src, fromConfig ? ['tasks', id] : keyPath),
      key: formatKeyPath(keyPath),
      code: 'POLICY_REGISTRY',
      hint: `Use an image from ${registries.join(' or ')}, or ask the platform team to add its registry to policy.allowed_registries.`,
    })
  }
  const resources = deepMerge(policy.resources ?? {}, task.resources ?? {}) as Resources
  const requests = quantities(resources.requests)
  const limits = quantities(resources.limits)
  const secrets = ((task.secrets as Array<{secret: string; key?: string; env?: string; mount_path?: string}> | undefined) ?? []).map((s) => ({
    deploy_type: s.mount_path ? 'volume' : 'env',
    deploy_target: s.mount_path ?? s.env ?? null,
    secret: s.secret,
    key: s.key ?? null,
  }))
  return {
    image,
    cmds: task.cmds,
    arguments: task.arguments,
    namespace: (task.namespace as string | undefined) ?? policy.namespace,
    resources: requests || limits ? {requests: requests ?? null, limits: limits ?? null} : undefined,
    env_vars: stringMap(task.env as Record<string, string> | undefined),
    secrets: secrets.length > 0 ? secrets : undefined,
    service_account: (task.service_account as string | undefined) ?? policy.service_account,
    image_pull_policy: task.image_pull_policy,
    labels: task.labels,
  }
}

function typeFields(loaded: LoadedSpec, id: string, task: TaskSpec, config: DagctlConfig): Record<string, unknown> {
  switch (task.type) {
    case 'kubernetes_pod':
      return kubernetesPodFields(loaded, id, task, config)
    case 'python':
      return {callable: task.callable, argv: task.argv ?? []}
    case 'bash':
      return {command: task.command, env: stringMap(task.env as Record<string, string> | undefined)}
    case 'empty':
      return {}
    default:
      // A platform type: its own fields as the spec gives them (validated by its header's schema).
      return Object.fromEntries(Object.entries(task).filter(([k]) => !COMMON_TASK_KEYS.has(k)))
  }
}

/** The render model of one spec, or a ConfigError / PolicyError at the spec's file:line key. */
export function buildRenderModel(loaded: LoadedSpec, config: DagctlConfig, taskTypes: Map<string, TaskType>): RenderModel {
  const {spec} = loaded
  const version = config.airflow.version as AirflowVersion
  const dagId = `${config.package}_${spec.name}`
  if (dagId.length > AIRFLOW_ID_MAX) {
    throw new ConfigError(`invalid spec: the DAG id ${dagId} is longer than ${AIRFLOW_ID_MAX} characters`, {
      file: loaded.file,
      ...locate(loaded.src, ['name']),
      key: 'name',
      code: 'SPEC_INVALID',
      hint: 'Shorten name: (the DAG id is <package>_<name>).',
    })
  }
  const tasks: TaskModel[] = []
  const edges: Array<[string, string]> = []
  const imports = new Set<string>()
  for (const [id, task] of Object.entries(spec.tasks as Record<string, TaskSpec>)) {
    const type = taskTypes.get(task.type)!
    for (const line of type.imports[version]) imports.add(line)
    const upstream = dependsOn(task)
    for (const up of upstream) edges.push([up, id])
    tasks.push({...typeFields(loaded, id, task, config), id, type: task.type, template: type.template, upstream, args: taskArgs(task, version)})
  }
  const policy = config.policy
  const defaults = spec.default_args ?? {}
  const builtinOrder = (line: string): number => (BUILTIN_TASK_TYPES.some((t) => taskTypes.get(t)?.imports[version].includes(line)) ? 0 : 1)
  imports.delete(DAG_IMPORT[version])
  return {
    source: loaded.rel,
    airflow_version: version,
    package: config.package,
    imports: [DAG_IMPORT[version], ...[...imports].sort((a, b) => builtinOrder(a) - builtinOrder(b) || (a < b ? -1 : a > b ? 1 : 0))],
    uses_python: tasks.some((t) => t.type === 'python'),
    dag: {
      dag_id: dagId,
      description: spec.description,
      schedule: scheduleModel(spec.schedule),
      timezone: spec.timezone ?? DEFAULT_TIMEZONE,
      start: parseStartDate(spec.start_date ?? DEFAULT_START_DATE),
      catchup: spec.catchup ?? false,
      max_active_runs: spec.max_active_runs,
      max_active_tasks: spec.max_active_tasks,
      tags: mergeTags(policy.tags, spec.tags),
      params: spec.params,
      paused: spec.paused,
      default_args: {
        owner: spec.owner ?? policy.owner,
        retries: defaults.retries ?? policy.retries,
        retry_delay: seconds(defaults.retry_delay ?? policy.retry_delay),
        retry_exponential_backoff: exponentialBackoff(defaults.retry_exponential_backoff as boolean | undefined, version),
        max_retry_delay: seconds(defaults.max_retry_delay),
        execution_timeout: seconds(defaults.execution_timeout),
      },
      tasks,
      edges,
    },
  }
}
