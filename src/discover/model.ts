import {deepMerge} from '../config/load.js'
import {durationSeconds, type DagctlConfig, type DiscoverConfig, type PolicyConfig} from '../config/schema.js'
import {formatKeyPath, locate} from '../config/yaml-source.js'
import {ConfigError, DagctlError, PolicyError} from '../errors.js'
import {DAG_IMPORT, DEFAULT_START_DATE, imageAllowed, mergeTags, type RenderModel, type TaskModel} from '../spec/model.js'
import {scheduleModel, type ScheduleModel} from '../spec/schedule.js'
import {parseStartDate} from '../spec/schema.js'
import {BUILTIN_IMPORTS, type AirflowVersion} from '../spec/task-types.js'
import type {DiscoveredJob, JobMeta} from './discover.js'
import {airflowRetry, type RetryPolicyInput} from './retry.js'
import type {LoadedSchedule} from './schedules.js'

/**
 * Discovered jobs and schedule entries as DAGs (docs/discover.md, docs/schedules.md). One DAG per
 * id: a schedule entry whose `<package>_<name>` is a discovered job's id is that job's DAG, with
 * the entry's keys over the module's constants. Policy: platform < package < job < schedule entry.
 */

/** Airflow pool of a tenant: one slot, so its jobs never run at the same time. */
export const tenantPool = (tenant: string): string => `tenant_${tenant}`

export interface JobDag {
  dagId: string
  package: string
  /** the file the DAG comes from and its line (the JOB line, or the schedule entry) */
  source: string
  line: number
  description?: string
  job?: DiscoveredJob
  command?: string
  argv: string[]
  schedule: ScheduleModel
  paused?: boolean
  timezone: string
  maxActiveRuns?: number
  tags: string[]
  tenant?: string
  retry?: number | RetryPolicyInput
  resources?: JobMeta['resources']
  origins: Array<'job' | 'schedule'>
  /** where a schedule entry sits, for errors */
  scheduleAt?: LoadedSchedule
}

function entrySchedule(s: LoadedSchedule): ScheduleModel | undefined {
  if (s.entry.interval !== undefined) return {kind: 'interval', seconds: s.entry.interval}
  if (s.entry.cron !== undefined) return {kind: 'cron', value: s.entry.cron}
  return undefined
}

function configArgv(config: LoadedSchedule['entry']['config']): string[] {
  if (config === undefined) return []
  return typeof config === 'string' ? ['--config', config] : ['--config-json', JSON.stringify(config)]
}

function fromJob(job: DiscoveredJob): JobDag {
  return {
    dagId: job.id,
    package: job.package,
    source: job.file,
    line: job.line,
    description: job.description,
    job,
    argv: [],
    schedule: scheduleModel(job.meta.schedule),
    timezone: job.meta.timezone ?? 'UTC',
    tags: job.meta.tags ?? [],
    tenant: job.meta.tenant,
    retry: job.meta.retries,
    resources: job.meta.resources,
    origins: ['job'],
  }
}

