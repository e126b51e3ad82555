import {execa} from 'execa'
import {existsSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'

import {runCli} from '../helpers/cli.js'
import {packageRepo} from '../helpers/gitlab-ci-local.js'
import {MOTO_ENV, startMoto, type Moto} from '../helpers/moto.js'

/**
 * The GitLab template (templates/ci/gitlab/dagctl.gitlab-ci.yml) runs for real: gitlab-ci-local (a
 * devDependency) executes its jobs with the shell executor in a temporary git repository holding a
 * package made by `dagctl init`, which includes the template as a package would. The store is the
 * local one or moto's S3 server on loopback.
 */

const SECRET = 'dagctl-test-secret-7f3a91-never-printed'

const report = (dir: string, file: string) => readFileSync(path.join(dir, 'dagctl-reports', file), 'utf8')

describe('GitLab template, run by gitlab-ci-local', () => {
  let moto: Moto
  beforeAll(async () => {
    const rsync = await execa('sh', ['-c', 'command -v rsync'], {reject: false})
    if (rsync.exitCode !== 0) throw new Error('gitlab-ci-local needs rsync on PATH (apt-get install rsync; .ci/run installs it in CI)')
    moto = await startMoto(inject('testPython'))
  })
  afterAll(async () => {
    await moto?.stop()
  })

  it('rules: MR → validate only; default branch → validate, publish dev (prod manual); tag → publish prod', async () => {
    const repo = packageRepo()
    const jobs = async (vars: Record<string, string>) => {
      const r = await repo.run(vars, ['--list-json'])
      expect(r.exitCode, r.log).toBe(0)
      const list = JSON.parse(r.stdout.slice(r.stdout.search(/^\[/m))) as Array<{name: string; when: string}>
      return Object.fromEntries(list.filter((j) => j.when !== 'never').map((j) => [j.name, j.when]))
    }
    expect(await jobs({CI_PIPELINE_SOURCE: 'merge_request_event', CI_COMMIT_BRANCH: 'feature'})).toEqual({'dagctl-validate': 'on_success'})
    expect(await jobs({CI_COMMIT_BRANCH: 'main'})).toEqual({'dagctl-validate': 'on_success', 'dagctl-publish-dev': 'on_success', 'dagctl-publish-prod': 'manual'})
    expect(await jobs({CI_COMMIT_BRANCH: 'main', DAGCTL_SMOKE_DAG: 'orders_daily_report'})).toHaveProperty('dagctl-smoke-dev', 'on_success')
    expect(await jobs({CI_COMMIT_BRANCH: '', CI_COMMIT_TAG: 'v1.0.0'})).toEqual({'dagctl-publish-prod': 'on_success'})
  })

  it('a merge request: validate writes the JUnit and code-quality reports; a failing DAG fails the pipeline with its JUnit case failed', async () => {
    const repo = packageRepo()
    const mr = {CI_PIPELINE_SOURCE: 'merge_request_event', CI_COMMIT_BRANCH: 'feature'}
    const ok = await repo.run(mr)
    expect(ok.exitCode, ok.log).toBe(0)
    expect(ok.log).toContain('PASS  dagctl-validate')
    expect(report(repo.dir, 'validate.junit.xml')).toMatch(/<testsuites name="dagctl validate" tests="\d+" failures="0"/)
    expect(JSON.parse(report(repo.dir, 'validate.codequality.json'))).toEqual([])
    // GitLab would pick them up from the job's artifacts
    expect(existsSync(path.join(repo.dir, '.gitlab-ci-local', 'artifacts', 'dagctl-validate', 'dagctl-reports', 'validate.codequality.json'))).toBe(true)

    writeFileSync(path.join(repo.dir, 'dags', 'orders_broken.py'), 'from airflow import DAG\nwith DAG(dag_id="orders_broken", schedule=None:\n    pass\n')
    await repo.commit('a broken DAG')
    const bad = await repo.run(mr)
    expect(bad.exitCode, bad.log).not.toBe(0)
    expect(bad.log).toContain('FAIL  dagctl-validate')
    const junit = report(repo.dir, 'validate.junit.xml')
    expect(junit).toMatch(/<testcase classname="dagctl.validate" name="dags\/orders_broken.py"[^>]*>\s*<failure message="syntax-error/)
    const quality = JSON.parse(report(repo.dir, 'validate.codequality.json')) as Array<{check_name: string; location: {path: string}}>
    expect(quality.map((q) => [q.check_name, q.location.path])).toEqual([['syntax-error', 'dags/orders_broken.py']])
  })

  it('stale generated files fail validate (generate --check)', async () => {
    const repo = packageRepo()
    await repo.ready
    rmSync(path.join(repo.dir, 'dags', 'generated'), {recursive: true, force: true})
    await repo.commit('generated files forgotten')
    const r = await repo.run({CI_PIPELINE_SOURCE: 'merge_request_event', CI_COMMIT_BRANCH: 'feature'})
    expect(r.exitCode, r.log).not.toBe(0)
    expect(r.log).toMatch(/missing|stale/)
  })

  it('the default branch publishes a release to dev (local store); a second pipeline makes none', async () => {
    const repo = packageRepo()
    const store = `file://${path.join(path.dirname(repo.dir), 'store')}`
    const first = await repo.run({CI_COMMIT_BRANCH: 'main', DAGCTL_STORE: store})
    expect(first.exitCode, first.log).toBe(0)
    expect(first.log).toContain('Published release 1 of orders to dev.')
    // the compiled code of dagctl went into dagctl's cache folder, which GitLab's cache keeps
    // between jobs (src/bundle/commonjs-loader.ts, beside Node's own where there is one)
    const compileCache = path.join(repo.dir, '.dagctl-cache', 'node-compile-cache')
    expect(existsSync(compileCache) && readdirSync(compileCache).some((entry) => entry.startsWith('dagctl-'))).toBe(true)
    const second = await repo.run({CI_COMMIT_BRANCH: 'main', DAGCTL_STORE: store})
    expect(second.exitCode, second.log).toBe(0)
    expect(second.log).toContain('Nothing changed: release 1 stays current')
    const releases = await runCli(['releases', '--store', store, '--package', 'orders', '--env', 'dev', '--json'])
    expect(releases.json().releases.map((r: {id: number}) => r.id)).toEqual([1])
  })

  it("the seed's variables on S3 (moto): DAG_BUCKET and AWS credentials, prod on a tag; no secret in the log", async () => {
    const bucket = `gitlab-${process.pid}`
    await moto.createBucket(bucket, true)
    const repo = packageRepo()
    const aws = {AWS_ACCESS_KEY_ID: MOTO_ENV.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET, AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: moto.endpoint, AWS_EC2_METADATA_DISABLED: 'true'}
    const tag = {CI_COMMIT_BRANCH: '', CI_COMMIT_TAG: 'v1.0.0', DAG_BUCKET: bucket, DAG_PREFIX: 'airflow', PACKAGE_NAME: 'orders', IMAGE_TAG: '1.4.2', DAGCTL_IMAGE_REPOSITORY: 'registry.example.com/orders/jobs'}
    const first = await repo.run({...tag, ...aws})
    expect(first.exitCode, first.log).toBe(0)
    expect(first.log).toContain('Published release 1 of orders to prod.')
    expect(first.log).not.toContain(SECRET)
    const second = await repo.run({...tag, ...aws})
    expect(second.exitCode, second.log).toBe(0)
    expect(second.log).toContain('Nothing changed')
    const releases = await runCli(['releases', '--store', `s3://${bucket}/airflow`, '--endpoint', moto.endpoint, '--package', 'orders', '--env', 'prod', '--json'], {env: MOTO_ENV})
    const list = releases.json().releases as Array<{id: number; image?: string}>
    expect(list.map((r) => r.id)).toEqual([1])
    // IMAGE_TAG went into the release, the committed generated files stayed as they are
    expect(list[0].image).toBe('registry.example.com/orders/jobs:1.4.2')

    // credentials missing: the job fails before any request, naming each missing variable
    const missing = await repo.run({...tag, AWS_ENDPOINT_URL: moto.endpoint})
    expect(missing.exitCode).not.toBe(0)
    expect(missing.log).toContain('missing variable(s): AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY')
    const noStore = await repo.run({CI_COMMIT_BRANCH: '', CI_COMMIT_TAG: 'v1.0.1'})
    expect(noStore.exitCode).not.toBe(0)
    expect(noStore.log).toContain('missing variable(s): DAG_BUCKET (or DAGCTL_STORE, or environments.prod.store in dagctl.yaml)')
    expect(noStore.log).not.toContain('Published')
  })
})
