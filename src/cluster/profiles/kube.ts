import {existsSync, mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {stringify} from 'yaml'

import {PolicyError, UsageError} from '../../errors.js'
import type {StepRunner} from '../../util/steps.js'
import {Executor, helmFailed, toolFailed, type PlannedCommand} from '../executor.js'
import {chartPackage, chartsDir, S3_SERVICE, valuesFile} from '../manifests.js'
import {checkSecrets} from '../secrets.js'
import {firstLine, type ToolCheck, type ToolRunner} from '../tools.js'

/** What the kind and prod profiles share: Helm releases in one namespace of one kube context. */
export type KubeProfile = 'kind' | 'prod'

export interface KubeDeps {
  run: ToolRunner
  steps: StepRunner
  /** a line for people on stderr (silent under --json) */
  note: (message: string) => void
  env: NodeJS.ProcessEnv
  /** asks on the terminal; false when declined */
  confirm: (question: string) => Promise<boolean>
}

export interface ReleaseRecord {
  name: string
  chart: string
  /** its namespace (DataHub's is its own) */
  namespace?: string
  values: string[]
}

/** DataHub goes into a namespace of its own (charts/README.md) */
export const DATAHUB_NAMESPACE = 'datahub'

/** `.dagctl/cluster/<name>/state.json` of a kind or prod cluster. */
export interface KubeState {
  name: string
  profile: KubeProfile
  env: string
  context: string
  namespace: string
  store: string
  releases: ReleaseRecord[]
  /** kind: the kind cluster's name */
  kindCluster?: string
  terraformDir?: string
}

export interface FileWritten {
  path: string
  content?: string
  /** what it is; dry-run: written only when up runs */
  what: string
}

export interface Access {
  portForward: string
  url: string
  username?: string
  password?: string
  credentials: string
}

export interface KubeUpResult {
  profile: KubeProfile
  name: string
  dir: string
  env: string
  dryRun: boolean
  /** the plan was shown and not confirmed: nothing changed */
  cancelled?: boolean
  context: string
  namespace: string
  store: string
  preflight: ToolCheck[]
  commands: PlannedCommand[]
  files: FileWritten[]
  releases: ReleaseRecord[]
  access: Access
  terraform?: {dir: string; plan?: string; changes?: boolean; outputs?: Record<string, string>}
}

export function kubeStateFile(dir: string): string {
  return path.join(dir, 'state.json')
}

export function writeKubeState(dir: string, state: KubeState): void {
  mkdirSync(dir, {recursive: true})
  const file = kubeStateFile(dir)
  writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`)
  renameSync(`${file}.tmp`, file)
}

export function readKubeState(dir: string): KubeState | undefined {
  const file = kubeStateFile(dir)
  if (!existsSync(file)) return undefined
  const state = JSON.parse(readFileSync(file, 'utf8')) as KubeState
  return state.profile === 'kind' || state.profile === 'prod' ? state : undefined
}

/** Writes a file (not under --dry-run), and records it. */
export function writeFile(ex: Executor, files: FileWritten[], file: string, content: string, what: string): void {
  files.push({path: file, content, what})
  if (ex.dryRun) return
  mkdirSync(path.dirname(file), {recursive: true})
  writeFileSync(`${file}.tmp`, content)
  renameSync(`${file}.tmp`, file)
}

/**
 * The prod guard: dagctl installs only into the context dagctl.yaml names for the environment.
 * The context in use (`--context`, else kubectl's current context) must be that one; anything else
 * is refused before any command runs (exit 5), naming both.
 */
export async function checkContext(ex: Executor, env: string, wanted: string, given: string | undefined): Promise<void> {
  let current = given
  if (current === undefined) {
    const r = await ex.read('kubectl', ['config', 'current-context'])
    current = r.exitCode === 0 ? r.stdout.trim() : ''
  }
  if (current !== wanted) {
    throw new PolicyError(`refusing to install ${env} into kube context '${current || '(none set)'}': environments.${env}.kubernetes.context is '${wanted}'`, {
      code: 'KUBE_CONTEXT_MISMATCH',
      key: `environments.${env}.kubernetes.context`,
      hint: `Switch to it (\`kubectl config use-context ${wanted}\`) or pass \`--context ${wanted}\`; if ${env} really lives in '${current || '?'}', change environments.${env}.kubernetes.context in dagctl.yaml.`,
      details: {env, wanted, current: current || null, from: given === undefined ? 'current-context' : '--context'},
    })
  }
  const contexts = await ex.read('kubectl', ['config', 'get-contexts', '-o', 'name'])
  if (contexts.exitCode === 0 && !contexts.stdout.split('\n').map((l) => l.trim()).includes(wanted)) {
    throw new UsageError(`kube context '${wanted}' (environments.${env}.kubernetes.context) is not in your kubeconfig`, {
      code: 'KUBE_CONTEXT_MISSING',
      key: `environments.${env}.kubernetes.context`,
      hint: `Add it (for EKS: \`aws eks update-kubeconfig --name CLUSTER --alias ${wanted}\`), or point KUBECONFIG at the file that has it.`,
    })
  }
}

