import {spawn} from 'node:child_process'
import {closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {acquireLock, cacheDir} from '../../src/python/venv.js'

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..')

/**
 * A Go program the tests run as a real peer (MinIO, Helm, etcd, kube-apiserver), built from the Go
 * module proxy once per machine and cached like the Python venvs under
 * `<cache>/<name>/<version>/bin/<binary>`, keyed by the pinned version. Either `go install
 * module@version`, or, for programs whose go.mod has replace directives (`go install` refuses
 * those), `go build pkg` inside a wrapper module kept in the repository (test/fixtures/k8s-build/).
 */
export interface GoTool {
  name: string
  version: string
  binary: string
  /** `go install <module>@<version>` */
  module?: string
  /** or `go build <pkg>` inside this folder of the repository (a wrapper module with go.mod/go.sum) */
  wrapper?: string
  pkg?: string
  ldflags?: string
  /** what the first build costs here, for the progress line */
  cost: string
}

export const MINIO: GoTool = {
  name: 'minio',
  version: 'v0.0.0-20260212201848-7aac2a2c5b7c',
  binary: 'minio',
  module: 'github.com/minio/minio',
  cost: '~7 CPU-minutes',
}

export const HELM: GoTool = {name: 'helm', version: 'v3.22.0', binary: 'helm', module: 'helm.sh/helm/v3/cmd/helm', cost: '~11 minutes, 1.1 GB of memory'}

export const ETCD: GoTool = {
  name: 'etcd',
  version: 'v3.7.3',
  binary: 'etcd',
  wrapper: 'test/fixtures/k8s-build/etcd',
  pkg: 'go.etcd.io/etcd/server/v3',
  cost: '~1.5 minutes',
}

export const KUBE_APISERVER: GoTool = {
  name: 'kube-apiserver',
  version: 'v1.34.4',
  binary: 'kube-apiserver',
  wrapper: 'test/fixtures/k8s-build/kube-apiserver',
  pkg: 'k8s.io/kubernetes/cmd/kube-apiserver',
  // without these it reports v0.0.0-master, and kubectl/helm see a server of version 0
  ldflags: '-X k8s.io/component-base/version.gitVersion=v1.34.4 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=34',
  cost: '~18 minutes, 2 GB of memory',
}

export function goToolDir(tool: GoTool, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheDir(env), tool.name, tool.version)
}

/** The cached binary when it is built (never builds). `.ready` is written last. */
export function findGoTool(tool: GoTool, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = goToolDir(tool, env)
  return existsSync(path.join(dir, '.ready')) ? path.join(dir, 'bin', tool.binary) : undefined
}

export interface EnsureGoToolOptions {
  env?: NodeJS.ProcessEnv
  onProgress?: (message: string) => void
}

/**
 * Builds the tool into the cache unless it is there, at the lowest CPU priority (test machines are
 * shared), in a child process whose output goes to `build.log` beside it, so the caller may do other
 * work meanwhile. A lock folder keeps two processes from building it at once; an interrupted build
 * (no `.ready`) is redone. Needs Go on PATH (`DAGCTL_GO` names another go).
 */
export async function ensureGoTool(tool: GoTool, options: EnsureGoToolOptions = {}): Promise<string> {
  const env = options.env ?? process.env
  const found = findGoTool(tool, env)
  if (found) return found
  const dir = goToolDir(tool, env)
  mkdirSync(path.dirname(dir), {recursive: true})
  const lock = `${dir}.lock`
  acquireLock(lock)
  try {
    const again = findGoTool(tool, env)
    if (again) return again
    rmSync(dir, {recursive: true, force: true})
    mkdirSync(path.join(dir, 'bin'), {recursive: true})
    const log = path.join(dir, 'build.log')
    const go = env.DAGCTL_GO ?? 'go'
    const binary = path.join(dir, 'bin', tool.binary)
    const ldflags = tool.ldflags ? ['-ldflags', tool.ldflags] : []
    const args = tool.module
      ? ['install', ...ldflags, `${tool.module}@${tool.version}`]
      : ['build', ...ldflags, '-o', binary, tool.pkg!]
    const cwd = tool.wrapper ? path.join(REPO_ROOT, tool.wrapper) : dir
    options.onProgress?.(`building ${tool.name} ${tool.version} from the Go module proxy into ${dir} (first run only, ${tool.cost}; log: ${log})`)
    const fd = openSync(log, 'w')
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn('nice', ['-n', '19', go, ...args], {
        cwd,
        env: {...env, GOBIN: path.join(dir, 'bin'), GOFLAGS: [env.GOFLAGS, '-buildvcs=false'].filter(Boolean).join(' ')},
        stdio: ['ignore', fd, fd],
      })
      child.once('error', (error) =>
        reject(
          (error as NodeJS.ErrnoException).code === 'ENOENT'
            ? new Error(`building ${tool.name} for the tests needs Go (${go} not found on PATH): install Go ≥ 1.24 (https://go.dev/dl) or set DAGCTL_GO`)
            : error,
        ),
      )
      child.once('exit', (c, signal) => resolve(c ?? (signal ? 128 : 1)))
    }).finally(() => closeSync(fd))
    if (code !== 0 || !existsSync(binary)) throw new Error(`building ${tool.name} failed (exit ${code}); see ${log}`)
    writeFileSync(path.join(dir, '.ready'), `${new Date().toISOString()}\n${tool.module ?? tool.pkg}@${tool.version}\n`)
    return binary
  } catch (error) {
    rmSync(path.join(dir, '.ready'), {force: true})
    throw error
  } finally {
    rmSync(lock, {recursive: true, force: true})
  }
}
