import {readFile, readdir, realpath, stat} from 'node:fs/promises'
import path from 'node:path'

import {PolicyError, UsageError} from '../errors.js'
import {isSafeRelativePath} from './layout.js'
import {sha256} from './util.js'

export interface LocalFile {
  /** path inside the dags folder, `/`-separated: the live tree path */
  path: string
  abs: string
  sha256: string
  size: number
  body: Buffer
}

export interface CollectedFiles {
  files: LocalFile[]
  /** files not published because their extension is not .py or in publish.extensions */
  skipped: string[]
}

/**
 * What `publish` ships: the files under the dags folder with a publishable extension. Hidden
 * entries and __pycache__ are never published. A symlink is followed only when it stays inside the
 * package root; one that leaves it is refused (exit 5), as is a name no store path can carry.
 */
export async function collectFiles(dagsDir: string, packageRoot: string, extensions: readonly string[]): Promise<CollectedFiles> {
  const allowed = new Set(['.py', ...extensions])
  const rootReal = await realpath(packageRoot)
  const files: LocalFile[] = []
  const skipped: string[] = []
  try {
    if (!(await stat(dagsDir)).isDirectory()) throw new Error('not a folder')
  } catch {
    throw new UsageError(`the dags folder ${dagsDir} does not exist`, {
      code: 'DAGS_MISSING',
      key: 'dags',
      hint: 'Set `dags:` in dagctl.yaml to the folder of your DAG files, or run `dagctl generate`.',
    })
  }
  const visited = new Set<string>()
  const walk = async (dir: string, rel: string): Promise<void> => {
    const real = await realpath(dir)
    if (visited.has(real)) return
    visited.add(real)
    const entries = await readdir(dir, {withFileTypes: true})
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    const reads: Array<Promise<void>> = []
    for (const e of entries) {
      if (e.name.startsWith('.') || e.name === '__pycache__') continue
      const abs = path.join(dir, e.name)
      const r = rel === '' ? e.name : `${rel}/${e.name}`
      let isDir = e.isDirectory()
      let isFile = e.isFile()
      if (e.isSymbolicLink()) {
        let target: string
        try {
          target = await realpath(abs)
        } catch {
          throw new PolicyError(`symlink ${r} points to nothing`, {code: 'SYMLINK_BROKEN', file: abs, hint: 'Remove the broken link or make it point to a file inside the package.'})
        }
        if (target !== rootReal && !target.startsWith(rootReal + path.sep)) {
          throw new PolicyError(`symlink ${r} leaves the package (→ ${target})`, {
            code: 'SYMLINK_OUTSIDE',
            file: abs,
            hint: 'Copy the file into the package instead of linking to it: a release holds only what the package owns.',
          })
        }
        const info = await stat(abs)
        isDir = info.isDirectory()
        isFile = info.isFile()
      }
      if (isDir) {
        await walk(abs, r)
        continue
      }
      if (!isFile) continue
      if (!allowed.has(path.extname(e.name))) {
        skipped.push(r)
        continue
      }
      if (!isSafeRelativePath(r)) {
        throw new PolicyError(`cannot publish ${JSON.stringify(r)}: not a portable path`, {code: 'PATH_UNSAFE', file: abs, hint: 'Rename the file (no backslashes or control characters).'})
      }
      const slot = files.length
      files.push(undefined as unknown as LocalFile)
      reads.push(
        readFile(abs).then((body) => {
          files[slot] = {path: r, abs, sha256: sha256(body), size: body.length, body}
        }),
      )
    }
    await Promise.all(reads)
  }
  await walk(dagsDir, '')
  return {files, skipped}
}
