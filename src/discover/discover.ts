import path from 'node:path'
import picomatch from 'picomatch'
import {z} from 'zod'

import {collectPythonFiles} from '../check/files.js'
import {PythonBridge} from '../check/python-bridge.js'
import {DiscoverSettings, Resources, type DiscoverConfig} from '../config/schema.js'
import {CheckFailedError, UsageError} from '../errors.js'
import {scheduleProblem} from '../spec/schedule.js'
import {AIRFLOW_ID, AIRFLOW_ID_MAX, TimeZone} from '../spec/schema.js'
import {RetryPolicy, type RetryPolicyInput} from './retry.js'

/** Module-level constants beside JOB (docs/discover.md); literals, checked here. */
export const JobMetadata = {
  NAME: z.string().regex(AIRFLOW_ID, 'a job name takes letters, digits, _, . and - only'),
  SCHEDULE: z.union([
    z.null(),
    z.string().superRefine((v, ctx) => {
      const p = scheduleProblem(v)
      if (p) ctx.addIssue({code: 'custom', message: p})
    }),
  ]),
  TIMEZONE: TimeZone,
  RETRIES: z.union([z.number().int().min(0).max(100), RetryPolicy]),
  RESOURCES: Resources,
  TENANT: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'a tenant takes letters, digits, _, . and - only').max(200),
  TAGS: z.array(z.string().min(1).max(100)),
} as const

export interface JobMeta {
  name?: string
  schedule?: string | null
  timezone?: string
  retries?: number | RetryPolicyInput
  resources?: z.infer<typeof Resources>
  tenant?: string
  tags?: string[]
}

export interface DiscoveredJob {
  /** `<package>_<name>`: the DAG id */
  id: string
  package: string
  name: string
  /** importable module path, relative to the package folder (`jobs.daily.report`) */
  module: string
  entrypoint: string
  description: string
  /** relative to the config root (or --root), forward slashes */
  file: string
  line: number
  entrypointLine: number
  meta: JobMeta
}

export interface DiscoverProblem {
  /** the package the file sits in, from the pattern */
  package?: string
  file: string
  line: number
  code: string
  reason: string
}

export interface DiscoverResult {
  root: string
  pattern: string
  jobs: DiscoveredJob[]
  problems: DiscoverProblem[]
  /** files matching the pattern, after exclusions */
  files: number
  /** of those, the files that mention JOB and were parsed */
  parsed: number
  /** files matching the pattern that an exclusion or .airflowignore removed */
  excluded: number
}

interface HelperAnswer {
  jobs: Array<{rel: string; line: number; entrypoint: string; entrypoint_line: number; description: string; meta: Record<string, {value: unknown; line: number}>}>
  problems: Array<{rel: string; line: number; code: string; reason: string}>
  parsed: number
}

export interface DiscoverOptions {
  /** the folder relative paths are shown from (dagctl.yaml's folder) */
  base: string
  settings: DiscoverConfig
  /** overrides settings.root; relative to the current folder */
  root?: string
  python?: string
  airflowVersion?: 2 | 3
}

/** Plain characters only: a job file's path is written into a comment of generated code. */
const SAFE_REL_PATH = /^[A-Za-z0-9_./@+-]+$/
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/

interface Layout {
  match: (rel: string) => boolean
  /** index of the pattern segment that names the package (its first `*`) */
  packageSegment: number
  /** segments before the job's own path (the fixed folder the jobs sit under) */
  jobsDepth: number
}

