/**
 * publish reuses HEAD's validation (src/check/reuse.ts): unchanged files are not parsed again under
 * an equal validation fingerprint, the cross-file rule still sees them, and anything that differs
 * validates everything. Real stores (local, moto, MinIO) and the real Python helper.
 */
import {rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {PackageRepository} from '../../src/release/repository.js'
import {publish, type PublishOptions} from '../../src/release/publish.js'
import {rollback} from '../../src/release/rollback.js'
import type {Store} from '../../src/store/index.js'
import {runCli} from '../helpers/cli.js'
import {packageDir, publishOptions} from '../helpers/publish-options.js'
import {freshStore, MINIO_VARIANT, STORE_VARIANTS, stopSharedMoto} from '../helpers/stores.js'
import {writeFiles} from '../helpers/tmp.js'

afterAll(stopSharedMoto)

const META = {author: 'tester', git: {sha: 'abc123', branch: 'main'}, dagctlVersion: '0.0.0-test'}

const dag = (id: string, extra = '') => `from airflow.sdk import DAG\n${extra}\nwith DAG(dag_id="${id}", schedule="@daily"):\n    pass\n`

const pkgDir = packageDir

function options(store: Store, root: string, extra: Partial<PublishOptions> = {}): PublishOptions {
  return publishOptions(store, root, {validate: true, validateOptions: {airflowVersion: 3, engine: 'ast', cache: false, dagsFolder: path.join(root, 'dags')}, metadata: META, ...extra})
}

function corpus(): Record<string, string> {
  return {
    'a_first.py': dag('team_a_first'),
    'b_second.py': dag('team_a_second'),
    'c_third.py': dag('team_a_third'),
    'z_last.py': dag('team_a_last'),
    // a bare import of a name that is not (yet) one of the package's modules: no finding
    'uses_helpers.py': dag('team_a_uses', 'import helpers'),
  }
}

async function head(store: Store): Promise<number | undefined> {
  return (await new PackageRepository(store, 'dev', 'team_a').readHead()).head?.release
}

describe.each([...STORE_VARIANTS, MINIO_VARIANT])('publish reuses HEAD\'s validation on $name', (variant) => {
  it('no change parses nothing; a change parses only the changed file; the record travels in the manifest', async () => {
    const {store} = await freshStore(variant)
    const root = pkgDir(corpus())
    const first = await publish(options(store, root))
    expect(first.release).toBe(1)
    expect(first.validation).toEqual({skipped: false, errors: 0, warnings: 0, validated: 5, reused: 0})
    const manifest = await new PackageRepository(store, 'dev', 'team_a').manifest(1)
    expect(manifest.validation.record?.dags['a_first.py']).toMatch(/^\d+:\d+:team_a_first$/)
    expect(manifest.validation.reuse).toEqual({validated: 5, reused: 0})

    const noop = await publish(options(store, root))
    expect(noop.release).toBeNull()
    expect(noop.validation).toEqual({skipped: false, errors: 0, warnings: 0, validated: 0, reused: 5})

    writeFiles(root, {'dags/b_second.py': dag('team_a_second', '# v2')})
    const second = await publish(options(store, root))
    expect(second.release).toBe(2)
    expect(second.validation).toMatchObject({validated: 1, reused: 4, errors: 0})
    const m2 = await new PackageRepository(store, 'dev', 'team_a').manifest(2)
    // the new manifest's DAG list is complete: the reused files' DAGs come from HEAD's record
    expect(m2.dags.map((d) => d.dagId).sort()).toEqual(['team_a_first', 'team_a_last', 'team_a_second', 'team_a_third', 'team_a_uses'])
    expect(Object.keys(m2.validation.record?.dags ?? {}).sort()).toEqual(['a_first.py', 'b_second.py', 'c_third.py', 'uses_helpers.py', 'z_last.py'])
  })

  it('a changed or added file whose DAG id collides with an unchanged file\'s is still refused (exit 1), naming both', async () => {
    const {store} = await freshStore(variant)
    const root = pkgDir(corpus())
    expect((await publish(options(store, root))).release).toBe(1)
    // changed a_first.py takes the id of unchanged z_last.py: the finding lands on z_last.py, a file not parsed in this run
    writeFiles(root, {'dags/a_first.py': dag('team_a_last')})
    const err = await publish(options(store, root)).catch((e: unknown) => e)
    expect(err).toMatchObject({exitCode: 1, code: 'VALIDATION_FAILED'})
    expect((err as Error).message).toMatch(/z_last\.py:\d+:\d+ duplicate-dag-id: DAG id 'team_a_last' is defined twice: dags\/a_first\.py:\d+ and dags\/z_last\.py:\d+/)
    // and an added file that collides with an unchanged one
    writeFiles(root, {'dags/a_first.py': dag('team_a_first'), 'dags/m_new.py': dag('team_a_third')})
    const added = await publish(options(store, root)).catch((e: unknown) => e)
    expect(added).toMatchObject({exitCode: 1, code: 'VALIDATION_FAILED'})
    expect((added as Error).message).toMatch(/m_new\.py:\d+:\d+ duplicate-dag-id: DAG id 'team_a_third'/)
    expect(await head(store)).toBe(1)
  })
})

describe('publish falls back to validating everything (local store)', () => {
  const LOCAL = STORE_VARIANTS[0]

  it('a rule setting that differs from HEAD\'s validates every file again, and says why', async () => {
    const {store} = await freshStore(LOCAL)
    const root = pkgDir(corpus())
    await publish(options(store, root))
    const base = options(store, root).validateOptions
    const changed = await publish(options(store, root, {validateOptions: {...base, rules: {'missing-schedule': 'info'}}}))
    expect(changed.release).toBeNull()
    expect(changed.validation).toMatchObject({validated: 5, reused: 0, reason: expect.stringContaining('rules')})
    // a file not published with the same settings (here: another Airflow target) too
    const target = await publish(options(store, root, {validateOptions: {...base, airflowVersion: 2}}))
    expect(target.validation).toMatchObject({validated: 5, reused: 0, reason: expect.stringContaining('airflow')})
  })

  it('HEAD published with --no-validate holds no record: everything is validated', async () => {
    const {store} = await freshStore(LOCAL)
    const root = pkgDir(corpus())
    await publish(options(store, root, {validate: false}))
    const next = await publish(options(store, root))
    expect(next.validation).toMatchObject({validated: 5, reused: 0, reason: expect.stringContaining('no validation record')})
  })

  it("after a rollback of one DAG (the target's record beside newer files), nothing is reused and a collision is still found", async () => {
    const {store} = await freshStore(LOCAL)
    const root = pkgDir({'team_a_a.py': dag('team_a_a'), 'team_a_b.py': dag('team_a_b')})
    await publish(options(store, root))
    writeFiles(root, {'dags/team_a_a.py': dag('team_a_a', '# v2'), 'dags/team_a_b.py': dag('team_a_b2')})
    await publish(options(store, root))
    // release 3: a.py from release 1, b.py (defining team_a_b2) from release 2, validation copied from release 1
    expect(await rollback({store, env: 'dev', pkg: 'team_a', dag: 'team_a_a', to: 1, metadata: META})).toMatchObject({release: 3})
    writeFiles(root, {'dags/team_a_a.py': dag('team_a_a'), 'dags/team_a_c.py': dag('team_a_b2')})
    const err = await publish(options(store, root)).catch((e: unknown) => e)
    expect(err).toMatchObject({exitCode: 1, code: 'VALIDATION_FAILED'})
    expect((err as Error).message).toMatch(/duplicate-dag-id: DAG id 'team_a_b2'/)
    rmSync(path.join(root, 'dags', 'team_a_c.py'))
    expect((await publish({...options(store, root), dryRun: true})).validation).toMatchObject({validated: 2, reused: 0, reason: expect.stringContaining('rollback of one DAG')})
  })

  it('a new module of the package re-validates the unchanged files that mention it (own-module-import)', async () => {
    const {store} = await freshStore(LOCAL)
    const root = pkgDir(corpus())
    expect((await publish(options(store, root))).validation).toMatchObject({errors: 0})
    // helpers.py makes `import helpers` in unchanged uses_helpers.py an import that fails in Airflow
    writeFiles(root, {'dags/helpers.py': 'X = 1\n'})
    const err = await publish(options(store, root)).catch((e: unknown) => e)
    expect(err).toMatchObject({exitCode: 1, code: 'VALIDATION_FAILED'})
    expect((err as Error).message).toMatch(/uses_helpers\.py:\d+:\d+ own-module-import/)
    rmSync(path.join(root, 'dags', 'helpers.py'))
  })

  it('through the CLI: --json says what was validated and reused; a severity changed in dagctl.yaml validates everything', async () => {
    const {url} = await freshStore(LOCAL)
    const root = pkgDir(corpus())
    const yaml = (extra: string) => writeFileSync(path.join(root, 'dagctl.yaml'), `package: team_a\nvalidate:\n  engine: ast\n${extra}environments:\n  dev:\n    store: ${url}\n`)
    yaml('')
    const run = async () => {
      const r = await runCli(['publish', '--json'], {cwd: root})
      expect(r.exitCode, r.stderr).toBe(0)
      return r.json().validation
    }
    expect(await run()).toMatchObject({validated: 5, reused: 0})
    expect(await run()).toMatchObject({validated: 0, reused: 5})
    yaml('  rules:\n    missing-schedule: info\n')
    expect(await run()).toMatchObject({validated: 5, reused: 0, reason: expect.stringContaining('rules')})
    const human = await runCli(['publish'], {cwd: root})
    expect(human.stderr).toMatch(/Validation: 5 file\(s\) checked, 0 unchanged file\(s\) reused from release 1 \(nothing reused: the validation fingerprint differs from HEAD's \(rules\)\)/)
  })
})