export function requireFiles(files: string[], what: string): void {
  for (const f of files) {
    if (!existsSync(f)) throw new UsageError(`${what} ${f} does not exist`, {code: 'CHART_FILES_MISSING', file: f, hint: 'Reinstall dagctl (it ships charts/), or set DAGCTL_CHARTS_DIR to a folder with charts/<chart>/values-<profile>.yaml; pass your own values with --values.'})
  }
}

export interface HelmInstall {
  release: string
  chart: 'airflow' | 'datahub'
  namespace: string
  context: string
  values: string[]
  set: string[]
  wait: boolean
  timeoutSeconds: number
  /** the namespace exists already (kind: s3.yaml makes it) */
  namespaceMade?: boolean
}

export function helmInstallArgs(h: HelmInstall, chartFile: string): string[] {
  return [
    'upgrade', '--install', h.release, chartFile, '--namespace', h.namespace, '--create-namespace', '--kube-context', h.context,
    ...h.values.flatMap((v) => ['-f', v]), ...h.set.flatMap((s) => ['--set', s]), ...(h.wait ? ['--wait', '--timeout', `${h.timeoutSeconds}s`] : []),
  ]
}

/** `helm upgrade --install` of a shipped chart: installs, or upgrades what is there (safe to repeat). */
export async function helmInstall(ex: Executor, h: HelmInstall): Promise<ReleaseRecord> {
  const chartFile = chartPackage(ex.env, h.chart)
  const refused = helmFailed(h.values)
  // First the API server checks every object the values render to (a server-side dry run: nothing is
  // stored), so that values it refuses leave nothing behind; `helm install --dry-run=server` does not
  // send the objects, and `helm template` alone accepts e.g. a volume mount that names no volume.
  if (!h.namespaceMade) await ensureNamespace(ex, h.context, h.namespace)
  const rendered = await ex.change('helm', ['template', h.release, chartFile, '--namespace', h.namespace, '--kube-context', h.context, ...h.values.flatMap((v) => ['-f', v]), ...h.set.flatMap((s) => ['--set', s])], `helm: render ${h.release} with the values`, {onFailure: refused})
  await ex.change('kubectl', ['--context', h.context, '--namespace', h.namespace, 'apply', '--dry-run=server', '--filename', '-'], `kubectl: the API server checks every object of ${h.release} (server-side dry run, stdin: the rendered chart)`, {input: rendered.stdout, onFailure: refused})
  // the Secrets the pods read and the chart does not make (prod's values name existing ones) must be there
  if (!ex.dryRun) await checkSecrets(ex, {context: h.context, namespace: h.namespace, release: h.release, rendered: rendered.stdout, valuesFiles: h.values})
  await ex.change('helm', helmInstallArgs(h, chartFile), `helm: ${h.release} (${path.basename(chartFile)}) into ${h.context}/${h.namespace}`, {onFailure: refused})
  return {name: h.release, chart: path.basename(chartFile), namespace: h.namespace, values: h.values}
}

