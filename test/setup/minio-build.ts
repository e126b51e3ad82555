import {spawn} from 'node:child_process'
import {closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {acquireLock, cacheDir} from '../../src/python/venv.js'

/**
 * MinIO, the second real S3 server of the tests and benchmarks (beside moto): a Go program built
 * from the Go module proxy once per machine, cached like the Python venvs under
 * `<cache>/minio/<version>/bin/minio`, keyed by the pinned version. `.ready` is written last, so an
 * interrupted build is redone; a lock folder keeps two processes from building it at once.
 */
export const MINIO_MODULE = 'github.com/minio/minio'
export const MINIO_VERSION = 'v0.0.0-20260212201848-7aac2a2c5b7c'

export function minioDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheDir(env), 'minio', MINIO_VERSION)
}

/** The cached MinIO binary when it is built (never builds). */
export function findMinio(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = minioDir(env)
  return existsSync(path.join(dir, '.ready')) ? path.join(dir, 'bin', 'minio') : undefined
}

export interface EnsureMinioOptions {
  env?: NodeJS.ProcessEnv
  onProgress?: (message: string) => void
}

/**
 * Builds MinIO into the cache unless it is there (`go install`, about 7 CPU-minutes, at the lowest
 * CPU priority since test machines are shared). The build runs in a child process whose output goes
 * to `build.log` beside it, so the caller may do other work meanwhile (the global setup builds the
 * venvs). Needs Go on PATH (`DAGCTL_GO` names another go).
 */
export async function ensureMinio(options: EnsureMinioOptions = {}): Promise<string> {
  const env = options.env ?? process.env
  const found = findMinio(env)
  if (found) return found
  const dir = minioDir(env)
  mkdirSync(path.dirname(dir), {recursive: true})
  const lock = `${dir}.lock`
  acquireLock(lock)
  try {
    const again = findMinio(env)
    if (again) return again
    rmSync(dir, {recursive: true, force: true})
    mkdirSync(dir, {recursive: true})
    const log = path.join(dir, 'build.log')
    const go = env.DAGCTL_GO ?? 'go'
    options.onProgress?.(`building MinIO ${MINIO_VERSION} from the Go module proxy into ${dir} (first run only, ~7 CPU-minutes; log: ${log})`)
    const fd = openSync(log, 'w')
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn('nice', ['-n', '19', go, 'install', `${MINIO_MODULE}@${MINIO_VERSION}`], {
        env: {...env, GOBIN: path.join(dir, 'bin'), GOFLAGS: [env.GOFLAGS, '-buildvcs=false'].filter(Boolean).join(' ')},
        stdio: ['ignore', fd, fd],
      })
      child.once('error', (error) =>
        reject(
          (error as NodeJS.ErrnoException).code === 'ENOENT'
            ? new Error(`building MinIO for the S3 tests needs Go (${go} not found on PATH): install Go ≥ 1.24 (https://go.dev/dl) or set DAGCTL_GO`)
            : error,
        ),
      )
      child.once('exit', (c, signal) => resolve(c ?? (signal ? 128 : 1)))
    }).finally(() => closeSync(fd))
    const binary = path.join(dir, 'bin', 'minio')
    if (code !== 0 || !existsSync(binary)) throw new Error(`building MinIO failed (exit ${code}); see ${log}`)
    writeFileSync(path.join(dir, '.ready'), `${new Date().toISOString()}\n${MINIO_MODULE}@${MINIO_VERSION}\n`)
    return binary
  } catch (error) {
    rmSync(path.join(dir, '.ready'), {force: true})
    throw error
  } finally {
    rmSync(lock, {recursive: true, force: true})
  }
}
