import {CheckFailedError, ConflictError, DagctlError, ExitCode, InterruptedError} from '../errors.js'
import {stopSignalOf} from '../util/interrupt.js'
import {PreconditionFailed, sameEtag, type ListedObject, type Store, type StoredObject} from '../store/index.js'
import {PackageLayout} from './layout.js'
import {
  diffFiles,
  HeadSchema,
  LiveStateSchema,
  parseJsonObject,
  parseManifest,
  serialise,
  type FileMap,
  type Head,
  type LiveState,
  type Manifest,
} from './manifest.js'
import {fetchContents, storeReader, type ContentFailure, type PackRef} from './packs.js'
import {mapLimit, nonce} from './util.js'

export const PARALLEL = 32

export interface HeadRead {
  head?: Head
  etag?: string
}

export interface LiveRead {
  state?: LiveState
  etag?: string
}

/**
 * One package in one environment of a store: the release algorithms of docs/store.md on the Store
 * interface only. Manifests are immutable, so they are cached for the life of the object.
 */
export class PackageRepository {
  readonly layout: PackageLayout
  private readonly manifests = new Map<number, Manifest>()

  constructor(
    readonly store: Store,
    readonly env: string,
    readonly pkg: string,
  ) {
    this.layout = new PackageLayout(env, pkg)
  }

  async readHead(): Promise<HeadRead> {
    const obj = await this.store.get(this.layout.head)
    if (!obj) return {}
    return {head: parseJsonObject(this.layout.head, obj.body, HeadSchema), etag: obj.etag}
  }

  /** reads started by prefetchManifest, not yet parsed */
  private readonly fetching = new Map<number, Promise<StoredObject | undefined>>()

  /**
   * Starts reading release `id`'s manifest without waiting for it or parsing it: a later
   * manifest(id) or tryManifest(id) takes that read (its answer or its error) instead of sending
   * another. For a manifest that is likely needed next, so that its round trip overlaps others.
   */
  prefetchManifest(id: number): void {
    if (!Number.isInteger(id) || id < 1 || this.manifests.has(id) || this.fetching.has(id)) return
    const read = this.store.get(this.layout.release(id))
    read.catch(() => {})
    this.fetching.set(id, read)
  }

  private readManifest(id: number): Promise<StoredObject | undefined> {
    const started = this.fetching.get(id)
    this.fetching.delete(id)
    return started ?? this.store.get(this.layout.release(id))
  }

  async manifest(id: number): Promise<Manifest> {
    const m = await this.tryManifest(id)
    if (!m) {
      throw new CheckFailedError(`release ${id} of ${this.pkg} is missing from ${this.env}`, {
        code: 'RELEASE_MISSING',
        key: this.layout.release(id),
        hint: 'The store is damaged: run `dagctl fsck` for details.',
      })
    }
    return m
  }

  /** a manifest this object has already read, without a request */
  cachedManifest(id: number): Manifest | undefined {
    return this.manifests.get(id)
  }

  async tryManifest(id: number): Promise<Manifest | undefined> {
    if (this.manifests.has(id)) return this.manifests.get(id)
    const obj = await this.readManifest(id)
    if (!obj) return undefined
    const m = parseManifest(this.layout.release(id), obj.body, {id, package: this.pkg})
    this.manifests.set(id, m)
    return m
  }

  /** Every release id with a manifest in the store (history and orphans), ascending. */
  async releaseIds(): Promise<number[]> {
    const keys = await this.store.list(this.layout.releasesPrefix)
    return keys.map((k) => PackageLayout.releaseIdOf(k)).filter((id): id is number => id !== undefined).sort((a, b) => a - b)
  }

  /** Never reuses an id, orphans included. `listed` may come from an earlier releaseIds() call. */
  async nextId(headId?: number, listed?: Promise<number[]>): Promise<number> {
    const ids = await (listed ?? this.releaseIds())
    return Math.max(0, headId ?? 0, ...ids) + 1
  }

  /** History: the chain from HEAD through `parent`, newest first. */
  async history(limit = Number.POSITIVE_INFINITY, from?: number): Promise<Manifest[]> {
    const out: Manifest[] = []
    let id: number | null | undefined = from ?? (await this.readHead()).head?.release
    const seen = new Set<number>()
    while (id && out.length < limit) {
      if (seen.has(id)) break
      seen.add(id)
      const m: Manifest = await this.manifest(id)
      out.push(m)
      id = m.parent
    }
    return out
  }

