import {execa} from 'execa'

import {RemoteError, UsageError} from '../errors.js'

/**
 * The programs the kind and prod profiles drive (kind, helm, kubectl, terraform, docker): where each
 * is found, the version it reports, the version dagctl wants, and how to install it. Every call to
 * them goes through a ToolRunner, so tests and --dry-run see the exact argument lists.
 */
export type ToolName = 'kind' | 'helm' | 'kubectl' | 'terraform' | 'docker'

export interface ToolSpec {
  name: ToolName
  /** DAGCTL_<NAME> names another binary */
  envVar: string
  /** the oldest version dagctl works with, major.minor */
  minimum: [number, number]
  /** arguments that print the version */
  versionArgs: string[]
  parse: (stdout: string) => string | undefined
  install: string
}

const semver = (text: string) => /v?(\d+\.\d+(?:\.\d+)?)/.exec(text)?.[1]

export const TOOLS: Record<ToolName, ToolSpec> = {
  kind: {name: 'kind', envVar: 'DAGCTL_KIND', minimum: [0, 24], versionArgs: ['version'], parse: (s) => semver(/kind (v\S+)/.exec(s)?.[1] ?? s), install: 'go install sigs.k8s.io/kind@v0.31.0, or see https://kind.sigs.k8s.io/docs/user/quick-start/#installation'},
  helm: {name: 'helm', envVar: 'DAGCTL_HELM', minimum: [3, 14], versionArgs: ['version', '--short'], parse: semver, install: 'https://helm.sh/docs/intro/install/ (or go install helm.sh/helm/v3/cmd/helm@v3.22.0)'},
  kubectl: {
    name: 'kubectl', envVar: 'DAGCTL_KUBECTL', minimum: [1, 28], versionArgs: ['version', '--client', '-o', 'json'],
    parse: (s) => {
      try {
        return semver((JSON.parse(s) as {clientVersion?: {gitVersion?: string}}).clientVersion?.gitVersion ?? '')
      } catch {
        return semver(s)
      }
    },
    install: 'https://kubernetes.io/docs/tasks/tools/#kubectl',
  },
  terraform: {
    name: 'terraform', envVar: 'DAGCTL_TERRAFORM', minimum: [1, 5], versionArgs: ['version', '-json'],
    parse: (s) => {
      try {
        return semver((JSON.parse(s) as {terraform_version?: string}).terraform_version ?? '')
      } catch {
        return semver(s)
      }
    },
    install: 'https://developer.hashicorp.com/terraform/install',
  },
  docker: {name: 'docker', envVar: 'DAGCTL_DOCKER', minimum: [24, 0], versionArgs: ['version', '--format', '{{.Client.Version}}'], parse: semver, install: 'https://docs.docker.com/engine/install/ (kind needs a running engine)'},
}

export interface RunOptions {
  cwd?: string
  input?: string
  env?: Record<string, string>
  /** a long step: its output also goes to stderr as it comes (terraform apply, helm --wait) */
  stream?: boolean
}

export interface RunResult {
  exitCode: number
  stdout: string
  stderr: string
  /** the program could not be started (not found) */
  notFound?: boolean
}

export type ToolRunner = (binary: string, args: string[], options?: RunOptions) => Promise<RunResult>

/** Runs a program with execa; never throws for a non-zero exit. */
export const execaRunner: ToolRunner = async (binary, args, options = {}) => {
  try {
    const child = execa(binary, args, {cwd: options.cwd, input: options.input ?? '', env: options.env, reject: false, all: false, stripFinalNewline: false})
    if (options.stream) {
      child.stdout?.on('data', (d: Buffer) => process.stderr.write(d))
      child.stderr?.on('data', (d: Buffer) => process.stderr.write(d))
    }
    const r = await child
    const notFound = (r as {code?: string}).code === 'ENOENT' || /ENOENT/.test(String((r as {originalMessage?: string}).originalMessage ?? ''))
    return {exitCode: r.exitCode ?? (notFound ? 127 : 1), stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), notFound}
  } catch (error) {
    return {exitCode: 127, stdout: '', stderr: (error as Error).message, notFound: true}
  }
}

export interface ToolCheck {
  tool: ToolName
  binary: string
  found?: string
  wanted: string
  ok: boolean
  /** what is wrong, when not ok */
  problem?: 'missing' | 'too old' | 'engine not running'
  detail?: string
  install: string
}

