import {Ajv} from 'ajv'
import {appendFileSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'
import {parse} from 'yaml'

import {REPO_ROOT, runCli} from '../helpers/cli.js'
import {ACTION_DIR, action, workspace} from '../helpers/github-runner.js'
import {MOTO_ENV, startMoto, type Moto} from '../helpers/moto.js'

/**
 * The composite action (templates/ci/github/action.yml): valid against SchemaStore's schema for
 * actions, and its steps run the way a runner runs them (bash, the GITHUB_* variables, summary and
 * output files, inputs with their defaults) on a package in a subfolder of a git repository.
 */

const SCHEMAS = path.join(REPO_ROOT, 'test', 'fixtures', 'schemas')
const SECRET = 'dagctl-gh-secret-5d21c0-never-printed'

function schemaCheck(schemaFile: string, doc: unknown) {
  const validate = new Ajv({strict: false, allErrors: true, validateFormats: false}).compile(JSON.parse(readFileSync(path.join(SCHEMAS, schemaFile), 'utf8')))
  validate(doc)
  return validate.errors ?? []
}

describe('GitHub composite action', () => {
  it("action.yml is valid against SchemaStore's github-action schema; the example workflow against the workflow schema", () => {
    expect(schemaCheck('github-action.schema.json', action())).toEqual([])
    expect(schemaCheck('github-workflow.schema.json', parse(readFileSync(path.join(ACTION_DIR, 'example-workflow.yml'), 'utf8')))).toEqual([])
    // the check can fail
    expect(schemaCheck('github-action.schema.json', {name: 'x', description: 'y', runs: {using: 'composite', stepz: []}})).not.toEqual([])
  })

  it('its steps use no expression but ${{ inputs.* }}, and values reach the script only through env', () => {
    const a = action()
    expect(a.runs.using).toBe('composite')
    for (const step of a.runs.steps) {
      expect(step.run).not.toContain('${{')
      for (const v of Object.values(step.env ?? {})) expect(v.replace(/\$\{\{\s*inputs\.[\w-]+\s*\}\}/g, '')).not.toContain('${{')
    }
    for (const o of Object.values(a.outputs)) expect(o.value).toMatch(/^\$\{\{ steps\.dagctl\.outputs\.\w+ \}\}$/)
    for (const name of ['command', 'environment', 'package-dir', 'store', 'sarif', 'junit']) expect(a.inputs).toHaveProperty(name)
  })

  describe('run as a runner runs it', () => {
    let moto: Moto
    beforeAll(async () => {
      moto = await startMoto(inject('testPython'))
    })
    afterAll(async () => {
      await moto?.stop()
    })

    it('validate: SARIF with repository paths, JUnit, a job summary; a broken DAG fails with its result', async () => {
      const w = workspace()
      const ok = await w.run({command: 'validate', 'package-dir': 'packages/orders', junit: 'reports/junit.xml'})
      expect(ok.exitCode, ok.stderr + ok.stdout).toBe(0)
      const sarif = JSON.parse(readFileSync(path.join(w.ws, 'dagctl-reports', 'validate.sarif'), 'utf8'))
      expect(sarif.version).toBe('2.1.0')
      expect(sarif.runs[0].results).toEqual([])
      expect(readFileSync(path.join(w.ws, 'reports', 'junit.xml'), 'utf8')).toContain('failures="0"')
      expect(ok.summary).toContain('## dagctl validate')
      expect(ok.summary).toContain('Passed.')
      expect(ok.outputs.sarif).toBe(path.join(w.ws, 'dagctl-reports', 'validate.sarif'))

      writeFileSync(path.join(w.pkg, 'dags', 'orders_broken.py'), 'from airflow import DAG\nwith DAG(dag_id="orders_broken", schedule=None:\n    pass\n')
      const bad = await w.run({command: 'validate', 'package-dir': 'packages/orders'})
      expect(bad.exitCode).toBe(1)
      const results = JSON.parse(readFileSync(path.join(w.ws, 'dagctl-reports', 'validate.sarif'), 'utf8')).runs[0].results as Array<{ruleId: string; locations: Array<{physicalLocation: {artifactLocation: {uri: string}}}>}>
      expect(results.map((r) => [r.ruleId, r.locations[0].physicalLocation.artifactLocation.uri])).toEqual([['syntax-error', 'packages/orders/dags/orders_broken.py']])
      expect(bad.summary).toContain('**Failed** (exit 1)')
      expect(bad.summary).toContain('syntax-error')
    })

    it('publish: a release with its diff in the summary and outputs; again: none; a change: the next', async () => {
      const w = workspace()
      const store = `file://${path.join(path.dirname(w.ws), 'store')}`
      const first = await w.run({command: 'publish', 'package-dir': 'packages/orders', store})
      expect(first.exitCode, first.stderr + first.stdout).toBe(0)
      expect(first.summary).toContain('Published release **1** of `orders` to **dev** (previous: none).')
      expect(first.summary).toContain('| added | `generated/orders-loader-001.py` |')
      expect(first.summary).toContain('| added | `generated/_dagctl/orders-loader-001.py` |')
      expect(first.outputs).toEqual({release: '1', current: '1'})
      const again = await w.run({command: 'publish', 'package-dir': 'packages/orders', store})
      expect(again.exitCode).toBe(0)
      expect(again.summary).toContain('Nothing changed: release 1 of `orders` stays current in **dev**.')
      expect(again.outputs).toEqual({release: '', current: '1'})
      appendFileSync(path.join(w.pkg, 'dags', 'generated', 'orders-loader-001.py'), '')
      writeFileSync(path.join(w.pkg, 'dags', 'orders_extra.py'), 'from airflow import DAG\nwith DAG(dag_id="orders_extra", schedule=None):\n    pass\n')
      await w.commit('one more DAG')
      const next = await w.run({command: 'publish', 'package-dir': 'packages/orders', store, message: 'extra DAG'})
      expect(next.exitCode, next.stderr).toBe(0)
      expect(next.summary).toContain('Published release **2** of `orders` to **dev** (previous: 1).')
      expect(next.summary).toContain('| added | `orders_extra.py` |')
      const releases = (await runCli(['releases', '--store', store, '--package', 'orders', '--json'])).json().releases as Array<{id: number; message: string; ciJobUrl?: string}>
      expect(releases[0]).toMatchObject({id: 2, message: 'extra DAG', ciJobUrl: 'https://github.com/team/orders/actions/runs/4242'})
    })

    it("the seed's variables on S3 (moto); missing credentials named, no secret anywhere", async () => {
      const bucket = `gh-${process.pid}`
      await moto.createBucket(bucket, false)
      const w = workspace()
      const env = {DAG_BUCKET: bucket, DAG_PREFIX: 'airflow', AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: SECRET, AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: moto.endpoint, AWS_EC2_METADATA_DISABLED: 'true'}
      const r = await w.run({command: 'publish', environment: 'prod', 'package-dir': 'packages/orders'}, env)
      expect(r.exitCode, r.stderr + r.stdout).toBe(0)
      expect(r.summary).toContain(`Store: \`s3://${bucket}/airflow\``)
      for (const text of [r.stdout, r.stderr, r.summary]) expect(text).not.toContain(SECRET)
      const listed = await runCli(['releases', '--store', `s3://${bucket}/airflow`, '--endpoint', moto.endpoint, '--package', 'orders', '--env', 'prod', '--json'], {env: MOTO_ENV})
      expect(listed.json().releases.map((x: {id: number}) => x.id)).toEqual([1])

      const missing = await w.run({command: 'publish', environment: 'prod', 'package-dir': 'packages/orders'}, {DAG_BUCKET: bucket, AWS_ENDPOINT_URL: moto.endpoint})
      expect(missing.exitCode).toBe(2)
      expect(missing.stdout).toContain('::error title=dagctl::missing variable(s): AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY')
      const noStore = await w.run({command: 'publish', environment: 'prod', 'package-dir': 'packages/orders'})
      expect(noStore.exitCode).toBe(2)
      expect(noStore.stdout).toContain('missing variable(s): DAG_BUCKET')
      // a dagctl.yaml that does not load: its error is shown, not a crash of the store check
      writeFileSync(path.join(w.pkg, 'dagctl.yaml'), 'package: orders\nbogus_key: 1\n')
      const badConfig = await w.run({command: 'publish', environment: 'prod', 'package-dir': 'packages/orders'})
      expect(badConfig.exitCode).toBe(2)
      expect(badConfig.stderr).toContain('bogus_key')
      expect(badConfig.stdout).toContain('dagctl config failed (above): fix dagctl.yaml')
      rmSync(path.join(w.pkg, 'dagctl.yaml'))
      const noPackage = await w.run({command: 'validate', 'package-dir': 'packages/orders'})
      expect(noPackage.exitCode).toBe(2)
      expect(noPackage.stdout).toContain('no dagctl.yaml in package-dir (packages/orders)')
    })
  })
})
