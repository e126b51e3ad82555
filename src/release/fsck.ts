import {DagctlError} from '../errors.js'
import type {Store} from '../store/index.js'
import {envMetaPrefix, PACK_PREFIX, PackageLayout, SHA256_RE} from './layout.js'
import type {Manifest} from './manifest.js'
import {PackageRepository, PARALLEL, repairCommand, type RepairScope} from './repository.js'
import type {PackRef} from './packs.js'
import {mapLimit, sha256} from './util.js'

/**
 * damage: an invariant is broken (exit 1). lag: the live tree is behind HEAD in a way the
 * bookkeeping explains (a writer died or is running); the next publish/rollback or --repair heals it.
 * info: harmless leftovers (orphan releases of lost races, unreferenced blobs).
 */
export type FsckSeverity = 'damage' | 'lag' | 'info'

export interface FsckFinding {
  severity: FsckSeverity
  package: string
  code: string
  message: string
  key?: string
}

export interface FsckPackageReport {
  package: string
  head: number | null
  releases: number
  history: number
  blobs: number
  /** sound packs (docs/store.md, "Packs") */
  packs?: number
  liveFiles: number
  /** the live tree lags HEAD (a writer was interrupted): how many live files differ from release `release` */
  lag?: {release: number; files: number; repair: string}
  /** --repair: the live files written or removed */
  repaired?: {written: number; deleted: number; files: string[]}
  /** --repair: what is still wrong after it, and why --repair cannot fix it */
  notRepaired?: NotRepaired[]
}

export interface NotRepaired {
  code: string
  message: string
  key?: string
  why: string
  hint: string
}

export interface FsckResult {
  store: string
  env: string
  /** no damage and no lag */
  ok: boolean
  /** an invariant is broken (exit 1) */
  damaged: boolean
  /** a live tree lags HEAD (exit 1: Airflow runs the live tree); --repair or the next publish heals it */
  lagging: boolean
  packages: FsckPackageReport[]
  findings: FsckFinding[]
}

export interface FsckOptions {
  store: Store
  env: string
  /** only this package; default every package of the environment */
  pkg?: string
  repair?: boolean
  /** how this run named the store, for the commands it prints */
  scope?: RepairScope
}

const RESTORE = 'docs/runbook.md#fsck-found-damage'

/** Why --repair leaves a finding as it is: it only ever writes live files and live.json. */
function whyNotRepaired(f: FsckFinding, repo: PackageRepository, scope: RepairScope): Omit<NotRepaired, 'code' | 'message' | 'key'> {
  switch (f.code) {
    case 'PACK_MISSING':
    case 'PACK_SHORT':
    case 'PACK_CORRUPT':
    case 'PACK_CONTENT_CORRUPT':
      return {
        why: 'a pack is the only copy of its contents in the store, and --repair never writes blobs or packs (it cannot know the bytes)',
        hint: `Restore the pack's previous version from bucket versioning (${f.key ?? 'the key named'}), then run fsck again; see ${RESTORE}.`,
      }
    case 'BLOB_MISSING':
    case 'BLOB_CORRUPT':
      return {
        why: 'a blob is the only copy of that content in the store, and --repair never writes blobs (it cannot know the bytes)',
        hint: `Restore the blob's previous version from bucket versioning (${f.key ?? 'the key named'}), then run fsck again; see ${RESTORE}.`,
      }
    case 'RELEASE_MISSING':
    case 'HISTORY_ORDER':
    case 'HISTORY_CYCLE':
      return {why: 'releases are immutable history: --repair never writes them', hint: `Restore the release manifest's previous version from bucket versioning, then run fsck again; see ${RESTORE}.`}
    case 'MANIFEST_REFUSED':
      return {
        why: 'the manifest is not one dagctl wrote (it does not parse or names a path outside the package): nothing is read from it',
        hint: `Treat it as a security incident: restore the manifest's previous version from bucket versioning; see ${RESTORE}.`,
      }
    case 'HEAD_DAMAGED':
      return {why: 'HEAD is moved only by publish and rollback, by compare-and-swap', hint: `Restore HEAD.json's previous version from bucket versioning; see ${RESTORE}.`}
    case 'LIVE_STATE_DAMAGED':
      return {why: 'live.json does not parse, so which files may lag is unknown', hint: `Restore live.json's previous version from bucket versioning, or delete it (the next \`${repairCommand(repo, scope)}\` then rewrites every live file); see ${RESTORE}.`}
    case 'LIVE_WITHOUT_HEAD':
      return {why: 'without HEAD there is no release for the live tree to equal', hint: `Restore HEAD.json from bucket versioning, or publish; see ${RESTORE}.`}
    default:
      if (f.code.startsWith('LIVE_')) {
        return {
          why: "HEAD's content for the file is not in the store (its blob or pack is missing, short or corrupt), so it cannot be written",
          hint: `Restore the blob or pack from bucket versioning, then run \`${repairCommand(repo, scope)}\` again; see ${RESTORE}.`,
        }
      }
      return {why: '--repair only rewrites live files and live.json', hint: `See ${RESTORE}.`}
  }
}

