import {mkdtempSync, mkdirSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterEach} from 'vitest'

const made: string[] = []

afterEach(() => {
  while (made.length > 0) rmSync(made.pop()!, {recursive: true, force: true})
})

/** A fresh folder removed after the test; `files` maps relative paths to contents. */
export function tempDir(files: Record<string, string> = {}, prefix = 'dagctl-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix))
  made.push(dir)
  writeFiles(dir, files)
  return dir
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(dir, rel)
    mkdirSync(path.dirname(file), {recursive: true})
    writeFileSync(file, content)
  }
}