export function toolBinary(name: ToolName, env: NodeJS.ProcessEnv): string {
  return env[TOOLS[name].envVar] || name
}

function atLeast(version: string, minimum: [number, number]): boolean {
  const [major, minor] = version.split('.').map(Number)
  return major! > minimum[0] || (major === minimum[0] && (minor ?? 0) >= minimum[1])
}

/** Each tool's version, against the one wanted. Read-only: it runs only `<tool> version`. */
export async function preflight(tools: ToolName[], env: NodeJS.ProcessEnv, run: ToolRunner): Promise<ToolCheck[]> {
  return Promise.all(tools.map(async (name) => {
    const spec = TOOLS[name]
    const binary = toolBinary(name, env)
    const wanted = `>= ${spec.minimum.join('.')}`
    const base = {tool: name, binary, wanted, install: spec.install}
    const r = await run(binary, spec.versionArgs)
    if (r.notFound) return {...base, ok: false, problem: 'missing' as const, detail: `${binary} not found${env[spec.envVar] ? ` (${spec.envVar})` : ' on PATH'}`}
    // docker prints its client's version and still exits 1 when no engine answers: read stdout regardless
    const found = r.exitCode === 0 || name === 'docker' ? spec.parse(r.stdout) : undefined
    if (!found) return {...base, ok: false, problem: 'missing' as const, detail: `\`${binary} ${spec.versionArgs.join(' ')}\` failed: ${firstLine(r.stderr || r.stdout)}`}
    if (!atLeast(found, spec.minimum)) return {...base, found, ok: false, problem: 'too old' as const}
    if (name === 'docker') {
      const engine = await run(binary, ['version', '--format', '{{.Server.Version}}'])
      if (engine.exitCode !== 0) return {...base, found, ok: false, problem: 'engine not running' as const, detail: firstLine(engine.stderr || engine.stdout)}
    }
    return {...base, found, ok: true}
  }))
}

export function firstLine(text: string): string {
  return text.trim().split('\n').find((l) => l.trim() !== '')?.trim() ?? ''
}

/** One line per tool, for people and for --dry-run. */
export function describeCheck(c: ToolCheck): string {
  const state = c.ok ? 'ok' : c.problem === 'too old' ? 'TOO OLD' : c.problem === 'missing' ? 'MISSING' : 'ENGINE NOT RUNNING'
  return `${c.tool.padEnd(10)}${(c.found ? `v${c.found}` : '-').padEnd(10)}wanted ${c.wanted.padEnd(9)}${state}${c.ok ? '' : ` — install: ${c.install}${c.detail ? ` (${c.detail})` : ''}`}`
}

/** The error for a failed preflight: every tool at fault, each with its version found, wanted and how to install it. */
export function assertPreflight(profile: string, checks: ToolCheck[]): void {
  const bad = checks.filter((c) => !c.ok)
  if (bad.length === 0) return
  const lines = bad.map((c) => `  ${describeCheck(c)}`).join('\n')
  const details = {profile, tools: checks.map(({tool, binary, found, wanted, ok, problem, install}) => ({tool, binary, found, wanted, ok, problem, install}))}
  if (bad.some((c) => c.problem === 'missing')) {
    throw new UsageError(`cluster up --profile ${profile} needs ${bad.map((c) => c.tool).join(', ')}:\n${lines}`, {code: 'TOOL_MISSING', hint: `Install what is missing (or point DAGCTL_<TOOL> at it, e.g. ${TOOLS[bad[0]!.tool].envVar}), then run it again; \`dagctl cluster up --profile ${profile} --dry-run\` shows the whole preflight.`, details})
  }
  if (bad.some((c) => c.problem === 'too old')) {
    throw new UsageError(`cluster up --profile ${profile}: a tool is older than dagctl needs:\n${lines}`, {code: 'TOOL_TOO_OLD', hint: 'Upgrade it (the line says where from), then run it again.', details})
  }
  throw new RemoteError(`cluster up --profile ${profile}: the Docker engine is not running (kind runs its nodes as containers):\n${lines}`, {code: 'DOCKER_NOT_RUNNING', hint: 'Start Docker (Docker Desktop, colima, or `sudo systemctl start docker`), check with `docker info`, then run it again.', details})
}
