import {readFileSync, readdirSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {Worker} from 'node:worker_threads'

import type {DagctlConfig} from '../config/schema.js'
import {locate, parseYamlSource} from '../config/yaml-source.js'
import {CheckFailedError, ConfigError, ConflictError, DagctlError} from '../errors.js'
import {combineErrors, findSpecFiles} from '../spec/load.js'
import {writeFileAtomic} from './atomic-write.js'
import {generatedSource} from './header.js'
import {fromTransferable, renderSpecFiles, type SpecOutcome} from './render-specs.js'

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

/** Worker threads for a run over `count` specs: none for small runs, where starting one costs more than it saves. */
export function workerCount(count: number, env: NodeJS.ProcessEnv = process.env): number {
  const forced = env.DAGCTL_GENERATE_WORKERS
  if (forced !== undefined && forced !== '') return Math.max(0, Math.min(8, Number.parseInt(forced, 10) || 0))
  if (count < WORKER_THRESHOLD) return 0
  return Math.min(3, os.availableParallelism() - 1)
}

const WORKER_THRESHOLD = 200

function renderInWorker(root: string, config: DagctlConfig, files: string[]): {done: Promise<SpecOutcome[]>; stop: () => void} {
  const workerData = {root, config, files}
  // Run from source (oclif loads src/ through tsx when NODE_ENV is development or test), the
  // worker registers tsx itself before it imports the TypeScript worker module.
  const worker = import.meta.url.endsWith('.ts')
    ? new Worker(
        `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('generate-worker.ts', import.meta.url).href)}) })`,
        {eval: true, workerData},
      )
    : new Worker(new URL('generate-worker.js', import.meta.url), {workerData})
  const done = new Promise<SpecOutcome[]>((resolve, reject) => {
    worker.once('message', (msg: {outcomes?: unknown[]; crash?: string}) => {
      if (msg.outcomes) resolve(msg.outcomes.map(fromTransferable))
      else reject(new Error(`a generate worker failed: ${msg.crash}`))
    })
    worker.once('error', reject)
    worker.once('exit', (code) => reject(new Error(`a generate worker stopped with exit code ${code}`)))
  })
  const settled = done.finally(() => void worker.terminate())
  // Handled here too: when this thread fails first and stops the workers, nobody awaits them.
  settled.catch(() => undefined)
  return {done: settled, stop: () => void worker.terminate()}
}

/** Every spec rendered, in file order: this thread takes the first share, workers the others. */
async function renderAll(root: string, config: DagctlConfig, files: string[]): Promise<SpecOutcome[]> {
  const workers = workerCount(files.length)
  if (workers === 0) return renderSpecFiles(root, config, files)
  const size = Math.ceil(files.length / (workers + 1))
  const shares = Array.from({length: workers + 1}, (_, i) => files.slice(i * size, (i + 1) * size))
  const running = shares.slice(1).map((share) => renderInWorker(root, config, share))
  try {
    const mine = renderSpecFiles(root, config, shares[0])
    return [...mine, ...(await Promise.all(running.map((r) => r.done))).flat()]
  } catch (error) {
    for (const r of running) r.stop()
    throw error
  }
}

/**
 * Loads every spec, renders every DAG in memory and compares with what is on disk. Throws before
 * anything is written when any spec is bad (exit 2), refused by policy (exit 5), or would replace
 * a file dagctl did not write (exit 3).
 */
export async function planGeneration(options: GenerateOptions): Promise<{planned: PlannedFile[]; orphans: Array<{file: string; rel: string; spec: string}>}> {
  const {root, config} = options
  const outcomes = await renderAll(root, config, findSpecFiles(path.resolve(root, config.specs)))
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
          ...locate(parseYamlSource(outcome.file, readFileSync(outcome.file, 'utf8'), 'spec'), ['name']),
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

/** `dagctl generate`: plan everything, then write only what changed (and remove orphans with clean). */
export async function generate(options: GenerateOptions): Promise<GenerateResult> {
  const {planned, orphans} = await planGeneration(options)
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