/** `packages/*\/jobs/**\/*.py`: the package is the first `*` segment; a job's name is its path after `jobs/`. */
export function layoutOf(pattern: string): Layout {
  const segments = pattern.split('/')
  const packageSegment = segments.indexOf('*')
  if (packageSegment === -1) {
    throw new UsageError(`discover.pattern ${pattern} has no "*" segment naming the package`, {key: 'discover.pattern', hint: 'Use a pattern such as packages/*/jobs/**/*.py: its first "*" segment is the package folder.'})
  }
  let jobsDepth = packageSegment + 1
  while (jobsDepth < segments.length - 1 && !/[*?[{]/.test(segments[jobsDepth])) jobsDepth++
  return {match: picomatch(pattern, {dot: false}), packageSegment, jobsDepth}
}

/**
 * Finds every job module under the root: the file walk (with .airflowignore) and the pattern in
 * Node, the parse in one python3 process (python/dagctl_discover) that never imports a job module.
 */
export async function discoverJobs(options: DiscoverOptions, deps: {bridge?: PythonBridge} = {}): Promise<DiscoverResult> {
  const settings = options.settings
  const root = path.resolve(options.root ?? path.resolve(options.base, settings.root))
  const base = options.root ? root : options.base
  const layout = layoutOf(settings.pattern)
  const excludes = settings.exclude.map((g) => picomatch(g, {dot: true}))
  const rel = (file: string, from: string): string => path.relative(from, file).split(path.sep).join('/')
  const all = collectPythonFiles([root], root, {ignoreSyntax: options.airflowVersion === 2 ? 'regexp' : 'glob'})
  const candidates = all.filter((f) => layout.match(rel(f, root)))
  const files = candidates.filter((f) => !excludes.some((m) => m(rel(f, root))))
  // Everything the pattern matches but the walk or an exclusion dropped.
  const excluded = candidates.length - files.length

  const bridge = deps.bridge ?? new PythonBridge(options.python)
  const answer = await bridge.call<HelperAnswer>('dagctl_discover/__main__.py', {files: files.map((f) => ({file: f, rel: rel(f, base)}))}, {interpreterArgs: ['-S']})

  const packageOf = (relFromBase: string): string | undefined => rel(path.resolve(base, relFromBase), root).split('/')[layout.packageSegment]
  const problems: DiscoverProblem[] = answer.problems.map((p) => ({package: packageOf(p.rel), file: p.rel, line: p.line, code: p.code, reason: p.reason}))
  const jobs: DiscoveredJob[] = []
  for (const found of answer.jobs) {
    const fromRoot = rel(path.resolve(base, found.rel), root).split('/')
    const pkg = fromRoot[layout.packageSegment]
    const moduleParts = fromRoot.slice(layout.packageSegment + 1)
    moduleParts[moduleParts.length - 1] = moduleParts.at(-1)!.replace(/\.py$/, '')
    const module = moduleParts.join('.')
    const bad = (code: string, reason: string, line = found.line): void => {
      problems.push({package: pkg, file: found.rel, line, code, reason})
    }
    if (!SAFE_REL_PATH.test(found.rel)) {
      bad('unsafe-path', 'the file name has characters dagctl does not write into generated code (letters, digits, _ . - / only)')
      continue
    }
    if (!moduleParts.every((p) => IDENT.test(p))) {
      bad('module-not-importable', `the module path ${module} is not importable with python -m (every folder and the file must be a Python identifier)`)
      continue
    }
    const meta: JobMeta = {}
    let metaOk = true
    for (const [constant, schema] of Object.entries(JobMetadata)) {
      const given = found.meta[constant]
      if (!given) continue
      const parsed = (schema as z.ZodType).safeParse(given.value)
      if (!parsed.success) {
        const issue = parsed.error.issues[0]
        const where = issue.path.length > 0 ? `${constant}.${issue.path.join('.')}` : constant
        bad('meta-invalid', `${where}: ${issue.message}`, given.line)
        metaOk = false
        continue
      }
      ;(meta as Record<string, unknown>)[constant.toLowerCase()] = parsed.data
    }
    if (!metaOk) continue
    const name = meta.name ?? fromRoot.slice(layout.jobsDepth).join('_').replace(/\.py$/, '')
    const id = `${pkg}_${name}`
    if (!AIRFLOW_ID.test(id) || id.length > AIRFLOW_ID_MAX) {
      bad('bad-id', `the job id ${id} is not a valid Airflow DAG id (letters, digits, _ . -, at most ${AIRFLOW_ID_MAX} characters); set NAME = "..."`)
      continue
    }
    jobs.push({id, package: pkg, name, module, entrypoint: found.entrypoint, description: found.description, file: found.rel, line: found.line, entrypointLine: found.entrypoint_line, meta})
  }

  // Two jobs with one id: both are reported, neither is kept.
  const byId = new Map<string, DiscoveredJob[]>()
  for (const job of jobs) byId.set(job.id, [...(byId.get(job.id) ?? []), job])
  const kept: DiscoveredJob[] = []
  for (const [id, same] of byId) {
    if (same.length === 1) {
      kept.push(same[0])
      continue
    }
    for (const job of same) {
      const others = same.filter((o) => o !== job).map((o) => `${o.file}:${o.line}`)
      problems.push({package: job.package, file: job.file, line: job.line, code: 'duplicate-id', reason: `job id ${id} is also the id of ${others.join(', ')}: set NAME = "..." in one of them`})
    }
  }
  kept.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line))
  return {root: rel(root, process.cwd()) || '.', pattern: settings.pattern, jobs: kept, problems, files: files.length, parsed: answer.parsed, excluded}
}

/** Default settings, for `discover` run outside any package (no dagctl.yaml). */
export function defaultDiscoverSettings(): DiscoverConfig {
  return DiscoverSettings.parse({})
}

/** The error `--strict` (and generate) raise when job files are broken. */
export function brokenJobsError(problems: DiscoverProblem[], details: Record<string, unknown>): CheckFailedError {
  const [first] = problems
  return new CheckFailedError(`${problems.length} job file${problems.length === 1 ? ' is' : 's are'} broken: ${first.file}:${first.line}: ${first.reason}`, {
    file: first.file,
    line: first.line,
    code: 'JOBS_BROKEN',
    hint: 'Fix the files listed (docs/discover.md says what a job module holds), then run `dagctl discover --strict` again.',
    details,
  })
}
