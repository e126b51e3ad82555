import {existsSync, readFileSync, statSync} from 'node:fs'
import path from 'node:path'

/** What readGitHead found: HEAD's commit and branch, or that no repository holds the folder. */
export type GitHeadRead = {sha: string; branch?: string} | 'no-repository'

/** Variables that change where git looks for the repository or what it reads: git itself answers then. */
const DISCOVERY_VARIABLES = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_COMMON_DIR', 'GIT_CEILING_DIRECTORIES', 'GIT_DISCOVERY_ACROSS_FILESYSTEM', 'GIT_NAMESPACE']

/**
 * HEAD's commit and branch from the repository's own files, as `git rev-parse HEAD --abbrev-ref
 * HEAD` prints them, for the layouts almost every checkout has: a `.git` folder, or a `.git` file
 * naming the folder of a worktree or a submodule; loose or packed refs; a branch or a detached
 * HEAD. It spares a publish or a rollback spawning git, which costs the main thread about 7 ms of
 * CPU. Anything else answers undefined and the caller asks git: one of DISCOVERY_VARIABLES set, a
 * bare repository, a folder across a filesystem boundary, reftable refs, a HEAD that is neither a
 * branch nor a commit, a branch without a commit yet, or a branch name a tag shares (git then
 * prints `heads/<name>`). 'no-repository' when no folder from `cwd` up holds `.git`.
 */
export function readGitHead(cwd: string, env: NodeJS.ProcessEnv = process.env): GitHeadRead | undefined {
  if (DISCOVERY_VARIABLES.some((v) => env[v] !== undefined)) return undefined
  try {
    const found = findDotGit(path.resolve(cwd))
    if (found === undefined || found === 'no-repository') return found
    const gitDir = found
    const commonDir = readCommonDir(gitDir)
    if (existsSync(path.join(commonDir, 'reftable'))) return undefined
    const head = readFileSync(path.join(gitDir, 'HEAD'), 'utf8').trim()
    if (SHA_RE.test(head)) return {sha: head}
    const ref = /^ref: (refs\/heads\/\S+)$/.exec(head)?.[1]
    if (!ref) return undefined
    const branch = ref.slice('refs/heads/'.length)
    const packed = readPacked(commonDir)
    const sha = readLoose(commonDir, ref) ?? packed.get(ref)
    if (!sha) return undefined
    if (readLoose(commonDir, `refs/tags/${branch}`) !== undefined || packed.has(`refs/tags/${branch}`)) return undefined
    return {sha, branch}
  } catch {
    return undefined
  }
}

const SHA_RE = /^[0-9a-f]{40}([0-9a-f]{24})?$/

/** The repository's git folder for `dir` (git's discovery, upwards), 'no-repository', or undefined where git's own rules would be needed. */
function findDotGit(dir: string): string | 'no-repository' | undefined {
  const device = statSync(dir).dev
  for (let at = dir; ; at = path.dirname(at)) {
    const info = statSync(at)
    if (info.dev !== device) return undefined
    const dotGit = path.join(at, '.git')
    if (existsSync(dotGit)) {
      if (statSync(dotGit).isDirectory()) return dotGit
      // a worktree or a submodule: `gitdir: <path>`, relative to the folder of the .git file
      const named = /^gitdir: (.+)$/m.exec(readFileSync(dotGit, 'utf8'))?.[1]?.trim()
      return named ? path.resolve(at, named) : undefined
    }
    // a bare repository (this folder is the git folder)
    if (existsSync(path.join(at, 'HEAD')) && existsSync(path.join(at, 'objects')) && existsSync(path.join(at, 'refs'))) return undefined
    if (path.dirname(at) === at) return 'no-repository'
  }
}

/** Where the refs are: a worktree's git folder names the main one in `commondir`. */
function readCommonDir(gitDir: string): string {
  const file = path.join(gitDir, 'commondir')
  return existsSync(file) ? path.resolve(gitDir, readFileSync(file, 'utf8').trim()) : gitDir
}

function readLoose(commonDir: string, ref: string): string | undefined {
  const file = path.join(commonDir, ...ref.split('/'))
  if (!existsSync(file)) return undefined
  const sha = readFileSync(file, 'utf8').trim()
  return SHA_RE.test(sha) ? sha : undefined
}

/** packed-refs: `<sha> <ref>` lines, `#` and `^` (peeled tags) lines aside */
function readPacked(commonDir: string): Map<string, string> {
  const file = path.join(commonDir, 'packed-refs')
  const refs = new Map<string, string>()
  if (!existsSync(file)) return refs
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([0-9a-f]{40}(?:[0-9a-f]{24})?) (\S+)$/.exec(line)
    if (m) refs.set(m[2], m[1])
  }
  return refs
}
