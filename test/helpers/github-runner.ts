import {execa} from 'execa'
import {chmodSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {expect} from 'vitest'
import {parse} from 'yaml'

import {budget} from './budget.js'
import {BIN, REPO_ROOT, runCli} from './cli.js'
import {tempDir} from './tmp.js'

/**
 * Runs the steps of the dagctl composite action (templates/ci/github/action.yml) the way a GitHub
 * runner does: bash, the GITHUB_* variables, summary and output files, inputs with their defaults,
 * on a package made by `dagctl init` in packages/<name>/ of a git repository.
 */
export const ACTION_DIR = path.join(REPO_ROOT, 'templates', 'ci', 'github')

export interface Action {
  inputs: Record<string, {default?: string; required?: boolean}>
  outputs: Record<string, {value: string}>
  runs: {using: string; steps: Array<{id?: string; shell: string; run: string; env?: Record<string, string>}>}
}
export const action = () => parse(readFileSync(path.join(ACTION_DIR, 'action.yml'), 'utf8')) as Action

/** `${{ inputs.x }}` is the only expression the steps use (checked below), so this is the runner's whole evaluation. */
function evaluate(value: string, inputs: Record<string, string>): string {
  return value.replace(/\$\{\{\s*inputs\.([\w-]+)\s*\}\}/g, (_, name: string) => inputs[name] ?? '')
}

export interface Run {
  exitCode: number
  stdout: string
  stderr: string
  summary: string
  outputs: Record<string, string>
}

export function workspace(packageName = 'orders') {
  const root = tempDir({}, 'dagctl-gh-')
  const ws = path.join(root, 'workspace')
  const pkg = path.join(ws, 'packages', packageName)
  const bin = path.join(root, 'bin')
  const runnerTemp = path.join(root, 'runner-temp')
  mkdirSync(bin, {recursive: true})
  mkdirSync(runnerTemp, {recursive: true})
  writeFileSync(path.join(bin, 'dagctl'), `#!/bin/sh\nexec node ${JSON.stringify(BIN)} "$@"\n`)
  chmodSync(path.join(bin, 'dagctl'), 0o755)
  const git = (args: string[]) => execa('git', args, {cwd: ws, env: {GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com'}})
  const ready = (async () => {
    mkdirSync(ws, {recursive: true})
    expect((await runCli(['init', pkg, '--package', packageName])).exitCode).toBe(0)
    expect((await runCli(['generate'], {cwd: pkg})).exitCode).toBe(0)
    await git(['init', '-q', '-b', 'main'])
    await git(['add', '-A'])
    await git(['commit', '-qm', 'first DAGs'])
  })()
  let n = 0
  return {
    ws,
    pkg,
    ready,
    /** runs every step of the action with `with:` inputs and a job's `env:` */
    async run(withInputs: Record<string, string>, jobEnv: Record<string, string> = {}): Promise<Run> {
      await ready
      const a = action()
      const inputs = Object.fromEntries(Object.entries(a.inputs).map(([k, v]) => [k, withInputs[k] ?? v.default ?? '']))
      const summaryFile = path.join(runnerTemp, `summary-${++n}.md`)
      const outputFile = path.join(runnerTemp, `output-${n}`)
      writeFileSync(summaryFile, '')
      writeFileSync(outputFile, '')
      const runner = {
        PATH: `${bin}:${process.env.PATH}`,
        HOME: root,
        CI: 'true',
        GITHUB_ACTIONS: 'true',
        GITHUB_WORKSPACE: ws,
        GITHUB_ACTION_PATH: ACTION_DIR,
        GITHUB_STEP_SUMMARY: summaryFile,
        GITHUB_OUTPUT: outputFile,
        GITHUB_ENV: path.join(runnerTemp, 'env'),
        GITHUB_REPOSITORY: 'team/orders',
        GITHUB_SERVER_URL: 'https://github.com',
        GITHUB_RUN_ID: '4242',
        GITHUB_RUN_ATTEMPT: '1',
        GITHUB_SHA: 'a'.repeat(40),
        GITHUB_REF_NAME: 'main',
        GITHUB_ACTOR: 'octocat',
        RUNNER_TEMP: runnerTemp,
        NO_COLOR: '1',
      }
      let last = {exitCode: 0, stdout: '', stderr: ''}
      for (const step of a.runs.steps) {
        const env = {...runner, ...jobEnv, ...Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, evaluate(v, inputs)]))}
        // what the runner does for `shell: bash`
        const script = path.join(runnerTemp, `step-${n}.sh`)
        writeFileSync(script, step.run)
        const r = await execa('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {cwd: ws, env, extendEnv: false, reject: false, timeout: budget(240_000)})
        last = {exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr}
        if (last.exitCode !== 0) break
      }
      const outputs = Object.fromEntries(
        readFileSync(outputFile, 'utf8')
          .split('\n')
          .filter((l) => l.includes('='))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      )
      return {...last, summary: readFileSync(summaryFile, 'utf8'), outputs}
    },
    async commit(msg: string) {
      await git(['add', '-A'])
      await git(['commit', '-qm', msg])
    },
  }
}
