import {existsSync, readFileSync, readdirSync, rmSync} from 'node:fs'
import path from 'node:path'

import type {DagctlConfig} from '../config/schema.js'
import {locate, parseYamlSource} from '../config/yaml-source.js'
import {CheckFailedError, ConfigError, ConflictError, DagctlError} from '../errors.js'
import {combineErrors, findSpecFiles} from '../spec/load.js'
import {writeFileAtomic} from '../util/atomic-write.js'
import {generatedSource, generatedSources} from './header.js'
import {dagSegments, groupDags, parseLayout, renderGroupFiles, type RenderedDag} from './layout.js'
import {isLoaderModule, MODULE_DIR, moduleSegments} from './loader.js'
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
  stale: Array<{file: string; reason: StaleReason; spec?: string; dagId?: string}>
  dags: Array<{dagId: string; file: string; spec: string; tasks: number}>
  /** generate.layout: dag, package or batch:N */
  layout: string
  check: boolean
}

interface PlannedDag extends RenderedDag {
  tasks: number
  /** the spec file, absolute (for errors) */
  file: string
}

interface PlannedFile {
  file: string
  rel: string
  content: string
  state: 'missing' | 'changed' | 'unchanged'
  /** the DAGs of the file, DAG id order; `source` is the spec relative to the package root */
  dags: PlannedDag[]
  /** for a changed file of several DAGs: the DAGs whose code differs from what is on disk */
  drifted?: PlannedDag[]
  /** a loader's module (`loader:N`): its DAGs are listed under the loader, where Airflow finds them */
  module?: true
}

/**
 * A generated file that no spec generates any more. `superseded`: every DAG it holds is generated
 * into another file now (the layout changed): keeping it would give Airflow each of those DAG ids
 * twice, so `generate` removes it without --clean.
 */
interface Orphan {
  file: string
  rel: string
  spec: string
  superseded: boolean
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
export function planGeneration(options: GenerateOptions): {planned: PlannedFile[]; orphans: Orphan[]} {
  const {root, config} = options
  // With discover configured, a package may have no specs folder at all.
  const specsDir = path.resolve(root, config.specs)
  const specFiles = options.extra !== undefined && !existsSync(specsDir) ? [] : findSpecFiles(specsDir)
  const outcomes = [...renderSpecFiles(root, config, specFiles), ...(options.extra ?? [])]
  const outDir = path.resolve(root, config.generated)
  const errors: DagctlError[] = []
  const dags: PlannedDag[] = []
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
    dags.push({dagId, source, content, tasks: outcome.tasks, file: outcome.file, ...(outcome.line !== undefined ? {line: outcome.line} : {})})
  }
  const layout = parseLayout(config.generate.layout)
  const planned: PlannedFile[] = []
  for (const group of groupDags(layout, config.package, dags)) {
    const files = renderGroupFiles(layout, group)
    let loaderOnDisk: string | undefined
    for (const [index, {name, content}] of files.entries()) {
      const file = path.join(outDir, name)
      const existing = readIfExists(file)
      if (index === 0) loaderOnDisk = existing
      if (existing !== undefined && generatedSource(existing) === undefined) {
        const what = group.dags.length === 1 ? group.dags[0].dagId : `${group.dags.length} DAGs (layout ${config.generate.layout})`
        errors.push(
          new ConflictError(`${toRel(root, file)} exists and was not written by dagctl; generating ${what} would replace it`, {
            file,
            code: 'HAND_WRITTEN_FILE',
            hint: `Move the hand-written file out of ${config.generated}${group.dags.length === 1 ? `, or rename the spec's name: in ${group.dags[0].source}` : ''}.`,
          }),
        )
        continue
      }
      const state = existing === undefined ? 'missing' : existing === content ? 'unchanged' : 'changed'
      const entry: PlannedFile = {file, rel: toRel(root, file), content, dags: group.dags, state}
      if (index > 0) entry.module = true
      if (state === 'changed' && group.dags.length > 1) entry.drifted = driftedDags(group.dags, content, existing!)
      if (state === 'changed' && index > 0) entry.drifted = driftedModuleDags(group.dags, content, existing!, loaderOnDisk)
      planned.push(entry)
    }
  }
  if (errors.length > 0) throw combineErrors(errors)

  const targets = new Set(planned.map((p) => p.file))
  const orphans: Orphan[] = []
  const generatedIds = new Set(dags.map((d) => d.dagId))
  for (const name of pyFiles(outDir)) {
    const file = path.join(outDir, name)
    if (targets.has(file)) continue
    const sources = generatedSources(readFileSync(file, 'utf8'))
    if (sources === undefined) continue
    // A one-DAG file is named by its DAG id; a file of several DAGs maps them in its header.
    const ids = sources.length === 1 && sources[0].dagId === undefined ? [name.slice(0, -'.py'.length)] : sources.map((s) => s.dagId ?? '')
    const superseded = ids.length > 0 && ids.every((id) => generatedIds.has(id))
    orphans.push({file, rel: toRel(root, file), spec: sources.map((s) => s.source).join(', '), superseded})
  }
  // a loader's module goes with its loader (the file of the same name one folder up)
  const moduleDir = path.join(outDir, MODULE_DIR)
  for (const name of pyFiles(moduleDir)) {
    const file = path.join(moduleDir, name)
    if (targets.has(file) || !isLoaderModule(readFileSync(file, 'utf8'))) continue
    const loader = path.join(outDir, name)
    const loaderOrphan = orphans.find((o) => o.file === loader)
    const superseded = loaderOrphan ? loaderOrphan.superseded : !existsSync(loader)
    orphans.push({file, rel: toRel(root, file), spec: loaderOrphan?.spec ?? '', superseded})
  }
  return {planned, orphans}
}

