import type {Store} from '../store/index.js'
import {collectFiles} from './local-files.js'
import {envMetaPrefix} from './layout.js'
import {diffFiles, validationSummary, type Manifest} from './manifest.js'
import {fileMapOf, summariseDiff, type DiffSummary} from './publish.js'
import {PackageRepository} from './repository.js'
import {mapLimit} from './util.js'
import {UsageError} from '../errors.js'

export interface PackageRow {
  package: string
  release: number | null
  files: number
  publishedAt?: string
  author?: string
}

/** The packages of an environment with their current release. */
export async function listPackages(store: Store, env: string): Promise<PackageRow[]> {
  const names = await store.listFolders(envMetaPrefix(env))
  return mapLimit(names, 8, async (pkg) => {
    const repo = new PackageRepository(store, env, pkg)
    const {head} = await repo.readHead()
    if (!head) return {package: pkg, release: null, files: 0}
    const m = await repo.manifest(head.release)
    return {package: pkg, release: m.id, files: Object.keys(m.files).length, publishedAt: m.createdAt, author: m.author}
  })
}

export interface FileRow {
  path: string
  /** the DAG ids the file defines, as validation found them when it was published (empty: published with --no-validate, or none) */
  dags: string[]
  /** the release that last changed the file: the one that brought its current content (a rollback counts) */
  release: number
  size: number
  sha256: string
}

/** The files of the current release, each with its DAG ids (from the manifest's `dags`). */
export async function listFiles(store: Store, env: string, pkg: string): Promise<{release: number | null; validated: boolean; files: FileRow[]}> {
  const repo = new PackageRepository(store, env, pkg)
  const {head} = await repo.readHead()
  if (!head) return {release: null, validated: false, files: []}
  const m = await repo.manifest(head.release)
  const dagsOf = new Map<string, string[]>()
  for (const d of m.dags) dagsOf.set(d.file, [...(dagsOf.get(d.file) ?? []), d.dagId])
  return {
    release: m.id,
    validated: !m.validation.skipped,
    files: Object.entries(m.files).map(([p, f]) => ({path: p, dags: (dagsOf.get(p) ?? []).sort(), release: f.since, size: f.size, sha256: f.sha256})),
  }
}

export interface ReleaseRow {
  id: number
  current: boolean
  createdAt: string
  author: string
  gitSha?: string
  branch?: string
  ciJobUrl?: string
  image?: string
  message?: string
  changes: {added: number; changed: number; removed: number}
  rollback?: Manifest['rollback']
  validation: ReturnType<typeof validationSummary>
}

export async function listReleases(store: Store, env: string, pkg: string, limit: number): Promise<ReleaseRow[]> {
  const repo = new PackageRepository(store, env, pkg)
  const chain = await repo.history(limit)
  return chain.map((m, i) => ({
    id: m.id,
    current: i === 0,
    createdAt: m.createdAt,
    author: m.author,
    ...(m.git.sha ? {gitSha: m.git.sha} : {}),
    ...(m.git.branch ? {branch: m.git.branch} : {}),
    ...(m.ci?.jobUrl ? {ciJobUrl: m.ci.jobUrl} : {}),
    ...(m.image ? {image: m.image} : {}),
    ...(m.message ? {message: m.message} : {}),
    changes: {added: m.changes.added.length, changed: m.changes.changed.length, removed: m.changes.removed.length},
    ...(m.rollback ? {rollback: m.rollback} : {}),
    validation: validationSummary(m.validation),
  }))
}

export interface DiffResult {
  package: string
  env: string
  from: string
  to: string
  diff: DiffSummary
}

async function resolve(repo: PackageRepository, ref: string): Promise<Manifest> {
  if (ref === 'HEAD') {
    const {head} = await repo.readHead()
    if (!head) throw new UsageError(`${repo.pkg} has no release in ${repo.env}`, {code: 'NO_RELEASE', hint: 'Publish first: `dagctl publish`.'})
    return repo.manifest(head.release)
  }
  const id = Number(ref)
  const m = Number.isInteger(id) && id > 0 ? await repo.tryManifest(id) : undefined
  if (!m) throw new UsageError(`no release ${ref} of ${repo.pkg} in ${repo.env}`, {code: 'RELEASE_NOT_FOUND', hint: `Run \`dagctl releases --env ${repo.env}\` to see the ids.`})
  return m
}

/** Two releases, or (when `dagsDir` is given) the working folder against a release (default HEAD). */
export async function diffReleases(options: {store: Store; env: string; pkg: string; from?: string; to?: string; dagsDir?: string; root?: string; extensions?: readonly string[]}): Promise<DiffResult> {
  const repo = new PackageRepository(options.store, options.env, options.pkg)
  if (options.to !== undefined) {
    const [a, b] = await Promise.all([resolve(repo, options.from ?? 'HEAD'), resolve(repo, options.to)])
    return {package: repo.pkg, env: repo.env, from: String(a.id), to: String(b.id), diff: summariseDiff(diffFiles(a.files, b.files))}
  }
  const {head} = await repo.readHead()
  const base = options.from !== undefined || head ? await resolve(repo, options.from ?? 'HEAD') : undefined
  const {files} = await collectFiles(options.dagsDir!, options.root!, options.extensions ?? [])
  return {package: repo.pkg, env: repo.env, from: base ? String(base.id) : '(nothing published)', to: 'working folder', diff: summariseDiff(diffFiles(base?.files ?? {}, fileMapOf(files)))}
}

