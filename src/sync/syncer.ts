import {DagctlError} from '../errors.js'
import {envMetaPrefix, isSafeRelativePath, PackageLayout} from '../release/layout.js'
import {HeadSchema, parseJsonObject, parseManifest, UnsafeManifestError, type Manifest} from '../release/manifest.js'
import {fetchContents, type ContentReader} from '../release/packs.js'
import {mapLimit} from '../release/util.js'
import type {Store} from '../store/index.js'
import {isSafePackageName, SyncTree} from './tree.js'

/**
 * Why a package stays on its last good release. The first four are the shared contract with the
 * Python bundle (test/fixtures/store-conformance/README.md); the others are sync's own.
 */
export type SyncReason =
  | 'manifest-invalid'
  | 'path-outside-package'
  | 'sha256-mismatch'
  | 'blob-missing'
  | 'manifest-missing'
  | 'head-invalid'
  | 'head-missing'
  | 'store-failed'
  | 'not-ours'
  | 'local-failed'
  | 'package-name-invalid'

export type RequestKind = 'list' | 'head' | 'manifest' | 'blob'
export type RequestResult = 'ok' | 'not-modified' | 'missing' | 'error'

export interface PackageOutcome {
  package: string
  /** unchanged: at HEAD already; updated: a new release made visible; removed: pruned; kept: HEAD gone, left in place; failed: stays on its last good release */
  status: 'unchanged' | 'updated' | 'removed' | 'kept' | 'failed'
  /** the release now visible in DIR (null when none) */
  release: number | null
  /** HEAD's release in the store, when read */
  head?: number
  previous?: number | null
  reason?: SyncReason
  /** the path in the manifest at fault, when there is one */
  file?: string | null
  message?: string
  downloaded?: number
  fromCache?: number
  /** seconds from the release's createdAt to the moment it became visible */
  lagSeconds?: number
}

export interface CycleResult {
  cycle: number
  /** every package at its HEAD (or removed/kept as told) */
  ok: boolean
  /** the store failed (listing or a request): counts towards /healthz */
  storeFailed: boolean
  packages: PackageOutcome[]
  durationSeconds: number
}

export interface SyncObserver {
  request?(kind: RequestKind, result: RequestResult): void
}

export interface SyncerOptions {
  store: Store
  env: string
  /** the DAG folder Airflow scans */
  dir: string
  /** only these packages (no listing); default: every package of the environment */
  packages?: string[]
  /** remove DIR/<package> when the package's HEAD is gone */
  prunePackages?: boolean
  /** how long a version stays after it stopped being visible */
  graceMs: number
  observer?: SyncObserver
  now?: () => number
  /** cached blobs unused for this long are removed (default 7 days), checked at most once an hour */
  cacheMaxAgeMs?: number
}

const PACKAGES_IN_FLIGHT = 8
const BLOBS_IN_FLIGHT = 16

/** A package's content is refused: it stays on its last good release. */
class Refusal extends Error {
  constructor(
    readonly reason: SyncReason,
    message: string,
    readonly file: string | null = null,
  ) {
    super(message)
  }
}

/**
 * One reader of the store, on the Store interface only: mirrors the HEAD release of each package
 * into DIR/<package>, through SyncTree's build-then-swap. An idle cycle costs one listing (none
 * with explicit packages) and one conditional HEAD read per package; a changed package costs its
 * manifest and the blobs not yet in the local cache.
 */
export class Syncer {
  readonly tree: SyncTree
  private cycles = 0
  private lastTrim = 0
  private prepared = false
  /** per package: the etag of the HEAD read last and its release */
  private readonly heads = new Map<string, {etag: string; release: number}>()
  private readonly manifests = new Map<string, Manifest>()

  constructor(private readonly options: SyncerOptions) {
    this.tree = new SyncTree(options.dir)
  }

  private now(): number {
    return this.options.now?.() ?? Date.now()
  }