export async function fsck(options: FsckOptions): Promise<FsckResult> {
  const scope = options.scope ?? {}
  const pkgs = options.pkg ? [options.pkg] : await options.store.listFolders(envMetaPrefix(options.env))
  const findings: FsckFinding[] = []
  const packages: FsckPackageReport[] = []
  for (const pkg of pkgs) {
    const repo = new PackageRepository(options.store, options.env, pkg)
    let report = await checkPackage(repo, findings)
    const live = findings.filter((f) => f.package === pkg && f.code.startsWith('LIVE_') && f.code !== 'LIVE_WITHOUT_HEAD')
    if (options.repair && live.length > 0 && report.head !== null) {
      // Whatever else is damaged (an old release's blob, say), the live tree needs only HEAD's release
      // and its blobs: repair what can be repaired, and say what could not and why.
      const paths = live.map((f) => f.key).filter((k): k is string => k !== undefined && k.startsWith(repo.layout.livePrefix)).map((k) => k.slice(repo.layout.livePrefix.length))
      let repaired: {written: number; deleted: number; files: string[]} = {written: 0, deleted: 0, files: []}
      let failure: NotRepaired | undefined
      try {
        const r = await repo.updateLive({force: paths, repair: true})
        repaired = {written: r.written, deleted: r.deleted, files: r.paths}
      } catch (error) {
        failure = {
          code: 'LIVE_NOT_REPAIRED',
          message: `the live tree could not be brought in line: ${error instanceof Error ? error.message : String(error)}`,
          why: 'HEAD\'s release must be readable to know what the live tree should hold',
          hint: error instanceof DagctlError && error.hint ? error.hint : `See ${RESTORE}.`,
        }
      }
      // Check again from scratch: what --repair leaves is what the report says.
      for (let i = findings.length - 1; i >= 0; i--) if (findings[i].package === pkg) findings.splice(i, 1)
      report = {...(await checkPackage(new PackageRepository(options.store, options.env, pkg), findings)), repaired}
      if (failure) report.notRepaired = [failure]
    }
    if (options.repair) {
      const left = findings.filter((f) => f.package === pkg && f.severity !== 'info' && f.code !== 'LIVE_BEHIND')
      if (left.length > 0) report.notRepaired = [...(report.notRepaired ?? []), ...left.map((f) => ({code: f.code, message: f.message, ...(f.key ? {key: f.key} : {}), ...whyNotRepaired(f, repo, scope)}))]
    }
    const lagging = findings.filter((f) => f.package === pkg && f.severity === 'lag')
    if (lagging.length > 0 && report.head !== null) {
      report.lag = {release: report.head, files: lagging.filter((f) => f.code !== 'LIVE_BEHIND').length, repair: repairCommand(repo, scope)}
    }
    packages.push(report)
  }
  const damaged = findings.some((f) => f.severity === 'damage')
  const lagging = findings.some((f) => f.severity === 'lag')
  return {store: options.store.url, env: options.env, ok: !damaged && !lagging, damaged, lagging, packages, findings}
}

interface PackedEntry {
  release: number
  path: string
  sha256: string
  size: number
  pack: PackRef
}

/**
 * Every pack is read (a few at a time: they can be large) and checked: its bytes hash to its name
 * (else PACK_CORRUPT), and each history entry in it finds its bytes there, hashing to its sha256.
 * A pack that is missing (PACK_MISSING), ends before an entry does (PACK_SHORT: a truncated upload
 * or a damaged object) or holds other bytes at an entry's place (PACK_CONTENT_CORRUPT) is damage,
 * one finding per release and pack, naming the files. Returns how many packs are sound.
 */