  /**
   * Claims the manifest's key with If-None-Match: *. A 412 means the id is taken: by another
   * publisher (conflict) or by this very write whose answer was lost and retried (then the stored
   * bytes are ours).
   */
  async writeManifest(m: Manifest): Promise<void> {
    const key = this.layout.release(m.id)
    const body = serialise(m)
    try {
      await this.store.put(key, body, {ifNoneMatch: '*'})
    } catch (error) {
      if (!(error instanceof PreconditionFailed)) throw error
      const stored = await this.store.get(key)
      if (stored && stored.body.equals(body)) return
      throw lostRace(this.env, `release id ${m.id} was taken by another publish`)
    }
    this.manifests.set(m.id, m)
  }

  /** Compare-and-swap of HEAD from the version read (or create-only for the first release). */
  async swapHead(id: number, expected: HeadRead): Promise<Head> {
    const head: Head = {release: id, nonce: nonce(), updatedAt: new Date().toISOString()}
    const body = serialise(head)
    try {
      await this.store.put(this.layout.head, body, expected.etag ? {ifMatch: expected.etag} : {ifNoneMatch: '*'})
    } catch (error) {
      if (!(error instanceof PreconditionFailed)) throw error
      // Our own write may have landed before a retried request lost its answer.
      const now = await this.readHead()
      if (now.head?.release === id && now.head.nonce === head.nonce) return head
      throw lostRace(this.env, `HEAD moved to release ${now.head?.release ?? '(none)'} while this one was prepared`)
    }
    return head
  }

  async readLiveState(): Promise<LiveRead> {
    const obj = await this.store.get(this.layout.liveState)
    if (!obj) return {}
    return {state: parseJsonObject(this.layout.liveState, obj.body, LiveStateSchema), etag: obj.etag}
  }

