import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {loadConfig} from '../../src/config/load.js'
import {ConfigError} from '../../src/errors.js'
import {tempDir} from '../helpers/tmp.js'

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error('expected a ConfigError')
}

describe('loadConfig', () => {
  it('fills defaults and the embedded local store', () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\n'})
    const cfg = loadConfig({cwd: dir, env: {}})
    expect(cfg.config.dags).toBe('dags/')
    expect(cfg.config.generated).toBe('dags/generated/')
    expect(cfg.config.airflow.version).toBe(3)
    expect(cfg.environment.store).toBe('file://.dagctl/store')
    expect(cfg.sources.package).toBe('dagctl.yaml')
    expect(cfg.sources.dags).toBe('default')
  })

  it('finds dagctl.yaml in a parent folder', () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\n', 'dags/x/.keep': ''})
    expect(loadConfig({cwd: path.join(dir, 'dags', 'x'), env: {}}).root).toBe(dir)
  })

  it('names file, line and key of an unknown key', () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\npolicy:\n  owner: data\n  retires: 3\n'})
    const err = errorOf(() => loadConfig({cwd: dir, env: {}}))
    expect(err.exitCode).toBe(2)
    expect(err.location).toMatchObject({file: path.join(dir, 'dagctl.yaml'), line: 4, key: 'policy.retires'})
  })

  it('names the line of a wrong type', () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\nairflow:\n  version: 4\n'})
    const err = errorOf(() => loadConfig({cwd: dir, env: {}}))
    expect(err.location).toMatchObject({line: 3, key: 'airflow.version'})
  })

  it('reports malformed YAML with its line', () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\npolicy: [unclosed\n'})
    const err = errorOf(() => loadConfig({cwd: dir, env: {}}))
    expect(err.code).toBe('YAML_SYNTAX')
    expect(err.location.line).toBeGreaterThanOrEqual(2)
  })

  it('requires package', () => {
    const dir = tempDir({'dagctl.yaml': 'image: x\n'})
    expect(errorOf(() => loadConfig({cwd: dir, env: {}})).message).toMatch(/package/)
  })

  it('merges extends (platform) < package < env < flags and records provenance', () => {
    const dir = tempDir({
      'platform/defaults.yaml': 'policy:\n  owner: platform\n  retries: 2\n  tags: [platform]\n',
      'pkg/dagctl.yaml': 'extends: ../platform/defaults.yaml\npackage: team_a\npolicy:\n  retries: 5\n',
    })
    const cfg = loadConfig({
      cwd: path.join(dir, 'pkg'),
      env: {DAGCTL_IMAGE: 'reg/img:1', DAGCTL_STORE: 's3://from-env'},
      flagOverrides: [{path: ['environments', 'dev', 'store'], value: 'file:///tmp/flag', source: 'flag --store'}],
    })
    expect(cfg.config.policy).toMatchObject({owner: 'platform', retries: 5, tags: ['platform']})
    expect(cfg.config.image).toBe('reg/img:1')
    expect(cfg.environment.store).toBe('file:///tmp/flag')
    expect(cfg.sources['policy.owner']).toMatch(/defaults\.yaml$/)
    expect(cfg.sources['policy.retries']).toMatch(/dagctl\.yaml$/)
    expect(cfg.sources.image).toBe('env DAGCTL_IMAGE')
    expect(cfg.sources['environments.dev.store']).toBe('flag --store')
  })

  it('points at the platform file when the mistake is there', () => {
    const dir = tempDir({
      'platform.yaml': 'policy:\n  retries: many\n',
      'dagctl.yaml': 'extends: platform.yaml\npackage: team_a\n',
    })
    const err = errorOf(() => loadConfig({cwd: dir, env: {}}))
    expect(err.location).toMatchObject({file: path.join(dir, 'platform.yaml'), line: 2, key: 'policy.retries'})
  })

  it('refuses an extends loop and a URL', () => {
    const loop = tempDir({'a.yaml': 'extends: dagctl.yaml\n', 'dagctl.yaml': 'extends: a.yaml\npackage: p\n'})
    expect(errorOf(() => loadConfig({cwd: loop, env: {}})).message).toMatch(/already in the chain/)
    const url = tempDir({'dagctl.yaml': 'extends: https://example.com/x.yaml\npackage: p\n'})
    expect(errorOf(() => loadConfig({cwd: url, env: {}})).message).toMatch(/not a URL/)
  })

  it('blames the environment variable for a bad value from it', () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\n'})
    const err = errorOf(() => loadConfig({cwd: dir, env: {DAGCTL_AIRFLOW_VERSION: '7'}}))
    expect(err.hint).toMatch(/DAGCTL_AIRFLOW_VERSION/)
  })
})