/** `kubectl create namespace` unless it exists (and under --dry-run, when it does not exist yet). */
export async function ensureNamespace(ex: Executor, context: string, namespace: string): Promise<void> {
  const ns = await ex.read('kubectl', ['--context', context, 'get', 'namespace', namespace, '--ignore-not-found', '-o', 'name'])
  if (ns.exitCode !== 0 || ns.stdout.trim() === '') await ex.change('kubectl', ['--context', context, 'create', 'namespace', namespace], `kubectl: create namespace ${namespace}`, {when: 'unless it exists'})
}

/**
 * DataHub's chart with dagctl's values, in its own namespace: first the dagctl Action's ConfigMap
 * (the chart cannot create extra objects; charts/datahub/dagctl-action-config.yaml) and, on kind,
 * the Secret with the dev Airflow's password the Action reads; then the chart.
 */
export async function installDatahub(ex: Executor, files: FileWritten[], o: {dir: string; context: string; variant: 'dev' | 'prod'; wait: boolean; timeoutSeconds: number; airflowPassword?: string}): Promise<ReleaseRecord> {
  const values = [valuesFile(ex.env, 'datahub', o.variant)]
  const actionConfig = path.join(chartsDir(ex.env), 'datahub', 'dagctl-action-config.yaml')
  requireFiles([...values, actionConfig], 'DataHub file')
  await ensureNamespace(ex, o.context, DATAHUB_NAMESPACE)
  await ex.change('kubectl', ['--context', o.context, '--namespace', DATAHUB_NAMESPACE, 'apply', '--filename', actionConfig], "kubectl: the dagctl Action's ConfigMap (dagctl-datahub-action)")
  if (o.airflowPassword !== undefined) {
    const secret = path.join(o.dir, 'datahub-airflow-credentials.yaml')
    // the dev Airflow's password (the chart's default user on kind), never a real one
    writeFile(ex, files, secret, stringify({apiVersion: 'v1', kind: 'Secret', metadata: {name: 'dagctl-airflow-credentials', namespace: DATAHUB_NAMESPACE}, type: 'Opaque', stringData: {password: o.airflowPassword}}), "the Secret with the dev Airflow's password the Action reads")
    await ex.change('kubectl', ['--context', o.context, 'apply', '--filename', secret], 'kubectl: the Secret dagctl-airflow-credentials')
  }
  return helmInstall(ex, {release: 'datahub', chart: 'datahub', namespace: DATAHUB_NAMESPACE, namespaceMade: true, context: o.context, values, set: [], wait: o.wait, timeoutSeconds: o.timeoutSeconds})
}

export function access(context: string, namespace: string, release = 'airflow'): Access {
  return {
    portForward: `kubectl --context ${context} --namespace ${namespace} port-forward svc/${release}-api-server 8080:8080`,
    url: 'http://127.0.0.1:8080',
    credentials: '',
  }
}

// ---- status -------------------------------------------------------------------------------------

export interface Workload {
  kind: 'Deployment' | 'StatefulSet'
  name: string
  namespace: string
  desired: number
  ready: number
}

export interface PodStatus {
  name: string
  namespace: string
  phase: string
  ready: boolean
  /** the metrics port of its dagctl-sync sidecar */
  syncPort?: number
}

/** The dagctl_sync_* samples of a /metrics page (histogram buckets left out), keyed by name and labels. */
export function syncMetrics(text: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const line of text.split('\n')) {
    const m = /^(dagctl_sync_[a-z_]+)(\{[^}]*\})?\s+(\S+)/.exec(line)
    if (m && !m[1]!.endsWith('_bucket')) out[`${m[1]}${m[2] ?? ''}`] = Number(m[3])
  }
  return out
}

