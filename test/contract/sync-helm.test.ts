import {existsSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {Ajv} from 'ajv'
import addFormatsModule from 'ajv-formats'
import {parse} from 'yaml'
import {describe, expect, inject, it} from 'vitest'

import {AIRFLOW_CHART, containersOf, helmLint, helmTemplate, podSpecs} from '../helpers/chart-render.js'
import {REPO_ROOT, runCli} from '../helpers/cli.js'
import {headFiles, packageDir, publish, treeHashes} from '../helpers/sync.js'
import {tempDir} from '../helpers/tmp.js'
import {openStore} from '../../src/store/index.js'

const VALUES = path.join(REPO_ROOT, 'docs', 'helm', 'dagctl-sync-values.yaml')
const SCHEMA = path.join(REPO_ROOT, 'test', 'fixtures', 'helm', 'airflow-chart-1.22.0-release.values.schema.json')

type Container = {name: string; args: string[]; env: Array<{name: string; value: string}>}

describe('dagctl sync in the official Airflow chart', () => {
  const values = parse(readFileSync(VALUES, 'utf8'), {merge: true}) as Record<string, any>

  it('the values snippet passes the released chart\'s values schema (1.22.0)', () => {
    const ajv = new Ajv({strict: false, allErrors: true})
    const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv
    addFormats(ajv)
    // Kubernetes' integer formats: the type is checked, the width is not a concern here
    ajv.addFormat('int32', true).addFormat('int64', true)
    const validate = ajv.compile(JSON.parse(readFileSync(SCHEMA, 'utf8')))
    const ok = validate(values)
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 1)).toEqual([])
    expect(ok).toBe(true)
    // and a broken one does not (the schema is really checked)
    expect(validate({...values, dagProcessor: {...values.dagProcessor, extraContainers: [{image: 'x'}]}})).toBe(false)
  })

  it('the real helm renders it with the chart 1.22.0 (lint --strict, template): the sync containers and the read-only dags volume on the dag processor, scheduler and Celery workers, IRSA on their service accounts', async () => {
    const helm = inject('helmBinary')
    const lint = await helmLint(helm, AIRFLOW_CHART, [VALUES])
    expect(lint.exitCode, lint.stdout + lint.stderr).toBe(0)
    const r = await helmTemplate(helm, AIRFLOW_CHART, [VALUES], {release: 'airflow'})
    expect(r.exitCode, r.stderr).toBe(0)
    const pods = podSpecs(r.objects).filter((p) => containersOf(p.spec).some((c) => c.name.startsWith('dagctl-sync')))
    // the chart's default executor is Celery: the workers are a StatefulSet of their own
    expect(pods.map((p) => p.component).sort()).toEqual(['dag-processor', 'scheduler', 'worker'])
    const role = values.scheduler.serviceAccount.annotations['eks.amazonaws.com/role-arn']
    for (const pod of pods) {
      expect(pod.spec.volumes, pod.where).toContainEqual({name: 'dags', emptyDir: {}})
      expect(pod.spec.initContainers.map((c: any) => c.name), pod.where).toContain('dagctl-sync-init')
      expect(pod.spec.containers.map((c: any) => c.name), pod.where).toContain('dagctl-sync')
      for (const c of containersOf(pod.spec).filter((c) => !c.name.startsWith('dagctl-sync')))
        for (const m of (c.volumeMounts ?? []).filter((m: any) => m.name === 'dags')) expect(m.readOnly, `${pod.where} ${c.name}`).toBe(true)
      const sa = r.objects.find((o) => o.kind === 'ServiceAccount' && o.metadata.name === pod.spec.serviceAccountName)
      expect(sa?.metadata.annotations?.['eks.amazonaws.com/role-arn'], pod.where).toBe(role)
    }
  })

  it('docs/sync.md shows the snippet as it is in docs/helm/', () => {
    expect(readFileSync(path.join(REPO_ROOT, 'docs', 'sync.md'), 'utf8')).toContain(readFileSync(VALUES, 'utf8').trim())
  })

  it('the init container\'s command and variables are a working `dagctl sync --once`', async () => {
    const init = values.dagProcessor.extraInitContainers[0] as Container
    const sidecar = values.dagProcessor.extraContainers[0] as Container
    expect(init.args.slice(0, 2)).toEqual(['sync', '--once'])
    expect(sidecar.args[0]).toBe('sync')
    const root = tempDir()
    const url = `file://${root}/store`
    await publish(packageDir('team_h', url, {'team_h_a.py': '# team_h\nfrom airflow import DAG\n'}), {})
    const dir = tempDir()
    // the chart's variables, with the bucket swapped for a local store and the mount for a temp folder
    const env = Object.fromEntries(init.env.map((e) => [e.name, e.name === 'DAGCTL_STORE' ? url : e.name === 'DAGCTL_SYNC_TO' ? dir : e.value]))
    const r = await runCli(init.args, {cwd: tempDir(), env: {...env, DAGCTL_ENV: 'dev'}})
    expect(r.exitCode, r.stderr).toBe(0)
    expect(treeHashes(path.join(dir, 'team_h'))).toEqual((await headFiles(await openStore({url, root}), 'dev', 'team_h')).files)
    // the sidecar's flags parse (--help would not check them: run one cycle with them)
    const side = await runCli([...sidecar.args.map((a) => (a === '9102' ? '0' : a)), '--once', '--metrics-host', '127.0.0.1'], {cwd: tempDir(), env: {...env, DAGCTL_ENV: 'dev'}})
    expect(side.exitCode, side.stderr).toBe(0)
  })

  it('the Dockerfile: Node 26 slim (the current LTS), a non-root user, dagctl sync as the command, and everything it copies exists', () => {
    const text = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8')
    const froms = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1])
    expect(froms.every((f) => f === 'node:26-slim')).toBe(true)
    expect(text).toMatch(/^USER (?!root|0\b)\S+/m)
    expect(text).toMatch(/^ENTRYPOINT \["dagctl"\]$/m)
    expect(text).toMatch(/^CMD \["sync"/m)
    for (const m of text.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) for (const src of m[1].split(/\s+/)) expect(existsSync(path.join(REPO_ROOT, src)), src).toBe(true)
  })
})
