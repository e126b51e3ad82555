import {readFileSync, readdirSync, rmSync} from 'node:fs'
import path from 'node:path'

import type {DagctlConfig} from '../config/schema.js'
import {locate} from '../config/yaml-source.js'
import {CheckFailedError, ConfigError, ConflictError, DagctlError} from '../errors.js'
import {combineErrors, findSpecFiles, loadSpecs} from '../spec/load.js'
import {buildRenderModel, type RenderModel} from '../spec/model.js'
import {builtinTaskTypes, loadPlatformTaskTypes, type TaskType} from '../spec/task-types.js'
import {writeFileAtomic} from './atomic-write.js'
import {createRenderEnvironment, type TemplateSources} from './environment.js'
import {generatedHeader, generatedSource} from './header.js'
import {parseImport} from './imports.js'

export type GenerateMode = 'write' | 'check' | 'clean'

export interface GenerateOptions {
  /** the package folder (where dagctl.yaml is) */
  root: string
  config: DagctlConfig
  mode: GenerateMode
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
  model: RenderModel
}

const toRel = (root: string, file: string): string => path.relative(root, file).split(path.sep).join('/')

/** The task types a package can use: the built-ins plus its platform's template folder. */
export function resolveTaskTypes(root: string, config: DagctlConfig): TaskType[] {
  const platform = config.task_templates ? loadPlatformTaskTypes(path.resolve(root, config.task_templates)) : []
  return [...builtinTaskTypes(), ...platform]
}

/** Renders one model to the file's full text: marker header, then the template's output. */
export function renderDag(env: ReturnType<typeof createRenderEnvironment>, model: RenderModel): string {
  const context = {...model, imports: model.imports.map(parseImport)}
  return generatedHeader(model.source) + env.render('dag.py.njk', context)
}

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
  const taskTypes = resolveTaskTypes(root, config)
  const byName = new Map(taskTypes.map((t) => [t.name, t]))
  const platformSources: TemplateSources = new Map(taskTypes.filter((t) => t.file).map((t) => [t.template, {src: t.source!, path: t.file!}]))
  const env = createRenderEnvironment(platformSources)

  const specs = loadSpecs(findSpecFiles(path.resolve(root, config.specs)), root, taskTypes)
  const outDir = path.resolve(root, config.generated)
  const errors: DagctlError[] = []
  const planned: PlannedFile[] = []
  const seen = new Map<string, string>()
  for (const loaded of specs) {
    let model: RenderModel
    try {
      model = buildRenderModel(loaded, config, byName)
    } catch (error) {
      if (!(error instanceof DagctlError)) throw error
      errors.push(error)
      continue
    }
    const dagId = model.dag.dag_id
    const other = seen.get(dagId)
    if (other) {
      errors.push(
        new ConfigError(`invalid spec: DAG id ${dagId} is also generated from ${other}`, {
          file: loaded.file,
          ...locate(loaded.src, ['name']),
          key: 'name',
          code: 'SPEC_DUPLICATE',
          hint: 'Give each spec its own name:.',
        }),
      )
      continue
    }
    seen.set(dagId, loaded.rel)
    let content: string
    try {
      content = renderDag(env, model)
    } catch (error) {
      // A platform template that fails on a value (its `| py` refusing it, a missing field).
      const message = (error as Error).message.replace(/\s+/g, ' ')
      errors.push(new ConfigError(`cannot render ${loaded.rel}: ${message}`, {file: loaded.file, code: 'RENDER_FAILED', hint: 'Check the task template named in the message.', cause: error}))
      continue
    }
    const file = path.join(outDir, `${dagId}.py`)
    const existing = readIfExists(file)
    if (existing !== undefined && generatedSource(existing) === undefined) {
      errors.push(
        new ConflictError(`${toRel(root, file)} exists and was not written by dagctl; generating ${dagId} would replace it`, {
          file,
          code: 'HAND_WRITTEN_FILE',
          hint: `Move the hand-written file out of ${config.generated}, or rename the spec's name: in ${loaded.rel}.`,
        }),
      )
      continue
    }
    planned.push({file, rel: toRel(root, file), content, model, state: existing === undefined ? 'missing' : existing === content ? 'unchanged' : 'changed'})
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

/** `dagctl generate`: plan everything, then write only what changed (and remove orphans with clean). */
export function generate(options: GenerateOptions): GenerateResult {
  const {planned, orphans} = planGeneration(options)
  const result: GenerateResult = {
    written: [],
    unchanged: planned.filter((p) => p.state === 'unchanged').map((p) => p.rel),
    removed: [],
    stale: [],
    dags: planned.map((p) => ({dagId: p.model.dag.dag_id, file: p.rel, spec: p.model.source, tasks: p.model.dag.tasks.length})),
    check: options.mode === 'check',
  }
  const changes = planned.filter((p) => p.state !== 'unchanged')
  if (options.mode === 'check') {
    result.stale = [
      ...changes.map((p) => ({file: p.rel, reason: p.state as StaleReason, spec: p.model.source})),
      ...orphans.map((o) => ({file: o.rel, reason: 'orphan' as const, spec: o.spec})),
    ]
    if (result.stale.length > 0) {
      throw new CheckFailedError(`${result.stale.length} generated file${result.stale.length === 1 ? ' is' : 's are'} out of date: ${result.stale.map((s) => `${s.file} (${s.reason})`).join(', ')}`, {
        code: 'GENERATED_STALE',
        hint: 'Run `dagctl generate --clean` and commit the result.',
        details: {...result},
      })
    }
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
