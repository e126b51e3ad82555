import {chmodSync, existsSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, inject, it} from 'vitest'

import {budget} from '../helpers/budget.js'
import {runCli} from '../helpers/cli.js'
import {tempDir, writeFiles} from '../helpers/tmp.js'

// `dagctl validate` starts its Python helper before the configuration is read, on a guess
// (src/check/speculate.ts): python3 on PATH here, as neither --python, DAGCTL_PYTHON nor a managed
// venv names another. These runs put interpreters on PATH and in dagctl.yaml that log their start
// (`<name> <pid> <args>`) before they exec the real python, so that a test sees which ran and which
// died. A guess killed very early may die before it logs: the tests allow for that.
const DAG = 'from airflow.sdk import DAG\n\nDAG(dag_id="team_a_daily", schedule="@daily")\n'

function setup(config: string): {dir: string; log: string; env: Record<string, string | undefined>} {
  const dir = tempDir()
  const log = path.join(dir, 'pythons.log')
  const wrapper = (name: string) => `#!/bin/sh\necho "${name} $$ $*" >> "${log}"\nexec "${inject('testPython')}" "$@"\n`
  writeFiles(dir, {
    'bin/python3': wrapper('default'),
    'configured-python': wrapper('configured'),
    'pkg/dagctl.yaml': config,
    'pkg/dags/daily.py': DAG,
  })
  chmodSync(path.join(dir, 'bin', 'python3'), 0o755)
  chmodSync(path.join(dir, 'configured-python'), 0o755)
  // no managed venv in this cache folder, no interpreter named by the environment
  const env = {PATH: `${path.join(dir, 'bin')}:${process.env.PATH}`, DAGCTL_CACHE_DIR: path.join(dir, 'cache'), DAGCTL_PYTHON: undefined, DAGCTL_AIRFLOW_VERSION: undefined}
  return {dir, log, env}
}

interface Start {
  name: string
  pid: number
  args: string[]
}

const started = (log: string): Start[] =>
  (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []).map((line) => {
    const [name, pid, ...args] = line.split(' ')
    return {name, pid: Number(pid), args}
  })

/** running: not gone, and not a zombie that its new parent (whatever adopted it when dagctl exited) has yet to reap */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    // /proc/PID/stat: "pid (comm) state ...", comm may hold spaces
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2))
  } catch {
    return false
  }
}

/** waits (no fixed sleep) until the process is gone; false if it outlives the budget */
async function gone(pid: number): Promise<boolean> {
  const until = Date.now() + budget(30_000)
  while (alive(pid)) {
    if (Date.now() > until) return false
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return true
}

describe('validate starts its helper early, on a guess the configuration checks', () => {
  it('when the configuration agrees with the guess, the early process is the one that validates: one interpreter starts', async () => {
    const {dir, log, env} = setup('package: team_a\n')
    const res = await runCli(['validate', '--engine', 'ast', '--json'], {cwd: path.join(dir, 'pkg'), env})
    expect(res.exitCode, res.stderr).toBe(0)
    expect(res.json().summary).toMatchObject({files: 1, dags: 1, errors: 0})
    expect(started(log).map((s) => s.name)).toEqual(['default'])
  })

  it('when dagctl.yaml names another python, no guess is made: that python validates', async () => {
    const {dir, log, env} = setup('package: team_a\npython: ../configured-python\n')
    const res = await runCli(['validate', '--engine', 'ast', '--json'], {cwd: path.join(dir, 'pkg'), env})
    expect(res.exitCode, res.stderr).toBe(0)
    expect(res.json().summary).toMatchObject({files: 1, dags: 1, errors: 0})
    expect(started(log).map((s) => s.name)).toEqual(['configured'])
  })

  it('a python that dagctl.yaml names where the text peek misses it (flow style): the guess is killed unread and that python validates', async () => {
    const {dir, log, env} = setup('{package: team_a, python: ../configured-python}\n')
    const res = await runCli(['validate', '--engine', 'ast', '--json'], {cwd: path.join(dir, 'pkg'), env})
    expect(res.exitCode, res.stderr).toBe(0)
    expect(res.json().summary).toMatchObject({files: 1, dags: 1, errors: 0})
    const runs = started(log)
    expect(runs.filter((s) => s.name === 'configured')).toHaveLength(1)
    expect(runs.filter((s) => s.name === 'default').length).toBeLessThanOrEqual(1)
    for (const guess of runs.filter((s) => s.name === 'default')) expect(await gone(guess.pid)).toBe(true)
  })

  it('validate.engine of dagctl.yaml is part of the guess: one interpreter, run as the ast engine (-S)', async () => {
    const {dir, log, env} = setup('package: team_a\nvalidate:\n  engine: ast\n')
    const res = await runCli(['validate', '--json'], {cwd: path.join(dir, 'pkg'), env})
    expect(res.exitCode, res.stderr).toBe(0)
    expect(res.json()).toMatchObject({engine: 'ast', summary: {files: 1, dags: 1}})
    expect(started(log).map((s) => [s.name, s.args[0]])).toEqual([['default', '-S']])
  })

  it('an engine the guess gets wrong (flow style again): the guess (auto) is not taken, the ast engine runs as configured (-S)', async () => {
    const {dir, log, env} = setup('{package: team_a, validate: {engine: ast}}\n')
    const res = await runCli(['validate', '--json'], {cwd: path.join(dir, 'pkg'), env})
    expect(res.exitCode, res.stderr).toBe(0)
    expect(res.json()).toMatchObject({engine: 'ast', summary: {files: 1, dags: 1}})
    const runs = started(log)
    const [validating, ...guesses] = [...runs].reverse()
    expect(validating.args[0]).toBe('-S')
    expect(guesses.map((s) => s.args[0])).not.toContain('-S')
    expect(guesses.length).toBeLessThanOrEqual(1)
    for (const guess of guesses) expect(await gone(guess.pid)).toBe(true)
  })

  it('a command that fails before it validates (a broken dagctl.yaml) exits at once and leaves no helper running', async () => {
    const {dir, log, env} = setup('package: team_a\nno_such_key: 1\n')
    const res = await runCli(['validate', '--engine', 'ast', '--json'], {cwd: path.join(dir, 'pkg'), env})
    expect(res.exitCode).toBe(2)
    expect(res.json().error.message).toContain('no_such_key')
    const runs = started(log)
    expect(runs.length).toBeLessThanOrEqual(1)
    for (const guess of runs) expect(await gone(guess.pid)).toBe(true)
  })

  it('--help starts no helper', async () => {
    const {dir, log, env} = setup('package: team_a\n')
    const res = await runCli(['validate', '--help'], {cwd: path.join(dir, 'pkg'), env})
    expect(res.exitCode, res.stderr).toBe(0)
    expect(started(log)).toEqual([])
  })
})
