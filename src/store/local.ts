import {createHash, randomBytes} from 'node:crypto'
import {constants as fsc} from 'node:fs'
import {copyFile, link, mkdir, open, readFile, readdir, rename, rm, stat, unlink} from 'node:fs/promises'
import path from 'node:path'

import {assertSafeKey, PreconditionFailed, type ConditionalRead, type ListedObject, type PutCondition, type Store, type StoredObject} from './types.js'

/** Folders of the store's own bookkeeping, never listed as keys. */
const TMP_DIR = '.dagctl-tmp'
const LOCK_DIR = '.dagctl-locks'
/** A lock older than this is taken to be left by a killed process on another host. */
const STALE_LOCK_MS = 15_000

function etagOf(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex').slice(0, 32)
}

/**
 * `file://DIR`: the same semantics as S3 with conditional writes. Every write goes to a temp file
 * first; create-only publishes it with link() (fails if the key exists), compare-and-swap holds a
 * per-key lock while it compares the current content's etag and renames the new file into place.
 * A reader therefore sees either the old or the new file, never a part.
 */
export class LocalStore implements Store {
  requestCount = 0
  /** key → the stat signature of the file whose content had this etag (for getIfNoneMatch) */
  private readonly seen = new Map<string, {sig: string; etag: string}>()

  constructor(
    readonly url: string,
    private readonly dir: string,
  ) {}

  private file(key: string): string {
    assertSafeKey(key)
    return path.join(this.dir, ...key.split('/'))
  }

  async get(key: string): Promise<StoredObject | undefined> {
    this.requestCount++
    try {
      const body = await readFile(this.file(key))
      return {body, etag: etagOf(body)}
    } catch (error) {
      if (isCode(error, 'ENOENT') || isCode(error, 'EISDIR') || isCode(error, 'ENOTDIR')) return undefined
      throw error
    }
  }

  async getRange(key: string, offset: number, length: number): Promise<Buffer | undefined> {
    this.requestCount++
    let handle
    try {
      handle = await open(this.file(key), 'r')
    } catch (error) {
      if (isCode(error, 'ENOENT') || isCode(error, 'EISDIR') || isCode(error, 'ENOTDIR')) return undefined
      throw error
    }
    try {
      const buf = Buffer.alloc(Math.max(0, length))
      let got = 0
      while (got < buf.length) {
        const {bytesRead} = await handle.read(buf, got, buf.length - got, offset + got)
        if (bytesRead === 0) break
        got += bytesRead
      }
      return buf.subarray(0, got)
    } catch (error) {
      if (isCode(error, 'EISDIR')) return undefined
      throw error
    } finally {
      await handle.close()
    }
  }

  /**
   * A stat instead of a read when the file is unchanged since this store last read it at `etag`.
   * Every write replaces the file by rename (new inode), so an unchanged signature means unchanged
   * content. The signature is taken before the read: if the file changes in between, the next stat
   * differs and the file is read again.
   */
  async getIfNoneMatch(key: string, etag: string | undefined): Promise<ConditionalRead> {
    this.requestCount++
    const file = this.file(key)
    let sig: string
    try {
      const s = await stat(file, {bigint: true})
      if (!s.isFile()) return undefined
      sig = `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`
    } catch (error) {
      if (isCode(error, 'ENOENT') || isCode(error, 'ENOTDIR')) return undefined
      throw error
    }
    const memo = this.seen.get(key)
    if (etag !== undefined && memo && memo.sig === sig && memo.etag === etag) return {notModified: true, etag}
    let body: Buffer
    try {
      body = await readFile(file)
    } catch (error) {
      if (isCode(error, 'ENOENT') || isCode(error, 'EISDIR') || isCode(error, 'ENOTDIR')) return undefined
      throw error
    }
    const now = etagOf(body)
    this.seen.set(key, {sig, etag: now})
    if (etag !== undefined && now === etag) return {notModified: true, etag}
    return {body, etag: now}
  }

  private async writeTemp(body: Buffer): Promise<string> {
    const dir = path.join(this.dir, TMP_DIR)
    await mkdir(dir, {recursive: true})
    const tmp = path.join(dir, `${process.pid}-${randomBytes(6).toString('hex')}`)
    const handle = await open(tmp, 'w')
    try {
      await handle.writeFile(body)
      await handle.sync()
    } finally {
      await handle.close()
    }
    return tmp
  }

  async put(key: string, data: Buffer | string, condition?: PutCondition): Promise<{etag: string}> {
    this.requestCount++
    const body = Buffer.isBuffer(data) ? data : Buffer.from(data)
    const target = this.file(key)
    await mkdir(path.dirname(target), {recursive: true})
    const tmp = await this.writeTemp(body)
    try {
      if (condition && 'ifNoneMatch' in condition) {
        try {
          await link(tmp, target)
        } catch (error) {
          if (isCode(error, 'EEXIST')) throw new PreconditionFailed(key)
          throw error
        }
      } else if (condition && 'ifMatch' in condition) {
        await this.withLock(key, async () => {
          const current = await readFile(target).catch((error) => {
            if (isCode(error, 'ENOENT')) return undefined
            throw error
          })
          if (!current || etagOf(current) !== condition.ifMatch) throw new PreconditionFailed(key)
          await rename(tmp, target)
        })
      } else {
        await rename(tmp, target)
      }
    } finally {
      await unlink(tmp).catch(() => {})
    }
    return {etag: etagOf(body)}
  }

