import {existsSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {REPO_ROOT, runCli} from '../helpers/cli.js'
import {tempDir} from '../helpers/tmp.js'

const DAG = `import pendulum
from airflow.sdk import DAG

with DAG(dag_id="team_a_daily", schedule="@daily", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False):
    pass
`

/** Every command that takes --env, from the manifest the binary runs with, and the arguments it needs. */
function commandsWithEnv(): Array<{id: string; argv: string[]}> {
  const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, {flags: Record<string, unknown>}>}
  const extra: Record<string, string[]> = {runs: ['team_a_daily'], trigger: ['team_a_daily'], rollback: ['--yes'], sync: ['--to', 'synced', '--once']}
  return Object.entries(manifest.commands)
    .filter(([, c]) => 'env' in c.flags)
    .map(([id]) => ({id, argv: [...id.split(':'), ...(extra[id] ?? [])]}))
}

describe('an environment must exist (every command with --env)', () => {
  it('the manifest has the commands this test is about', () => {
    const ids = commandsWithEnv().map((c) => c.id)
    for (const id of ['config', 'publish', 'list', 'releases', 'diff', 'rollback', 'fsck', 'trigger', 'runs', 'errors']) expect(ids).toContain(id)
  })

  it('an undefined --env is exit 2 naming the environments that exist, for every command that takes --env', async () => {
    const dir = tempDir({
      'dagctl.yaml': 'package: team_a\nenvironments:\n  dev: {}\n  prod:\n    store: file://prod-store\n    airflow:\n      url: http://127.0.0.1:9\n',
      'dags/daily.py': DAG,
    })
    for (const {id, argv} of commandsWithEnv()) {
      const human = await runCli([...argv, '--env', 'prdo'], {cwd: dir})
      expect(human.exitCode, `${id}: ${human.stderr}`).toBe(2)
      expect(human.stderr, id).toContain("environment 'prdo' is not defined in dagctl.yaml (environments: dev, prod)")
      expect(human.stdout, id).toBe('')
      const json = await runCli([...argv, '--env', 'prdo', '--json'], {cwd: dir})
      expect(json.exitCode, id).toBe(2)
      expect(json.json().error, id).toMatchObject({code: 'ENV_UNKNOWN', exitCode: 2, details: {env: 'prdo', environments: ['dev', 'prod']}})
      // DAGCTL_ENV is the same choice as --env
      const viaEnv = await runCli(argv, {cwd: dir, env: {DAGCTL_ENV: 'prdo'}})
      expect(viaEnv.exitCode, id).toBe(2)
    }
    expect(existsSync(path.join(dir, '.dagctl', 'store')), 'nothing was written to any store').toBe(false)
  })

  it('publish --env prdo exits 2 and writes nothing; the defined env publishes', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\nenvironments:\n  dev: {}\n', 'dags/daily.py': DAG})
    const res = await runCli(['publish', '--env', 'prdo', '-m', 'oops', '--no-validate'], {cwd: dir})
    expect(res.exitCode).toBe(2)
    expect(res.stderr).toMatch(/Hint: Pass --env dev, or add environments\.prdo to dagctl\.yaml/)
    expect(res.stdout).not.toContain('Published')
    expect(existsSync(path.join(dir, '.dagctl'))).toBe(false)
    const ok = await runCli(['publish', '--env', 'dev', '-m', 'ok', '--no-validate'], {cwd: dir})
    expect(ok.exitCode, ok.stderr).toBe(0)
    expect(existsSync(path.join(dir, '.dagctl', 'store'))).toBe(true)
  })

  it('dev is implicit (the local store) only when dagctl.yaml defines no environment', async () => {
    const none = tempDir({'dagctl.yaml': 'package: team_a\n'})
    const dev = await runCli(['config', '--json'], {cwd: none})
    expect(dev.exitCode).toBe(0)
    expect(dev.json().env).toBe('dev')
    const other = await runCli(['config', '--env', 'prod'], {cwd: none})
    expect(other.exitCode).toBe(2)
    expect(other.stderr).toContain('(environments: dev)')

    const onlyProd = tempDir({'dagctl.yaml': 'package: team_a\nenvironments:\n  prod:\n    store: file://prod-store\n'})
    const noDev = await runCli(['list'], {cwd: onlyProd})
    expect(noDev.exitCode).toBe(2)
    expect(noDev.stderr).toContain("environment 'dev' is not defined in dagctl.yaml (environments: prod)")
    expect((await runCli(['list', '--env', 'prod'], {cwd: onlyProd})).exitCode).toBe(0)
  })

  it('an environment of the extends: chain exists', async () => {
    const dir = tempDir({'platform.yaml': 'environments:\n  staging:\n    store: file://staging-store\n', 'dagctl.yaml': 'extends: platform.yaml\npackage: team_a\n'})
    const res = await runCli(['config', '--env', 'staging', '--json'], {cwd: dir})
    expect(res.exitCode, res.stdout).toBe(0)
    expect((await runCli(['config', '--env', 'dev'], {cwd: dir})).stderr).toContain('(environments: staging)')
  })

  it('an environment given in full by --store or DAGCTL_STORE (store commands) or --airflow-url (Airflow commands) needs no entry', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\nenvironments:\n  dev: {}\n'})
    const store = path.join(dir, 'elsewhere')
    expect((await runCli(['list', '--env', 'ops', '--store', `file://${store}`], {cwd: dir})).exitCode).toBe(0)
    const viaVar = await runCli(['config', '--env', 'ops', '--json'], {cwd: dir, env: {DAGCTL_STORE: `file://${store}`}})
    expect(viaVar.exitCode).toBe(0)
    expect(viaVar.json().sources['environments.ops.store']).toBe('env DAGCTL_STORE')
    // a store does not make an Airflow: runs still refuses, with the flag that would complete it
    const runs = await runCli(['runs', 'team_a_daily', '--env', 'ops'], {cwd: dir, env: {DAGCTL_STORE: `file://${store}`}})
    expect(runs.exitCode).toBe(2)
    expect(runs.stderr).toContain('--airflow-url URL (or DAGCTL_AIRFLOW_URL)')
    // with --airflow-url the environment is complete: the error is now Airflow's (nothing listens on port 9)
    const reach = await runCli(['runs', 'team_a_daily', '--env', 'ops', '--airflow-url', 'http://127.0.0.1:9', '--retries', '0'], {cwd: dir})
    expect(reach.exitCode, reach.stderr).toBe(4)
  })

  it("init's template publishes to dev, and refuses prod until it is defined", async () => {
    const dir = tempDir()
    expect((await runCli(['init', 'pkg'], {cwd: dir})).exitCode).toBe(0)
    const root = path.join(dir, 'pkg')
    const prod = await runCli(['publish', '--env', 'prod', '--no-validate'], {cwd: root})
    expect(prod.exitCode).toBe(2)
    expect(prod.stderr).toContain("environment 'prod' is not defined in dagctl.yaml (environments: dev)")
    expect((await runCli(['config', '--env', 'dev'], {cwd: root})).exitCode).toBe(0)
  })
})