  /**
   * Brings the live tree in line with HEAD, touching only the paths that can differ. Before writing,
   * live.json records the target as pending (by compare-and-swap), so a writer killed half way leaves
   * a record of which paths may be wrong; the next writer (publish, rollback, fsck --repair) rewrites
   * the union of those diffs. A writer whose final swap of live.json loses has written files of its
   * target after someone else's, so it goes round again with its target marked pending.
   *
   * `contents` may supply file bodies by hash (publish has them locally); otherwise blobs are read.
   * With `signal` aborted (SIGINT/SIGTERM), the files in flight finish; if more than one batch is
   * left, it stops with a LiveStopped (live.json keeps the pending mark, which is the truth).
   * With `repair`, a file whose blob is missing is left as it is and listed in `unrepaired` (and
   * live.json keeps the pending mark); a pending or base release whose manifest cannot be read is
   * skipped, as `force` (the files fsck found wrong by hash) names every path that differs.
   */
  async updateLive(options: UpdateLiveOptions = {}): Promise<LiveUpdate> {
    const {contents, force = [], justMadeCurrent, signal, repair = false} = options
    let prefetched = options.liveRead
    let written = 0
    let deleted = 0
    const unrepaired: LiveUpdate['unrepaired'] = []
    const touchedPaths = new Set<string>()
    const dirtied = new Set<number>()
    for (let round = 0; round < 20; round++) {
      if (round > 0 && signal?.aborted) throw new LiveStopped(await this.safeHeadId(), undefined, undefined)
      // Right after our own HEAD swap we know HEAD; later rounds read it again.
      const headId = round === 0 && justMadeCurrent !== undefined ? justMadeCurrent : (await this.readHead()).head?.release
      if (headId === undefined) return {written, deleted, unrepaired, paths: [...touchedPaths].sort()}
      const target = await this.manifest(headId)
      const {state, etag} = prefetched ? await prefetched : repair ? await this.readLiveStateForRepair() : await this.readLiveState()
      const base = state?.release ?? null
      const pending = new Set([...(state?.pending ?? []), ...dirtied])
      pending.delete(target.id)
      if (base === target.id && pending.size === 0 && (round > 0 || force.length === 0)) {
        return {written, deleted, unrepaired, paths: [...touchedPaths].sort(), release: target.id}
      }
      const fromPrefetch = prefetched !== undefined
      prefetched = undefined
      const marked: LiveState = {release: base, pending: [...new Set([...(state?.pending ?? []), ...dirtied, target.id])].sort((a, b) => a - b), updatedAt: new Date().toISOString()}
      let markEtag: string
      try {
        markEtag = (await this.store.put(this.layout.liveState, serialise(marked), etag ? {ifMatch: etag} : {ifNoneMatch: '*'})).etag
      } catch (error) {
        if (!(error instanceof PreconditionFailed)) throw error
        // live.json moved since it was read (the prefetched read is older): the first round again, fresh.
        if (fromPrefetch) round--
        continue
      }
      const readable = async (id: number): Promise<FileMap | undefined> => {
        try {
          return (await this.tryManifest(id))?.files
        } catch (error) {
          if (repair && force.length > 0) return undefined
          throw error
        }
      }
      // A pending mark this process did not make was left by a writer that died (or is still
      // running): the union of the diffs below names every path that CAN differ, and one listing of
      // the live tree (sizes and ETags, no bytes) tells which DO, so only those are rewritten. With
      // no live.json the listing is needed anyway (its files are of unknown content).
      const inherited = (state?.pending ?? []).some((id) => !dirtied.has(id))
      const listing = base === null || (round === 0 && inherited) ? await this.store.listObjects(this.layout.livePrefix) : undefined
      const baseFiles: FileMap = base === null ? unknownFiles(listing!, this.layout.livePrefix) : ((await readable(base)) ?? target.files)
      const paths = new Set<string>(round === 0 ? force : [])
      const addDiff = (from: FileMap, to: FileMap): void => {
        const d = diffFiles(from, to)
        for (const p of [...d.added, ...d.changed, ...d.removed]) paths.add(p)
      }
      addDiff(baseFiles, target.files)
      for (const id of marked.pending) if (id !== target.id) addDiff(baseFiles, (await readable(id)) ?? {})
      dirtied.add(target.id)
      // Packed contents cannot be copied server-side: their bytes are read first (ranged reads of
      // the packs, checked against their sha256), then written like publish's.
      const {bodies, failures} = await this.packedBodies([...paths], target.files, contents)
      // Only in the first round: a later one means another writer is active, so the union is rewritten.
      const inLine = round === 0 && listing ? await this.alreadyInLine(listing, target.files, bodies, new Set(force)) : () => false
      const list = [...paths].sort().filter((p) => !inLine(p))
      let touched = 0
      let missing = 0
      await mapLimit(
        list,
        PARALLEL,
        async (p) => {
          const f = target.files[p]
          if (f) {
            const body = bodies.get(f.sha256)
            const failed = failures.get(f.sha256)
            if (body) await this.store.put(this.layout.live(p), body)
            else if (failed) {
              if (!repair) throw this.contentMissing(f.sha256, failed)
              unrepaired.push({path: p, sha256: f.sha256})
              missing++
              return
            } else if (!(await this.store.copy(this.layout.blob(f.sha256), this.layout.live(p)))) {
              if (!repair) throw this.blobMissing(f.sha256)
              unrepaired.push({path: p, sha256: f.sha256})
              missing++
              return
            }
            written++
          } else {
            await this.store.delete(this.layout.live(p))
            deleted++
          }
          touchedPaths.add(p)
          touched++
        },
        // Stopped by a signal: finish what is in flight; the last batch is short, so it is finished too.
        (notStarted) => signal?.aborted === true && notStarted > PARALLEL,
      )
      if (touched + missing < list.length) throw new LiveStopped(target.id, list.length - touched, list.length)
      // A file left unrepaired keeps the live tree behind HEAD: live.json keeps saying so.
      if (missing > 0) return {written, deleted, unrepaired, paths: [...touchedPaths].sort(), release: undefined}
      const done: LiveState = {release: target.id, pending: [], updatedAt: new Date().toISOString()}
      try {
        await this.store.put(this.layout.liveState, serialise(done), {ifMatch: markEtag})
        return {written, deleted, unrepaired, paths: [...touchedPaths].sort(), release: target.id}
      } catch (error) {
        if (!(error instanceof PreconditionFailed)) throw error
        // Someone else marked or finished meanwhile; our files may have landed after theirs.
      }
    }
    throw new ConflictError('the live tree kept changing under this update', {
      code: 'LIVE_BUSY',
      hint: `Another publish or rollback is writing the live tree. Run \`${repairCommand(this)}\` when it is done (docs/runbook.md#the-live-tree-lags-head).`,
    })
  }

