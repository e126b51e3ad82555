import {Ajv} from 'ajv'
import addFormatsModule from 'ajv-formats'
import {execa} from 'execa'
import {chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {parse, stringify} from 'yaml'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'

import {secretNeedsOf} from '../../src/cluster/secrets.js'
import {budget} from '../helpers/budget.js'
import {AIRFLOW_CHART, DATAHUB_CHART, EXAMPLE_OVERLAY, K8sObject, chartsFile, containersOf, helmLint, helmTemplate, parseIni, parseObjects, podSpecs, secretLookingValues} from '../helpers/chart-render.js'
import {BIN, REPO_ROOT} from '../helpers/cli.js'
import {freePort, MOTO_ENV, startMoto, type Moto} from '../helpers/moto.js'
import {publish, startSync, visibleTree} from '../helpers/sync.js'
import {tempDir} from '../helpers/tmp.js'

/*
 * dagctl's values files (charts/) rendered by the real helm (v3.22.0, built from its Go module) with
 * the real packaged charts dagctl ships (charts/vendor/). What this proves: the files pass the charts'
 * schemas and templates, and the objects the charts make of them have the shape asserted below.
 * What it cannot prove (a pod starting, a mount the API server refuses, IRSA working): the real
 * kube-apiserver tests of `dagctl cluster` and a real cluster (charts/README.md).
 */

const AIRFLOW = {
  dev: chartsFile('airflow', 'values-dev.yaml'),
  prod: chartsFile('airflow', 'values-prod.yaml'),
  celery: chartsFile('airflow', 'values-prod-celery.yaml'),
  bundle: chartsFile('airflow', 'values-bundle.yaml'),
}
const DATAHUB = {dev: chartsFile('datahub', 'values-dev.yaml'), prod: chartsFile('datahub', 'values-prod.yaml')}
const ACTION_CONFIG = chartsFile('datahub', 'dagctl-action-config.yaml')
const SCHEMA = path.join(REPO_ROOT, 'test', 'fixtures', 'helm', 'airflow-chart-1.22.0-release.values.schema.json')

const overlay = parse(readFileSync(EXAMPLE_OVERLAY, 'utf8')) as any
const overlayData = parse(overlay.extraConfigMaps['{{ .Release.Name }}-dagctl'].data) as Record<string, string>
const ROLE = overlay.scheduler.serviceAccount.annotations['eks.amazonaws.com/role-arn'] as string
const IRSA = 'eks.amazonaws.com/role-arn'
const RELEASE = 'airflow'

interface Combo {
  name: string
  files: string[]
  /** sync (init container + sidecar) or the bundle */
  mode: 'sync' | 'bundle'
  prod: boolean
  /** the chart components whose pods read DAG files and carry the sync init container and sidecar */
  syncSidecar: string[]
  /** task pods (KubernetesExecutor pod template): the init container only */
  syncInitOnly: string[]
}

const COMBOS: Combo[] = [
  {name: 'dev', files: [AIRFLOW.dev, EXAMPLE_OVERLAY], mode: 'sync', prod: false, syncSidecar: ['dag-processor', 'scheduler', 'triggerer'], syncInitOnly: []},
  {name: 'prod', files: [AIRFLOW.prod, EXAMPLE_OVERLAY], mode: 'sync', prod: true, syncSidecar: ['dag-processor', 'scheduler', 'triggerer'], syncInitOnly: ['worker']},
  {name: 'prod+celery', files: [AIRFLOW.prod, AIRFLOW.celery, EXAMPLE_OVERLAY], mode: 'sync', prod: true, syncSidecar: ['dag-processor', 'scheduler', 'triggerer', 'worker'], syncInitOnly: []},
  {name: 'prod+bundle', files: [AIRFLOW.prod, AIRFLOW.bundle, EXAMPLE_OVERLAY], mode: 'bundle', prod: true, syncSidecar: [], syncInitOnly: []},
  {name: 'dev+bundle', files: [AIRFLOW.dev, AIRFLOW.bundle, EXAMPLE_OVERLAY], mode: 'bundle', prod: false, syncSidecar: [], syncInitOnly: []},
]

/** fake secrets given inline the way dev's chart would take them: none may land in a ConfigMap */
const FAKE = {pg: 'FAKE-pg-pass-5d1c9e', fernet: 'FAKE-fernet-8b2f41', api: 'FAKE-api-key-33aa70', jwt: 'FAKE-jwt-c0ffee'}
const FAKE_SECRETS = ['data.metadataConnection.pass=' + FAKE.pg, 'postgresql.auth.postgresPassword=' + FAKE.pg, 'fernetKey=' + FAKE.fernet, 'apiSecretKey=' + FAKE.api, 'jwtSecret=' + FAKE.jwt]

const b64 = (s: string) => Buffer.from(s).toString('base64')
const helmBinary = () => inject('helmBinary')
const byKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind)
const airflowCfg = (objects: K8sObject[]) => parseIni(objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === `${RELEASE}-config`)!.data['airflow.cfg'])

