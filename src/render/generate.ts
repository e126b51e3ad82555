import {existsSync, readFileSync, readdirSync, rmSync} from 'node:fs'
import path from 'node:path'

import type {DagctlConfig} from '../config/schema.js'
import {locate, parseYamlSource} from '../config/yaml-source.js'
import {CheckFailedError, ConfigError, ConflictError, DagctlError} from '../errors.js'
import {combineErrors, findSpecFiles} from '../spec/load.js'
import {writeFileAtomic} from '../util/atomic-write.js'
import {generatedSource} from './header.js'
import {renderSpecFiles, type SpecOutcome} from './render-specs.js'

export type GenerateMode = 'write' | 'check' | 'clean'

export interface GenerateOptions {
  /** the package folder (where dagctl.yaml is) */
  root: string
  config: DagctlConfig
  mode: GenerateMode
  /** DAGs from other sources than specs (discovered jobs, schedules), rendered already */
  extra?: SpecOutcome[]
}

export type StaleReason = 'missing' | 'changed' | 'orphan'

/** The stable --json shape of `dagctl generate` (docs/specs.md). Paths are relative to the package root. */
export interface GenerateResult {
  /** files written by this run (new or changed); always empty under --check */
  written: string[]
  /** files already equal to what the specs generate */
  unchanged: string[]
  /** generated files removed because no spec generates them any more (--clean) */
  removed: string[]
  /**
   * files out of line with the specs, left as they are: under --check every missing, changed or
   * orphan file; otherwise orphans only (generated files whose spec is gone: `--clean` removes them)
   */
  stale: Array<{file: string; reason: StaleReason; spec?: string}>
  dags: Array<{dagId: string; file: string; spec: string; tasks: number}>
  check: boolean
}

interface PlannedFile {
  file: string
  rel: string
  content: string
  state: 'missing' | 'changed' | 'unchanged'
  dagId: string
  /** the spec, relative to the package root */
  source: string
  tasks: number
}

const toRel = (root: string, file: string): string => path.relative(root, file).split(path.sep).join('/')

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/**
 * Loads every spec, renders every DAG in memory and compares with what is on disk. Throws before
 * anything is written when any spec is bad (exit 2), refused by policy (exit 5), or would replace
 * a file dagctl did not write (exit 3).
 */
export function planGeneration(options: GenerateOptions): {planned: PlannedFile[]; orphans: Array<{file: string; rel: string; spec: string}>} {
  const {root, config} = options
  // With discover configured, a package may have no specs folder at all.
  const specsDir = path.resolve(root, config.specs)
  const specFiles = options.extra !== undefined && !existsSync(specsDir) ? [] : findSpecFiles(specsDir)
  const outcomes = [...renderSpecFiles(root, config, specFiles), ...(options.extra ?? [])]
  const outDir = path.resolve(root, config.generated)
  const errors: DagctlError[] = []
  const planned: PlannedFile[] = []
  const seen = new Map<string, string>()
  for (const outcome of outcomes) {
    if (!outcome.ok) {
      errors.push(outcome.error)
      continue
    }
    const {dagId, rel: source, content} = outcome
    const other = seen.get(dagId)
    if (other) {
      errors.push(
        new ConfigError(`invalid spec: DAG id ${dagId} is also generated from ${other}`, {
          file: outcome.file,
          ...(outcome.line !== undefined ? {line: outcome.line} : locate(parseYamlSource(outcome.file, readFileSync(outcome.file, 'utf8'), 'spec'), ['name'])),
          key: 'name',
          code: 'SPEC_DUPLICATE',
          hint: 'Give each spec its own name:.',
        }),
      )
      continue
    }
    seen.set(dagId, source)
    const file = path.join(outDir, `${dagId}.py`)
    const existing = readIfExists(file)
    if (existing !== undefined && generatedSource(existing) === undefined) {
      errors.push(
        new ConflictError(`${toRel(root, file)} exists and was not written by dagctl; generating ${dagId} would replace it`, {
          file,
          code: 'HAND_WRITTEN_FILE',
          hint: `Move the hand-written file out of ${config.generated}, or rename the spec's name: in ${source}.`,
        }),
      )
      continue
    }
    planned.push({file, rel: toRel(root, file), content, dagId, source, tasks: outcome.tasks, state: existing === undefined ? 'missing' : existing === content ? 'unchanged' : 'changed'})
  }
  if (errors.length > 0) throw combineErrors(errors)

  const targets = new Set(planned.map((p) => p.file))
  const orphans: Array<{file: string; rel: string; spec: string}> = []
  let entries: string[] = []
  try {
    entries = readdirSync(outDir).filter((f) => f.endsWith('.py')).sort()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  for (const name of entries) {
    const file = path.join(outDir, name)
    if (targets.has(file)) continue
    const spec = generatedSource(readFileSync(file, 'utf8'))
    if (spec !== undefined) orphans.push({file, rel: toRel(root, file), spec})
  }
  return {planned, orphans}
}

/** The failure of `generate --check` that found stale files (the result itself lists them). */
export function staleError(result: GenerateResult): CheckFailedError {
  return new CheckFailedError(`${result.stale.length} generated file${result.stale.length === 1 ? ' is' : 's are'} out of date: ${result.stale.map((s) => `${s.file} (${s.reason})`).join(', ')}`, {
    code: 'GENERATED_STALE',
    hint: 'Run `dagctl generate --clean` and commit the result.',
  })
}

/** `dagctl generate`: plan everything, then write only what changed (and remove orphans with clean). */
/** Under --check nothing is written and stale files are in the result; staleError() is its failure. */
export function generate(options: GenerateOptions): GenerateResult {
  const {planned, orphans} = planGeneration(options)
  const result: GenerateResult = {
    written: [],
    unchanged: planned.filter((p) => p.state === 'unchanged').map((p) => p.rel),
    removed: [],
    stale: [],
    dags: planned.map((p) => ({dagId: p.dagId, file: p.rel, spec: p.source, tasks: p.tasks})),
    check: options.mode === 'check',
  }
  const changes = planned.filter((p) => p.state !== 'unchanged')
  if (options.mode === 'check') {
    result.stale = [
      ...changes.map((p) => ({file: p.rel, reason: p.state as StaleReason, spec: p.source})),
      ...orphans.map((o) => ({file: o.rel, reason: 'orphan' as const, spec: o.spec})),
    ]
    return result
  }
  for (const p of changes) {
    writeFileAtomic(p.file, p.content)
    result.written.push(p.rel)
  }
  for (const o of orphans) {
    if (options.mode === 'clean') {
      rmSync(o.file, {force: true})
      result.removed.push(o.rel)
    } else {
      result.stale.push({file: o.rel, reason: 'orphan', spec: o.spec})
    }
  }
  return result
}
