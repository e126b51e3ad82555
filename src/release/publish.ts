import path from 'node:path'

import {startValidation} from '../check/index.js'
import {validateForPublish, type PublishValidation, type ReuseSummary} from '../check/reuse.js'
import type {ValidateOptions, ValidationReport} from '../check/types.js'
import {CheckFailedError, InterruptedError, PolicyError, UsageError, type StopSignal} from '../errors.js'
import {stopSignalOf} from '../util/interrupt.js'
import {PreconditionFailed, type Store} from '../store/index.js'
import {collectFiles, type LocalFile} from './local-files.js'
import {diffFiles, isEmptyDiff, type FileDiff, type FileMap, type Manifest} from './manifest.js'
import {collectMetadata, dagctlVersion, type ReleaseMetadata} from './metadata.js'
import {PackageRepository, PARALLEL, type HeadRead, type LiveRead, type RepairScope} from './repository.js'
import {buildPacks, packCount, shouldPack, type PackRef} from './packs.js'
import {mapLimit, nonce} from './util.js'
import {runSteps, type StepRunner} from '../util/steps.js'

export interface PublishOptions {
  store: Store
  env: string
  pkg: string
  /** the package root (folder of dagctl.yaml) */
  root: string
  /** the dags folder, absolute */
  dagsDir: string
  extensions: readonly string[]
  /** false with --no-validate (recorded in the manifest) */
  validate: boolean
  validateOptions: Omit<ValidateOptions, 'files' | 'root' | 'packageName'>
  allowMassRemoval: boolean
  message?: string
  image?: string
  /** for tests: metadata instead of reading git and CI variables */
  metadata?: ReleaseMetadata
}

export interface PublishPlan {
  options: PublishOptions
  repo: PackageRepository
  files: LocalFile[]
  /** the same files as a map: path -> sha256 and size */
  local: FileMap
  skipped: string[]
  report?: ValidationReport
  /** what validation parsed and what it reused from HEAD, and the record for the new manifest */
  validation?: PublishValidation
  dags: Array<{dagId: string; file: string}>
  headRead: HeadRead
  headManifest?: Manifest
  diff: FileDiff
  /** content hashes to upload: not already in HEAD's manifest (whose blobs exist by invariant) */
  newBlobs: string[]
  /** set by uploadBlobs: new contents found in the store already (a pack or blob an interrupted publish left), not sent again */
  reused?: number
  /** set by uploadBlobs when it packed the new contents: where each is */
  packed?: Map<string, PackRef>
  contents: Map<string, Buffer>
  /** started during the plan when there is something to publish: the release list (for the next id), git/CI metadata */
  releaseIds?: Promise<number[]>
  metadata?: Promise<ReleaseMetadata>
  /** live.json as read during the plan: the live-tree update starts from it (a stale one only costs a retry) */
  liveRead?: Promise<LiveRead>
}

export interface DiffSummary {
  added: string[]
  changed: string[]
  removed: string[]
  unchanged: number
}

export function summariseDiff(d: FileDiff): DiffSummary {
  return {added: d.added, changed: d.changed, removed: d.removed, unchanged: d.unchanged.length}
}

// The file maps below are built by plain loops: they run once per command, cold, where
// Object.fromEntries over 1,000 [path, entry] pairs and an object spread per entry cost about 5x
// the CPU of assigning each entry (1,000 files: 11 ms against 2 ms for placedFiles).
export function fileMapOf(files: LocalFile[]): FileMap {
  const map: FileMap = {}
  for (const f of files) map[f.path] = {sha256: f.sha256, size: f.size}
  return map
}

