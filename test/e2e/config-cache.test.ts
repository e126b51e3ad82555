import {existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {runCli} from '../helpers/cli.js'
import {tempDir} from '../helpers/tmp.js'

// The config cache (src/config/cache.ts) of the shipped bundle: a second run serves the validated
// configuration of the first from dagctl's cache folder (test/e2e/startup-loads.test.ts: without
// loading yaml or zod), never a stale one, never with a secret in it; nothing is written into the
// package, and a cache folder dagctl cannot write to changes nothing but the speed. Each package
// here has its own cache folder (DAGCTL_CACHE_DIR, beside it), to look into.

const cacheRoots = new Map<string, string>()
const cacheRoot = (dir: string) => cacheRoots.get(dir) ?? cacheRoots.set(dir, tempDir({}, 'dagctl-test-cache-')).get(dir)!
const cacheDir = (dir: string) => path.join(cacheRoot(dir), 'config')
const cacheFiles = (dir: string) => (existsSync(cacheDir(dir)) ? readdirSync(cacheDir(dir)).map((f) => path.join(cacheDir(dir), f)) : [])
const cacheEnv = (dir: string) => ({DAGCTL_CACHE_DIR: cacheRoot(dir)})

async function configJson(dir: string, env: Record<string, string> = {}, args: string[] = []) {
  const res = await runCli(['config', '--json', ...args], {cwd: dir, env: {...cacheEnv(dir), ...env}})
  expect(res.exitCode, res.stderr).toBe(0)
  return res.json<{config: Record<string, any>; sources: Record<string, string>}>()
}

describe('the config cache', () => {
  it('keeps the validated config after the first run and serves it to the next', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\n'})
    const first = await configJson(dir)
    expect(cacheFiles(dir)).toHaveLength(1)
    const written = statSync(cacheFiles(dir)[0]).mtimeMs
    const second = await configJson(dir)
    expect(second).toEqual(first)
    expect(statSync(cacheFiles(dir)[0]).mtimeMs).toBe(written) // served, not rewritten
    expect(readdirSync(dir)).toEqual(['dagctl.yaml']) // nothing in the package
  })

  it('sees an edit at once: the same size, the same mtime, other bytes', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\n'})
    const file = path.join(dir, 'dagctl.yaml')
    const second = Math.floor(Date.now() / 1000) // a whole second: the mtime is set back exactly
    utimesSync(file, second, second)
    const before = statSync(file)
    expect((await configJson(dir)).config.package).toBe('team_a')
    writeFileSync(file, 'package: team_b\n')
    utimesSync(file, second, second)
    expect(statSync(file).size).toBe(before.size)
    expect(statSync(file).mtimeMs).toBe(before.mtimeMs)
    expect((await configJson(dir)).config.package).toBe('team_b')
  })

  it('sees an edit of a file dagctl.yaml extends, and an edit that breaks the file (with its line)', async () => {
    const dir = tempDir({'dagctl.yaml': 'extends: platform/defaults.yaml\npackage: team_a\n', 'platform/defaults.yaml': 'policy:\n  retries: 2\n'})
    expect((await configJson(dir)).config.policy.retries).toBe(2)
    writeFileSync(path.join(dir, 'platform/defaults.yaml'), 'policy:\n  retries: 3\n')
    expect((await configJson(dir)).config.policy.retries).toBe(3)
    writeFileSync(path.join(dir, 'platform/defaults.yaml'), 'policy:\n  retires: 3\n')
    const broken = await runCli(['config', '--json'], {cwd: dir, env: cacheEnv(dir)})
    expect(broken.exitCode).toBe(2)
    expect(broken.json().error.location).toMatchObject({file: path.join(dir, 'platform/defaults.yaml'), line: 2, key: 'policy.retires'})
  })

  it('follows the overrides: another --store or DAGCTL_* value is another entry, never the first one\'s answer', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\n'})
    expect((await configJson(dir)).config.image).toBeUndefined()
    expect((await configJson(dir, {DAGCTL_IMAGE: 'registry.example.com/a:1'})).config.image).toBe('registry.example.com/a:1')
    expect((await configJson(dir, {DAGCTL_IMAGE: 'registry.example.com/a:2'})).config.image).toBe('registry.example.com/a:2')
    const store = await configJson(dir, {}, ['--store', 'file://elsewhere'])
    expect(store.config.environments.dev.store).toBe('file://elsewhere')
    expect(store.sources['environments.dev.store']).toBe('flag --store')
    expect((await configJson(dir)).config.environments).toEqual({})
  })

  it('writes no secret: a password from the environment is served again but never stored; a file or URL holding one is not cached', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\nenvironments:\n  dev:\n    airflow:\n      url: http://127.0.0.1:9\n'})
    const env = {DAGCTL_AIRFLOW_PASSWORD: 'pw-4f1c9e-never-on-disk', DAGCTL_AIRFLOW_TOKEN: 'tok-77ab-never-on-disk'}
    await configJson(dir, env)
    const again = await configJson(dir, env)
    expect(again.config.environments.dev.airflow).toMatchObject({password: '********', token: '********'})
    expect(again.sources['environments.dev.airflow.password']).toBe('env DAGCTL_AIRFLOW_PASSWORD')
    expect(cacheFiles(dir)).toHaveLength(1)
    for (const f of cacheFiles(dir)) expect(readFileSync(f, 'utf8')).not.toMatch(/never-on-disk|pw-4f1c9e|tok-77ab/)
    for (const f of cacheFiles(dir)) expect(statSync(f).mode & 0o777).toBe(0o600) // it copies the file, comments too: its user's alone

    const inFile = tempDir({'dagctl.yaml': 'package: team_a\nenvironments:\n  dev:\n    airflow:\n      password: pw-in-the-file\n'})
    await configJson(inFile)
    expect(cacheFiles(inFile)).toEqual([])

    const inUrl = tempDir({'dagctl.yaml': 'package: team_a\n'})
    await configJson(inUrl, {DAGCTL_AIRFLOW_URL: 'http://admin:pw-in-url@127.0.0.1:9'})
    expect(cacheFiles(inUrl)).toEqual([])
  })

  it('works where the cache cannot be written (its folder under a file): every run loads the files, with the same answers', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\n', 'not-a-folder': 'a file\n'})
    for (let i = 0; i < 2; i++) {
      const res = await runCli(['trigger', 'other_pkg_job', '--airflow-url', 'http://127.0.0.1:9'], {cwd: dir, env: {DAGCTL_CACHE_DIR: path.join(dir, 'not-a-folder', 'cache')}})
      expect(res.exitCode, res.stderr).toBe(5)
      expect(res.stderr).toContain("not on this package's trigger allowlist")
      expect(res.stderr).not.toMatch(/ENOTDIR|EEXIST|cache/i)
    }
  })

  it('an unknown --env is refused from the cache as from the files (exit 2, the environments named)', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\nenvironments:\n  prod:\n    store: file://p\n'})
    for (let i = 0; i < 2; i++) {
      const res = await runCli(['list', '--env', 'staging', '--json'], {cwd: dir, env: cacheEnv(dir)})
      expect(res.exitCode, res.stderr).toBe(2)
      expect(res.json().error).toMatchObject({code: 'ENV_UNKNOWN', details: {env: 'staging', environments: ['prod']}})
    }
    expect(cacheFiles(dir)).toHaveLength(1)
  })
})