/** Jobs and schedule entries combined: one JobDag per DAG id, or the errors that stop generate. */
export function combineSources(jobs: DiscoveredJob[], schedules: LoadedSchedule[], config: DagctlConfig): {dags: JobDag[]; errors: DagctlError[]} {
  const byId = new Map<string, JobDag>(jobs.map((j) => [j.id, fromJob(j)]))
  const jobsById = new Map(jobs.map((j) => [j.id, j]))
  const fromSchedule = new Map<string, LoadedSchedule>()
  const errors: DagctlError[] = []
  for (const s of schedules) {
    const {entry} = s
    const at = (key: string): {file: string; line?: number; key: string} => ({file: s.src.file, ...locate(s.src, [...s.keyPath, key]), key: formatKeyPath([...s.keyPath, key])})
    const job = entry.job === undefined ? undefined : jobsById.get(entry.job)
    if (entry.job !== undefined && !job) {
      errors.push(new ConfigError(`schedule ${entry.name}: no discovered job has the id ${entry.job}`, {...at('job'), code: 'SCHEDULE_UNKNOWN_JOB', hint: 'Run `dagctl discover` to list the job ids (<package>_<job>).'}))
      continue
    }
    const pkg = job?.package ?? entry.package ?? config.package
    const dagId = `${pkg}_${entry.name}`
    const other = fromSchedule.get(dagId)
    if (other) {
      errors.push(new ConfigError(`schedule ${entry.name} gives the DAG id ${dagId}, as the schedule at ${other.file}:${other.line} does`, {...at('name'), code: 'SCHEDULE_DUPLICATE', hint: 'Give each schedule its own name.'}))
      continue
    }
    fromSchedule.set(dagId, s)
    const existing = byId.get(dagId)
    if (existing && existing.job && existing.job !== job && job !== undefined) {
      errors.push(new ConfigError(`schedule ${entry.name} gives the DAG id ${dagId} of the job in ${existing.source}, but runs ${entry.job}`, {...at('name'), code: 'SCHEDULE_DUPLICATE', hint: 'Rename the schedule, or point job: at that job.'}))
      continue
    }
    if (existing && entry.command !== undefined) {
      errors.push(new ConfigError(`schedule ${entry.name} gives the DAG id ${dagId} of the job in ${existing.source}`, {...at('name'), code: 'SCHEDULE_DUPLICATE', hint: 'Rename the schedule.'}))
      continue
    }
    const base: JobDag = existing ?? (job ? {...fromJob(job), dagId, origins: []} : {dagId, package: pkg, source: s.file, line: s.line, argv: [], schedule: {kind: 'none'}, timezone: 'UTC', tags: [], origins: []})
    const schedule = entrySchedule(s) ?? base.schedule
    byId.set(dagId, {
      ...base,
      source: s.file,
      line: s.line,
      command: entry.command,
      argv: [...configArgv(entry.config), ...(entry.argv ?? [])],
      schedule: entry.enabled ? schedule : {kind: 'none'},
      paused: entry.enabled ? undefined : true,
      timezone: entry.timezone ?? base.timezone,
      maxActiveRuns: entry.max_concurrent_runs,
      tags: mergeTags(base.tags, entry.tags),
      tenant: entry.tenant ?? base.tenant,
      retry: entry.retry ?? base.retry,
      origins: [...base.origins, 'schedule'],
      scheduleAt: s,
      // A job both discovered and scheduled keeps naming its module file as well (docs/schedules.md).
      description: base.description,
    })
  }
  const dags = [...byId.values()].sort((a, b) => (a.dagId < b.dagId ? -1 : a.dagId > b.dagId ? 1 : 0))
  return {dags, errors}
}

/** The package layer: dagctl.yaml's policy (over the platform's) with discover.packages.<pkg>.policy over it. */
function packagePolicy(config: DagctlConfig, settings: DiscoverConfig, pkg: string): PolicyConfig {
  return deepMerge(config.policy, settings.packages[pkg]?.policy ?? {}) as PolicyConfig
}

function packageImage(config: DagctlConfig, settings: DiscoverConfig, pkg: string): string | undefined {
  return settings.packages[pkg]?.image ?? settings.image?.replaceAll('{package}', pkg) ?? config.image
}

const EXCEPTIONS_IMPORT: Record<AirflowVersion, string> = {
  2: 'from airflow.exceptions import AirflowFailException',
  3: 'from airflow.sdk.exceptions import AirflowFailException',
}

const quantities = (q: Record<string, string | number | undefined> | undefined): Record<string, string> | null => {
  const out = Object.fromEntries(Object.entries(q ?? {}).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]))
  return Object.keys(out).length > 0 ? out : null
}