/** Validate, read HEAD, diff, guardrails. Writes nothing. */
export async function planPublish(options: PublishOptions): Promise<PublishPlan> {
  const repo = new PackageRepository(options.store, options.env, options.pkg)
  // What the store holds does not depend on the local files: HEAD, its manifest and live.json are
  // read while the files are collected and validated (a validation error still comes first).
  const headP = repo.readHead().then(async (headRead) => ({headRead, headManifest: headRead.head ? await repo.manifest(headRead.head.release) : undefined}))
  const liveRead = repo.readLiveState()
  headP.catch(() => {})
  liveRead.catch(() => {})
  // The validator starts now: Python's start and imports overlap with collecting and hashing the
  // files and with reading HEAD, whose validation record says which files need parsing at all.
  const pending = options.validate ? startValidation({...options.validateOptions, root: options.root, packageName: options.pkg}, {fingerprint: true}) : undefined
  let collected
  try {
    collected = await collectFiles(options.dagsDir, options.root, options.extensions)
  } catch (error) {
    await pending?.cancel()
    throw error
  }
  const {files, skipped} = collected
  if (files.length === 0) {
    // Nothing here: with nothing published either, there is nothing to do (exit 2); with published
    // files, this removes them all, which is the mass-removal guardrail's call (below, exit 5).
    const {headManifest: published0} = await headP.catch(async (error: unknown) => {
      await pending?.cancel()
      throw error
    })
    const published = published0 ? Object.keys(published0.files).length : 0
    if (published === 0) {
      await pending?.cancel()
      throw new UsageError(`no DAG files to publish under ${options.dagsDir}`, {
        code: 'NOTHING_TO_PUBLISH',
        key: 'dags',
        hint: `Only .py${options.extensions.length > 0 ? ` and ${options.extensions.join(', ')}` : ''} files are published (publish.extensions adds more): put the DAG files under the \`dags:\` folder of dagctl.yaml, or run \`dagctl generate\`.`,
      })
    }
  }
  let report: ValidationReport | undefined
  let validation: PublishValidation | undefined
  let dags: PublishPlan['dags'] = []
  if (pending) {
    validation = await validateForPublish(pending, files.filter((f) => f.path.endsWith('.py')), {
      root: options.root,
      dagsDir: options.dagsDir,
      pkg: options.pkg,
      dagctlVersion: dagctlVersion(),
      settings: options.validateOptions,
      // a store that fails here fails again below; a validation error still comes first
      head: headP.then(
        (h) => (h.headManifest ? {record: h.headManifest.validation.record, files: h.headManifest.files} : undefined),
        () => undefined,
      ),
    })
    report = validation.report
    if (report.summary.errors > 0) {
      const first = report.findings.filter((f) => f.severity === 'error').slice(0, 10)
      throw new CheckFailedError(
        `validation found ${report.summary.errors} error(s); nothing was published:\n${first.map((f) => `  ${f.file}:${f.line}:${f.column} ${f.rule}: ${f.message}`).join('\n')}`,
        {code: 'VALIDATION_FAILED', file: first[0] ? path.resolve(options.root, first[0].file) : undefined, line: first[0]?.line, hint: 'Run `dagctl validate` for the full report, fix the errors, and publish again.'},
      )
    }
    dags = validation.dags.map((d) => ({dagId: d.dagId, file: d.file}))
    const foreign = validation.dags.filter((d) => !d.dagId.startsWith(`${options.pkg}_`))
    if (foreign.length > 0) {
      const shown = (d: {file: string}) => path.relative(options.root, path.resolve(options.dagsDir, d.file)).split(path.sep).join('/')
      throw new PolicyError(`DAG id${foreign.length > 1 ? 's' : ''} without the package prefix ${options.pkg}_: ${foreign.map((d) => `${d.dagId} (${shown(d)}:${d.line})`).join(', ')}`, {
        code: 'DAG_OUTSIDE_PACKAGE',
        file: path.resolve(options.dagsDir, foreign[0].file),
        line: foreign[0].line,
        hint: `Package ${options.pkg} owns only DAG ids starting with ${options.pkg}_: rename the DAG.`,
      })
    }
  }
  const {headRead, headManifest} = await headP
  const local = fileMapOf(files)
  const diff = diffFiles(headManifest?.files ?? {}, local)
  const publishedDags = Object.keys(headManifest?.files ?? {}).filter((p) => p.endsWith('.py'))
  const removedDags = diff.removed.filter((p) => p.endsWith('.py'))
  const removesAll = files.length === 0 && diff.removed.length > 0
  if (!options.allowMassRemoval && (removesAll || (publishedDags.length > 0 && removedDags.length * 2 > publishedDags.length))) {
    const what = removesAll ? `every published file (${diff.removed.length})` : `${removedDags.length} of the ${publishedDags.length} published DAG files`
    throw new PolicyError(`this publish would remove ${what} of ${options.pkg} in ${options.env}`, {
      code: 'MASS_REMOVAL',
      details: {removed: removesAll ? diff.removed : removedDags},
      hint: 'Check the dags folder (a wrong checkout, a failed generate?). If you mean it, publish again with --allow-mass-removal.',
    })
  }
  const known = new Set(Object.values(headManifest?.files ?? {}).map((f) => f.sha256))
  const contents = new Map(files.map((f) => [f.sha256, f.body]))
  const newBlobs = [...new Set(files.map((f) => f.sha256))].filter((s) => !known.has(s)).sort()
  // What a new release needs later (the release list for its id, git and CI metadata), started now
  // so that it overlaps with the upload; not when there is nothing to publish.
  let releaseIds: Promise<number[]> | undefined
  let metadata: Promise<ReleaseMetadata> | undefined
  if (!isEmptyDiff(diff) || !headManifest) {
    releaseIds = repo.releaseIds()
    metadata = options.metadata ? Promise.resolve(options.metadata) : collectMetadata(options.root)
    releaseIds.catch(() => {})
  }
  return {options, repo, files, local, skipped, report, validation, dags, headRead, headManifest, diff, newBlobs, contents, releaseIds, metadata, liveRead}
}