async function checkPacks(store: Store, layout: PackageLayout, packIds: Set<string>, packed: PackedEntry[], add: (severity: FsckSeverity, code: string, message: string, key?: string) => void): Promise<number> {
  const byPack = new Map<string, PackedEntry[]>()
  for (const e of packed) byPack.set(e.pack.id, [...(byPack.get(e.pack.id) ?? []), e])
  let sound = 0
  const grouped = (code: string, entries: PackedEntry[], what: (n: number, files: string) => string, key: string): void => {
    const byRelease = new Map<number, string[]>()
    for (const e of entries) byRelease.set(e.release, [...(byRelease.get(e.release) ?? []), e.path])
    for (const [release, paths] of byRelease) {
      const names = paths.sort().slice(0, 5).join(', ') + (paths.length > 5 ? `, … (${paths.length - 5} more)` : '')
      add('damage', code, `release ${release}: ${what(paths.length, names)}`, key)
    }
  }
  await mapLimit([...new Set([...packIds, ...byPack.keys()])], 4, async (id) => {
    const key = layout.pack(id)
    const entries = byPack.get(id) ?? []
    const obj = packIds.has(id) ? await store.get(key) : undefined
    if (!obj) {
      if (entries.length > 0) grouped('PACK_MISSING', entries, (n, files) => `${n} file(s) (${files}) need pack ${id}, which is missing`, key)
      return
    }
    const actual = sha256(obj.body)
    if (actual === id) sound++
    else add('damage', 'PACK_CORRUPT', `pack ${id} does not hold the bytes its name says (${obj.body.length} bytes, sha256 ${actual})`, key)
    const short = entries.filter((e) => e.pack.offset + e.size > obj.body.length)
    if (short.length > 0) grouped('PACK_SHORT', short, (n, files) => `${n} file(s) (${files}) need bytes of pack ${id} beyond its end (it is ${obj.body.length} bytes long: truncated)`, key)
    const wrong = entries.filter((e) => e.pack.offset + e.size <= obj.body.length && sha256(obj.body.subarray(e.pack.offset, e.pack.offset + e.size)) !== e.sha256)
    if (wrong.length > 0) grouped('PACK_CONTENT_CORRUPT', wrong, (n, files) => `${n} file(s) (${files}) find other bytes at their place in pack ${id}`, key)
  })
  return sound
}