  private note(kind: RequestKind, result: RequestResult): void {
    this.options.observer?.request?.(kind, result)
  }

  private async call<T>(kind: RequestKind, fn: () => Promise<T>, resultOf: (v: T) => RequestResult = () => 'ok'): Promise<T> {
    try {
      const v = await fn()
      this.note(kind, resultOf(v))
      return v
    } catch (error) {
      this.note(kind, 'error')
      throw new StoreFailure(error)
    }
  }

  async prepare(): Promise<void> {
    if (this.prepared) return
    await this.tree.prepare()
    this.prepared = true
  }

  async close(): Promise<void> {
    if (this.prepared) await this.tree.unlock()
  }

  /** One pass over every package. Never throws for a package's fault or the store's: the result says. */
  async cycle(): Promise<CycleResult> {
    await this.prepare()
    const cycle = ++this.cycles
    const t0 = this.now()
    const {store, env} = this.options
    let storeFailed = false
    const outcomes: PackageOutcome[] = []
    let names: string[]
    let listed = false
    if (this.options.packages && this.options.packages.length > 0) {
      names = [...new Set(this.options.packages)].sort()
    } else {
      try {
        names = await this.call('list', () => store.listFolders(envMetaPrefix(env)))
        listed = true
      } catch (error) {
        // Without the listing, every package already here is still brought to its HEAD.
        storeFailed = true
        names = await this.tree.managedPackages()
        outcomes.push({package: '*', status: 'failed', release: null, reason: 'store-failed', message: `listing the packages of ${env} failed: ${messageOf(error)}`})
      }
    }
    const safe = names.filter(isSafePackageName)
    const managed = await this.tree.managedPackages()
    const all = [...new Set([...safe, ...(listed ? managed : [])])].sort()
    const results = await mapLimit(all, PACKAGES_IN_FLIGHT, (pkg) => this.syncPackage(pkg))
    outcomes.push(...results)
    for (const bad of names.filter((n) => !isSafePackageName(n))) {
      outcomes.push({package: bad, status: 'failed', release: null, reason: 'package-name-invalid', message: `package name ${JSON.stringify(bad)} is not a plain folder name: skipped`})
    }
    // Versions of packages no longer linked (pruned) are collected after their grace period too.
    for (const pkg of await this.tree.versionedPackages()) {
      if (!all.includes(pkg)) await this.tree.collect(pkg, this.options.graceMs, this.now()).catch(() => 0)
    }
    if (this.now() - this.lastTrim > 3_600_000) {
      this.lastTrim = this.now()
      await this.tree.trimCache(this.options.cacheMaxAgeMs ?? 7 * 86_400_000, this.now()).catch(() => 0)
    }
    if (results.some((o) => o.reason === 'store-failed')) storeFailed = true
    const ok = outcomes.every((o) => o.status !== 'failed')
    return {cycle, ok, storeFailed, packages: outcomes, durationSeconds: (this.now() - t0) / 1000}
  }

