import {mkdirSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'

/** Writes a report file all at once: a temp file beside it, then rename, so CI never reads half a file. */
export function writeFileAtomic(file: string, content: string): void {
  const abs = path.resolve(file)
  mkdirSync(path.dirname(abs), {recursive: true})
  const tmp = `${abs}.tmp-${process.pid}-${Date.now()}`
  try {
    writeFileSync(tmp, content)
    renameSync(tmp, abs)
  } catch (error) {
    rmSync(tmp, {force: true})
    throw error
  }
}
