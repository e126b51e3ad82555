import path from 'node:path'
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'

import {tempDir} from '../helpers/tmp.js'

// The config cache's one edge the shipped CLI cannot show (its output redacts secrets): a secret
// from the environment is served with the value of the run at hand, never one stored. The cache
// is on only in a build (DAGCTL_BUILD_ID, scripts/bundle.mjs), so the modules are loaded with one.
describe('config cache: secrets from the environment', () => {
  beforeEach(() => {
    vi.resetModules()
    vi.stubEnv('DAGCTL_BUILD_ID', 'unit-test-build')
  })
  afterEach(() => vi.unstubAllEnvs())

  it('a hit carries the password and token of this run, stored nowhere', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\nenvironments:\n  dev:\n    airflow:\n      url: http://127.0.0.1:9\n'})
    vi.stubEnv('DAGCTL_CACHE_DIR', path.join(dir, '.cache'))
    const {loadConfig} = await import('../../src/config/load.js')
    const {readCachedConfig} = await import('../../src/config/cache.js')
    const options = (password: string) => ({cwd: dir, cache: true, env: {DAGCTL_AIRFLOW_PASSWORD: password, DAGCTL_AIRFLOW_TOKEN: `${password}-token`}})
    expect(readCachedConfig(options('first'))).toBeUndefined()
    const full = loadConfig(options('first'))
    const hit = readCachedConfig(options('first'))
    expect(hit?.config).toEqual(full.config)
    expect(hit?.sources).toEqual(full.sources)
    const other = readCachedConfig(options('second'))
    expect(other?.config.environments.dev.airflow).toEqual({url: 'http://127.0.0.1:9', password: 'second', token: 'second-token'})
    expect(other?.environment.airflow?.password).toBe('second')
    // without the variables, another entry: the first one's secrets are not served to it
    expect(readCachedConfig({cwd: dir, cache: true, env: {}})).toBeUndefined()
  })
})
