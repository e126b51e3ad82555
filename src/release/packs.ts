import type {Store} from '../store/index.js'
import type {PackageLayout} from './layout.js'
import {mapLimit, sha256} from './util.js'

/**
 * Packs (docs/store.md, "Packs"): a publish with many new contents writes them as one immutable
 * object, `blobs/pack-<sha256 of the pack>`, the contents one after the other, instead of one
 * object each. The manifest's file entry says where its content is (`pack: {id, offset}`; the
 * length is the entry's `size`), so no index object is read or written: readers already read the
 * manifest. Every reader checks the bytes it cut out against the entry's sha256.
 */

/** Where a content lives inside a pack; the length is the manifest entry's size. */
export interface PackRef {
  /** sha256 of the whole pack: its key is `blobs/pack-<id>` */
  id: string
  offset: number
}

/**
 * A publish packs its new contents when there are more than this many: up to one round of
 * parallel uploads costs one round trip either way, and loose blobs keep server-side copies for
 * rollback and repair (a packed content costs a ranged read and a write instead).
 */
export const PACK_ABOVE = 32
/** A pack holds at most this many bytes; more contents make more packs (uploaded in parallel). */
export const PACK_MAX_BYTES = 64 * 1024 * 1024
/** Two ranges of one pack closer than this are read as one: up to 1 MiB more bytes against a round trip (about what S3 sends in the time of one request from a CI runner). */
const MERGE_GAP = 1024 * 1024

export function shouldPack(newContents: number): boolean {
  return newContents > PACK_ABOVE
}

export interface BuiltPack {
  id: string
  body: Buffer
  /** content sha256 → offset in the pack */
  offsets: Map<string, number>
}

/**
 * The packs of `shas` (sorted, distinct), in order, cut at `maxBytes`. The bytes depend on the
 * contents only, so a publish re-run after a kill builds the same packs under the same keys.
 */
export function buildPacks(shas: readonly string[], contents: Map<string, Buffer>, maxBytes = PACK_MAX_BYTES): BuiltPack[] {
  const out: BuiltPack[] = []
  let parts: Buffer[] = []
  let offsets = new Map<string, number>()
  let size = 0
  const flush = (): void => {
    if (parts.length === 0) return
    const body = Buffer.concat(parts, size)
    out.push({id: sha256(body), body, offsets})
    parts = []
    offsets = new Map()
    size = 0
  }
  for (const sha of [...shas].sort()) {
    const body = contents.get(sha)
    if (!body) throw new Error(`no content for ${sha}`)
    if (size > 0 && size + body.length > maxBytes) flush()
    offsets.set(sha, size)
    parts.push(body)
    size += body.length
  }
  flush()
  return out
}

/** What a reader needs to fetch one content: the manifest entry's fields. */
export interface ContentRef {
  sha256: string
  size: number
  pack?: PackRef
}

export type ContentFailure =
  /** the object (blob or pack) is not in the store */
  | {kind: 'missing'; key: string; message: string}
  /** the pack ends before the content does */
  | {kind: 'short'; key: string; message: string}
  /** the bytes do not hash to the manifest's sha256 */
  | {kind: 'mismatch'; key: string; message: string}

export interface ContentReader {
  get(key: string): Promise<Buffer | undefined>
  getRange(key: string, offset: number, length: number): Promise<Buffer | undefined>
}

export function storeReader(store: Store): ContentReader {
  return {get: async (key) => (await store.get(key))?.body, getRange: (key, offset, length) => store.getRange(key, offset, length)}
}

/**
 * Fetches contents by their manifest entries, each checked against its sha256: a loose blob with
 * one GET; packed contents with one ranged GET per run of neighbouring contents of a pack (all of
 * a pack's contents: one GET of the whole pack). Failures are returned per content, not thrown,
 * so each caller names them its way; a store error is thrown.
 */
export async function fetchContents(
  reader: ContentReader,
  layout: PackageLayout,
  wants: readonly ContentRef[],
  parallel: number,
): Promise<{bodies: Map<string, Buffer>; failures: Map<string, ContentFailure>}> {
  const bodies = new Map<string, Buffer>()
  const failures = new Map<string, ContentFailure>()
  const loose: ContentRef[] = []
  const byPack = new Map<string, ContentRef[]>()
  const seen = new Set<string>()
  for (const w of wants) {
    if (seen.has(w.sha256)) continue
    seen.add(w.sha256)
    if (w.size === 0 && w.pack) {
      check(w, Buffer.alloc(0), layout.pack(w.pack.id))
      continue
    }
    if (!w.pack) loose.push(w)
    else byPack.set(w.pack.id, [...(byPack.get(w.pack.id) ?? []), w])
  }
  function check(w: ContentRef, body: Buffer, key: string): void {
    const got = sha256(body)
    if (got === w.sha256) bodies.set(w.sha256, body)
    else failures.set(w.sha256, {kind: 'mismatch', key, message: `${key}${w.pack ? ` at offset ${w.pack.offset}` : ''} does not hold content ${w.sha256} (its bytes hash to ${got})`})
  }
  const runs: Array<{key: string; start: number; end: number; items: ContentRef[]}> = []
  for (const [id, items] of byPack) {
    items.sort((a, b) => a.pack!.offset - b.pack!.offset)
    const key = layout.pack(id)
    for (const w of items) {
      const start = w.pack!.offset
      const end = start + w.size
      const last = runs.at(-1)
      if (last && last.key === key && start - last.end <= MERGE_GAP) {
        last.end = Math.max(last.end, end)
        last.items.push(w)
      } else runs.push({key, start, end, items: [w]})
    }
  }
  const jobs: Array<() => Promise<void>> = [
    ...loose.map((w) => async () => {
      const key = layout.blob(w.sha256)
      const body = await reader.get(key)
      if (!body) failures.set(w.sha256, {kind: 'missing', key, message: `blob ${w.sha256} is missing from the store (${key})`})
      else check(w, body, key)
    }),
    ...runs.map((run) => async () => {
      const body = await reader.getRange(run.key, run.start, run.end - run.start)
      for (const w of run.items) {
        const from = w.pack!.offset - run.start
        if (!body) failures.set(w.sha256, {kind: 'missing', key: run.key, message: `pack ${w.pack!.id} is missing from the store (${run.key})`})
        else if (body.length < from + w.size)
          failures.set(w.sha256, {
            kind: 'short',
            key: run.key,
            message: `pack ${w.pack!.id} is short: it ends at byte ${run.start + body.length}, content ${w.sha256} needs bytes ${w.pack!.offset}–${w.pack!.offset + w.size} (${run.key})`,
          })
        else check(w, body.subarray(from, from + w.size), run.key)
      }
    }),
  ]
  await mapLimit(jobs, parallel, (job) => job())
  return {bodies, failures}
}

/** How many packs `buildPacks` makes of these contents (for messages), without building them. */
export function packCount(shas: readonly string[], contents: Map<string, Buffer>, maxBytes = PACK_MAX_BYTES): number {
  let packs = 0
  let size = 0
  for (const sha of [...shas].sort()) {
    const n = contents.get(sha)?.length ?? 0
    if (packs === 0 || (size > 0 && size + n > maxBytes)) {
      packs++
      size = 0
    }
    size += n
  }
  return packs
}
