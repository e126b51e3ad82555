import {existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {BUILTIN_TEMPLATES_DIR} from '../render/environment.js'

export const CI_KINDS = ['gitlab', 'github'] as const
export type CiKind = (typeof CI_KINDS)[number]

/** The stable --json shape of what `dagctl init --ci` did. Paths are relative to the repository root. */
export interface CiScaffoldResult {
  kind: CiKind
  /** the file the pipeline lives in, relative to `repositoryRoot` */
  file: string
  repositoryRoot: string
  /** the package's folder relative to the repository root (`.` at the root) */
  packageDir: string
  created: boolean
  /** when the file existed: what to add to it by hand (it is never overwritten) */
  snippet?: string
}

/** Where the package's repository starts: the nearest folder upwards with a .git, else the package itself. */
export function repositoryRootOf(packageRoot: string): string {
  for (let dir = path.resolve(packageRoot); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, '.git'))) return dir
    if (path.dirname(dir) === dir) return path.resolve(packageRoot)
  }
}

const TEMPLATE_REF = (version: string) => `v${version}`

export function gitlabInclude(packageDir: string, version: string): string {
  return [
    '# dagctl: validate on merge requests, publish to dev from the default branch and to prod from tags',
    '# (docs/ci.md in dagctl). platform/dagctl is where your platform team keeps dagctl: change it if needed.',
    'include:',
    '  - project: platform/dagctl',
    `    ref: ${TEMPLATE_REF(version)}`,
    '    file: templates/ci/gitlab/dagctl.gitlab-ci.yml',
    ...(packageDir === '.' ? [] : ['variables:', `  DAGCTL_PACKAGE_DIR: ${JSON.stringify(packageDir)}`]),
    '',
  ].join('\n')
}

export function githubWorkflow(packageDir: string, version: string): string {
  let text = readFileSync(path.join(BUILTIN_TEMPLATES_DIR, 'ci', 'github', 'example-workflow.yml'), 'utf8')
  text = text.replaceAll('platform/dagctl/templates/ci/github@v0.1.0', `platform/dagctl/templates/ci/github@${TEMPLATE_REF(version)}`)
  if (packageDir !== '.') text = text.replace(/^( +)command: /gm, (_, indent: string) => `${indent}package-dir: ${JSON.stringify(packageDir)}\n${indent}command: `)
  return text
}

/** Creates `file` with `content` only if it does not exist, in one step (a link of a finished temporary file). */
function createExclusive(file: string, content: string): boolean {
  mkdirSync(path.dirname(file), {recursive: true})
  const tmp = `${file}.dagctl-${process.pid}.tmp`
  writeFileSync(tmp, content)
  try {
    linkSync(tmp, file)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  } finally {
    rmSync(tmp, {force: true})
  }
}

/**
 * `dagctl init --ci gitlab|github`: the pipeline of the package, at its repository's root
 * (.gitlab-ci.yml with the include, or .github/workflows/dagctl.yml). An existing file is never
 * touched: the result carries what to add to it.
 */
export function scaffoldCi(kind: CiKind, packageRoot: string, version: string): CiScaffoldResult {
  const repositoryRoot = repositoryRootOf(packageRoot)
  const packageDir = path.relative(repositoryRoot, path.resolve(packageRoot)).split(path.sep).join('/') || '.'
  const file = kind === 'gitlab' ? '.gitlab-ci.yml' : '.github/workflows/dagctl.yml'
  const content = kind === 'gitlab' ? gitlabInclude(packageDir, version) : githubWorkflow(packageDir, version)
  const created = createExclusive(path.join(repositoryRoot, file), content)
  return {kind, file, repositoryRoot, packageDir, created, ...(created ? {} : {snippet: content})}
}
