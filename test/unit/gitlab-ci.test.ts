import {readFileSync} from 'node:fs'
import path from 'node:path'
import {Ajv} from 'ajv'
import {describe, expect, it} from 'vitest'
import {parse} from 'yaml'

import {REPO_ROOT} from '../helpers/cli.js'

const SCHEMA = path.join(REPO_ROOT, 'test', 'fixtures', 'schemas', 'gitlab-ci.schema.json')

describe('.gitlab-ci.yml', () => {
  it("is valid against GitLab's CI schema and runs the same script as CI", () => {
    const schema = JSON.parse(readFileSync(SCHEMA, 'utf8'))
    const ajv = new Ajv({strict: false, allErrors: true, validateFormats: false})
    const validate = ajv.compile(schema)
    const pipeline = parse(readFileSync(path.join(REPO_ROOT, '.gitlab-ci.yml'), 'utf8'))
    const ok = validate(pipeline)
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([])
    expect(ok).toBe(true)
    expect(pipeline.test.script).toContain('bash .ci/run')
  })

  it("the package template (templates/ci/gitlab/dagctl.gitlab-ci.yml) is valid against GitLab's CI schema", () => {
    const schema = JSON.parse(readFileSync(SCHEMA, 'utf8'))
    const validate = new Ajv({strict: false, allErrors: true, validateFormats: false}).compile(schema)
    const template = parse(readFileSync(path.join(REPO_ROOT, 'templates', 'ci', 'gitlab', 'dagctl.gitlab-ci.yml'), 'utf8'))
    validate(template)
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([])
    // what the issue asks of it, by keyword
    expect(template['dagctl-validate'].artifacts.reports).toEqual({junit: expect.any(String), codequality: expect.any(String)})
    expect(template['.dagctl-publish'].resource_group).toContain('$DAGCTL_ENV')
    expect(template['dagctl-publish-dev'].environment.name).toBe('dev')
    expect(template['dagctl-publish-prod'].environment.name).toBe('prod')
    expect(template.stages).toBeUndefined() // the package's own stages stay
    // Node's compile cache of dagctl lives in dagctl's cache folder, among the paths GitLab's cache keeps
    expect(template['.dagctl'].before_script.join('\n')).toContain('export NODE_COMPILE_CACHE="${NODE_COMPILE_CACHE:-$DAGCTL_CACHE_DIR/node-compile-cache}"')
    expect(template['.dagctl'].cache.flatMap((c: {paths: string[]}) => c.paths)).toContain('.dagctl-cache/node-compile-cache/')
  })

  it('schema check can fail: a job with an unknown keyword is rejected', () => {
    const schema = JSON.parse(readFileSync(SCHEMA, 'utf8'))
    const validate = new Ajv({strict: false, validateFormats: false}).compile(schema)
    expect(validate({test: {scirpt: ['x']}})).toBe(false)
  })
})
