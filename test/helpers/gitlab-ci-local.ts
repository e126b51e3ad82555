import {execa} from 'execa'
import {chmodSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {expect} from 'vitest'

import {budget} from './budget.js'
import {BIN, REPO_ROOT, runCli} from './cli.js'
import {tempDir} from './tmp.js'

/**
 * A package made by `dagctl init` in a git repository of its own (branch main), whose .gitlab-ci.yml
 * includes the GitLab template (templates/ci/gitlab/dagctl.gitlab-ci.yml) as a package would, and
 * runs pipelines with gitlab-ci-local (a devDependency) in its shell executor. dagctl is on PATH as
 * the job's image would have it; only the variables given reach the jobs, as on a runner.
 */
const TEMPLATE = path.join(REPO_ROOT, 'templates', 'ci', 'gitlab', 'dagctl.gitlab-ci.yml')
const GCL = path.join(REPO_ROOT, 'node_modules', '.bin', 'gitlab-ci-local')

export interface Pipeline {
  exitCode: number
  /** stdout and stderr as a job log shows them */
  log: string
  stdout: string
}

/** A package in a git repository of its own, on branch main, including the template. */
export function packageRepo(packageName = 'orders'): {dir: string; ready: Promise<void>; run: (vars: Record<string, string>, extra?: string[]) => Promise<Pipeline>; commit: (msg: string) => Promise<void>} {
  const root = tempDir({}, 'dagctl-gitlab-')
  const bin = path.join(root, 'bin')
  const dir = path.join(root, packageName)
  const home = path.join(root, 'home')
  const git = (args: string[]) => execa('git', args, {cwd: dir, env: {GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com'}})
  const setup = (async () => {
    await execa('mkdir', ['-p', bin, home])
    // dagctl on PATH, as the job's image would have it
    writeFileSync(path.join(bin, 'dagctl'), `#!/bin/sh\nexec node ${JSON.stringify(BIN)} "$@"\n`)
    chmodSync(path.join(bin, 'dagctl'), 0o755)
    const init = await runCli(['init', dir, '--package', packageName])
    expect(init.exitCode, init.stderr).toBe(0)
    const gen = await runCli(['generate'], {cwd: dir})
    expect(gen.exitCode, gen.stderr).toBe(0)
    writeFileSync(path.join(dir, 'dagctl.gitlab-ci.yml'), readFileSync(TEMPLATE))
    // the package's whole CI: the two lines docs/ci.md shows (a local include here)
    writeFileSync(path.join(dir, '.gitlab-ci.yml'), 'include:\n  - local: dagctl.gitlab-ci.yml\n')
    await git(['init', '-q', '-b', 'main'])
    await git(['remote', 'add', 'origin', `https://gitlab.example.com/team/${packageName}.git`])
    await git(['add', '-A'])
    await git(['commit', '-qm', 'first'])
  })()
  return {
    dir,
    ready: setup,
    async commit(msg) {
      await setup
      await git(['add', '-A'])
      await git(['commit', '-qm', msg])
    },
    async run(vars, extra = []) {
      await setup
      const predefined = ['CI_DEFAULT_BRANCH', ...Object.keys(vars).filter((k) => k.startsWith('CI_'))]
      const args = ['--force-shell-executor', '--no-color', '--home', home, '--ignore-predefined-vars', predefined.join(','), '--variable', 'CI_DEFAULT_BRANCH=main']
      for (const [k, v] of Object.entries(vars)) args.push('--variable', `${k}=${v}`)
      // only what a runner would give: no AWS or DAGCTL variables from the machine running the test
      const env: Record<string, string> = {PATH: `${bin}:${process.env.PATH}`, HOME: home, NO_COLOR: '1'}
      for (const k of ['DAGCTL_TEST_TIME_SCALE', 'LANG']) if (process.env[k]) env[k] = process.env[k]!
      const result = await execa(GCL, [...args, ...extra], {cwd: dir, env, extendEnv: false, reject: false, all: true, timeout: budget(300_000)})
      return {exitCode: result.exitCode ?? -1, log: result.all ?? '', stdout: result.stdout ?? ''}
    },
  }
}