  /**
   * A lock file created with O_EXCL. A process killed while holding it leaves it behind, so a lock
   * whose owner is no longer alive (same host) or that is older than STALE_LOCK_MS is broken.
   */
  private async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const dir = path.join(this.dir, LOCK_DIR)
    await mkdir(dir, {recursive: true})
    const lock = path.join(dir, createHash('sha256').update(key).digest('hex').slice(0, 24))
    const deadline = Date.now() + 30_000
    for (let attempt = 0; ; attempt++) {
      try {
        const handle = await open(lock, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY)
        await handle.writeFile(`${process.pid}\n`)
        await handle.close()
        break
      } catch (error) {
        if (!isCode(error, 'EEXIST')) throw error
        if (await this.lockIsStale(lock)) {
          await rm(lock, {force: true})
          continue
        }
        if (Date.now() > deadline) throw new Error(`timed out waiting for the lock of ${key} (${lock})`)
        await new Promise((r) => setTimeout(r, Math.min(50, 2 + attempt * 2)))
      }
    }
    try {
      return await fn()
    } finally {
      await rm(lock, {force: true})
    }
  }

  private async lockIsStale(lock: string): Promise<boolean> {
    try {
      const [text, info] = await Promise.all([readFile(lock, 'utf8'), stat(lock)])
      if (Date.now() - info.mtimeMs > STALE_LOCK_MS) return true
      const pid = Number(text.trim())
      if (!Number.isInteger(pid) || pid <= 0) return Date.now() - info.mtimeMs > 1000
      try {
        process.kill(pid, 0)
        return false
      } catch (error) {
        return isCode(error, 'ESRCH')
      }
    } catch {
      return false
    }
  }

  async copy(from: string, to: string): Promise<boolean> {
    this.requestCount++
    const target = this.file(to)
    await mkdir(path.dirname(target), {recursive: true})
    await mkdir(path.join(this.dir, TMP_DIR), {recursive: true})
    const tmp = path.join(this.dir, TMP_DIR, `${process.pid}-${randomBytes(6).toString('hex')}`)
    try {
      await copyFile(this.file(from), tmp)
    } catch (error) {
      if (isCode(error, 'ENOENT')) return false
      throw error
    }
    try {
      await rename(tmp, target)
    } finally {
      await unlink(tmp).catch(() => {})
    }
    return true
  }

  async delete(key: string): Promise<void> {
    this.requestCount++
    await rm(this.file(key), {force: true})
  }

  async list(prefix: string): Promise<string[]> {
    this.requestCount++
    const base = prefix.replace(/\/+$/, '')
    const start = base === '' ? this.dir : this.file(base)
    const out: string[] = []
    const walk = async (dir: string, rel: string): Promise<void> => {
      let entries
      try {
        entries = await readdir(dir, {withFileTypes: true})
      } catch (error) {
        if (isCode(error, 'ENOENT') || isCode(error, 'ENOTDIR')) return
        throw error
      }
      for (const e of entries) {
        if (rel === '' && base === '' && (e.name === TMP_DIR || e.name === LOCK_DIR)) continue
        const r = rel === '' ? e.name : `${rel}/${e.name}`
        if (e.isDirectory()) await walk(path.join(dir, e.name), r)
        else if (e.isFile()) out.push(base === '' ? r : `${base}/${r}`)
      }
    }
    await walk(start, '')
    return out.sort()
  }

  /** The local store's etag is a content hash, so a listing reads each file (cheap on a disk). */
  async listObjects(prefix: string): Promise<ListedObject[]> {
    const keys = await this.list(prefix)
    const out: ListedObject[] = []
    for (const key of keys) {
      const body = await readFile(this.file(key)).catch(() => undefined)
      if (body) out.push({key, size: body.length, etag: etagOf(body)})
    }
    return out
  }

  etagFor(body: Buffer): string {
    return etagOf(body)
  }

  async listFolders(prefix: string): Promise<string[]> {
    this.requestCount++
    const base = prefix.replace(/\/+$/, '')
    try {
      const entries = await readdir(base === '' ? this.dir : this.file(base), {withFileTypes: true})
      return entries
        .filter((e) => e.isDirectory() && e.name !== TMP_DIR && e.name !== LOCK_DIR)
        .map((e) => e.name)
        .sort()
    } catch (error) {
      if (isCode(error, 'ENOENT') || isCode(error, 'ENOTDIR')) return []
      throw error
    }
  }
}

function isCode(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === code
}