  private async syncPackage(pkg: string): Promise<PackageOutcome> {
    let local: Awaited<ReturnType<SyncTree['current']>>
    try {
      local = await this.tree.current(pkg)
    } catch (error) {
      return {package: pkg, status: 'failed', release: null, reason: 'local-failed', message: messageOf(error)}
    }
    const visible = local.kind === 'ours' ? local.release : null
    if (local.kind === 'foreign') {
      return {package: pkg, status: 'failed', release: null, reason: 'not-ours', file: null, message: `${this.tree.dir}/${pkg} exists and was not written by dagctl sync: left untouched`}
    }
    const layout = new PackageLayout(this.options.env, pkg)
    let head: number | undefined
    try {
      head = await this.readHead(pkg, layout)
      if (head === undefined) {
        if (visible !== null && this.options.prunePackages) {
          await this.tree.remove(pkg)
          await this.tree.collect(pkg, this.options.graceMs, this.now())
          return {package: pkg, status: 'removed', release: null, previous: visible}
        }
        if (visible !== null) return {package: pkg, status: 'kept', release: visible, message: `HEAD of ${pkg} is gone from the store; ${pkg} stays on release ${visible} (--prune-packages removes it)`}
        if (this.options.packages?.includes(pkg)) return {package: pkg, status: 'failed', release: null, reason: 'head-missing', message: `${pkg} has no release in ${this.options.env}`}
        return {package: pkg, status: 'kept', release: null, message: `${pkg} has no HEAD in ${this.options.env}`}
      }
      if (visible === head) {
        await this.tree.collect(pkg, this.options.graceMs, this.now())
        return {package: pkg, status: 'unchanged', release: head, head}
      }
      const manifest = await this.manifest(pkg, layout, head)
      const {files, downloaded, fromCache} = await this.contents(pkg, layout, manifest)
      const version = await this.tree.build(pkg, head, files)
      await this.tree.switchTo(pkg, version, local.kind === 'ours' ? local.version : undefined)
      const lag = (this.now() - Date.parse(manifest.createdAt)) / 1000
      await this.tree.collect(pkg, this.options.graceMs, this.now())
      return {package: pkg, status: 'updated', release: head, head, previous: visible, downloaded, fromCache, ...(Number.isFinite(lag) ? {lagSeconds: Math.max(0, lag)} : {})}
    } catch (error) {
      if (error instanceof Refusal) {
        return {package: pkg, status: 'failed', release: visible, head, reason: error.reason, file: error.file, message: error.message}
      }
      if (error instanceof StoreFailure) {
        return {package: pkg, status: 'failed', release: visible, head, reason: 'store-failed', message: messageOf(error.cause)}
      }
      return {package: pkg, status: 'failed', release: visible, head, reason: 'local-failed', message: messageOf(error)}
    }
  }

  /** HEAD's release: a conditional read on the etag seen last (304 / a stat when unchanged). */
  private async readHead(pkg: string, layout: PackageLayout): Promise<number | undefined> {
    const memo = this.heads.get(pkg)
    const got = await this.call(
      'head',
      () => this.options.store.getIfNoneMatch(layout.head, memo?.etag),
      (v) => (v === undefined ? 'missing' : 'notModified' in v ? 'not-modified' : 'ok'),
    )
    if (got === undefined) {
      this.heads.delete(pkg)
      return undefined
    }
    if ('notModified' in got && memo) return memo.release
    if ('notModified' in got) throw new StoreFailure(new Error('not-modified without a previous read'))
    let release: number
    try {
      release = parseJsonObject(layout.head, got.body, HeadSchema).release
    } catch (error) {
      throw new Refusal('head-invalid', `${layout.head}: ${messageOf(error)}`)
    }
    this.heads.set(pkg, {etag: got.etag, release})
    return release
  }

  private async manifest(pkg: string, layout: PackageLayout, id: number): Promise<Manifest> {
    const cacheKey = `${pkg}/${id}`
    const cached = this.manifests.get(cacheKey)
    if (cached) return cached
    const key = layout.release(id)
    const obj = await this.call('manifest', () => this.options.store.get(key), (v) => (v ? 'ok' : 'missing'))
    if (!obj) throw new Refusal('manifest-missing', `release ${id} of ${pkg}: HEAD names it but ${key} is missing`)
    let m: Manifest
    try {
      m = parseManifest(key, obj.body, {id, package: pkg})
    } catch (error) {
      if (error instanceof UnsafeManifestError) {
        const bad = error.offendingPath
        if (bad !== undefined && !isSafeRelativePath(bad)) throw new Refusal('path-outside-package', `release ${id} of ${pkg}: the manifest names ${JSON.stringify(bad)}, a path outside the package`, bad)
        throw new Refusal('manifest-invalid', `release ${id} of ${pkg}: ${error.message}`)
      }
      throw error
    }
    if (m.env !== this.options.env) throw new Refusal('manifest-invalid', `release ${id} of ${pkg}: the manifest belongs to environment ${m.env}, not ${this.options.env}`)
    const clash = pathClash(Object.keys(m.files))
    if (clash) throw new Refusal('manifest-invalid', `release ${id} of ${pkg}: ${JSON.stringify(clash)} is both a file and a folder`, clash)
    this.manifests.set(cacheKey, m)
    return m
  }

