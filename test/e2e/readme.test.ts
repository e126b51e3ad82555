import {execa} from 'execa'
import {readFileSync, symlinkSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {REPO_ROOT} from '../helpers/cli.js'
import {tempDir} from '../helpers/tmp.js'

/** The README's first command, exactly as written, minus the install steps the suite has done already. */
describe("README's first command", () => {
  it('creates, generates, validates, publishes and lists the example package on the local store', async () => {
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8')
    const command = /```sh\n(.+)\n```/.exec(readme)![1]
    const install = 'npm ci && npm run build && '
    expect(command.startsWith(install)).toBe(true)
    const dir = tempDir()
    symlinkSync(path.join(REPO_ROOT, 'bin'), path.join(dir, 'bin'))
    // DAGCTL_PYTHON: a fresh machine has no managed Airflow venv, so validate runs the ast engine there
    const res = await execa('bash', ['-c', command.slice(install.length)], {cwd: dir, env: {NO_COLOR: '1', DAGCTL_PYTHON: 'python3'}, reject: false})
    expect(res.exitCode, res.stdout + res.stderr).toBe(0)
    // init's layout, loader:250: a loader Airflow parses and the module of its DAGs' code
    expect(res.stdout).toMatch(/example\s+1\s+2\s/)
    expect(res.stdout).toMatch(/generated\/example-loader-001\.py/)
    expect(res.stdout).toMatch(/generated\/_dagctl\/example-loader-001\.py\s+example_daily_report\s/)
    // A second run changes nothing and still succeeds (init skips, publish makes no release).
    const again = await execa('bash', ['-c', `cd .. && ${command.slice(install.length)}`], {cwd: path.join(dir, 'example'), env: {NO_COLOR: '1', DAGCTL_PYTHON: 'python3'}, reject: false})
    expect(again.exitCode, again.stdout + again.stderr).toBe(0)
  })
})