  /**
   * updateLive after this process made `release` current (or found nothing to publish, then
   * `release` is undefined): a failure here does not undo the release, and the message says so (the
   * live tree lags until the next writer or fsck --repair). Stopped by a signal, it says exactly how
   * many files lag and what completes it.
   */
  async updateLiveAfterSwap(
    release: number | undefined,
    contents?: Map<string, Buffer>,
    signal?: AbortSignal,
    scope: RepairScope = {},
    liveRead?: Promise<LiveRead>,
  ): Promise<{written: number; deleted: number}> {
    try {
      const {written, deleted} = await this.updateLive({contents, justMadeCurrent: release, signal, liveRead})
      return {written, deleted}
    } catch (error) {
      const repair = repairCommand(this, scope)
      const sig = stopSignalOf(signal)
      if (error instanceof LiveStopped && sig) {
        const head = error.release ?? release
        const lag = error.lagging === undefined ? 'the live tree may still lag it' : `${error.lagging} of ${error.total} live files still lag it`
        throw new InterruptedError(
          `interrupted (${sig}) while bringing the live tree in line: HEAD is ${head ? `release ${head}` : 'unchanged'}${release ? ' (this release is current)' : ''}, but ${lag}. Airflow runs the live tree (${this.layout.livePrefix}): those files keep their previous content until it is completed.`,
          sig,
          {
            hint: `Complete it with \`${repair}\` (safe to repeat); the next publish or rollback heals it too. See docs/runbook.md#the-live-tree-lags-head.`,
            details: {state: 'live-tree-lags', head: head ?? null, lagging: error.lagging ?? null, total: error.total ?? null, repair},
          },
        )
      }
      const inner = error instanceof Error ? error.message : String(error)
      throw new DagctlError(`${release ? `release ${release} is current` : 'nothing changed in the history'}, but bringing the live tree in line failed: ${inner}`, error instanceof DagctlError ? error.exitCode : ExitCode.REMOTE, {
        code: 'LIVE_UPDATE_FAILED',
        cause: error,
        hint: `Consumers of the live tree (${this.layout.livePrefix}) may still see the previous files. Run \`${repair}\` (safe to repeat; docs/runbook.md#the-live-tree-lags-head).`,
      })
    }
  }

  /** live.json for --repair: one that does not parse counts as missing (every live file is then rewritten) but keeps its version for the swap. */
  private async readLiveStateForRepair(): Promise<{state?: LiveState; etag?: string}> {
    try {
      return await this.readLiveState()
    } catch (error) {
      if (!(error instanceof CheckFailedError)) throw error
      const obj = await this.store.get(this.layout.liveState)
      return {etag: obj?.etag}
    }
  }

  private async safeHeadId(): Promise<number | undefined> {
    try {
      return (await this.readHead()).head?.release
    } catch {
      return undefined
    }
  }

  /**
   * Which live paths already hold the target's content, by the listing's size and ETag against the
   * ETag the store gives that content: computed from the bytes when publish has them, else the
   * ETag of the content's blob (one listing of the blobs prefix, only when needed). When the store
   * cannot tell (SSE-KMS ETags are not digests), nothing counts as in line and all is rewritten.
   * `force` paths (found wrong by fsck) are never skipped.
   */
  private async alreadyInLine(listing: ListedObject[], files: FileMap, contents: Map<string, Buffer> | undefined, force: Set<string>): Promise<(p: string) => boolean> {
    const live = new Map(listing.map((o) => [o.key.slice(this.layout.livePrefix.length), o]))
    // (a packed content has no blob of its own: its bytes are in `contents` when it is to be written)
    const needBlobEtags = Object.entries(files).some(([p, f]) => !f.pack && !contents?.has(f.sha256) && live.get(p)?.size === f.size)
    const blobEtags = needBlobEtags ? new Map((await this.store.listObjects(this.layout.blobsPrefix)).map((o) => [o.key.slice(this.layout.blobsPrefix.length), o.etag])) : new Map<string, string>()
    return (p) => {
      if (force.has(p)) return false
      const f = files[p]
      const o = live.get(p)
      if (!f) return o === undefined
      if (!o || o.size !== f.size) return false
      const body = contents?.get(f.sha256)
      return sameEtag(o.etag, body ? this.store.etagFor(body) : blobEtags.get(f.sha256))
    }
  }