async function checkPackage(repo: PackageRepository, findings: FsckFinding[]): Promise<FsckPackageReport> {
  const pkg = repo.pkg
  const {layout, store} = repo
  const add = (severity: FsckSeverity, code: string, message: string, key?: string): void => {
    findings.push({severity, package: pkg, code, message, ...(key ? {key} : {})})
  }
  const report: FsckPackageReport = {package: pkg, head: null, releases: 0, history: 0, blobs: 0, liveFiles: 0}

  const [releaseKeys, blobKeys, liveKeys] = await Promise.all([store.list(layout.releasesPrefix), store.list(layout.blobsPrefix), store.list(layout.livePrefix)])
  const ids = new Set<number>()
  for (const k of releaseKeys) {
    const id = PackageLayout.releaseIdOf(k)
    if (id === undefined) add('info', 'UNEXPECTED_KEY', `unexpected object among the releases: ${k}`, k)
    else ids.add(id)
  }
  report.releases = ids.size
  report.liveFiles = liveKeys.length

  // Blobs: the key is the SHA-256 of the content; verified by reading every one. Packs are read
  // once the releases say what they must hold (below).
  const blobs = new Set<string>()
  const packIds = new Set<string>()
  await mapLimit(blobKeys, PARALLEL, async (k) => {
    const sha = k.slice(layout.blobsPrefix.length)
    if (sha.startsWith(PACK_PREFIX) && SHA256_RE.test(sha.slice(PACK_PREFIX.length))) {
      packIds.add(sha.slice(PACK_PREFIX.length))
      return
    }
    if (!SHA256_RE.test(sha)) {
      add('info', 'UNEXPECTED_KEY', `unexpected object among the blobs: ${k}`, k)
      return
    }
    const obj = await store.get(k)
    if (!obj) return
    if (sha256(obj.body) !== sha) add('damage', 'BLOB_CORRUPT', `blob ${sha} does not hold the content its name says (sha256 ${sha256(obj.body)})`, k)
    else blobs.add(sha)
  })
  report.blobs = blobs.size

  // HEAD and the history chain.
  let headId: number | undefined
  try {
    headId = (await repo.readHead()).head?.release
  } catch (error) {
    add('damage', 'HEAD_DAMAGED', (error as Error).message, layout.head)
    return report
  }
  if (headId === undefined) {
    if (ids.size > 0) add('info', 'NO_HEAD', `no HEAD yet; ${ids.size} release(s) of publishes that did not finish`, layout.head)
    if (liveKeys.length > 0) add('damage', 'LIVE_WITHOUT_HEAD', `${liveKeys.length} live file(s) but no HEAD`, layout.livePrefix)
    return report
  }
  report.head = headId
  const chain: Manifest[] = []
  /** the history's packed entries, checked against their packs below */
  const packed: PackedEntry[] = []
  const seen = new Set<number>()
  let id: number | null = headId
  let child: Manifest | undefined
  while (id !== null) {
    if (seen.has(id)) {
      add('damage', 'HISTORY_CYCLE', `the history loops back to release ${id}`, layout.release(id))
      break
    }
    seen.add(id)
    let m: Manifest | undefined
    try {
      m = await repo.tryManifest(id)
    } catch (error) {
      add('damage', 'MANIFEST_REFUSED', error instanceof DagctlError ? error.message : String(error), layout.release(id))
      break
    }
    if (!m) {
      add('damage', 'RELEASE_MISSING', `release ${id} is ${child ? `the parent of release ${child.id}` : 'named by HEAD'} but its manifest is missing`, layout.release(id))
      break
    }
    if (child && m.id >= child.id) add('damage', 'HISTORY_ORDER', `release ${child.id} has parent ${m.id}, which is not older`, layout.release(child.id))
    for (const [p, f] of Object.entries(m.files)) {
      if (f.pack) packed.push({release: m.id, path: p, sha256: f.sha256, size: f.size, pack: f.pack})
      else if (!blobs.has(f.sha256)) add('damage', 'BLOB_MISSING', `release ${m.id}: ${p} needs blob ${f.sha256}, which is missing or corrupt`, layout.blob(f.sha256))
    }
    chain.push(m)
    child = m
    id = m.parent
  }
  report.history = chain.length
  const referenced = new Set(chain.flatMap((m) => Object.values(m.files).map((f) => f.sha256)))
  const orphans = [...ids].filter((i) => !seen.has(i)).sort((a, b) => a - b)
  if (orphans.length > 0) add('info', 'ORPHAN_RELEASES', `release(s) ${orphans.join(', ')} lost the race for HEAD or were interrupted: not history`)
  for (const o of orphans) {
    try {
      const m = await repo.tryManifest(o)
      for (const f of Object.values(m?.files ?? {})) referenced.add(f.sha256)
    } catch (error) {
      add('damage', 'MANIFEST_REFUSED', error instanceof DagctlError ? error.message : String(error), layout.release(o))
    }
  }
  const referencedPacks = new Set(packed.map((e) => e.pack.id))
  for (const o of orphans) for (const f of Object.values(repo.cachedManifest(o)?.files ?? {})) if (f.pack) referencedPacks.add(f.pack.id)
  const unreferenced = [...blobs].filter((b) => !referenced.has(b))
  if (unreferenced.length > 0) add('info', 'UNREFERENCED_BLOBS', `${unreferenced.length} blob(s) no release names (uploads of publishes that did not finish)`)
  const unreferencedPacks = [...packIds].filter((id) => !referencedPacks.has(id))
  if (unreferencedPacks.length > 0) add('info', 'UNREFERENCED_PACKS', `${unreferencedPacks.length} pack(s) no release names (uploads of publishes that did not finish)`)
  report.packs = await checkPacks(store, layout, packIds, packed, add)
  if (chain.length === 0 || chain[0].id !== headId) return report
  const head = chain[0]

  // The live tree: content by hash against HEAD, and what live.json claims.
  let claimsCurrent = false
  let liveNote = ''
  try {
    const {state} = await repo.readLiveState()
    claimsCurrent = state?.release === headId && state.pending.length === 0
    if (!claimsCurrent) {
      liveNote = state
        ? `live.json says release ${state.release ?? '(none)'}${state.pending.length > 0 ? ` with ${state.pending.join(', ')} being written` : ''}, HEAD is ${headId}`
        : 'live.json is missing'
      add('lag', 'LIVE_BEHIND', `the live tree lags HEAD: ${liveNote}; the next publish or rollback, or fsck --repair, brings it in line`, layout.liveState)
    }
  } catch (error) {
    add('damage', 'LIVE_STATE_DAMAGED', (error as Error).message, layout.liveState)
  }
  const severity: FsckSeverity = claimsCurrent ? 'damage' : 'lag'
  const present = new Set(liveKeys.map((k) => k.slice(layout.livePrefix.length)))
  await mapLimit(liveKeys, PARALLEL, async (k) => {
    const p = k.slice(layout.livePrefix.length)
    const want = head.files[p]
    if (!want) {
      add(severity, 'LIVE_EXTRA', `live file ${p} is not in release ${headId}`, k)
      return
    }
    const obj = await store.get(k)
    if (!obj) return
    if (sha256(obj.body) !== want.sha256) add(severity, 'LIVE_DIFFERS', `live file ${p} differs from release ${headId}`, k)
  })
  for (const p of Object.keys(head.files)) {
    if (!present.has(p)) add(severity, 'LIVE_MISSING', `live file ${p} of release ${headId} is missing`, layout.live(p))
  }
  return report
}