  /**
   * Every file's content, checked against the manifest's sha256: from the cache, else from the
   * store (a loose blob with one GET; packed contents with one ranged GET per run of neighbours in
   * a pack: a fresh fill of a packed release is one GET per pack).
   */
  private async contents(pkg: string, layout: PackageLayout, m: Manifest): Promise<{files: Map<string, Buffer>; downloaded: number; fromCache: number}> {
    const bySha = new Map<string, string>()
    for (const [p, f] of Object.entries(m.files).sort(([a], [b]) => a.localeCompare(b))) if (!bySha.has(f.sha256)) bySha.set(f.sha256, p)
    const bodies = new Map<string, Buffer>()
    let fromCache = 0
    const wanted: Manifest['files'][string][] = []
    const entry = new Map(Object.values(m.files).map((f) => [f.sha256, f]))
    await mapLimit([...bySha.keys()], BLOBS_IN_FLIGHT, async (sha) => {
      const cached = await this.tree.cachedBlob(sha)
      if (cached) {
        fromCache++
        bodies.set(sha, cached)
      } else wanted.push(entry.get(sha)!)
    })
    const reader: ContentReader = {
      get: (key) => this.call('blob', async () => (await this.options.store.get(key))?.body, (v) => (v ? 'ok' : 'missing')),
      getRange: (key, offset, length) => this.call('blob', () => this.options.store.getRange(key, offset, length), (v) => (v ? 'ok' : 'missing')),
    }
    const got = await fetchContents(reader, layout, wanted, BLOBS_IN_FLIGHT)
    // What did arrive is cached (checked), even when another content is refused: the next try needs less.
    await mapLimit([...got.bodies], BLOBS_IN_FLIGHT, async ([sha, body]) => {
      await this.tree.cacheBlob(sha, body)
      bodies.set(sha, body)
    })
    // The first path (in sorted order) whose content failed is the one named.
    for (const [sha, firstPath] of bySha) {
      const failed = got.failures.get(sha)
      if (!failed) continue
      const at = `release ${m.id} of ${pkg}`
      if (entry.get(sha)!.pack) {
        const reason = failed.kind === 'mismatch' ? 'sha256-mismatch' : 'blob-missing'
        throw new Refusal(reason, `${at}: the content of ${firstPath} ${failed.kind === 'mismatch' ? `does not hash to ${sha}` : 'cannot be read'}: ${failed.message}`, firstPath)
      }
      if (failed.kind === 'mismatch') throw new Refusal('sha256-mismatch', `${at}: the blob of ${firstPath} does not hash to ${sha}`, firstPath)
      throw new Refusal('blob-missing', `${at}: the blob of ${firstPath} (${sha}) is missing from the store`, firstPath)
    }
    const files = new Map<string, Buffer>()
    for (const [p, f] of Object.entries(m.files)) files.set(p, bodies.get(f.sha256)!)
    return {files, downloaded: got.bodies.size, fromCache}
  }
}

/** A store request failed (after the adapter's retries). */
class StoreFailure extends Error {
  constructor(override readonly cause: unknown) {
    super(messageOf(cause))
  }
}

/** A path that is also the folder of another path (`a` and `a/b.py`): no tree can hold both. */
function pathClash(paths: string[]): string | undefined {
  const set = new Set(paths)
  for (const p of paths) {
    const parts = p.split('/')
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/')
      if (set.has(dir)) return dir
    }
  }
  return undefined
}

function messageOf(error: unknown): string {
  if (error instanceof DagctlError || error instanceof Error) return error.message
  return String(error)
}