describe('charts/airflow: the official chart 1.22.0 rendered by real helm', () => {
  const rendered = new Map<string, K8sObject[]>()

  beforeAll(async () => {
    for (const combo of COMBOS) {
      const r = await helmTemplate(helmBinary(), AIRFLOW_CHART, combo.files, {release: RELEASE})
      expect(r.exitCode, `${combo.name}: ${r.stderr}`).toBe(0)
      rendered.set(combo.name, r.objects)
    }
  }, budget(600_000))

  it.each(COMBOS.map((c) => [c.name, c] as const))('%s: helm lint --strict passes (the chart\'s values schema included)', async (_name, combo) => {
    const r = await helmLint(helmBinary(), AIRFLOW_CHART, combo.files)
    expect(r.exitCode, r.stdout + r.stderr).toBe(0)
    expect(r.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/)
  })

  it('every values file and the example overlay pass the released chart\'s values schema (1.22.0)', () => {
    const ajv = new Ajv({strict: false, allErrors: true})
    ;(addFormatsModule as unknown as (a: Ajv) => Ajv)(ajv)
    ajv.addFormat('int32', true).addFormat('int64', true)
    const validate = ajv.compile(JSON.parse(readFileSync(SCHEMA, 'utf8')))
    const files = [...readdirSync(chartsFile('airflow')).filter((f) => f.endsWith('.yaml')).map((f) => chartsFile('airflow', f)), EXAMPLE_OVERLAY]
    expect(files.length).toBeGreaterThanOrEqual(5)
    for (const file of files) {
      validate(parse(readFileSync(file, 'utf8'), {merge: true}))
      expect(validate.errors ?? [], `${path.basename(file)}: ${JSON.stringify(validate.errors, null, 1)}`).toEqual([])
    }
  })

  it('the overlay holds maps only (no arrays), so it merges into every profile', () => {
    const arrays: string[] = []
    const visit = (v: unknown, at: string): void => {
      if (Array.isArray(v)) arrays.push(at)
      else if (v && typeof v === 'object') for (const [k, c] of Object.entries(v)) visit(c, `${at}.${k}`)
    }
    visit(overlay, '')
    expect(arrays).toEqual([])
  })

  describe.each(COMBOS.filter((c) => c.mode === 'sync').map((c) => [c.name, c] as const))('%s (sync)', (name, combo) => {
    const objects = () => rendered.get(name)!
    const dagsFolder = () => airflowCfg(objects()).core.dags_folder

    it('every pod that reads DAG files has the sync init container, the sidecar (not in task pods) and the shared emptyDir; Airflow\'s containers mount it read-only', () => {
      const pods = podSpecs(objects())
      const withSync = pods.filter((p) => containersOf(p.spec).some((c) => c.name.startsWith('dagctl-sync')))
      // exactly the DAG-reading components: none missing, none extra (the API server does not read DAG files)
      expect(new Set(withSync.map((p) => p.component))).toEqual(new Set([...combo.syncSidecar, ...combo.syncInitOnly]))
      expect(dagsFolder()).toBe('/opt/airflow/dags')
      for (const component of [...combo.syncSidecar, ...combo.syncInitOnly]) {
        const matching = pods.filter((p) => p.component === component)
        expect(matching.length, component).toBeGreaterThan(0)
        for (const pod of matching) {
          const at = pod.where
          const dags = (pod.spec.volumes ?? []).filter((v: any) => v.name === 'dags')
          expect(dags, at).toEqual([{name: 'dags', emptyDir: {}}])
          const init = (pod.spec.initContainers ?? []).filter((c: any) => c.name === 'dagctl-sync-init')
          expect(init.length, at).toBe(1)
          expect(init[0].args, at).toEqual(['sync', '--once'])
          const sidecars = pod.spec.containers.filter((c: any) => c.name === 'dagctl-sync')
          expect(sidecars.length, at).toBe(combo.syncInitOnly.includes(component) ? 0 : 1)
          for (const sync of [...init, ...sidecars]) {
            // sync writes the volume at the folder Airflow scans
            expect(sync.volumeMounts, at).toContainEqual({name: 'dags', mountPath: dagsFolder()})
            expect(sync.env, at).toContainEqual({name: 'DAGCTL_SYNC_TO', value: dagsFolder()})
            expect(sync.image, at).toMatch(/dagctl/)
          }
          // every other container that mounts it (Airflow's, the log groomer, the migrations wait) reads only
          const readers = containersOf(pod.spec).filter((c) => !c.name.startsWith('dagctl-sync') && (c.volumeMounts ?? []).some((m: any) => m.name === 'dags'))
          expect(readers.length, at).toBeGreaterThan(0)
          for (const c of readers) for (const m of c.volumeMounts.filter((m: any) => m.name === 'dags')) expect(m.readOnly, `${at} ${c.name}`).toBe(true)
          // and the Airflow container itself is one of them, at the DAG folder
          const main = pod.spec.containers.find((c: any) => c.name === component || c.name === 'base')
          expect(main?.volumeMounts, `${at}: the Airflow container`).toContainEqual({name: 'dags', mountPath: dagsFolder(), readOnly: true})
        }
      }
    })

    it('the sync containers take the store from the overlay\'s ConfigMap, which the chart renders', () => {
      const configMaps = byKind(objects(), 'ConfigMap')
      const ours = configMaps.find((c) => c.metadata.name === `${RELEASE}-dagctl`)
      expect(ours?.data).toEqual(overlayData)
      // an ordinary object of the release, not a hook (hooks are neither listed nor removed with it)
      expect(Object.keys(ours?.metadata.annotations ?? {}).filter((k) => k.startsWith('helm.sh/hook'))).toEqual([])
      for (const pod of podSpecs(objects())) {
        for (const sync of containersOf(pod.spec).filter((c) => c.name.startsWith('dagctl-sync'))) {
          const refs = (sync.envFrom ?? []).filter((e: any) => e.configMapRef).map((e: any) => e.configMapRef.name)
          expect(refs, pod.where).toEqual([`${RELEASE}-dagctl`])
          // no store setting typed into the values: it comes only from the overlay
          expect((sync.env ?? []).map((e: any) => e.name), pod.where).not.toContain('DAGCTL_STORE')
        }
      }
    })
  })

  describe.each(COMBOS.map((c) => [c.name, c] as const))('%s', (name, combo) => {
    const objects = () => rendered.get(name)!

    it('the IRSA role is on exactly the service accounts of the pods that read DAGs or the bucket', () => {
      const accounts = byKind(objects(), 'ServiceAccount')
      const annotated = accounts.filter((sa) => sa.metadata.annotations?.[IRSA]).map((sa) => sa.metadata.name)
      const dagReaders = podSpecs(objects()).filter((p) => ['dag-processor', 'scheduler', 'triggerer', 'worker'].includes(p.component ?? ''))
      const expected = new Set(dagReaders.map((p) => p.spec.serviceAccountName))
      expect(expected.size).toBeGreaterThanOrEqual(3)
      expect(new Set(annotated)).toEqual(expected)
      for (const sa of accounts.filter((a) => a.metadata.annotations?.[IRSA])) expect(sa.metadata.annotations![IRSA]).toBe(ROLE)
      // the role is nowhere else (no pod, no other object carries it)
      const elsewhere = objects().filter((o) => o.kind !== 'ServiceAccount' && JSON.stringify(o).includes(ROLE))
      expect(elsewhere.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([])
    })

    it('no rendered ConfigMap holds a secret', () => {
      const configMaps = byKind(objects(), 'ConfigMap')
      expect(configMaps.length).toBeGreaterThan(0)
      expect(configMaps.flatMap((c) => secretLookingValues(c.data ?? {}, `ConfigMap/${c.metadata.name}`))).toEqual([])
    })

    if (combo.prod) {
      it('prod: the chart renders no Secret; every secret comes from an existing Secret that charts/README.md names', () => {
        expect(byKind(objects(), 'Secret').map((s) => s.metadata.name)).toEqual([])
        const named = new Set<string>()
        const visit = (v: any): void => {
          if (Array.isArray(v)) v.forEach(visit)
          else if (v && typeof v === 'object') {
            if (v.secretKeyRef) named.add(v.secretKeyRef.name)
            if (v.secretRef?.name && !v.secretRef.optional) named.add(v.secretRef.name)
            if (v.secret?.secretName) named.add(v.secret.secretName)
            Object.values(v).forEach(visit)
          }
        }
        for (const pod of podSpecs(objects())) visit(pod.spec)
        for (const s of ['airflow-metadata-db', 'airflow-fernet-key', 'airflow-api-secret', 'airflow-jwt-secret']) expect(named, s).toContain(s)
        const readme = readFileSync(chartsFile('README.md'), 'utf8')
        for (const s of named) expect(readme, `the Secret ${s} is documented`).toContain(s)
        // what `cluster up` checks exists before it installs is that same list, with the keys the pods read
        const needs = secretNeedsOf(objects())
        expect(needs.map((n) => n.name)).toEqual([...named].sort())
        expect(needs.find((n) => n.name === 'airflow-metadata-db')?.keys).toEqual(['connection'])
      })
    } else {
      it('dev: the chart makes every Secret its pods read, so cluster up needs none to exist', () => {
        expect(secretNeedsOf(objects())).toEqual([])
      })
    }
  })

  it.each(COMBOS.filter((c) => !c.prod).map((c) => [c.name, c] as const))('%s with fake secrets given inline: they reach Secrets, never a ConfigMap', async (_name, combo) => {
    const r = await helmTemplate(helmBinary(), AIRFLOW_CHART, combo.files, {release: RELEASE, set: FAKE_SECRETS})
    expect(r.exitCode, r.stderr).toBe(0)
    const configMaps = JSON.stringify(byKind(r.objects, 'ConfigMap'))
    for (const fake of Object.values(FAKE)) {
      expect(configMaps).not.toContain(fake)
      expect(configMaps).not.toContain(b64(fake))
    }
    // the fakes did land somewhere (so the scan above looked at real values): in the chart's Secrets
    const secrets = JSON.stringify(byKind(r.objects, 'Secret'))
    for (const fake of [FAKE.fernet, FAKE.api, FAKE.jwt]) expect(secrets).toContain(b64(fake))
  })

  it('the values files hold no secret and no inline credentials', () => {
    for (const file of [...Object.values(AIRFLOW), ...Object.values(DATAHUB)]) {
      const values = parse(readFileSync(file, 'utf8'), {merge: true})
      expect(secretLookingValues(values, path.basename(file))).toEqual([])
    }
  })

  describe.each(COMBOS.filter((c) => c.mode === 'bundle').map((c) => [c.name, c] as const))('%s (bundle)', (name) => {
    const objects = () => rendered.get(name)!

    it('no sync container and no dags volume anywhere; the Airflow image is the one with dagctl_airflow', () => {
      for (const pod of podSpecs(objects())) {
        expect(containersOf(pod.spec).map((c) => c.name).filter((n) => n.startsWith('dagctl')), pod.where).toEqual([])
        expect((pod.spec.volumes ?? []).map((v: any) => v.name), pod.where).not.toContain('dags')
      }
      const bundleValues = parse(readFileSync(AIRFLOW.bundle, 'utf8'))
      const image = `${bundleValues.images.airflow.repository}:${bundleValues.images.airflow.tag}`
      const openers = podSpecs(objects()).filter((p) => ['dag-processor', 'scheduler', 'triggerer', 'worker'].includes(p.component ?? ''))
      expect(openers.length).toBeGreaterThanOrEqual(3)
      for (const pod of openers) {
        // the Airflow container (`base` in the KubernetesExecutor's pod template)
        const airflow = pod.spec.containers.find((c: any) => c.name === pod.component || c.name === 'base')
        expect(airflow.image, pod.where).toBe(image)
        // the region (and on kind the endpoint) for boto3, from the overlay's ConfigMap
        expect(airflow.envFrom, pod.where).toContainEqual({configMapRef: {name: `${RELEASE}-dagctl`}})
      }
      const cfg = airflowCfg(objects())
      expect(`${cfg.kubernetes_executor.worker_container_repository}:${cfg.kubernetes_executor.worker_container_tag}`).toBe(image)
    })

    it('dag_bundle_config_list: one DagctlBundle per package, store/env/region from the overlay, and Airflow 3.3\'s own bundle manager loads it', async () => {
      const list = JSON.parse(airflowCfg(objects()).dag_processor.dag_bundle_config_list) as Array<{name: string; classpath: string; kwargs: Record<string, string>}>
      const listed = parse(readFileSync(AIRFLOW.bundle, 'utf8')).dagProcessor.dagBundleConfigList as Array<{name: string; kwargs: {package: string}}>
      expect(list.map((b) => b.name)).toEqual(listed.map((b) => b.name))
      for (const b of list) {
        expect(b.classpath).toBe('dagctl_airflow.DagctlBundle')
        expect(b.kwargs).toMatchObject({store: overlayData.DAGCTL_STORE, env: overlayData.DAGCTL_ENV, s3_region: overlayData.AWS_REGION})
      }
      const home = tempDir()
      const script = `
import json
from airflow.dag_processing.bundles.manager import DagBundlesManager
print(json.dumps({b.name: [type(b).__name__, b.store_url, b.layout.env, b.layout.package, b._reader_options["region"]] for b in DagBundlesManager().get_all_dag_bundles()}))
`
      const r = await execa(inject('airflowPython')['3'], ['-c', script], {
        reject: false,
        timeout: budget(180_000),
        env: {
          AIRFLOW_HOME: home,
          AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
          AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST: JSON.stringify(list),
          PYTHONPATH: path.join(REPO_ROOT, 'python', 'dagctl_airflow'),
        },
      })
      expect(r.exitCode, r.stderr).toBe(0)
      const loaded = JSON.parse(r.stdout.trim().split('\n').at(-1)!)
      expect(loaded).toEqual(Object.fromEntries(listed.map((b) => [b.name, ['DagctlBundle', overlayData.DAGCTL_STORE, overlayData.DAGCTL_ENV, b.kwargs.package, overlayData.AWS_REGION]])))
    })
  })

  describe('the rendered sync containers, run as the pod would run them (prod; moto for S3, standing in for the bucket and IRSA)', () => {
    let moto: Moto
    const store = overlayData.DAGCTL_STORE
    const bucket = new URL(store).host
    let s3Env: Record<string, string>
    const files = {'team_h_daily.py': '# team_h\nfrom airflow import DAG\n', 'lib/helpers.py': 'X = 1\n'}

    beforeAll(async () => {
      moto = await startMoto(inject('testPython'))
      await moto.createBucket(bucket)
      // what IRSA gives the pod in a cluster; the endpoint is the only other addition
      s3Env = {...MOTO_ENV, AWS_ENDPOINT_URL_S3: moto.endpoint}
      const pkg = tempDir({
        'dagctl.yaml': `package: team_h\nenvironments:\n  ${overlayData.DAGCTL_ENV}:\n    store: ${store}\n`,
        ...Object.fromEntries(Object.entries(files).map(([k, v]) => [`dags/${k}`, v])),
      })
      await publish(pkg, {...s3Env, DAGCTL_ENV: overlayData.DAGCTL_ENV})
    }, budget(120_000))
    afterAll(async () => moto?.stop())

    /** the container's environment as the kubelet builds it: envFrom's ConfigMap, then env */
    const containerEnv = (objects: K8sObject[], container: any): Record<string, string> => {
      const out: Record<string, string> = {}
      for (const from of container.envFrom ?? []) {
        if (from.configMapRef) Object.assign(out, objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === from.configMapRef.name)!.data)
        else if (from.secretRef) expect(from.secretRef.optional, 'prod sync reads no Secret').toBe(true)
      }
      for (const e of container.env ?? []) out[e.name] = e.value
      return out
    }
    const scheduler = () => podSpecs(rendered.get('prod')!).find((p) => p.component === 'scheduler')!.spec
    /**
     * The user the container runs as (its securityContext, else the pod's) and the environment the
     * kubelet gives it (no SHELL, HOME=/). Run as root, the test switches to that user with setpriv,
     * as the kubelet would; the DAG folder is an emptyDir (mode 0777).
     */
    const asPod = (spec: any, container: any, env: Record<string, string>): {command: string; args: string[]; env: Record<string, string>} => {
      const uid = container.securityContext?.runAsUser ?? spec.securityContext?.runAsUser
      const gid = container.securityContext?.runAsGroup ?? spec.securityContext?.runAsGroup ?? spec.securityContext?.fsGroup ?? 0
      const base = {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/', NO_COLOR: '1', ...env}
      if (process.getuid?.() !== 0 || uid === undefined) return {command: 'node', args: [BIN], env: base}
      return {command: 'setpriv', args: [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', process.execPath, BIN], env: base}
    }
    const emptyDir = () => {
      const dir = tempDir()
      chmodSync(dir, 0o777)
      return dir
    }

    it('the init container brings HEAD into the DAG folder, exit 0', async () => {
      const init = scheduler().initContainers.find((c: any) => c.name === 'dagctl-sync-init')
      const env = containerEnv(rendered.get('prod')!, init)
      const dags = emptyDir()
      expect(env.DAGCTL_SYNC_TO).toBe(init.volumeMounts[0].mountPath)
      const run = asPod(scheduler(), init, {...env, ...s3Env, DAGCTL_SYNC_TO: dags})
      const r = await execa(run.command, [...run.args, ...init.args], {reject: false, extendEnv: false, timeout: budget(120_000), env: run.env})
      expect(r.exitCode, r.stderr).toBe(0)
      expect(Object.keys(visibleTree(dags)).filter((f) => f.startsWith('team_h/')).sort()).toEqual(Object.keys(files).map((f) => `team_h/${f}`).sort())
      // Airflow's container (its own user: the pod's) reads every file sync wrote, through the package link
      const airflow = scheduler().containers.find((c: any) => c.name === 'scheduler')
      const reader = asPod(scheduler(), airflow, {})
      if (reader.command === 'setpriv') {
        for (const f of Object.keys(files)) {
          const cat = await execa('setpriv', [...reader.args.slice(0, 3), 'cat', path.join(dags, 'team_h', f)], {reject: false, extendEnv: false, env: reader.env})
          expect(cat.exitCode, `${f}: ${cat.stderr}`).toBe(0)
          expect(cat.stdout + '\n').toBe(files[f as keyof typeof files])
        }
      }
    })

    it('the sidecar serves its probes on the port they name, logs JSON, and stops on SIGTERM with exit 0', async () => {
      const sidecar = scheduler().containers.find((c: any) => c.name === 'dagctl-sync')
      const env = containerEnv(rendered.get('prod')!, sidecar)
      const declared = Number(sidecar.args[sidecar.args.indexOf('--metrics-port') + 1])
      expect(sidecar.readinessProbe.httpGet.port).toBe(declared)
      expect(sidecar.livenessProbe.httpGet.port).toBe(declared)
      expect(sidecar.ports).toContainEqual({name: 'sync-metrics', containerPort: declared})
      // another port on this shared machine; loopback only
      const port = await freePort()
      const args = sidecar.args.slice(1).map((a: string) => (a === String(declared) ? String(port) : a))
      const run = asPod(scheduler(), sidecar, {...env, ...s3Env, DAGCTL_SYNC_TO: emptyDir()})
      const sync = startSync([...args, '--metrics-host', '127.0.0.1', '--interval', '1s'], run.env, run.command === 'node' ? undefined : run)
      try {
        const get = async (p: string) => fetch(`http://127.0.0.1:${port}${p}`).catch(() => undefined)
        // wait for the condition the readiness probe reports (a cycle that brought every package to HEAD), seen on /metrics
        const deadline = Date.now() + budget(90_000)
        while (!/^dagctl_sync_cycles_total\{result="ok"\} [1-9]/m.test((await (await get('/metrics'))?.text()) ?? '')) {
          expect(sync.proc.exitCode, `sync exited:\n${sync.stderr()}`).toBeNull()
          expect(Date.now() < deadline, `no successful cycle:\n${sync.stderr()}`).toBe(true)
          await new Promise((r) => setTimeout(r, 200))
        }
        // then the probes' own paths answer 200
        expect((await get(sidecar.readinessProbe.httpGet.path))?.status, sidecar.readinessProbe.httpGet.path).toBe(200)
        expect((await get(sidecar.livenessProbe.httpGet.path))?.status, sidecar.livenessProbe.httpGet.path).toBe(200)
        const lines = sync.stderr().trim().split('\n')
        expect(lines.length).toBeGreaterThan(0)
        for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow()
        expect(sync.stderr()).not.toContain(MOTO_ENV.AWS_SECRET_ACCESS_KEY)
      } finally {
        sync.proc.kill('SIGTERM')
      }
      expect((await sync.proc).exitCode).toBe(0)
    })
  })

  it('the bundle on kind: the overlay\'s S3 endpoint reaches every DagctlBundle', async () => {
    const kindOverlay = path.join(tempDir(), 'dagctl-overlay-kind.yaml')
    const data = {DAGCTL_STORE: 's3://dagctl-dev', DAGCTL_ENV: 'dev', AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_S3: 'http://dagctl-s3.dagctl.svc.cluster.local:9000'}
    writeFileSync(kindOverlay, stringify({extraConfigMaps: {'{{ .Release.Name }}-dagctl': {data: stringify(data)}}}))
    const r = await helmTemplate(helmBinary(), AIRFLOW_CHART, [AIRFLOW.dev, AIRFLOW.bundle, kindOverlay], {release: RELEASE})
    expect(r.exitCode, r.stderr).toBe(0)
    const list = JSON.parse(airflowCfg(r.objects).dag_processor.dag_bundle_config_list) as Array<{kwargs: Record<string, string>}>
    for (const b of list) expect(b.kwargs).toMatchObject({store: data.DAGCTL_STORE, env: 'dev', s3_region: data.AWS_REGION, s3_endpoint: data.AWS_ENDPOINT_URL_S3})
  })

  it('the bundle without the overlay does not render, and says to add it', async () => {
    const r = await helmTemplate(helmBinary(), AIRFLOW_CHART, [AIRFLOW.prod, AIRFLOW.bundle], {release: RELEASE})
    expect(r.exitCode).not.toBe(0)
    expect(r.stderr).toMatch(/no DAGCTL_STORE .*dagctl overlay/)
  })

  it('the images\' Dockerfiles copy only what the repository has', () => {
    for (const file of [chartsFile('airflow', 'Dockerfile.bundle'), chartsFile('datahub', 'Dockerfile.actions')]) {
      const text = readFileSync(file, 'utf8')
      const copies = [...text.matchAll(/^COPY (?!--from)(\S+) \S+$/gm)].map((m) => m[1])
      expect(copies.length, file).toBeGreaterThan(0)
      for (const src of copies) expect(existsSync(path.join(REPO_ROOT, src)), `${file}: ${src}`).toBe(true)
    }
    // the bundle image is the chart's Airflow with the package added
    const chartTag = /^FROM apache\/airflow:(\S+)$/m.exec(readFileSync(chartsFile('airflow', 'Dockerfile.bundle'), 'utf8'))![1]
    expect(parse(readFileSync(AIRFLOW.bundle, 'utf8')).images.airflow.tag.startsWith(`${chartTag}-`)).toBe(true)
  })
})

describe('charts/datahub: DataHub\'s chart 1.1.0 rendered by real helm', () => {
  const PROFILES = [['dev', DATAHUB.dev], ['prod', DATAHUB.prod]] as const
  const rendered = new Map<string, K8sObject[]>()
  const actionConfig = parseObjects(readFileSync(ACTION_CONFIG, 'utf8'))
  const configMap = actionConfig[0]

  beforeAll(async () => {
    for (const [name, file] of PROFILES) {
      const r = await helmTemplate(helmBinary(), DATAHUB_CHART, [file], {release: 'datahub', namespace: 'datahub'})
      expect(r.exitCode, `${name}: ${r.stderr}`).toBe(0)
      rendered.set(name, r.objects)
    }
  }, budget(600_000))

  it.each(PROFILES)('%s: helm lint --strict passes', async (_name, file) => {
    const r = await helmLint(helmBinary(), DATAHUB_CHART, [file])
    expect(r.exitCode, r.stdout + r.stderr).toBe(0)
  })

  const actionsPod = (name: string) => podSpecs(rendered.get(name)!).find((p) => p.where === 'Deployment/datahub-acryl-datahub-actions')!

  it.each(PROFILES)('%s: the actions pod runs dagctl\'s Action with the ConfigMap that names the allowlist', (name) => {
    const pod = actionsPod(name)
    expect(pod).toBeDefined()
    const container = pod.spec.containers[0]
    expect(container.image).toMatch(/datahub-actions-dagctl/)
    const mountOf = (volume: string) => container.volumeMounts.find((m: any) => m.name === volume)
    const volumes = pod.spec.volumes.filter((v: any) => v.configMap?.name === configMap.metadata.name)
    expect(volumes.length).toBe(2)
    // the pipeline, where the image's start script runs every file
    const pipelineVolume = volumes.find((v: any) => v.configMap.items.some((i: any) => i.key === 'pipeline.yaml'))
    expect(mountOf(pipelineVolume.name)).toMatchObject({mountPath: '/etc/datahub/actions/conf', readOnly: true})
    const pipeline = parse(configMap.data['pipeline.yaml'])
    expect(pipeline.action.type).toMatch(/^dagctl_datahub\.action:DagctlAction$|^dagctl$/)
    // the Action's cwd is where dagctl.yaml and the mapping are mounted
    const configVolume = volumes.find((v: any) => v.configMap.items.some((i: any) => i.key === 'dagctl.yaml'))
    expect(configVolume.configMap.items.map((i: any) => i.path).sort()).toEqual(['dagctl.yaml', 'mapping.yaml'])
    expect(mountOf(configVolume.name)).toMatchObject({mountPath: pipeline.action.config.cwd, readOnly: true})
    // dagctl.yaml names the allowlist and the mapping; the mapping's DAGs are on it
    const dagctl = parse(configMap.data['dagctl.yaml'])
    expect(dagctl.trigger.allow.length).toBeGreaterThan(0)
    expect(dagctl.trigger.mapping).toBe('mapping.yaml')
    const glob = (g: string) => new RegExp(`^${g.replaceAll(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.')}$`)
    for (const rule of parse(configMap.data['mapping.yaml']).rules) expect(dagctl.trigger.allow.some((a: string) => glob(a).test(rule.dag_id)), rule.dag_id).toBe(true)
    // the environment it runs in is one dagctl.yaml defines; the password from the existing Secret
    const env = container.env as Array<{name: string; value?: string; valueFrom?: any}>
    expect(Object.keys(dagctl.environments)).toContain(env.find((e) => e.name === 'DAGCTL_ENV')!.value)
    expect(env.find((e) => e.name === 'DAGCTL_AIRFLOW_PASSWORD')).toEqual({name: 'DAGCTL_AIRFLOW_PASSWORD', valueFrom: {secretKeyRef: {name: 'dagctl-airflow-credentials', key: 'password'}}})
    // dead letters go to a writable volume
    expect(mountOf(pod.spec.volumes.find((v: any) => mountOf(v.name)?.mountPath === path.dirname(dagctl.trigger.dlq)).name)).not.toHaveProperty('readOnly', true)
  })

  it('the Action\'s Airflow URL, in every environment, is the API server Service the Airflow chart renders (release airflow, namespace airflow)', async () => {
    const r = await helmTemplate(helmBinary(), AIRFLOW_CHART, [AIRFLOW.prod, EXAMPLE_OVERLAY], {release: 'airflow', namespace: 'airflow'})
    expect(r.exitCode, r.stderr).toBe(0)
    const service = r.objects.find((o) => o.kind === 'Service' && o.metadata.labels?.component === 'api-server')!
    const port = service.spec.ports.find((p: any) => p.name === 'api-server').port
    const dagctl = parse(configMap.data['dagctl.yaml'])
    for (const [env, settings] of Object.entries<any>(dagctl.environments)) expect(settings.airflow.url, env).toBe(`http://${service.metadata.name}.airflow.svc.cluster.local:${port}`)
  })

  it('the pipeline loads with DataHub\'s own loader and the rendered container\'s variables, and the real Action with its config triggers the mapped, allowed DAG', async () => {
    const container = actionsPod('prod').spec.containers[0]
    const dir = tempDir()
    const cwd = path.join(dir, 'etc-dagctl')
    mkdirSync(cwd)
    for (const key of ['dagctl.yaml', 'mapping.yaml', 'pipeline.yaml']) writeFileSync(path.join(cwd, key), configMap.data[key])
    // every variable the rendered container has, with dummy values (the loader refuses an unset one)
    const containerEnv = Object.fromEntries((container.env as Array<{name: string; value?: string}>).map((e) => [e.name, e.value ?? `dummy-${e.name.toLowerCase()}`]))
    // a PII tag added to a dataset, in the envelope the pipeline hands the Action
    const envelope = JSON.parse(readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'datahub', 'event-envelope-entity-change-event-tag-added.json'), 'utf8'))
    Object.assign(envelope.event, {modifier: 'urn:li:tag:PII', parameters: {tagUrn: 'urn:li:tag:PII'}, entityUrn: 'urn:li:dataset:(urn:li:dataPlatform:snowflake,charts_test.t,PROD)'})
    writeFileSync(path.join(dir, 'envelope.json'), JSON.stringify(envelope))
    const dlq = path.join(dir, 'dead-letters.jsonl')
    const driver = `
import json, sys
from datahub.configuration.config_loader import load_config_file
from datahub_actions.pipeline.pipeline_config import PipelineConfig
from datahub_actions.action.action_registry import action_registry
from datahub_actions.event.event_envelope import EventEnvelope
from datahub_actions.pipeline.pipeline_context import PipelineContext
from dagctl_datahub.action import DagctlAction, DagctlTriggerError

config = PipelineConfig.model_validate(load_config_file(sys.argv[1]))
cls = action_registry.get(config.action.type)
assert cls is DagctlAction, cls
action_config = dict(config.action.config)
# the pod's paths and binary, replaced by this machine's (the test's only changes)
assert action_config["cwd"] == "/etc/dagctl", action_config["cwd"]
action_config.update(json.loads(sys.argv[2]))
action = cls.create(action_config, PipelineContext(pipeline_name=config.name, graph=None))
try:
    action.act(EventEnvelope.from_json(open(sys.argv[3]).read()))
    print(json.dumps({"exit": 0}))
except DagctlTriggerError as e:
    print(json.dumps({"exit": e.exit_code, "message": str(e)}))
finally:
    action.close()
`
    const overrides = {command: ['node', BIN], cwd, args: ['--dlq', dlq, '--retries', '0'], env: {DAGCTL_AIRFLOW_URL: 'http://127.0.0.1:9'}}
    const r = await execa(inject('datahubPython'), ['-c', driver, path.join(cwd, 'pipeline.yaml'), JSON.stringify(overrides), path.join(dir, 'envelope.json')], {
      reject: false,
      timeout: budget(180_000),
      env: {...process.env, ...containerEnv, PYTHONPATH: path.join(REPO_ROOT, 'python', 'dagctl_datahub')},
    })
    expect(r.exitCode, r.stderr).toBe(0)
    // allowed and mapped: dagctl went to Airflow (unreachable here: exit 4, a dead letter), not refused (5) or invalid (2)
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toMatchObject({exit: 4})
    const letters = readFileSync(dlq, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    expect(letters.map((l) => [l.dag_id, l.env])).toEqual([['team_a_pii_scan', 'prod']])
    expect(r.stdout + r.stderr).not.toContain(containerEnv.DAGCTL_AIRFLOW_PASSWORD)
  })

  it.each(PROFILES)('%s: no rendered ConfigMap (nor the Action\'s) holds a secret', (name) => {
    const configMaps = [...byKind(rendered.get(name)!, 'ConfigMap'), configMap]
    expect(configMaps.flatMap((c) => secretLookingValues(c.data ?? {}, `ConfigMap/${c.metadata.name}`))).toEqual([])
  })

  it('dev with fake secrets given inline: they reach Secrets, never a ConfigMap', async () => {
    const fake = 'FAKE-datahub-secret-9e71'
    const set = ['global.datahub.metadata_service_authentication.provisionSecrets.autoGenerate=false', ...['secret', 'signingKey', 'salt'].map((k) => `global.datahub.metadata_service_authentication.provisionSecrets.secretValues.${k}=${fake}-${k}`)]
    const r = await helmTemplate(helmBinary(), DATAHUB_CHART, [DATAHUB.dev], {release: 'datahub', namespace: 'datahub', set})
    expect(r.exitCode, r.stderr).toBe(0)
    const configMaps = JSON.stringify([...byKind(r.objects, 'ConfigMap'), configMap])
    expect(configMaps).not.toContain(fake)
    expect(configMaps).not.toContain(b64(`${fake}-secret`))
    expect(JSON.stringify(byKind(r.objects, 'Secret'))).toContain(b64(`${fake}-secret`))
  })

  it('prod: the chart renders no Secret; the ones it uses are existing Secrets values-prod.yaml names', () => {
    const objects = rendered.get('prod')!
    expect(byKind(objects, 'Secret').map((s) => s.metadata.name)).toEqual([])
    const named = new Set<string>()
    const visit = (v: any): void => {
      if (Array.isArray(v)) v.forEach(visit)
      else if (v && typeof v === 'object') {
        if (v.secretKeyRef) named.add(v.secretKeyRef.name)
        Object.values(v).forEach(visit)
      }
    }
    for (const pod of podSpecs(objects)) visit(pod.spec)
    const text = readFileSync(DATAHUB.prod, 'utf8')
    expect(named.size).toBeGreaterThan(0)
    for (const s of named) expect(text, `the Secret ${s} is listed in values-prod.yaml`).toContain(s)
  })

  it('dev and prod differ in replicas, resources and where the secrets come from', () => {
    const dev = parse(readFileSync(DATAHUB.dev, 'utf8'))
    const prod = parse(readFileSync(DATAHUB.prod, 'utf8'))
    expect(prod['datahub-gms'].replicaCount).toBeGreaterThan(dev['datahub-gms'].replicaCount)
    expect(prod['acryl-datahub-actions'].resources).not.toEqual(dev['acryl-datahub-actions'].resources)
    expect(byKind(rendered.get('dev')!, 'Secret').length).toBeGreaterThan(0)
    expect(byKind(rendered.get('prod')!, 'Secret').length).toBe(0)
  })
})
