import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {readGitHead} from '../../src/release/git-head.js'
import {collectMetadata} from '../../src/release/metadata.js'
import {gitIn} from '../helpers/git.js'

/**
 * HEAD read from the repository's files (src/release/git-head.ts) against what real git prints
 * (`git rev-parse HEAD --abbrev-ref HEAD`), in each layout it reads; where it answers undefined,
 * the caller asks git itself, so only a wrong answer is a failure.
 */
describe("HEAD from the repository's files, as git says it", () => {
  let root: string
  let repo: string
  const git = (...args: string[]) => gitIn(repo)(...args)
  /** what git prints in `dir`: [sha, branch or undefined when detached] */
  const fromGit = (dir: string) => {
    const [sha, branch] = gitIn(dir)('rev-parse', 'HEAD', '--abbrev-ref', 'HEAD').split('\n')
    return branch === 'HEAD' ? {sha} : {sha, branch}
  }
  const env = {}

  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'dagctl-githead-'))
    repo = path.join(root, 'repo')
    mkdirSync(path.join(repo, 'dags', 'deep'), {recursive: true})
    git('init', '-q', '-b', 'feature/x')
    writeFileSync(path.join(repo, 'dags', 'a.py'), 'x = 1\n')
    git('add', '.')
    git('commit', '-q', '-m', 'one')
  })
  afterAll(() => rmSync(root, {recursive: true, force: true}))

  it('a branch (loose ref), from the top and from a folder inside', () => {
    expect(readGitHead(repo, env)).toEqual(fromGit(repo))
    expect(readGitHead(path.join(repo, 'dags', 'deep'), env)).toEqual(fromGit(repo))
    expect(readGitHead(repo, env)).toMatchObject({branch: 'feature/x'})
  })

  it('packed refs only, then a newer loose ref over the packed one', () => {
    git('pack-refs', '--all')
    expect(readGitHead(repo, env)).toEqual(fromGit(repo))
    writeFileSync(path.join(repo, 'dags', 'b.py'), 'y = 2\n')
    git('add', '.')
    git('commit', '-q', '-m', 'two')
    expect(readGitHead(repo, env)).toEqual(fromGit(repo))
  })

  it('a detached HEAD (as CI clones check out)', () => {
    git('checkout', '-q', '--detach')
    try {
      expect(readGitHead(repo, env)).toEqual(fromGit(repo))
      expect(readGitHead(repo, env)).not.toHaveProperty('branch')
    } finally {
      git('checkout', '-q', 'feature/x')
    }
  })

  it('a worktree (a .git file, refs in the main folder), on a branch and detached', () => {
    const wt = path.join(root, 'wt')
    git('worktree', 'add', '-q', '-b', 'other', wt)
    expect(readGitHead(wt, env)).toEqual(fromGit(wt))
    expect(readGitHead(wt, env)).toMatchObject({branch: 'other'})
    gitIn(wt)('checkout', '-q', '--detach')
    expect(readGitHead(wt, env)).toEqual(fromGit(wt))
  })

  it('a git folder elsewhere (--separate-git-dir, as submodules have), and SHA-256 object names', () => {
    const separate = path.join(root, 'separate')
    mkdirSync(separate)
    gitIn(separate)('init', '-q', '-b', 'main', `--separate-git-dir=${path.join(root, 'separate.git')}`)
    gitIn(separate)('commit', '-q', '--allow-empty', '-m', 'one')
    expect(readGitHead(separate, env)).toEqual(fromGit(separate))
    const sha256 = path.join(root, 'sha256')
    mkdirSync(sha256)
    gitIn(sha256)('init', '-q', '-b', 'main', '--object-format=sha256')
    gitIn(sha256)('commit', '-q', '--allow-empty', '-m', 'one')
    expect(readGitHead(sha256, env)).toEqual(fromGit(sha256))
    expect((readGitHead(sha256, env) as {sha: string}).sha).toHaveLength(64)
  })

  it('leaves to git what it does not read: no commit yet, a tag named like the branch, GIT_DIR, reftable, a bare repository', () => {
    const empty = path.join(root, 'empty')
    mkdirSync(empty)
    gitIn(empty)('init', '-q', '-b', 'main')
    expect(readGitHead(empty, env)).toBeUndefined()
    git('tag', 'feature/x')
    try {
      expect(fromGit(repo).branch).toBe('heads/feature/x') // what git prints then
      expect(readGitHead(repo, env)).toBeUndefined()
    } finally {
      git('tag', '-d', 'feature/x')
    }
    expect(readGitHead(repo, {GIT_DIR: path.join(empty, '.git')})).toBeUndefined()
    const reftable = path.join(root, 'reftable')
    mkdirSync(reftable)
    gitIn(reftable)('init', '-q', '-b', 'main')
    gitIn(reftable)('commit', '-q', '--allow-empty', '-m', 'one')
    mkdirSync(path.join(reftable, '.git', 'reftable'))
    expect(readGitHead(reftable, env)).toBeUndefined()
    const bare = path.join(root, 'bare.git')
    gitIn(root)('clone', '-q', '--bare', repo, bare)
    expect(readGitHead(bare, env)).toBeUndefined()
  })

  it('outside any repository: says so', () => {
    const outside = mkdtempSync(path.join(os.tmpdir(), 'dagctl-githead-none-'))
    try {
      expect(readGitHead(outside, env)).toBe('no-repository')
    } finally {
      rmSync(outside, {recursive: true, force: true})
    }
  })

  it('a release records its commit and branch without running git (none on PATH)', async () => {
    const {sha} = fromGit(repo)
    const saved = process.env.PATH
    process.env.PATH = path.join(root, 'no-such-bin')
    try {
      expect((await collectMetadata(repo, {USER: 'someone'})).git).toEqual({sha, branch: 'feature/x'})
    } finally {
      process.env.PATH = saved
    }
  })
})
