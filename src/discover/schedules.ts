import {readFileSync} from 'node:fs'
import path from 'node:path'
import {z} from 'zod'

import {locate, parseYamlSource, zodIssueToConfigError, type YamlSource} from '../config/yaml-source.js'
import {ConfigError} from '../errors.js'
import {AIRFLOW_ID, TimeZone} from '../spec/schema.js'
import {cronProblem, SCHEDULE_PRESETS} from '../spec/schedule.js'
import {RetryPolicy} from './retry.js'

/**
 * A schedules file (docs/schedules.md): either `{schedules: [...]}` or a runner config whose
 * `runner.orchestrator.schedules` has the same entries, accepted as is (the runner's other keys
 * are its own business and are not checked here).
 */

const Cron = z.string().superRefine((value, ctx) => {
  if ((SCHEDULE_PRESETS as readonly string[]).includes(value)) return
  const problem = cronProblem(value)
  if (problem) ctx.addIssue({code: 'custom', message: problem})
})

export const ScheduleEntry = z
  .strictObject({
    name: z.string().regex(AIRFLOW_ID, 'a schedule name takes letters, digits, _, . and - only').max(200).describe('The DAG id is <package>_<name>; the same id as a discovered job makes them one DAG.'),
    job: z.string().regex(AIRFLOW_ID).optional().describe('The id of a discovered job (<package>_<job>) this entry runs.'),
    config: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).optional().describe('The job config: a path (argv --config PATH) or a mapping (argv --config-json JSON).'),
    argv: z.array(z.string()).optional().describe("The job's argv when the run's conf carries none (after the config's)."),
    command: z.string().min(1).optional().describe('A shell command to run instead of a discovered job.'),
    package: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/).optional().describe("The package of a command entry (default: dagctl.yaml's package)."),
    cron: Cron.optional().describe('Five-field cron expression or preset (@daily).'),
    interval: z.number().int().positive().optional().describe('Run every N seconds.'),
    enabled: z.boolean().default(true).describe('false: the DAG stays, paused and with no schedule.'),
    timezone: TimeZone.optional(),
    max_concurrent_runs: z.number().int().min(1).optional().describe('Airflow max_active_runs.'),
    tags: z.array(z.string().min(1).max(100)).optional(),
    tenant: z.string().regex(/^[A-Za-z0-9_.-]+$/).max(200).optional().describe("Jobs of one tenant never run at the same time (the tenant's Airflow pool)."),
    retry: RetryPolicy.optional(),
  })
  .refine((e) => !(e.cron !== undefined && e.interval !== undefined), {message: 'give cron or interval, not both', path: ['interval']})
  .refine((e) => (e.job === undefined) !== (e.command === undefined), {message: 'give either job (a discovered job id) or command', path: ['job']})

export const SchedulesFile = z.strictObject({
  schedules: z.array(ScheduleEntry),
})

export const RunnerConfig = z.looseObject({
  runner: z.looseObject({
    orchestrator: z.looseObject({
      type: z.enum(['airflow', 'dagster']),
      schedules: z.array(ScheduleEntry),
    }),
  }),
})

export type ScheduleEntryInput = z.infer<typeof ScheduleEntry>

export interface LoadedSchedule {
  entry: ScheduleEntryInput
  /** relative to the config root */
  file: string
  line: number
  src: YamlSource
  keyPath: Array<string | number>
}

const HINT = 'Fix the key shown; docs/schedules.md lists every key of a schedules file (`dagctl schema schedules` gives the JSON Schema).'

/** Reads one schedules file or runner config; errors name the file, line and key. */
export function loadSchedulesFile(file: string, base: string): LoadedSchedule[] {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new ConfigError(`cannot read the schedules file ${file}: ${(error as Error).message}`, {file, key: 'discover.schedules', hint: 'Check the path in discover.schedules of dagctl.yaml.'})
  }
  const src = parseYamlSource(file, text, 'schedules file')
  const data = src.data as Record<string, unknown> | null
  const isRunner = typeof data === 'object' && data !== null && !Array.isArray(data) && 'runner' in data
  const result = (isRunner ? RunnerConfig : SchedulesFile).safeParse(data, {reportInput: true})
  if (!result.success) throw zodIssueToConfigError(src, result.error, 'invalid schedules file', HINT)
  const prefix = isRunner ? ['runner', 'orchestrator', 'schedules'] : ['schedules']
  const entries = isRunner ? (result.data as z.infer<typeof RunnerConfig>).runner.orchestrator.schedules : (result.data as z.infer<typeof SchedulesFile>).schedules
  const rel = path.relative(base, file).split(path.sep).join('/')
  const seen = new Map<string, number>()
  return entries.map((entry, i) => {
    const keyPath = [...prefix, i]
    const line = locate(src, keyPath).line ?? 1
    const before = seen.get(entry.name)
    if (before !== undefined) {
      throw new ConfigError(`invalid schedules file: two schedules are named ${entry.name}`, {file, line, key: `${prefix.join('.')}[${i}].name`, code: 'SCHEDULE_DUPLICATE', hint: `Rename one of them (the other is at line ${before}).`})
    }
    seen.set(entry.name, line)
    return {entry, file: rel, line, src, keyPath}
  })
}

/** The JSON Schema of a schedules file (`dagctl schema schedules`). */
export function schedulesJsonSchema(): Record<string, unknown> {
  const json = z.toJSONSchema(SchedulesFile, {io: 'input', unrepresentable: 'any'}) as Record<string, unknown>
  return {$schema: json.$schema, title: 'dagctl schedules file (docs/schedules.md)', ...json}
}
