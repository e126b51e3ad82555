import {z} from 'zod'

import {CheckFailedError, PolicyError} from '../errors.js'
import {isPlainObject} from '../util/plain.js'
import {isSafeRelativePath, SHA256_RE} from './layout.js'

const SafePath = z.string().refine(isSafeRelativePath, {message: 'not a relative, normalised path inside the package'})

export const ManifestFileSchema = z.object({
  sha256: z.string().regex(SHA256_RE),
  size: z.number().int().nonnegative(),
  /** the release that last changed this path: the one that brought its current content (a rollback counts) */
  since: z.number().int().positive(),
  /** format 2: the content is in a pack (`blobs/pack-<id>`) at `offset`, `size` bytes long; else its own blob */
  pack: z.object({id: z.string().regex(SHA256_RE), offset: z.number().int().nonnegative()}).strict().optional(),
})

/**
 * What the next publish needs to reuse this release's validation (src/check/reuse.ts): the
 * fingerprint it ran under and, per published .py file, its content hash and what the cross-file
 * rule needs. Optional: a release without them (older dagctl, --no-validate, the airflow engine)
 * only makes the next publish validate everything.
 */
const DAG_AT = /^\d+:\d+:./

const ValidationRecordShape = {
  record: z
    .object({
      fingerprint: z.record(z.string(), z.string()),
      /** the package's own module names, comma-separated */
      ownModules: z.string(),
      /** per published .py file (its content: this manifest's `files`): `line:column:dag id` of each DAG it defines (one: a string) */
      dags: z.record(SafePath, z.union([z.string().regex(DAG_AT), z.array(z.string().regex(DAG_AT))])),
      /** files with `# dagctl: ignore[...]` comments: line -> rules */
      ignores: z.record(SafePath, z.record(z.string(), z.array(z.string()))).optional(),
      /** files with warnings or infos: [warnings, infos] */
      counts: z.record(SafePath, z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()])).optional(),
      /** sha256 over the (path, sha256) pairs the record describes (src/check/reuse.ts) */
      files: z.string(),
    })
    .optional(),
  /** this publish's own run: files parsed, and files whose result came from the parent release */
  reuse: z.object({validated: z.number().int().nonnegative(), reused: z.number().int().nonnegative()}).optional(),
}

/** The manifest formats this dagctl reads: 1 (every content its own blob), 2 (entries may name a pack). */
export const MANIFEST_FORMATS = [1, 2] as const

export const ManifestSchema = z.object({
  format: z.union([z.literal(1), z.literal(2)]),
  package: z.string(),
  env: z.string(),
  id: z.number().int().positive(),
  parent: z.number().int().positive().nullable(),
  createdAt: z.string(),
  author: z.string(),
  git: z.object({sha: z.string().optional(), branch: z.string().optional()}).default({}),
  ci: z.object({provider: z.string(), jobUrl: z.string().optional()}).optional(),
  image: z.string().optional(),
  message: z.string().optional(),
  dagctlVersion: z.string(),
  validation: z.object({
    skipped: z.boolean(),
    engine: z.string().optional(),
    summary: z.object({files: z.number(), dags: z.number(), errors: z.number(), warnings: z.number(), infos: z.number()}).optional(),
    ...ValidationRecordShape,
  }),
  files: z.record(z.string(), ManifestFileSchema),
  dags: z.array(z.object({dagId: z.string(), file: SafePath})).default([]),
  changes: z.object({added: z.array(SafePath), changed: z.array(SafePath), removed: z.array(SafePath)}),
  rollback: z.object({from: z.number().int().positive(), to: z.number().int().positive(), dag: z.string().optional()}).optional(),
  /** makes every manifest unique, so reading one back tells whether it is ours */
  nonce: z.string(),
}).superRefine((m, ctx) => {
  // An entry naming a pack needs format 2, which a dagctl older than packs refuses outright.
  if (m.format !== 1) return
  for (const [p, f] of Object.entries(m.files)) {
    if (f.pack) ctx.addIssue({code: 'custom', path: ['files', p, 'pack'], message: 'format 1 has no packs'})
  }
})

export type Manifest = z.infer<typeof ManifestSchema>

/** A release's validation for people (`releases`): without the per-file records kept for the next publish. */
export function validationSummary(v: Manifest['validation']): Pick<Manifest['validation'], 'skipped' | 'engine' | 'summary' | 'reuse'> {
  return {skipped: v.skipped, ...(v.engine ? {engine: v.engine} : {}), ...(v.summary ? {summary: v.summary} : {}), ...(v.reuse ? {reuse: v.reuse} : {})}
}
export type ManifestFile = z.infer<typeof ManifestFileSchema>
export type FileMap = Record<string, {sha256: string; size: number; since?: number; pack?: {id: string; offset: number}}>

export const HeadSchema = z.object({release: z.number().int().positive(), nonce: z.string(), updatedAt: z.string()})
export type Head = z.infer<typeof HeadSchema>

export const LiveStateSchema = z.object({
  /** the release the live tree equals, except the paths of `pending` releases' diffs */
  release: z.number().int().positive().nullable(),
  /** releases whose files a writer started to copy into the live tree and may not have finished */
  pending: z.array(z.number().int().positive()),
  updatedAt: z.string(),
})
export type LiveState = z.infer<typeof LiveStateSchema>

/** A store object that does not parse, or names a path outside the package. */
export class UnsafeManifestError extends PolicyError {
  constructor(
    readonly storeKey: string,
    message: string,
    readonly offendingPath?: string,
  ) {
    super(`refusing ${storeKey}: ${message}`, {
      code: 'MANIFEST_REFUSED',
      key: storeKey,
      details: offendingPath === undefined ? undefined : {path: offendingPath},
      hint: 'The store holds a manifest dagctl did not write (or a damaged one). Nothing was read from it. Run `dagctl fsck` and restore the object from bucket versioning.',
    })
  }
}