export function planIsNoop(plan: PublishPlan): boolean {
  return plan.headManifest !== undefined && isEmptyDiff(plan.diff)
}

/**
 * The new contents, create-only, before anything names them. More than PACK_ABOVE of them go as
 * packs (one object per PACK_MAX_BYTES; src/release/packs.ts), fewer as one blob each, in
 * parallel. A key that exists already (412) holds the same bytes: blobs and packs are named by
 * their content, and a pack's bytes depend only on the contents it holds, so a publish re-run
 * after a kill during its upload finds the pack it left (whole or absent: one PUT) and counts its
 * contents as `reused`. With `signal` aborted, no new upload starts; the count of contents stored
 * is returned.
 */
export async function uploadBlobs(plan: PublishPlan, onProgress?: (done: number, total: number) => void, signal?: AbortSignal): Promise<number> {
  let done = 0
  let reused = 0
  const {store, layout} = plan.repo
  const total = plan.newBlobs.length
  /** true when the object was created, false when it was there already */
  const create = async (key: string, body: Buffer): Promise<boolean> => {
    try {
      await store.put(key, body, {ifNoneMatch: '*'})
      return true
    } catch (error) {
      if (!(error instanceof PreconditionFailed)) throw error
      return false
    }
  }
  const stop = () => signal?.aborted === true
  if (shouldPack(total)) {
    const packed = new Map<string, PackRef>()
    await mapLimit(
      buildPacks(plan.newBlobs, plan.contents),
      PARALLEL,
      async (pack) => {
        const created = await create(layout.pack(pack.id), pack.body)
        for (const [sha, offset] of pack.offsets) packed.set(sha, {id: pack.id, offset})
        if (created) done += pack.offsets.size
        else reused += pack.offsets.size
        onProgress?.(done + reused, total)
      },
      stop,
    )
    plan.packed = packed
  } else {
    await mapLimit(
      plan.newBlobs,
      PARALLEL,
      async (sha) => {
        if (await create(layout.blob(sha), plan.contents.get(sha)!)) done++
        else reused++
        onProgress?.(done + reused, total)
      },
      stop,
    )
  }
  plan.reused = reused
  return done
}

/**
 * The new release's file entries: each content where it is stored. A content this publish packed
 * is at its place in the pack; one HEAD already names is where HEAD's entry says (a pack or its
 * own blob): such contents are known, never uploaded again.
 */
export function placedFiles(files: FileMap, base: Manifest | undefined, packed?: Map<string, PackRef>): FileMap {
  const known = new Map<string, PackRef | undefined>()
  for (const f of Object.values(base?.files ?? {})) if (!known.has(f.sha256) || f.pack) known.set(f.sha256, f.pack)
  const placed: FileMap = {}
  for (const p of Object.keys(files)) {
    const f = files[p]
    const pack = packed?.get(f.sha256) ?? (known.has(f.sha256) ? known.get(f.sha256) : f.pack)
    const entry: FileMap[string] = {sha256: f.sha256, size: f.size}
    if (f.since !== undefined) entry.since = f.since
    if (pack) entry.pack = pack
    placed[p] = entry
  }
  return placed
}

