/**
 * The one seam between the release algorithms (src/release/) and where bytes live. Two adapters
 * implement it with the same semantics: S3 through conditional requests, the local store through
 * the file system (link for atomic create, a lock + rename for compare-and-swap).
 *
 * Keys are relative to the store's root (`<env>/<package>/dags/a.py`, `_dagctl/...`), with `/`.
 */
export interface StoredObject {
  body: Buffer
  /** opaque version token for compare-and-swap; compare only for equality */
  etag: string
}

/** One object of a listing, with what the listing says of it (no extra request). */
export interface ListedObject {
  key: string
  size: number
  /** as the store reports it (S3: quoted); compare with `sameEtag` */
  etag: string
}

export type PutCondition =
  /** create only: fails with PreconditionFailed when the key exists */
  | {ifNoneMatch: '*'}
  /** replace only the version read before: fails with PreconditionFailed otherwise (also when missing) */
  | {ifMatch: string}

/** The answer to a conditional read: the object, `notModified` when its version is still `etag`, or undefined when missing. */
export type ConditionalRead = StoredObject | {notModified: true; etag: string} | undefined

export interface Store {
  /** the URL it was opened from, for messages (never with credentials) */
  readonly url: string
  get(key: string): Promise<StoredObject | undefined>
  /**
   * A read that costs no body when the object is still at version `etag` (S3: GetObject with
   * If-None-Match, answered 304; local: a stat). Without an etag it is a plain get.
   */
  getIfNoneMatch(key: string, etag: string | undefined): Promise<ConditionalRead>
  /**
   * `length` bytes from `offset` (S3: GetObject with Range; local: a read at offset): fewer when
   * the object is shorter (a truncated pack), undefined when it is missing.
   */
  getRange(key: string, offset: number, length: number): Promise<Buffer | undefined>
  put(key: string, body: Buffer | string, condition?: PutCondition): Promise<{etag: string}>
  /** copies an object inside the store (server-side on S3: one request, no bytes through dagctl); false when `from` is missing */
  copy(from: string, to: string): Promise<boolean>
  /** deleting a missing key is not an error */
  delete(key: string): Promise<void>
  /** every key under the prefix (recursive), sorted */
  list(prefix: string): Promise<string[]>
  /** every object under the prefix (recursive) with its size and etag, sorted by key: the same requests as `list` */
  listObjects(prefix: string): Promise<ListedObject[]>
  /**
   * The etag a plain put of `body` gets in this store, when the store can tell without a request
   * (S3 without KMS: the content MD5; the local store: its content hash); undefined when it cannot
   * (S3 with SSE-KMS, whose ETags are not digests of the content).
   */
  etagFor(body: Buffer): string | undefined
  /** the immediate "sub-folders" under the prefix (ending in `/` stripped), sorted */
  listFolders(prefix: string): Promise<string[]>
  /** requests made so far, for --verbose and benchmarks */
  readonly requestCount: number
}

/** A conditional put lost: the key exists (If-None-Match) or changed (If-Match). */
export class PreconditionFailed extends Error {
  constructor(readonly key: string) {
    super(`precondition failed for ${key}`)
    this.name = 'PreconditionFailed'
  }
}

/** Store keys are made by dagctl; this rejects anything that could escape the root. */
export function assertSafeKey(key: string): void {
  if (key === '' || key.startsWith('/') || key.includes('\\') || key.includes('\0') || key.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new Error(`unsafe store key: ${JSON.stringify(key)}`)
  }
}

/** Two etags of the same store name the same version (S3 quotes them; some servers do not). */
export function sameEtag(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false
  return a.replace(/^W\//, '').replace(/"/g, '') === b.replace(/^W\//, '').replace(/"/g, '')
}
