/** Where YAML mistakes are reported: at the mistake, with a hint that fits it. */
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {loadConfig} from '../../src/config/load.js'
import {parseYamlSource} from '../../src/config/yaml-source.js'
import type {ConfigError} from '../../src/errors.js'
import {tempDir} from '../helpers/tmp.js'

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (error) {
    return error as ConfigError
  }
  throw new Error('expected an error')
}

describe('an unclosed quote', () => {
  it('is reported at the opening quote, not where the file ends', () => {
    for (const q of ['"', "'"]) {
      const text = `name: orders\ndescription: ${q}nightly orders export\nschedule: daily\ntasks:\n`
      const err = errorOf(() => parseYamlSource('specs/orders.yaml', text, 'spec'))
      expect(err).toMatchObject({exitCode: 2, code: 'YAML_SYNTAX', location: {file: 'specs/orders.yaml', line: 2, column: 14}})
      expect(err.message).toBe('spec is not valid YAML: this quoted string is never closed')
      expect(err.hint).toMatch(/Close the quote/)
    }
  })

  it('other syntax errors keep the parser position', () => {
    const err = errorOf(() => parseYamlSource('dagctl.yaml', 'package: team_a\n  dags: x\n', 'dagctl.yaml'))
    expect(err).toMatchObject({code: 'YAML_SYNTAX', location: {line: 1, column: 10}})
    expect(err.message).not.toContain('never closed')
  })
})

describe('a missing extends: file', () => {
  it('points at the extends: line of the file that names it, with the path it resolved to, and never suggests dagctl init', () => {
    const dir = tempDir({'pkg/dagctl.yaml': 'package: team_a\n# the platform team\'s defaults\nextends: ../platform/defaults.yaml\n'})
    const err = errorOf(() => loadConfig({cwd: path.join(dir, 'pkg'), env: {}}))
    expect(err.exitCode).toBe(2)
    expect(err.message).toBe(`extends: ../platform/defaults.yaml names no file (${path.join(dir, 'platform', 'defaults.yaml')})`)
    expect(err.location).toMatchObject({file: path.join(dir, 'pkg', 'dagctl.yaml'), line: 3, key: 'extends'})
    expect(err.hint).toContain('extends:')
    expect(err.hint).not.toContain('dagctl init')
  })

  it('a missing dagctl.yaml given with --config still suggests dagctl init', () => {
    const dir = tempDir()
    const err = errorOf(() => loadConfig({cwd: dir, configPath: path.join(dir, 'dagctl.yaml'), env: {}}))
    expect(err.hint).toContain('dagctl init')
  })
})
