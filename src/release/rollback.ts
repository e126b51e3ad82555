import {InterruptedError, PolicyError, UsageError, type StopSignal} from '../errors.js'
import {stopSignalOf} from '../util/interrupt.js'
import type {Store} from '../store/index.js'
import {diffFiles, isEmptyDiff, type FileDiff, type FileMap, type Manifest} from './manifest.js'
import {collectMetadata, type ReleaseMetadata} from './metadata.js'
import {buildManifest, summariseDiff, type DiffSummary} from './publish.js'
import {PackageRepository, type HeadRead, type LiveRead, type RepairScope} from './repository.js'
import {runSteps, type StepRunner} from '../util/steps.js'
import {loaderPartner} from '../render/loader.js'

export interface RollbackOptions {
  store: Store
  env: string
  pkg: string
  /** --to ID */
  to?: number
  /** --steps N (default 1 when --to is not given) */
  steps?: number
  /** --dag DAG_ID: only that DAG's file */
  dag?: string
  /** --whole-file: with --dag, also the other DAGs whose code is in the same file(s) */
  wholeFile?: boolean
  message?: string
}

export interface RollbackPlan {
  repo: PackageRepository
  headRead: HeadRead
  headManifest: Manifest
  target: Manifest
  files: FileMap
  diff: FileDiff
  /** the files --dag takes back: its file, and a loader layout's other half */
  dagFiles?: string[]
  /** the other DAGs whose code is in those files, which go back with it (--whole-file) */
  sharedWith?: string[]
  dags: Manifest['dags']
  /** started with the plan when it will be written: the release list (for the next id) and live.json */
  releaseIds?: Promise<number[]>
  liveRead?: Promise<LiveRead>
}

function noHistory(env: string, pkg: string): UsageError {
  return new UsageError(`${pkg} has no release in ${env}`, {code: 'NO_RELEASE', hint: `Run \`dagctl releases --env ${env}\` to check the package and environment.`})
}

/**
 * Finds the target and computes the new file set. Writes nothing. With `prefetch` (the rollback
 * will be written), what the writes need later (the release list, live.json) is read meanwhile.
 */
export async function planRollback(options: RollbackOptions, {prefetch = false}: {prefetch?: boolean} = {}): Promise<RollbackPlan> {
  const repo = new PackageRepository(options.store, options.env, options.pkg)
  const early = prefetch ? {releaseIds: repo.releaseIds(), liveRead: repo.readLiveState()} : {}
  early.releaseIds?.catch(() => {})
  early.liveRead?.catch(() => {})
  // --to names its target: read it beside HEAD rather than after.
  const targetP = options.to !== undefined ? repo.tryManifest(options.to) : undefined
  targetP?.catch(() => {})
  const headRead = await repo.readHead()
  if (!headRead.head) throw noHistory(options.env, options.pkg)
  // Going back N steps reads N parents, one after the other. Ids skip only past an orphaned
  // manifest (a publish killed before its HEAD swap), so the parents are almost always the N ids
  // below HEAD's: read those beside HEAD's manifest. A wrong guess costs one unused GET.
  if (options.to === undefined) for (let k = 1; k <= Math.min(options.steps ?? 1, 5); k++) repo.prefetchManifest(headRead.head.release - k)
  const headManifest = await repo.manifest(headRead.head.release)
  let target: Manifest
  if (options.to !== undefined) {
    const found = await targetP
    if (!found) {
      throw new UsageError(`release ${options.to} of ${options.pkg} does not exist in ${options.env}`, {
        code: 'RELEASE_NOT_FOUND',
        hint: `Run \`dagctl releases --env ${options.env}\` to see the release ids.`,
      })
    }
    target = found
  } else {
    const steps = options.steps ?? 1
    // from the HEAD read above (its manifest is cached): the chain the swap's condition is about, one round trip fewer
    const chain = await repo.history(steps + 1, headRead.head.release)
    if (chain.length <= steps) {
      throw new UsageError(`${options.pkg} in ${options.env} has only ${chain.length} release(s) in its history; cannot go back ${steps}`, {
        code: 'RELEASE_NOT_FOUND',
        hint: `Run \`dagctl releases --env ${options.env}\` and use --to ID.`,
      })
    }
    target = chain[steps]
  }
  const selection = options.dag ? selectDag(options.dag, target, headManifest, options) : {files: target.files, dags: target.dags}
  return {repo, headRead, headManifest, target, ...selection, diff: diffFiles(headManifest.files, selection.files), ...early}
}

