import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {collectMetadata} from '../../src/release/metadata.js'
import {gitIn} from '../helpers/git.js'

/** What a release records of its commit, from a real git repository (one git process answers both). */
describe('release metadata from git', () => {
  let repo: string
  let outside: string
  let sha: string
  const git = (...args: string[]) => gitIn(repo)(...args)
  // no CI variables: this test runs in GitLab and GitHub too
  const env = {USER: 'someone'}

  beforeAll(() => {
    repo = mkdtempSync(path.join(os.tmpdir(), 'dagctl-meta-'))
    outside = mkdtempSync(path.join(os.tmpdir(), 'dagctl-meta-none-'))
    git('init', '-q', '-b', 'feature/x')
    writeFileSync(path.join(repo, 'a.py'), 'x = 1\n')
    git('add', 'a.py')
    git('commit', '-q', '-m', 'one')
    sha = git('rev-parse', 'HEAD')
  })
  afterAll(() => {
    rmSync(repo, {recursive: true, force: true})
    rmSync(outside, {recursive: true, force: true})
  })

  it('names the commit and the branch', async () => {
    expect((await collectMetadata(repo, env)).git).toEqual({sha, branch: 'feature/x'})
  })

  it('a detached checkout (as CI clones) has the commit and no branch', async () => {
    git('checkout', '-q', '--detach')
    try {
      expect((await collectMetadata(repo, env)).git).toEqual({sha, branch: undefined})
    } finally {
      git('checkout', '-q', 'feature/x')
    }
  })

  it('outside a repository: neither, and no error', async () => {
    expect((await collectMetadata(outside, env)).git).toEqual({sha: undefined, branch: undefined})
  })

  it("CI's variables win over git", async () => {
    const m = await collectMetadata(repo, {...env, GITLAB_CI: 'true', CI_COMMIT_SHA: 'c1', CI_COMMIT_REF_NAME: 'main', CI_JOB_URL: 'https://gitlab.example/j/1'})
    expect(m.git).toEqual({sha: 'c1', branch: 'main'})
    expect(m.ci).toEqual({provider: 'gitlab', jobUrl: 'https://gitlab.example/j/1'})
    // only one of the two from CI: the other still from git
    expect((await collectMetadata(repo, {...env, GITHUB_ACTIONS: 'true', GITHUB_SHA: 'g1'})).git).toEqual({sha: 'g1', branch: 'feature/x'})
  })
})