/** The render model of one job DAG; a PolicyError / ConfigError at the job's file and line. */
export function buildJobRenderModel(dag: JobDag, config: DagctlConfig, settings: DiscoverConfig): RenderModel {
  const version = config.airflow.version as AirflowVersion
  const policy = packagePolicy(config, settings, dag.package)
  const template = settings.packages[dag.package]?.template ?? settings.template
  const where = {file: dag.source, line: dag.line}
  const retry = dag.retry === undefined ? undefined : airflowRetry(dag.retry, version)
  const codes = retry?.retryable_exit_codes
  const tenant = dag.tenant ?? settings.packages[dag.package]?.tenant
  const imports = new Set<string>()
  const args: TaskModel['args'] = {
    retries: retry?.retries ?? policy.retries,
    retry_delay: retry?.retry_delay ?? (policy.retry_delay === undefined ? undefined : durationSeconds(policy.retry_delay)),
    retry_exponential_backoff: retry?.retry_exponential_backoff as boolean | undefined,
    max_retry_delay: retry?.max_retry_delay,
    pool: tenant === undefined ? undefined : tenantPool(tenant),
  }
  let task: TaskModel
  let native = false
  if (template === 'python' && dag.job) {
    for (const l of BUILTIN_IMPORTS.python[version]) imports.add(l)
    task = {id: 'run', type: 'python', template: 'tasks/python.py.njk', upstream: [], args, callable: `${dag.job.module}:${dag.job.entrypoint}`, argv: dag.argv, retryable_exit_codes: codes}
  } else if (template === 'python') {
    for (const l of BUILTIN_IMPORTS.bash[version]) imports.add(l)
    task = {id: 'run', type: 'bash', template: 'tasks/bash.py.njk', upstream: [], args, command: dag.command, retryable_exit_codes: codes}
  } else {
    const image = packageImage(config, settings, dag.package)
    if (!image) {
      throw new ConfigError(`${dag.dagId}: a kubernetes_pod job needs the image of package ${dag.package}, and none is set`, {
        ...where,
        code: 'JOB_NO_IMAGE',
        key: `discover.packages.${dag.package}.image`,
        hint: `Set discover.packages.${dag.package}.image (or discover.image, or image:) in dagctl.yaml, or discover.template: python.`,
      })
    }
    const registries = policy.allowed_registries
    if (registries && !imageAllowed(image, registries)) {
      throw new PolicyError(`image ${image} of package ${dag.package} is not from an allowed registry (${registries.join(', ')})`, {
        ...where,
        key: `discover.packages.${dag.package}.image`,
        code: 'POLICY_REGISTRY',
        hint: `Use an image from ${registries.join(' or ')}, or ask the platform team to add its registry to policy.allowed_registries.`,
      })
    }
    for (const l of BUILTIN_IMPORTS.kubernetes_pod[version]) imports.add(l)
    const resources = deepMerge(policy.resources ?? {}, dag.resources ?? {}) as {requests?: Record<string, string>; limits?: Record<string, string>}
    const requests = quantities(resources.requests)
    const limits = quantities(resources.limits)
    native = true
    task = {
      id: 'run',
      type: 'kubernetes_pod',
      template: 'tasks/kubernetes_pod.py.njk',
      upstream: [],
      args,
      image,
      cmds: dag.job ? ['python', '-m', dag.job.module] : ['sh', '-c', dag.command],
      // Rendered by Airflow as a native list: the run's conf {"argv": [...]} overrides params.argv.
      arguments: dag.job ? '{{ params.argv | map("string") | list }}' : undefined,
      namespace: policy.namespace,
      resources: requests || limits ? {requests, limits} : undefined,
      service_account: policy.service_account,
      retryable_exit_codes: codes,
    }
  }
  if (codes) imports.add(EXCEPTIONS_IMPORT[version])
  imports.delete(DAG_IMPORT[version])
  return {
    source: dag.source,
    source_line: dag.line,
    airflow_version: version,
    package: dag.package,
    imports: [DAG_IMPORT[version], ...[...imports].sort()],
    uses_python: task.type === 'python',
    exit_policy: codes ? task.type : undefined,
    dag: {
      dag_id: dag.dagId,
      description: dag.description,
      schedule: dag.schedule,
      timezone: dag.timezone,
      start: parseStartDate(DEFAULT_START_DATE),
      catchup: false,
      max_active_runs: dag.maxActiveRuns,
      tags: mergeTags(policy.tags, dag.tags),
      params: native ? {argv: dag.argv} : undefined,
      paused: dag.paused,
      render_native: native || undefined,
      default_args: {owner: policy.owner},
      tasks: [task],
      edges: [],
    },
  } as RenderModel
}