export interface KubeStatusResult {
  name: string
  profile: KubeProfile
  env: string
  context: string
  namespace: string
  up: boolean
  releases: Array<{name: string; namespace?: string; installed: boolean; status?: string; revision?: number; chart?: string; appVersion?: string; updated?: string}>
  workloads: Workload[]
  pods: PodStatus[]
  airflow: {reachable: boolean; healthy?: boolean; detail: string}
  sync: {reachable: boolean; detail: string; metrics?: Record<string, number>}
  s3?: {ready: boolean; detail: string}
}

interface KubeList<T> {
  items?: T[]
}
interface K8sObject {
  kind?: string
  metadata?: {name?: string; labels?: Record<string, string>}
  spec?: {replicas?: number; containers?: Array<{name?: string; ports?: Array<{containerPort?: number}>}>}
  status?: {readyReplicas?: number; phase?: string; conditions?: Array<{type?: string; status?: string}>}
}

async function kubectlJson<T>(ex: Executor, context: string, namespace: string, args: string[]): Promise<T | undefined> {
  const r = await ex.read('kubectl', ['--context', context, '--namespace', namespace, ...args, '-o', 'json'])
  if (r.exitCode !== 0) return undefined
  try {
    return JSON.parse(r.stdout) as T
  } catch {
    return undefined
  }
}

/**
 * The real state, read from the cluster: each release (`helm status -o json`), the Deployments and
 * StatefulSets with their ready replicas, the pods, and, through the API server's proxy (no
 * port-forward needed), Airflow's health endpoint and the sync sidecar's metrics where they answer.
 */