export async function buildManifest(
  repo: PackageRepository,
  base: {headRead: HeadRead; headManifest?: Manifest; releaseIds?: Promise<number[]>},
  files: FileMap,
  extra: Pick<Manifest, 'dags' | 'validation'> & {message?: string; image?: string; rollback?: Manifest['rollback']; metadata: ReleaseMetadata},
): Promise<Manifest> {
  const id = await repo.nextId(base.headRead.head?.release, base.releaseIds)
  const parentFiles = base.headManifest?.files ?? {}
  const diff = diffFiles(parentFiles, files)
  return {
    // entries that name a pack need format 2, which older dagctl versions refuse instead of missing blobs
    format: Object.values(files).some((f) => f.pack) ? 2 : 1,
    package: repo.pkg,
    env: repo.env,
    id,
    parent: base.headRead.head?.release ?? null,
    createdAt: new Date().toISOString(),
    author: extra.metadata.author,
    git: extra.metadata.git,
    ...(extra.metadata.ci ? {ci: extra.metadata.ci} : {}),
    ...(extra.image ? {image: extra.image} : {}),
    ...(extra.message ? {message: extra.message} : {}),
    dagctlVersion: extra.metadata.dagctlVersion,
    validation: extra.validation,
    files: manifestFiles(files, parentFiles, id),
    dags: extra.dags,
    changes: {added: diff.added, changed: diff.changed, removed: diff.removed},
    ...(extra.rollback ? {rollback: extra.rollback} : {}),
    nonce: nonce(),
  }
}

/** A new manifest's `files`, sorted by path: `since` carried over from the parent where the content is the same, else this release. */
function manifestFiles(files: FileMap, parentFiles: FileMap, id: number): Manifest['files'] {
  const out: Manifest['files'] = {}
  // (the default sort compares UTF-16 code units, as `<` does)
  for (const p of Object.keys(files).sort()) {
    const f = files[p]
    const parent = parentFiles[p]
    const entry: Manifest['files'][string] = {sha256: f.sha256, size: f.size, since: parent?.sha256 === f.sha256 ? (parent.since ?? id) : id}
    if (f.pack) entry.pack = {id: f.pack.id, offset: f.pack.offset}
    out[p] = entry
  }
  return out
}

/** Claims the next id for the manifest (If-None-Match) — after the blobs, before HEAD. */
export async function writeRelease(plan: PublishPlan): Promise<Manifest> {
  const metadata = await (plan.metadata ?? plan.options.metadata ?? collectMetadata(plan.options.root))
  const manifest = await buildManifest(plan.repo, plan, placedFiles(plan.local, plan.headManifest, plan.packed), {
    metadata,
    message: plan.options.message,
    image: plan.options.image,
    dags: plan.dags,
    validation: plan.report
      ? {skipped: false, engine: plan.report.engine, summary: plan.report.summary, ...(plan.validation?.record ? {record: plan.validation.record} : {}), ...(plan.validation ? {reuse: {validated: plan.validation.reuse.validated, reused: plan.validation.reuse.reused}} : {})}
      : {skipped: true},
  })
  await plan.repo.writeManifest(manifest)
  return manifest
}

export interface PublishResult {
  package: string
  env: string
  store: string
  release: number | null
  parent: number | null
  dryRun: boolean
  diff: DiffSummary
  skipped: string[]
  uploaded: number
  /** new contents found in the store already (left by an interrupted publish), not sent again */
  reused: number
  live?: {written: number; deleted: number}
  /** validated: files parsed; reused: files whose result came from HEAD's release; reason: why none was reused */
  validation: {skipped: boolean; errors?: number; warnings?: number} & Partial<ReuseSummary>
  /** a signal arrived during the last, short step, which was finished: everything is done */
  interrupted?: StopSignal
}

export function publishResult(plan: PublishPlan, extra: {release: number | null; dryRun: boolean; uploaded: number; live?: {written: number; deleted: number}}): PublishResult {
  return {
    package: plan.repo.pkg,
    env: plan.repo.env,
    store: plan.repo.store.url,
    release: extra.release,
    parent: plan.headRead.head?.release ?? null,
    dryRun: extra.dryRun,
    diff: summariseDiff(plan.diff),
    skipped: plan.skipped,
    uploaded: extra.uploaded,
    reused: plan.reused ?? 0,
    ...(extra.live ? {live: extra.live} : {}),
    validation: plan.report ? {skipped: false, errors: plan.report.summary.errors, warnings: plan.report.summary.warnings, ...plan.validation?.reuse} : {skipped: true},
  }
}

/** The whole publish without a display: plan, blobs, manifest, HEAD, live tree. */
export interface PublishHooks {
  /** runs each step (the CLI shows them as progress); default: just run them */
  steps?: StepRunner
  /** sees the plan (the diff) before anything is written */
  onPlan?: (plan: PublishPlan) => void | Promise<void>
}

