import {Ajv} from 'ajv'
import {mkdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {parse} from 'yaml'

import {REPO_ROOT, runCli} from '../helpers/cli.js'
import {tempDir} from '../helpers/tmp.js'

const schema = (file: string) => new Ajv({strict: false, allErrors: true, validateFormats: false}).compile(JSON.parse(readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'schemas', file), 'utf8')))

describe('dagctl init --ci', () => {
  it('gitlab: the include at the repository root, with the package folder; valid for GitLab', async () => {
    const repo = tempDir({'.git/HEAD': 'ref: refs/heads/main\n'})
    const res = await runCli(['init', 'packages/orders', '--ci', 'gitlab', '--json'], {cwd: repo})
    expect(res.exitCode, res.stderr).toBe(0)
    expect(res.json().ci).toEqual({kind: 'gitlab', file: '.gitlab-ci.yml', repositoryRoot: repo, packageDir: 'packages/orders', created: true})
    const pipeline = parse(readFileSync(path.join(repo, '.gitlab-ci.yml'), 'utf8'))
    expect(pipeline).toEqual({
      include: [{project: 'platform/dagctl', ref: 'v0.1.0', file: 'templates/ci/gitlab/dagctl.gitlab-ci.yml'}],
      variables: {DAGCTL_PACKAGE_DIR: 'packages/orders'},
    })
    const validate = schema('gitlab-ci.schema.json')
    expect(validate(pipeline), JSON.stringify(validate.errors)).toBe(true)
    // the file it includes exists at that path
    expect(readFileSync(path.join(REPO_ROOT, pipeline.include[0].file), 'utf8')).toContain('dagctl-validate:')
  })

  it('github: the workflow, valid against the workflow schema; never overwrites, says what to add instead', async () => {
    const repo = tempDir({'.git/HEAD': 'ref: refs/heads/main\n', '.github/workflows/dagctl.yml': 'name: mine\n'})
    mkdirSync(path.join(repo, 'pkg'))
    const res = await runCli(['init', '--ci', 'github', '--package', 'orders'], {cwd: repo})
    expect(res.exitCode, res.stderr).toBe(0)
    expect(res.stdout).toContain('skipped  .github/workflows/dagctl.yml (exists; left as it is). Add this to it:')
    expect(res.stdout).toContain('uses: platform/dagctl/templates/ci/github@v0.1.0')
    expect(readFileSync(path.join(repo, '.github/workflows/dagctl.yml'), 'utf8')).toBe('name: mine\n')

    const fresh = tempDir({'.git/HEAD': 'ref: refs/heads/main\n'})
    const made = await runCli(['init', 'team/orders', '--ci', 'github', '--json'], {cwd: fresh})
    expect(made.json().ci.created).toBe(true)
    const workflow = parse(readFileSync(path.join(fresh, '.github/workflows/dagctl.yml'), 'utf8'))
    const validate = schema('github-workflow.schema.json')
    expect(validate(workflow), JSON.stringify(validate.errors)).toBe(true)
    const withs = Object.values(workflow.jobs as Record<string, {steps: Array<{uses?: string; with?: Record<string, string>}>}>)
      .flatMap((j) => j.steps)
      .filter((s) => s.uses?.startsWith('platform/dagctl/'))
    expect(withs.map((s) => s.with?.['package-dir'])).toEqual(['team/orders', 'team/orders', 'team/orders'])
  })

  it('without --ci, init says how to add the pipeline', async () => {
    const res = await runCli(['init', 'x'], {cwd: tempDir()})
    expect(res.exitCode).toBe(0)
    expect(res.stderr).toContain('CI: `dagctl init --ci gitlab` or `dagctl init --ci github` adds the pipeline')
  })
})