/** Parses a manifest and refuses anything unsafe, naming the offending path. */
export function parseManifest(storeKey: string, body: Buffer, expect: {id?: number; package: string}): Manifest {
  let raw: unknown
  try {
    raw = JSON.parse(body.toString('utf8'))
  } catch (error) {
    throw new UnsafeManifestError(storeKey, `not JSON (${(error as Error).message})`)
  }
  // Paths first, so the error names the path whatever else is wrong.
  if (raw && typeof raw === 'object' && 'files' in raw && raw.files && typeof raw.files === 'object') {
    for (const p of Object.keys(raw.files)) {
      if (!isSafeRelativePath(p)) throw new UnsafeManifestError(storeKey, `path ${JSON.stringify(p)} is not inside the package`, p)
    }
  }
  // A format this dagctl does not know was written by a newer one: say that, not "damaged".
  const format = raw && typeof raw === 'object' && 'format' in raw ? raw.format : undefined
  if (typeof format === 'number' && Number.isInteger(format) && format > Math.max(...MANIFEST_FORMATS)) {
    throw new UnsafeManifestError(storeKey, `manifest format ${format} was written by a newer dagctl (this one reads formats ${MANIFEST_FORMATS.join(' and ')}): upgrade dagctl`)
  }
  const files = plainFiles(raw)
  const result = ManifestSchema.safeParse(files ? {...(raw as object), files: {}} : raw)
  if (!result.success) {
    const issue = result.error.issues[0]
    const at = issue.path.join('.')
    const value = issue.path.reduce<unknown>((node, k) => (node as Record<string | number, unknown> | undefined)?.[k as string], raw)
    throw new UnsafeManifestError(storeKey, `${at}: ${issue.message}`, typeof value === 'string' ? value : undefined)
  }
  const m = result.data
  if (files) m.files = files
  if (m.package !== expect.package) throw new UnsafeManifestError(storeKey, `belongs to package ${m.package}, not ${expect.package}`)
  if (expect.id !== undefined && m.id !== expect.id) throw new UnsafeManifestError(storeKey, `says it is release ${m.id}, not ${expect.id}`)
  return m
}

export function parseJsonObject<T>(storeKey: string, body: Buffer, schema: z.ZodType<T>): T {
  let raw: unknown
  try {
    raw = JSON.parse(body.toString('utf8'))
  } catch {
    throw new CheckFailedError(`${storeKey} is not JSON`, {code: 'STORE_DAMAGED', key: storeKey, hint: 'Run `dagctl fsck` to see the state of the store.'})
  }
  const r = schema.safeParse(raw)
  if (!r.success) {
    throw new CheckFailedError(`${storeKey} is damaged: ${r.error.issues[0].path.join('.')}: ${r.error.issues[0].message}`, {
      code: 'STORE_DAMAGED',
      key: storeKey,
      hint: 'Run `dagctl fsck` to see the state of the store.',
    })
  }
  return r.data
}

export interface FileDiff {
  added: string[]
  changed: string[]
  removed: string[]
  unchanged: string[]
}

/**
 * The manifest's `files` as ManifestSchema gives them back (the known keys, in its order), when
 * every entry is plainly valid; undefined as soon as one is not (or the entry names a pack in
 * format 1), and zod then parses the whole manifest as before, for its exact error. A manifest is
 * read once per command, cold, where zod's record of 1,000 entries costs about 8 ms of CPU
 * (Node 20) and this loop under 1 ms: publish reads one, rollback two.
 */
export function plainFiles(raw: unknown): Manifest['files'] | undefined {
  if (!isPlainObject(raw) || !isPlainObject(raw.files)) return undefined
  const out: Manifest['files'] = {}
  for (const p of Object.keys(raw.files)) {
    const f = raw.files[p]
    // (a "__proto__" key would set the prototype of `out`: zod's own parse decides it)
    if (p === '__proto__' || !isPlainObject(f)) return undefined
    const {sha256, size, since, pack} = f
    if (typeof sha256 !== 'string' || !SHA256_RE.test(sha256) || !isCount(size) || !isCount(since) || since === 0) return undefined
    const entry: Manifest['files'][string] = {sha256, size, since}
    if (pack !== undefined) {
      if (raw.format === 1 || !isPlainObject(pack) || Object.keys(pack).some((k) => k !== 'id' && k !== 'offset')) return undefined
      const {id, offset} = pack
      if (typeof id !== 'string' || !SHA256_RE.test(id) || !isCount(offset)) return undefined
      entry.pack = {id, offset}
    }
    out[p] = entry
  }
  return out
}

/** a non-negative safe integer (the schema's int().nonnegative(), no wider) */
function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
}

/** What turns `from` into `to`, by content hash. */
export function diffFiles(from: FileMap, to: FileMap): FileDiff {
  const d: FileDiff = {added: [], changed: [], removed: [], unchanged: []}
  for (const [p, f] of Object.entries(to)) {
    const old = from[p]
    if (!old) d.added.push(p)
    else if (old.sha256 !== f.sha256) d.changed.push(p)
    else d.unchanged.push(p)
  }
  for (const p of Object.keys(from)) if (!(p in to)) d.removed.push(p)
  for (const list of Object.values(d)) list.sort()
  return d
}

export function isEmptyDiff(d: FileDiff): boolean {
  return d.added.length + d.changed.length + d.removed.length === 0
}

/** Stable JSON: what is written is what is compared when a write is read back. */
export function serialise(value: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(value, null, 1)}\n`)
}