export async function kubeStatus(state: KubeState, ex: Executor): Promise<KubeStatusResult> {
  const {context, namespace} = state
  // the namespaces: the cluster's, and DataHub's when it was installed (or, with nothing recorded, may be)
  const namespaces = [...new Set([namespace, ...state.releases.map((r) => r.namespace ?? namespace), ...(state.releases.length === 0 ? [DATAHUB_NAMESPACE] : [])])]
  const found: Array<{name: string; namespace: string; revision: string; updated: string; status: string; chart: string; app_version: string}> = []
  const workloads: Workload[] = []
  const pods: PodStatus[] = []
  for (const ns of namespaces) {
    const listArgs = ['list', '--namespace', ns, '--kube-context', context, '--all', '-o', 'json']
    const listed = await ex.read('helm', listArgs)
    if (listed.exitCode !== 0) throw toolFailed(listed, ex.argv('helm', listArgs))
    found.push(...(JSON.parse(listed.stdout || '[]') as typeof found))
    const list = await kubectlJson<KubeList<K8sObject>>(ex, context, ns, ['get', 'deployments,statefulsets'])
    workloads.push(...(list?.items ?? []).map((o) => ({kind: o.kind as Workload['kind'], name: o.metadata?.name ?? '?', namespace: ns, desired: o.spec?.replicas ?? 1, ready: o.status?.readyReplicas ?? 0})))
    const podList = await kubectlJson<KubeList<K8sObject>>(ex, context, ns, ['get', 'pods'])
    pods.push(...(podList?.items ?? []).map((p) => {
      const port = p.spec?.containers?.find((c) => c.name === 'dagctl-sync')?.ports?.[0]?.containerPort
      return {name: p.metadata?.name ?? '?', namespace: ns, phase: p.status?.phase ?? 'Unknown', ready: (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'), ...(port ? {syncPort: port} : {})}
    }))
  }
  const ours = found.map((f) => f.name).filter((n) => n === 'airflow' || n === 'datahub')
  const wanted = state.releases.length > 0 ? state.releases.map((r) => r.name) : ours.length > 0 ? ours : ['airflow']
  const releases: KubeStatusResult['releases'] = wanted.map((name) => {
    const r = found.find((f) => f.name === name)
    return r ? {name, namespace: r.namespace, installed: true, status: r.status, revision: Number(r.revision), chart: r.chart, appVersion: r.app_version, updated: r.updated} : {name, installed: false}
  })

  const airflowRelease = state.releases.find((r) => r.chart.startsWith('airflow'))?.name ?? 'airflow'
  // the API server's Service, by its port's name (the proxy matches the Endpoints' port by name)
  const service = await kubectlJson<{spec?: {ports?: Array<{name?: string; port?: number}>}}>(ex, context, namespace, ['get', 'service', `${airflowRelease}-api-server`])
  const port = service?.spec?.ports?.find((p) => p.port === 8080) ?? service?.spec?.ports?.[0]
  const target = `${airflowRelease}-api-server:${port?.name || port?.port || 8080}`
  const health = await ex.read('kubectl', ['--context', context, 'get', '--raw', `/api/v1/namespaces/${namespace}/services/${target}/proxy/api/v2/monitor/health`, '--request-timeout', '10s'])
  let airflow: KubeStatusResult['airflow']
  if (health.exitCode === 0) {
    try {
      const h = JSON.parse(health.stdout) as Record<string, {status?: string}>
      const bad = Object.entries(h).filter(([, v]) => v?.status && v.status !== 'healthy').map(([k, v]) => `${k} ${v.status}`)
      airflow = {reachable: true, healthy: bad.length === 0, detail: bad.length === 0 ? 'healthy' : bad.join(', ')}
    } catch {
      airflow = {reachable: true, healthy: false, detail: firstLine(health.stdout)}
    }
  } else {
    airflow = {reachable: false, detail: `not reachable through the API server's proxy (${firstLine(health.stderr) || 'no answer'}${/NotFound/.test(health.stderr) ? ': no ready pod behind the Service' : ''})`}
  }

  // the sync sidecar of a ready pod that parses DAGs: its metrics port from the pod's spec
  const parser = pods.find((p) => p.namespace === namespace && /-(dag-processor|scheduler)-/.test(p.name) && p.ready && p.syncPort !== undefined)
  let sync: KubeStatusResult['sync'] = {reachable: false, detail: parser ? '' : 'no ready scheduler or dag-processor pod with the dagctl-sync sidecar to read'}
  if (parser) {
    const where = `${parser.name}:${parser.syncPort}/metrics`
    const m = await ex.read('kubectl', ['--context', context, 'get', '--raw', `/api/v1/namespaces/${namespace}/pods/${parser.name}:${parser.syncPort}/proxy/metrics`, '--request-timeout', '10s'])
    sync = m.exitCode === 0 ? {reachable: true, detail: `read from ${where}`, metrics: syncMetrics(m.stdout)} : {reachable: false, detail: `${where}: ${firstLine(m.stderr)}`}
  }
  const s3 = state.profile === 'kind' ? (() => {
    const w = workloads.find((x) => x.name === S3_SERVICE)
    return w ? {ready: w.ready >= w.desired, detail: `${w.ready}/${w.desired} ready`} : {ready: false, detail: `deployment ${S3_SERVICE} not found`}
  })() : undefined
  const up = releases.every((r) => r.installed && r.status === 'deployed') && workloads.length > 0 && workloads.every((w) => w.ready >= w.desired) && airflow.healthy === true
  return {name: state.name, profile: state.profile, env: state.env, context, namespace, up, releases, workloads, pods, airflow, sync, ...(s3 ? {s3} : {})}
}

// ---- down ---------------------------------------------------------------------------------------

export interface KubeDownResult {
  name: string
  profile: KubeProfile
  context: string
  namespace: string
  dryRun: boolean
  uninstalled: string[]
  deleted: string[]
  /** what holds data and was left in place (without --yes), each with why */
  kept: Array<{what: string; why: string}>
  commands: PlannedCommand[]
}

/**
 * Removes the Helm releases. Nothing that holds data goes without --yes: the PersistentVolumeClaims
 * (the database's, the logs'), kind's in-cluster S3 (its bucket lives in the pod) and the kind
 * cluster itself; the prod bucket is Terraform's and is never deleted by dagctl. Says what it kept.
 */
export async function kubeDown(state: KubeState, dir: string, ex: Executor, yes: boolean): Promise<KubeDownResult> {
  const {context, namespace} = state
  const result: KubeDownResult = {name: state.name, profile: state.profile, context, namespace, dryRun: ex.dryRun, uninstalled: [], deleted: [], kept: [], commands: ex.commands}
  // what up recorded; with nothing recorded here (up ran elsewhere), the releases dagctl names
  const planned = state.releases.length > 0 ? state.releases.map((r) => ({name: r.name, namespace: r.namespace ?? namespace})) : [{name: 'airflow', namespace}, {name: 'datahub', namespace: DATAHUB_NAMESPACE}]
  const namespaces = [...new Set(planned.map((p) => p.namespace))]
  const installed = new Set<string>()
  for (const ns of namespaces) {
    const listArgs = ['list', '--namespace', ns, '--kube-context', context, '--all', '-o', 'json']
    const listed = await ex.read('helm', listArgs)
    if (listed.exitCode !== 0) throw toolFailed(listed, ex.argv('helm', listArgs))
    for (const r of JSON.parse(listed.stdout || '[]') as Array<{name: string}>) installed.add(`${ns}/${r.name}`)
  }
  for (const rel of [...planned].reverse().filter((r) => installed.has(`${r.namespace}/${r.name}`))) {
    await ex.change('helm', ['uninstall', rel.name, '--namespace', rel.namespace, '--kube-context', context], `helm: uninstall ${rel.name}`)
    result.uninstalled.push(rel.name)
  }
  const pvcs: string[] = []
  for (const ns of namespaces) pvcs.push(...((await kubectlJson<KubeList<K8sObject>>(ex, context, ns, ['get', 'persistentvolumeclaims']))?.items ?? []).map((p) => `${ns}/${p.metadata?.name ?? ''}`))
  const deleteCluster = state.profile === 'kind' && yes
  if (pvcs.length > 0 && yes && !deleteCluster) {
    for (const ns of namespaces) {
      const names = pvcs.filter((p) => p.startsWith(`${ns}/`)).map((p) => p.slice(ns.length + 1))
      if (names.length > 0) await ex.change('kubectl', ['--context', context, '--namespace', ns, 'delete', 'persistentvolumeclaim', ...names, '--wait=false'], `kubectl: delete ${names.length} PVC(s) in ${ns}`)
    }
    result.deleted.push(...pvcs.map((p) => `persistentvolumeclaim/${pvcName(p, namespace)}`))
  } else if (!yes) {
    for (const p of pvcs) result.kept.push({what: `persistentvolumeclaim/${pvcName(p, namespace)}`, why: 'holds data (the database, logs); delete with --yes'})
  }
  if (state.profile === 'kind') {
    if (deleteCluster) {
      await ex.change('kind', ['delete', 'cluster', '--name', state.kindCluster ?? state.name], `kind: delete cluster ${state.kindCluster ?? state.name} (its S3, database and volumes with it)`)
      result.deleted.push(`kind cluster ${state.kindCluster ?? state.name}`, ...pvcs.map((p) => `persistentvolumeclaim/${pvcName(p, namespace)}`))
    } else {
      result.kept.push({what: `deployment/${S3_SERVICE}`, why: `the in-cluster S3 holds the bucket of ${state.store} (in memory); delete with --yes`})
      result.kept.push({what: `kind cluster ${state.kindCluster ?? state.name}`, why: 'delete it (and all in it) with --yes'})
    }
  } else {
    result.kept.push({what: `bucket ${state.store}`, why: `Terraform's (${state.terraformDir ?? 'terraform/'}); dagctl never deletes it: \`terraform destroy\` there does, once it is empty`})
  }
  if (!ex.dryRun) writeKubeState(dir, {...state, releases: []})
  return result
}

export function newExecutor(deps: KubeDeps, dryRun: boolean): Executor {
  return new Executor(deps.env, deps.run, dryRun, deps.steps)
}

/** `ns/name` → `name` in the cluster's namespace, `ns/name` elsewhere */
function pvcName(qualified: string, namespace: string): string {
  return qualified.startsWith(`${namespace}/`) ? qualified.slice(namespace.length + 1) : qualified
}
