import {describe, expect, it} from 'vitest'

import {runCli} from '../helpers/cli.js'
import {tempDir} from '../helpers/tmp.js'

describe('base command contract (built binary)', () => {
  it('config --json returns the resolved values with secrets redacted', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\nenvironments:\n  prod:\n    airflow:\n      url: https://airflow.example.com\n      password: hunter2\n'})
    const res = await runCli(['config', '--json', '--env', 'prod'], {cwd: dir, env: {DAGCTL_AIRFLOW_TOKEN: 'tok-secret'}})
    expect(res.exitCode).toBe(0)
    const out = res.json()
    expect(out.env).toBe('prod')
    expect(out.config.environments.prod.airflow.password).toBe('********')
    expect(res.stdout).not.toContain('hunter2')
    expect(res.stdout).not.toContain('tok-secret')
  })

  it('keeps exit 2 for a config error under --json, with location and no stack', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: Team-A\n'})
    const res = await runCli(['config', '--json'], {cwd: dir})
    expect(res.exitCode).toBe(2)
    const out = res.json()
    expect(out.error).toMatchObject({code: 'CONFIG_INVALID', exitCode: 2, location: {line: 1, key: 'package'}})
    expect(res.stdout + res.stderr).not.toMatch(/\n\s+at .*\.js:\d+/)
  })

  it('prints a hint and no stack trace for humans; the stack only with --verbose', async () => {
    const dir = tempDir({})
    const plain = await runCli(['config'], {cwd: dir})
    expect(plain.exitCode).toBe(2)
    expect(plain.stderr).toMatch(/no dagctl.yaml found/)
    expect(plain.stderr).toMatch(/Hint: Run `dagctl init`/)
    expect(plain.stderr).not.toMatch(/at loadConfig/)
    const verbose = await runCli(['config', '--verbose'], {cwd: dir})
    expect(verbose.stderr).toMatch(/at loadConfig .*load\.(js|ts)/)
  })

  it('an unknown flag is a usage error (exit 2), also under --json', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\n'})
    const res = await runCli(['config', '--nope'], {cwd: dir})
    expect(res.exitCode).toBe(2)
    expect(res.stderr).toMatch(/Nonexistent flag/)
    const json = await runCli(['config', '--nope', '--json'], {cwd: dir})
    expect(json.exitCode).toBe(2)
    expect(json.json().error.exitCode).toBe(2)
  })

  it('writes no colour codes when NO_COLOR is set or stdout is not a TTY', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\npolicy:\n  nope: 1\n'})
    const res = await runCli(['config'], {cwd: dir, env: {FORCE_COLOR: '1', NO_COLOR: '1'}})
    expect(res.stderr).not.toContain('\u001B[')
  })
})
