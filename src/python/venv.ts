import {execFileSync, type StdioOptions} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {cacheDir} from '../util/cache-dir.js'

// in util/ (no child_process) for the config cache, which every start-up reads
export {cacheDir} from '../util/cache-dir.js'

/** The shipped python/ folder (helpers and requirement files), found from dist/ or src/. */
export const PYTHON_DIR = path.resolve(import.meta.dirname, '..', '..', 'python')

export type AirflowMajor = 2 | 3

export function airflowRequirementsFile(version: AirflowMajor): string {
  return path.join(PYTHON_DIR, 'requirements', `airflow-${version}.txt`)
}

export interface VenvInfo {
  dir: string
  python: string
  /** false when it was already there (the second run is instant) */
  created: boolean
}

export interface EnsureVenvOptions {
  env?: NodeJS.ProcessEnv
  /** interpreter that creates the venv; default $DAGCTL_BASE_PYTHON or python3 */
  basePython?: string
  /** where pip's output goes; default inherit (the user sees pip). `['ignore', 2, 2]` sends it to stderr. */
  stdio?: StdioOptions
  onProgress?: (message: string) => void
}

/** Path of the venv for a requirement file: `<cache>/venvs/<label>-<sha256 of the file, 16 hex>`. */
export function venvDirFor(requirementsFile: string, label: string, env: NodeJS.ProcessEnv = process.env): string {
  const hash = createHash('sha256').update(readFileSync(requirementsFile)).digest('hex').slice(0, 16)
  return path.join(cacheDir(env), 'venvs', `${label}-${hash}`)
}

/** The venv for a requirement file when it is already built (never builds). */
export function findVenv(requirementsFile: string, label: string, env: NodeJS.ProcessEnv = process.env): VenvInfo | undefined {
  const dir = venvDirFor(requirementsFile, label, env)
  return existsSync(path.join(dir, '.ready')) ? {dir, python: path.join(dir, 'bin', 'python'), created: false} : undefined
}

/**
 * A venv built from a pinned requirement file, cached outside the project and keyed by the file's
 * hash: the first call installs, every later call returns at once. Built in place (console scripts
 * carry absolute paths, so no build-then-rename); `.ready` is written last, so an interrupted build
 * is detected and redone. A lock folder keeps two processes from building the same venv at once.
 */
export function ensureVenv(requirementsFile: string, label: string, options: EnsureVenvOptions = {}): VenvInfo {
  const env = options.env ?? process.env
  const dir = venvDirFor(requirementsFile, label, env)
  const python = path.join(dir, 'bin', 'python')
  const ready = path.join(dir, '.ready')
  if (existsSync(ready)) return {dir, python, created: false}
  mkdirSync(path.dirname(dir), {recursive: true})
  const lock = `${dir}.lock`
  acquireLock(lock)
  try {
    if (existsSync(ready)) return {dir, python, created: false}
    rmSync(dir, {recursive: true, force: true})
    const basePython = options.basePython ?? env.DAGCTL_BASE_PYTHON ?? 'python3'
    const stdio = options.stdio ?? 'inherit'
    options.onProgress?.(`creating ${label} venv in ${dir}`)
    execFileSync(basePython, ['-m', 'venv', dir], {stdio})
    options.onProgress?.(`installing ${path.basename(requirementsFile)} (first run only)`)
    execFileSync(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '-q', '-r', requirementsFile], {stdio})
    writeFileSync(ready, `${new Date().toISOString()}\n${path.resolve(requirementsFile)}\n`)
    return {dir, python, created: true}
  } catch (error) {
    rmSync(dir, {recursive: true, force: true})
    throw error
  } finally {
    rmSync(lock, {recursive: true, force: true})
  }
}

/** mkdir is atomic; a lock whose owner process is gone is taken over. Waits up to 30 minutes. */
export function acquireLock(lock: string): void {
  const deadline = Date.now() + 30 * 60_000
  for (;;) {
    try {
      mkdirSync(lock)
      writeFileSync(path.join(lock, 'pid'), String(process.pid))
      return
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    let owner = Number.NaN
    try {
      owner = Number(readFileSync(path.join(lock, 'pid'), 'utf8'))
    } catch {
      // the owner is between mkdir and writing its pid
    }
    if (Number.isInteger(owner) && !isAlive(owner)) {
      rmSync(lock, {recursive: true, force: true})
      continue
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}; remove it if no dagctl is installing`)
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500)
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The managed Airflow venv for a major version (python/requirements/airflow-N.txt). */
export function ensureAirflowEnv(version: AirflowMajor, options: EnsureVenvOptions = {}): VenvInfo {
  return ensureVenv(airflowRequirementsFile(version), `airflow-${version}`, options)
}

/** The managed Airflow venv for a major version when it is already built (never builds). */
export function findAirflowEnv(version: AirflowMajor, env: NodeJS.ProcessEnv = process.env): VenvInfo | undefined {
  return findVenv(airflowRequirementsFile(version), `airflow-${version}`, env)
}