function pyFiles(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.py'))
      .sort()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' && (error as NodeJS.ErrnoException).code !== 'ENOTDIR') throw error
    return []
  }
}

/**
 * The DAGs of a loader's module whose code on disk differs from what their specs generate: the
 * module's functions are in the order of its loader's map, so the loader on disk says which DAG
 * each function on disk builds.
 */
function driftedModuleDags(dags: PlannedDag[], expected: string, existing: string, loaderOnDisk: string | undefined): PlannedDag[] {
  // a function's text without its first two lines (its position and its name, which hold the position)
  const code = (segment: string | undefined) => (segment === undefined ? undefined : segment.split('\n').slice(2).join('\n'))
  const want = moduleSegments(expected)
  const have = moduleSegments(existing)
  const order = (loaderOnDisk === undefined ? [] : (generatedSources(loaderOnDisk) ?? [])).map((s) => s.dagId)
  const haveById = new Map(order.map((id, i) => [id, code(have[i])]))
  return dags.filter((d, i) => haveById.get(d.dagId) !== code(want[i]))
}

/**
 * The DAGs of a multi-DAG file whose code on disk differs from what their specs generate (or that
 * the file on disk lacks): what `--check` names. Empty when only the rest of the file differs.
 */
function driftedDags(dags: PlannedDag[], expected: string, existing: string): PlannedDag[] {
  const want = dagSegments(expected)
  const have = dagSegments(existing)
  const mapped = new Set((generatedSources(existing) ?? []).map((s) => s.dagId))
  return dags.filter((d) => want.get(d.dagId) !== have.get(d.dagId) || !mapped.has(d.dagId))
}

/**
 * What `--check` says of a missing or changed file: a one-DAG file names its spec; a file of several
 * DAGs gets one entry per DAG that is missing or drifted, each naming its spec (one entry without a
 * spec when only the rest of the file differs).
 */
function staleEntries(p: PlannedFile): GenerateResult['stale'] {
  const reason = p.state as StaleReason
  if (p.dags.length === 1) return [{file: p.rel, reason, spec: p.dags[0].source}]
  const named = p.state === 'missing' ? p.dags : (p.drifted ?? [])
  if (named.length === 0) return [{file: p.rel, reason}]
  return named.map((d) => ({file: p.rel, reason, spec: d.source, dagId: d.dagId}))
}

/** The failure of `generate --check` that found stale files (the result itself lists them). */
export function staleError(result: GenerateResult): CheckFailedError {
  const files = [...new Map(result.stale.map((s) => [s.file, s])).values()]
  return new CheckFailedError(`${files.length} generated file${files.length === 1 ? ' is' : 's are'} out of date: ${files.map((s) => `${s.file} (${s.reason})`).join(', ')}`, {
    code: 'GENERATED_STALE',
    hint: 'Run `dagctl generate --clean` and commit the result.',
  })
}

/** The modules' folder once no module is left in it (Python's bytecode cache goes with it). */
function removeEmptyModuleDir(dir: string): void {
  try {
    if (readdirSync(dir).every((f) => f === '__pycache__')) rmSync(dir, {recursive: true, force: true})
  } catch {
    // already gone, or not ours to judge: leave it
  }
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
    dags: planned.filter((p) => !p.module).flatMap((p) => p.dags.map((d) => ({dagId: d.dagId, file: p.rel, spec: d.source, tasks: d.tasks}))),
    layout: options.config.generate.layout,
    check: options.mode === 'check',
  }
  const changes = planned.filter((p) => p.state !== 'unchanged')
  if (options.mode === 'check') {
    result.stale = [
      ...changes.flatMap((p) => staleEntries(p)),
      ...orphans.map((o) => ({file: o.rel, reason: 'orphan' as const, ...(o.spec ? {spec: o.spec} : {})})),
    ]
    return result
  }
  // a loader's module before its loader, so a loader on disk never names a module not yet written
  for (const p of [...changes.filter((c) => c.module), ...changes.filter((c) => !c.module)]) {
    writeFileAtomic(p.file, p.content)
  }
  result.written.push(...changes.map((p) => p.rel))
  let removedModule = false
  for (const o of orphans) {
    if (options.mode === 'clean' || o.superseded) {
      rmSync(o.file, {force: true})
      result.removed.push(o.rel)
      removedModule ||= path.basename(path.dirname(o.file)) === MODULE_DIR
    } else {
      result.stale.push({file: o.rel, reason: 'orphan', ...(o.spec ? {spec: o.spec} : {})})
    }
  }
  if (removedModule) removeEmptyModuleDir(path.join(path.resolve(options.root, options.config.generated), MODULE_DIR))
  return result
}
