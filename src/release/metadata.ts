import {execFile} from 'node:child_process'
import {readFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {readGitHead} from './git-head.js'

export interface ReleaseMetadata {
  author: string
  git: {sha?: string; branch?: string}
  ci?: {provider: string; jobUrl?: string}
  dagctlVersion: string
}

let version: string | undefined
export function dagctlVersion(): string {
  version ??= (JSON.parse(readFileSync(path.resolve(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as {version: string}).version
  return version
}

function git(cwd: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('git', args, {cwd, timeout: 5000}, (error, stdout) => resolve(error ? undefined : stdout.trim() || undefined))
  })
}

async function fromGit(cwd: string, env: NodeJS.ProcessEnv): Promise<Array<string | undefined>> {
  const read = readGitHead(cwd, env)
  if (read === 'no-repository') return []
  if (read) return [read.sha, read.branch]
  return (await git(cwd, ['rev-parse', 'HEAD', '--abbrev-ref', 'HEAD']))?.split('\n') ?? []
}

/** Who and what published: CI variables (GitLab, GitHub) first, then git and the local user. */
export async function collectMetadata(cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<ReleaseMetadata> {
  let ci: ReleaseMetadata['ci']
  if (env.GITLAB_CI) ci = {provider: 'gitlab', jobUrl: env.CI_JOB_URL}
  else if (env.GITHUB_ACTIONS) {
    ci = {
      provider: 'github',
      jobUrl: env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}` : undefined,
    }
  }
  const ciSha = env.CI_COMMIT_SHA ?? env.GITHUB_SHA
  const ciBranch = env.CI_COMMIT_REF_NAME ?? env.GITHUB_HEAD_REF ?? env.GITHUB_REF_NAME
  // From the repository's files where they plainly say it (src/release/git-head.ts), else from one
  // git process (a spawn costs the main thread several ms of CPU): `rev-parse HEAD --abbrev-ref
  // HEAD` prints the commit, then the branch (`HEAD` when detached).
  const [gitSha, gitBranch] = ciSha && ciBranch ? [] : await fromGit(cwd, env)
  const sha = ciSha ?? gitSha
  const branch = ciBranch ?? gitBranch
  let user: string | undefined
  try {
    user = os.userInfo().username
  } catch {
    user = undefined
  }
  const author = env.DAGCTL_AUTHOR ?? env.GITLAB_USER_LOGIN ?? env.GITHUB_ACTOR ?? env.USER ?? user ?? 'unknown'
  return {author, git: {sha, branch: branch === 'HEAD' ? undefined : branch}, ci, dagctlVersion: dagctlVersion()}
}
