import {execFileSync} from 'node:child_process'
import {existsSync, readdirSync} from 'node:fs'
import path from 'node:path'

import {REPO_ROOT} from './cli.js'

/** Folders that are built, installed or written by a run, never part of the repository. */
const NOT_THE_REPOSITORY = new Set(['node_modules', 'dist', '.git', 'reports', 'coverage', '.dagctl', '__pycache__', 'tmp'])

/**
 * The repository's files, relative to its root with `/` separators: what git tracks plus files not
 * yet added (ignored ones left out); without git (an unpacked tarball), a walk that leaves out the
 * folders a build or a test run writes.
 */
export function repositoryFiles(root = REPO_ROOT): string[] {
  if (existsSync(path.join(root, '.git'))) {
    const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {cwd: root, maxBuffer: 64 * 1024 * 1024})
    return out
      .toString('utf8')
      .split('\0')
      .filter((f) => f !== '' && existsSync(path.join(root, f)))
      .filter((f) => !f.split('/').some((segment) => NOT_THE_REPOSITORY.has(segment)))
      .sort()
  }
  const files: string[] = []
  const walk = (rel: string): void => {
    for (const entry of readdirSync(path.join(root, rel), {withFileTypes: true})) {
      if (NOT_THE_REPOSITORY.has(entry.name)) continue
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`
      if (entry.isDirectory()) walk(child)
      else files.push(child)
    }
  }
  walk('')
  return files.sort()
}