/**
 * --dag: HEAD's files with the DAG's file(s) as `target` has them, and HEAD's DAG list with those
 * files' entries from `target`. Refused (DAG_FILE_SHARED) when the files change and hold other
 * DAGs too, unless --whole-file.
 */
function selectDag(dagId: string, target: Manifest, headManifest: Manifest, options: RollbackOptions): Pick<RollbackPlan, 'files' | 'dags' | 'dagFiles' | 'sharedWith'> {
  const dagFile =
    target.dags.find((d) => d.dagId === dagId)?.file ??
    headManifest.dags.find((d) => d.dagId === dagId)?.file ??
    [...Object.keys(target.files), ...Object.keys(headManifest.files)].find((p) => p === `${dagId}.py` || p.endsWith(`/${dagId}.py`))
  if (!dagFile) {
    throw new UsageError(`DAG ${dagId} is in neither release ${target.id} nor HEAD (${headManifest.id}) of ${options.pkg}`, {
      code: 'DAG_NOT_FOUND',
      hint: `Run \`dagctl list --package ${options.pkg} --env ${options.env}\` to see the published files and their DAG ids.`,
    })
  }
  const dagFiles = filesOfDag(dagFile, target, headManifest)
  const taken = new Set(dagFiles)
  const differ = dagFiles.some((f) => target.files[f]?.sha256 !== headManifest.files[f]?.sha256)
  // only when the files change: taking back what does not differ takes no other DAG anywhere
  const sharedWith = differ ? [...new Set([...target.dags, ...headManifest.dags].filter((d) => taken.has(d.file) && d.dagId !== dagId).map((d) => d.dagId))].sort() : []
  if (sharedWith.length > 0 && !options.wholeFile) {
    const names = sharedWith.length > 5 ? `${sharedWith.slice(0, 5).join(', ')} and ${sharedWith.length - 5} more` : sharedWith.join(', ')
    throw new PolicyError(`DAG ${dagId}'s code is in ${dagFiles.join(' and ')}, with ${sharedWith.length} other DAG(s): ${names}. Rolling back the file takes them back to release ${target.id} too.`, {
      code: 'DAG_FILE_SHARED',
      details: {dag: dagId, files: dagFiles, sharedWith},
      hint: `Pass --whole-file to take them back with it (\`dagctl diff ${target.id} ${headManifest.id}\` shows what changes), or roll back the whole release (--to ${target.id}, without --dag).`,
    })
  }
  const files = {...headManifest.files}
  for (const f of dagFiles) {
    if (target.files[f]) files[f] = target.files[f]
    else delete files[f]
  }
  const dags = [...headManifest.dags.filter((d) => !taken.has(d.file)), ...target.dags.filter((d) => taken.has(d.file))]
  return {files, dags, dagFiles, sharedWith}
}

/**
 * The files that make a DAG: its own, and for the loader layout (src/render/loader.ts) the other
 * half of the pair, `<dir>/<name>` (what Airflow parses: the DAG ids, in order) beside
 * `<dir>/_dagctl/<name>` (their code, one function per position). The two only work as the pair
 * generate wrote: an old module under a new loader would build DAGs from the wrong functions.
 */
function filesOfDag(file: string, ...releases: Manifest[]): string[] {
  const partner = loaderPartner(file)
  return releases.some((r) => r.files[partner]) ? [file, partner].sort() : [file]
}

export interface RollbackResult {
  package: string
  env: string
  store: string
  release: number | null
  from: number
  to: number
  dag?: string
  /** with --dag --whole-file: the other DAGs whose code is in the same file(s), taken back with it */
  sharedWith?: string[]
  dryRun: boolean
  diff: DiffSummary
  live?: {written: number; deleted: number}
  /** the confirmation was declined: nothing was written */
  cancelled?: boolean
  /** a signal arrived during the last, short step, which was finished: everything is done */
  interrupted?: StopSignal
}

export function rollbackResult(plan: RollbackPlan, options: RollbackOptions, extra: {release: number | null; dryRun: boolean; live?: {written: number; deleted: number}}): RollbackResult {
  return {
    package: plan.repo.pkg,
    env: plan.repo.env,
    store: plan.repo.store.url,
    release: extra.release,
    from: plan.headManifest.id,
    to: plan.target.id,
    ...(options.dag ? {dag: options.dag} : {}),
    ...(plan.sharedWith?.length ? {sharedWith: plan.sharedWith} : {}),
    dryRun: extra.dryRun,
    diff: summariseDiff(plan.diff),
    ...(extra.live ? {live: extra.live} : {}),
  }
}

