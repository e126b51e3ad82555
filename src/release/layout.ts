import path from 'node:path'

/**
 * Where things live in a store (docs/store.md):
 *
 *   <env>/<package>/dags/<path>                  live tree = files of HEAD's release
 *   _dagctl/<env>/<package>/blobs/<sha256>       immutable contents, written once
 *   _dagctl/<env>/<package>/blobs/pack-<sha256>  immutable packs of contents (src/release/packs.ts)
 *   _dagctl/<env>/<package>/releases/<id>.json   immutable manifests
 *   _dagctl/<env>/<package>/HEAD.json            {release} — replaced only by compare-and-swap
 *   _dagctl/<env>/<package>/live.json            {release, pending} — which release the live tree equals
 */
export class PackageLayout {
  constructor(
    readonly env: string,
    readonly pkg: string,
  ) {}

  get meta(): string {
    return `_dagctl/${this.env}/${this.pkg}`
  }
  get head(): string {
    return `${this.meta}/HEAD.json`
  }
  get liveState(): string {
    return `${this.meta}/live.json`
  }
  get releasesPrefix(): string {
    return `${this.meta}/releases/`
  }
  get blobsPrefix(): string {
    return `${this.meta}/blobs/`
  }
  get livePrefix(): string {
    return `${this.env}/${this.pkg}/dags/`
  }
  release(id: number): string {
    return `${this.releasesPrefix}${String(id).padStart(10, '0')}.json`
  }
  blob(sha256: string): string {
    return `${this.blobsPrefix}${sha256}`
  }
  /** a pack, named by the sha256 of its bytes (under blobs/, so the IAM rules of blobs cover it) */
  pack(id: string): string {
    return `${this.blobsPrefix}${PACK_PREFIX}${id}`
  }
  live(file: string): string {
    return `${this.livePrefix}${file}`
  }
  /** the id of a key under releases/, or undefined for anything else */
  static releaseIdOf(key: string): number | undefined {
    const m = /\/releases\/(\d{10})\.json$/.exec(key)
    return m ? Number(m[1]) : undefined
  }
}

/** Prefix of all environments' bookkeeping: `_dagctl/<env>/`. */
export function envMetaPrefix(env: string): string {
  return `_dagctl/${env}/`
}

/**
 * A path inside a package: relative, `/`-separated, normalised, no `.`/`..`/empty segment, no
 * backslash or NUL. Anything else in a manifest is refused by every reader, never followed.
 */
export function isSafeRelativePath(p: string): boolean {
  if (typeof p !== 'string' || p === '' || p.length > 1024) return false
  if (p.startsWith('/') || p.includes('\\') || p.includes('\0') || /^[A-Za-z]:/.test(p)) return false
  if (path.posix.normalize(p) !== p) return false
  return p.split('/').every((s) => s !== '' && s !== '.' && s !== '..')
}

export const SHA256_RE = /^[0-9a-f]{64}$/

/** The name of a pack under blobs/ is `pack-<sha256>`. */
export const PACK_PREFIX = 'pack-'
