import {randomBytes} from 'node:crypto'
import {constants as fsc} from 'node:fs'
import {chmod, lstat, mkdir, open, readdir, readFile, readlink, rename, rm, stat, symlink, unlink, utimes, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {UsageError} from '../errors.js'
import {sha256} from '../release/util.js'

/**
 * What `dagctl sync` keeps in the DAG folder DIR (the folder Airflow scans):
 *
 *   DIR/<package>                         symlink → .dagctl-sync/versions/<package>/<release>-<rand>
 *   DIR/.airflowignore                    written by sync when absent: excludes `.dagctl-sync`
 *   DIR/.dagctl-sync/versions/<package>/  complete trees, one per release made visible
 *   DIR/.dagctl-sync/blobs/<sha256>       content-addressed cache of every blob downloaded
 *   DIR/.dagctl-sync/tmp/                 trees and links being built (cleared at start)
 *   DIR/.dagctl-sync/lock                 the pid of the sync that owns DIR
 *
 * A tree is built in tmp/, renamed whole into versions/, then made visible by renaming a new
 * symlink over DIR/<package>: one rename(2), so a scan (os.walk with followlinks, as Airflow's)
 * sees the old tree or the new one, never a part or both. The link is relative, so the volume can
 * be mounted at another path in the scheduler's container. The versions folder sits inside DIR (an
 * emptyDir shared by the sidecar and Airflow is one volume) and is excluded by .airflowignore:
 * without that, Airflow reaches each linked version twice and its walk fails ("Detected recursive
 * loop").
 */
export const STATE_DIR = '.dagctl-sync'
export const IGNORE_LINE = STATE_DIR
const IGNORE_FILE = '.airflowignore'
const IGNORE_HEADER = '# written by dagctl sync: its versions folder must stay out of the DAG scan'

/** A package name sync will create a folder for: one plain segment, not hidden. */
export function isSafePackageName(name: string): boolean {
  return /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(name)
}

export type LinkState =
  | {kind: 'absent'}
  /** a file, folder or link sync did not write: never touched */
  | {kind: 'foreign'}
  | {kind: 'ours'; release: number; version: string}

export class SyncTree {
  readonly state: string
  private readonly tmp: string
  private readonly versions: string
  private readonly blobs: string

  constructor(readonly dir: string) {
    this.dir = path.resolve(dir)
    this.state = path.join(this.dir, STATE_DIR)
    this.tmp = path.join(this.state, 'tmp')
    this.versions = path.join(this.state, 'versions')
    this.blobs = path.join(this.state, 'blobs')
  }

  /**
   * Makes DIR ready: the state folders, the ignore rule, the lock; clears what a killed sync left
   * half built in tmp/ (never visible: nothing in tmp/ is linked from DIR).
   */
  async prepare(): Promise<void> {
    await mkdir(this.dir, {recursive: true})
    await this.ensureIgnored()
    await mkdir(this.versions, {recursive: true})
    // Airflow (another user) goes through these to reach a linked version, whatever the umask.
    await chmod(this.state, 0o755)
    await chmod(this.versions, 0o755)
    await mkdir(this.blobs, {recursive: true})
    await this.lock()
    await rm(this.tmp, {recursive: true, force: true})
    await mkdir(this.tmp, {recursive: true})
  }

  private async ensureIgnored(): Promise<void> {
    const file = path.join(this.dir, IGNORE_FILE)
    let text: string | undefined
    try {
      text = await readFile(file, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
    if (text === undefined) {
      const tmp = path.join(this.dir, `${STATE_DIR}.ignore-${process.pid}-${randomBytes(4).toString('hex')}`)
      await writeFile(tmp, `${IGNORE_HEADER}\n${IGNORE_LINE}\n`)
      await chmod(tmp, 0o644)
      await rename(tmp, file)
      return
    }
    if (text.split(/\r?\n/).some((l) => l.trim() === IGNORE_LINE)) return
    throw new UsageError(`${file} exists and does not exclude ${STATE_DIR}, the folder where dagctl sync keeps its versions`, {
      code: 'SYNC_IGNORE_MISSING',
      file,
      hint: `Add the line \`${IGNORE_LINE}\` to ${file} (dagctl sync never edits a file it did not write); without it Airflow's scan reaches every version twice and fails.`,
    })
  }

  /** One sync per DIR: a lock file with the owner's pid, broken when that process is gone. */
  private async lock(): Promise<void> {
    const file = path.join(this.state, 'lock')
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const h = await open(file, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY)
        await h.writeFile(`${process.pid}\n`)
        await h.close()
        return
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      }
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim())
      if (pid === process.pid) return
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
        throw new UsageError(`another dagctl sync (pid ${pid}) is writing ${this.dir}`, {
          code: 'SYNC_BUSY',
          hint: 'Run one sync per DAG folder. If that process is not a sync (a reused pid), remove ' + file + '.',
        })
      }
      await rm(file, {force: true})
    }
  }

  async unlock(): Promise<void> {
    const file = path.join(this.state, 'lock')
    const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim())
    if (pid === process.pid) await rm(file, {force: true})
  }

  private linkPath(pkg: string): string {
    return path.join(this.dir, pkg)
  }

  private linkTarget(pkg: string, version: string): string {
    return `${STATE_DIR}/versions/${pkg}/${version}`
  }

  /** What DIR/<package> is: absent, ours (a link into our versions, with its release), or foreign. */
  async current(pkg: string): Promise<LinkState> {
    const p = this.linkPath(pkg)
    try {
      const info = await lstat(p)
      if (!info.isSymbolicLink()) return {kind: 'foreign'}
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {kind: 'absent'}
      throw error
    }
    const target = await readlink(p)
    const m = new RegExp(`^${escapeRe(STATE_DIR)}/versions/${escapeRe(pkg)}/((\\d+)-[0-9a-f]+)$`).exec(target)
    if (!m) return {kind: 'foreign'}
    return {kind: 'ours', release: Number(m[2]), version: m[1]}
  }

  /** The packages DIR holds links of ours for. */
  async managedPackages(): Promise<string[]> {
    const out: string[] = []
    for (const e of await readdir(this.dir, {withFileTypes: true})) {
      if (!e.isSymbolicLink() || !isSafePackageName(e.name)) continue
      if ((await this.current(e.name)).kind === 'ours') out.push(e.name)
    }
    return out.sort()
  }

  private blobFile(sha: string): string {
    return path.join(this.blobs, sha)
  }

  /** A cached blob, checked against its name; undefined when absent or damaged (then removed). */
  async cachedBlob(sha: string): Promise<Buffer | undefined> {
    let body: Buffer
    try {
      body = await readFile(this.blobFile(sha))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
    if (sha256(body) === sha) {
      // the age that trimCache goes by is the time of last use
      const now = new Date()
      await utimes(this.blobFile(sha), now, now).catch(() => {})
      return body
    }
    await rm(this.blobFile(sha), {force: true})
    return undefined
  }

  /** Removes cached blobs not used for `maxAgeMs` (a release seen within that time still costs no download). */
  async trimCache(maxAgeMs: number, now = Date.now()): Promise<number> {
    let removed = 0
    for (const name of await readdir(this.blobs).catch(() => [] as string[])) {
      const info = await stat(path.join(this.blobs, name)).catch(() => undefined)
      if (info && now - info.mtimeMs > maxAgeMs) {
        await rm(path.join(this.blobs, name), {force: true})
        removed++
      }
    }
    return removed
  }

  /** Stores a blob already checked against `sha`: temp file, then rename (whole or absent). */
  async cacheBlob(sha: string, body: Buffer): Promise<void> {
    const tmp = path.join(this.tmp, `blob-${randomBytes(6).toString('hex')}`)
    await writeFile(tmp, body)
    await rename(tmp, this.blobFile(sha))
  }

  /**
   * Writes a complete tree in tmp/, then renames it whole into versions/<package>/. Nothing of it
   * is visible in DIR yet. `files` maps each (already checked) path to its content.
   */
  async build(pkg: string, release: number, files: Map<string, Buffer>): Promise<string> {
    const version = `${release}-${randomBytes(4).toString('hex')}`
    const work = path.join(this.tmp, `tree-${pkg}-${version}`)
    await mkdir(work)
    // World-readable whatever the umask: Airflow reads them as another user (uid 50000) from the shared volume.
    const dirs = new Set<string>([work])
    for (const [rel, body] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
      const file = path.join(work, ...rel.split('/'))
      for (let d = path.dirname(file); d !== work && !dirs.has(d); d = path.dirname(d)) dirs.add(d)
      await mkdir(path.dirname(file), {recursive: true})
      await writeFile(file, body, {flag: 'wx'})
      await chmod(file, 0o644)
    }
    for (const d of dirs) await chmod(d, 0o755)
    await mkdir(path.join(this.versions, pkg), {recursive: true})
    await chmod(path.join(this.versions, pkg), 0o755)
    await rename(work, path.join(this.versions, pkg, version))
    return version
  }

  /** Points DIR/<package> at a built version with one rename of a new link over the old one. */
  async switchTo(pkg: string, version: string, previous?: string): Promise<void> {
    const tmpLink = path.join(this.tmp, `link-${pkg}-${randomBytes(6).toString('hex')}`)
    await symlink(this.linkTarget(pkg, version), tmpLink)
    await rename(tmpLink, this.linkPath(pkg))
    if (previous && previous !== version) await this.retire(pkg, previous)
  }

  /** Removes DIR/<package> (a link of ours); its version stays for the grace period. */
  async remove(pkg: string): Promise<void> {
    const state = await this.current(pkg)
    if (state.kind !== 'ours') return
    await unlink(this.linkPath(pkg))
    await this.retire(pkg, state.version)
  }

  /** The grace period of a version starts when it stops being visible: its folder's mtime says when. */
  private async retire(pkg: string, version: string): Promise<void> {
    const now = new Date()
    await utimes(path.join(this.versions, pkg, version), now, now).catch(() => {})
  }

  /**
   * Removes the versions of a package that are not linked and were retired (or, for orphans of a
   * killed sync, built) more than `graceMs` ago. Returns how many were removed.
   */
  async collect(pkg: string, graceMs: number, now = Date.now()): Promise<number> {
    const dir = path.join(this.versions, pkg)
    let names: string[]
    try {
      names = await readdir(dir)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0
      throw error
    }
    const state = await this.current(pkg)
    const keep = state.kind === 'ours' ? state.version : undefined
    let removed = 0
    for (const name of names) {
      if (name === keep) continue
      const info = await stat(path.join(dir, name)).catch(() => undefined)
      if (!info || now - info.mtimeMs < graceMs) continue
      await rm(path.join(dir, name), {recursive: true, force: true})
      removed++
    }
    return removed
  }

  /** Packages with versions kept (for collecting those of removed packages). */
  async versionedPackages(): Promise<string[]> {
    return (await readdir(this.versions).catch(() => [] as string[])).filter(isSafePackageName).sort()
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