export function rollbackIsNoop(plan: RollbackPlan): boolean {
  return isEmptyDiff(plan.diff)
}

/** A new release equal to the target (history only grows); its blobs exist since the target's do. */
export async function writeRollbackRelease(plan: RollbackPlan, options: RollbackOptions, metadata?: ReleaseMetadata): Promise<Manifest> {
  const manifest = await buildManifest(plan.repo, plan, plan.files, {
    metadata: metadata ?? (await collectMetadata(process.cwd())),
    message: options.message ?? `rollback${options.dag ? ` of ${options.dag}` : ''} to release ${plan.target.id}`,
    image: options.dag ? plan.headManifest.image : plan.target.image,
    dags: plan.dags,
    validation: plan.target.validation,
    rollback: {from: plan.headManifest.id, to: plan.target.id, ...(options.dag ? {dag: options.dag} : {})},
  })
  await plan.repo.writeManifest(manifest)
  return manifest
}

export interface RollbackHooks {
  /** runs each step (the CLI shows them as progress); default: just run them */
  steps?: StepRunner
  /** sees the plan (the diff) before anything is written */
  onPlan?: (plan: RollbackPlan) => void | Promise<void>
  /** last word before the first write (the CLI's confirmation): false cancels with nothing written */
  beforeWrite?: (plan: RollbackPlan) => Promise<boolean | void>
}

export interface RollbackRunOptions extends RollbackOptions {
  dryRun?: boolean
  metadata?: ReleaseMetadata
  /** where the git metadata is read when `metadata` is not given (the package's checkout; default: the working directory) */
  root?: string
  /** SIGINT/SIGTERM (withStopSignals): stop at the next safe point and say what state the store is in */
  signal?: AbortSignal
  /** how this run named the store, for the commands it prints */
  scope?: RepairScope
}

/** A new release equal to the target, then HEAD, then the live tree: the order of docs/store.md, in this one place. */
export async function rollback(options: RollbackRunOptions, hooks: RollbackHooks = {}): Promise<RollbackResult> {
  const steps = hooks.steps ?? runSteps
  const {signal} = options
  // git and CI metadata for the new release, read while the store answers the plan
  const metadata = options.dryRun ? undefined : options.metadata ? Promise.resolve(options.metadata) : collectMetadata(options.root ?? process.cwd())
  metadata?.catch(() => {})
  const plan = await planRollback(options, {prefetch: !options.dryRun})
  const stopBefore = (what: string, leftover = '') => {
    const sig = stopSignalOf(signal)!
    return new InterruptedError(`interrupted (${sig}) ${what}: nothing changed; HEAD is still release ${plan.headManifest.id} and the live tree is unchanged${leftover}.`, sig, {
      hint: 'Run the rollback again when ready (see docs/runbook.md#an-interrupted-publish-or-rollback).',
      details: {state: 'not-rolled-back', head: plan.headManifest.id},
    })
  }
  if (stopSignalOf(signal)) throw stopBefore('before anything was written')
  await hooks.onPlan?.(plan)
  if (options.dryRun) return rollbackResult(plan, options, {release: null, dryRun: true})
  if (rollbackIsNoop(plan)) {
    const live = await plan.repo.updateLiveAfterSwap(undefined, undefined, signal, options.scope, plan.liveRead)
    return withInterruption(rollbackResult(plan, options, {release: null, dryRun: false, live}), signal)
  }
  if ((await hooks.beforeWrite?.(plan)) === false) return {...rollbackResult(plan, options, {release: null, dryRun: false}), cancelled: true}
  if (stopSignalOf(signal)) throw stopBefore('before anything was written')
  const manifest = await steps('Write the rollback release', async () => writeRollbackRelease(plan, options, await metadata))
  if (stopSignalOf(signal)) throw stopBefore(`before release ${manifest.id} became current`, ` (release ${manifest.id}'s manifest stays as an orphan, not history: harmless)`)
  // One request: once sent, it is finished, and the live tree follows.
  await steps(`Make release ${manifest.id} current (swap HEAD)`, () => plan.repo.swapHead(manifest.id, plan.headRead))
  const live = await steps('Bring the live tree in line', () => plan.repo.updateLiveAfterSwap(manifest.id, undefined, signal, options.scope, plan.liveRead))
  return withInterruption(rollbackResult(plan, options, {release: manifest.id, dryRun: false, live}), signal)
}

function withInterruption(result: RollbackResult, signal?: AbortSignal): RollbackResult {
  const sig = stopSignalOf(signal)
  return sig ? {...result, interrupted: sig} : result
}
