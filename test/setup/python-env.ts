import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {execFileSync} from 'node:child_process'

/**
 * A Python venv for the tests' own peers (moto's S3 server, awscli, ...), built from a requirement
 * file kept in the repo and cached outside it, keyed by the file's hash: the first run installs,
 * every later run is instant. Built in a temporary folder and renamed into place, so an interrupted
 * install never leaves a half venv that looks ready.
 */
export function ensureVenv(requirementsFile: string, label: string): string {
  const text = readFileSync(requirementsFile)
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16)
  const cacheRoot = process.env.DAGCTL_CACHE_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'dagctl')
  const dir = path.join(cacheRoot, 'venvs', `${label}-${hash}`)
  const python = path.join(dir, 'bin', 'python')
  if (existsSync(path.join(dir, '.ready'))) return python
  mkdirSync(path.dirname(dir), {recursive: true})
  const tmp = `${dir}.tmp-${process.pid}`
  rmSync(tmp, {recursive: true, force: true})
  const basePython = process.env.DAGCTL_BASE_PYTHON ?? 'python3'
  process.stderr.write(`[test setup] creating ${label} venv from ${path.basename(requirementsFile)} in ${dir}\n`)
  execFileSync(basePython, ['-m', 'venv', tmp], {stdio: 'inherit'})
  execFileSync(path.join(tmp, 'bin', 'python'), ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', '-r', requirementsFile], {stdio: 'inherit'})
  writeFileSync(path.join(tmp, '.ready'), new Date().toISOString())
  rmSync(dir, {recursive: true, force: true})
  renameSync(tmp, dir)
  // A venv's scripts carry its absolute path; the rename keeps `python -m` working, which is all the tests use.
  return python
}
