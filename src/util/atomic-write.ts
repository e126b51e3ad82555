import {mkdirSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'

/**
 * Writes `file` whole or not at all (generated DAGs, reports, schemas, dead letters): a temporary
 * file beside it (same file system), then a rename, so a reader or a crash never sees half a file.
 */
export function writeFileAtomic(file: string, content: string, options: {mode?: number} = {}): void {
  mkdirSync(path.dirname(file), {recursive: true})
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`)
  try {
    writeFileSync(tmp, content, {mode: options.mode})
    renameSync(tmp, file)
  } catch (error) {
    rmSync(tmp, {force: true})
    throw error
  }
}