  /** The bytes of the packed contents among `paths` that `contents` lacks, and what could not be read. */
  private async packedBodies(paths: string[], files: FileMap, contents?: Map<string, Buffer>): Promise<{bodies: Map<string, Buffer>; failures: Map<string, ContentFailure>}> {
    const bodies = new Map(contents ?? [])
    const wants = paths.map((p) => files[p]).filter((f): f is FileMap[string] & {pack: PackRef} => f?.pack !== undefined && !bodies.has(f.sha256))
    if (wants.length === 0) return {bodies, failures: new Map()}
    const got = await fetchContents(storeReader(this.store), this.layout, wants, PARALLEL)
    for (const [sha, body] of got.bodies) bodies.set(sha, body)
    return {bodies, failures: got.failures}
  }

  private contentMissing(sha: string, failure: ContentFailure): CheckFailedError {
    return new CheckFailedError(`content ${sha} of ${this.pkg} cannot be read from the store: ${failure.message}`, {
      code: 'BLOB_MISSING',
      key: failure.key,
      hint: 'The store is damaged: run `dagctl fsck` for details.',
    })
  }

  private blobMissing(sha: string): CheckFailedError {
    return new CheckFailedError(`blob ${sha} of ${this.pkg} is missing from the store`, {
      code: 'BLOB_MISSING',
      key: this.layout.blob(sha),
      hint: 'The store is damaged: run `dagctl fsck` for details.',
    })
  }
}

/** No live.json yet: every file currently in the live tree is of unknown content. */
function unknownFiles(listing: ListedObject[], prefix: string): FileMap {
  const out: FileMap = {}
  for (const o of listing) out[o.key.slice(prefix.length)] = {sha256: '', size: -1}
  return out
}

export interface UpdateLiveOptions {
  /** file bodies by hash (publish has them); otherwise copied from the blobs */
  contents?: Map<string, Buffer>
  /** paths to rewrite whatever live.json says (fsck --repair: the files found wrong by hash) */
  force?: readonly string[]
  /** the release this process just made current (saves reading HEAD again) */
  justMadeCurrent?: number
  /** SIGINT/SIGTERM: stop after the files in flight, unless only one batch is left */
  signal?: AbortSignal
  /** fsck --repair: repair what can be repaired, list what cannot */
  repair?: boolean
  /** live.json read earlier (in parallel with other requests); a stale one only costs a fresh read */
  liveRead?: Promise<LiveRead>
}

export interface LiveUpdate {
  written: number
  deleted: number
  /** the release the live tree now equals; undefined when it does not (yet) */
  release?: number
  /** repair only: live files left as they are because HEAD's blob for them is missing */
  unrepaired: Array<{path: string; sha256: string}>
  /** the live paths written or removed */
  paths: string[]
}

/** How the user reaches this store (so the printed command works as it is). */
export interface RepairScope {
  /** the --store value of this run, when one was given */
  store?: string
}

/** The command that brings this package's live tree in line with HEAD. */
export function repairCommand(repo: PackageRepository, scope: RepairScope = {}): string {
  return `dagctl fsck --env ${repo.env} --package ${repo.pkg}${scope.store ? ` --store ${scope.store}` : ''} --repair`
}

/** The live-tree update stopped at a signal; `lagging` of `total` files were not written. */
export class LiveStopped extends Error {
  constructor(
    readonly release: number | undefined,
    readonly lagging: number | undefined,
    readonly total: number | undefined,
  ) {
    super('live tree update stopped by a signal')
    this.name = 'LiveStopped'
  }
}

export function lostRace(env: string, why: string): ConflictError {
  return new ConflictError(`another publish won the race: ${why}; nothing of this one became current`, {
    code: 'LOST_RACE',
    hint: `Re-run the command: it will compare with the new HEAD (\`dagctl releases --env ${env}\` shows it).`,
  })
}