export interface PublishRunOptions extends PublishOptions {
  dryRun?: boolean
  /** SIGINT/SIGTERM (withStopSignals): stop at the next safe point and say what state the store is in */
  signal?: AbortSignal
  /** how this run named the store, for the commands it prints */
  scope?: RepairScope
}

/** The order of writes of docs/store.md ("Publish, in order"), in this one place: plan, blobs, manifest, HEAD, live tree. */
export async function publish(options: PublishRunOptions, hooks: PublishHooks = {}): Promise<PublishResult> {
  const steps = hooks.steps ?? runSteps
  const {signal} = options
  const where = `${options.pkg}'s release in ${options.env}`
  const head = (plan?: PublishPlan) => (plan?.headRead.head ? `still release ${plan.headRead.head.release}` : plan ? 'still empty (no release yet)' : 'unchanged')
  /** Stopped before HEAD moved: nothing of this publish is current, whatever was uploaded. */
  const stopBefore = (what: string, plan?: PublishPlan, leftover = '') => {
    const sig = stopSignalOf(signal)!
    return new InterruptedError(`interrupted (${sig}) ${what}: nothing of this publish became current; HEAD is ${head(plan)} and the live tree is unchanged${leftover}.`, sig, {
      hint: 'Publish again when ready: `dagctl publish` (see docs/runbook.md#an-interrupted-publish-or-rollback).',
      details: {state: 'not-published', head: plan?.headRead.head?.release ?? null},
    })
  }
  const guarded = async <T>(what: string, plan: PublishPlan | undefined, run: () => Promise<T>): Promise<T> => {
    try {
      return await run()
    } catch (error) {
      // A subprocess (the validator) may die of the same Ctrl-C: the interruption is the news.
      if (stopSignalOf(signal) && !(error instanceof InterruptedError)) throw stopBefore(what, plan)
      throw error
    }
  }
  const plan = await guarded('while validating and comparing', undefined, () =>
    steps(options.validate ? `Validate and compare with ${where}` : `Compare with ${where} (validation skipped)`, () => planPublish(options)),
  )
  if (stopSignalOf(signal)) throw stopBefore('before anything was written', plan)
  await hooks.onPlan?.(plan)
  if (options.dryRun) return publishResult(plan, {release: null, dryRun: true, uploaded: 0})
  if (planIsNoop(plan)) {
    const live = await plan.repo.updateLiveAfterSwap(undefined, plan.contents, signal, options.scope, plan.liveRead)
    return withInterruption(publishResult(plan, {release: null, dryRun: false, uploaded: 0, live}), signal)
  }
  const uploaded = await guarded('while uploading', plan, () =>
    steps(`Upload ${plan.newBlobs.length} new content(s)${shouldPack(plan.newBlobs.length) ? ` as ${packCount(plan.newBlobs, plan.contents)} pack(s)` : ''}`, (report) => uploadBlobs(plan, (done, total) => report(`${done}/${total}`), signal)),
  )
  const leftover = ` (${uploaded + (plan.reused ?? 0)} of ${plan.newBlobs.length} new contents are in the store: unreferenced blobs, harmless, which \`dagctl fsck\` lists as info)`
  if (stopSignalOf(signal)) throw stopBefore('while uploading', plan, leftover)
  const manifest = await guarded('while writing the release manifest', plan, () => steps('Write the release manifest', () => writeRelease(plan)))
  if (stopSignalOf(signal)) throw stopBefore(`before release ${manifest.id} became current`, plan, ` (release ${manifest.id}'s manifest stays as an orphan, not history: harmless)`)
  // One request: once sent, it is finished, and the live tree follows.
  await steps(`Make release ${manifest.id} current (swap HEAD)`, () => plan.repo.swapHead(manifest.id, plan.headRead))
  const live = await steps('Bring the live tree in line', () => plan.repo.updateLiveAfterSwap(manifest.id, plan.contents, signal, options.scope, plan.liveRead))
  return withInterruption(publishResult(plan, {release: manifest.id, dryRun: false, uploaded, live}), signal)
}

function withInterruption<T extends object>(result: T, signal?: AbortSignal): T & {interrupted?: StopSignal} {
  const sig = stopSignalOf(signal)
  return sig ? {...result, interrupted: sig} : result
}
