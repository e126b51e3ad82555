import {PolicyError, UsageError} from '../errors.js'
import type {StepRunner} from '../util/steps.js'
import {Executor} from './executor.js'
import {kindUp} from './profiles/kind.js'
import {checkContext, kubeDown, kubeStatus, readKubeState, type KubeDeps, type KubeDownResult, type KubeState, type KubeStatusResult, type KubeUpResult} from './profiles/kube.js'
import {clusterDir, clusterDown, clusterStatus, clusterUp, defaultDeps, readState, type DownResult, type StatusResult, type UpOptions, type UpResult} from './profiles/local.js'
import {prodUp, type KubeUpOptions} from './profiles/prod.js'
import {execaRunner, type ToolRunner} from './tools.js'

export * from './profiles/local.js'

/**
 * `dagctl cluster up/status/down` for every profile: local (processes on this machine,
 * profiles/local.ts), kind (a kind cluster, profiles/kind.ts) and prod (Terraform + Helm into the
 * environment's kube context, profiles/prod.ts). The commands call only these three functions.
 */
export type Profile = 'local' | 'kind' | 'prod'

export interface ClusterUi {
  steps: StepRunner
  note: (message: string) => void
  confirm: (question: string) => Promise<boolean>
  env?: NodeJS.ProcessEnv
  run?: ToolRunner
}

export type UpRequest = {profile: 'local'; local: UpOptions} | {profile: 'kind' | 'prod'; kube: KubeUpOptions}
export type AnyUpResult = (UpResult & {profile: 'local'}) | KubeUpResult
export type AnyStatusResult = (StatusResult & {profile: 'local'}) | KubeStatusResult
export type AnyDownResult = (DownResult & {profile: 'local'}) | KubeDownResult

function kubeDeps(ui: ClusterUi): KubeDeps {
  return {run: ui.run ?? execaRunner, steps: ui.steps, note: ui.note, env: ui.env ?? process.env, confirm: ui.confirm}
}

export async function up(request: UpRequest, ui: ClusterUi): Promise<AnyUpResult> {
  if (request.profile === 'local') return {profile: 'local', ...(await clusterUp(request.local, defaultDeps({steps: ui.steps, note: ui.note, ...(ui.env ? {env: ui.env} : {})})))}
  return request.profile === 'kind' ? kindUp(request.kube, kubeDeps(ui)) : prodUp(request.kube, kubeDeps(ui))
}

export interface TargetRequest {
  root: string
  name: string
  /** --profile, when given */
  profile?: Profile
  env: string
  context?: string
  namespace?: string
  kubernetes?: {context: string; namespace?: string}
  store?: string
  yes?: boolean
  dryRun?: boolean
}

/** The cluster a status/down acts on: what up recorded; or, for prod with nothing recorded here (another machine ran up), what dagctl.yaml names. */
function kubeTarget(r: TargetRequest): {state: KubeState; dir: string} | undefined {
  const dir = clusterDir(r.root, r.name)
  const recorded = readKubeState(dir)
  if (recorded) {
    if (r.profile && r.profile !== recorded.profile) throw new UsageError(`cluster '${r.name}' was brought up with --profile ${recorded.profile}, not ${r.profile}`, {code: 'USAGE', hint: `Drop --profile, or pass --profile ${recorded.profile}.`})
    return {state: recorded, dir}
  }
  if (r.profile === 'prod') {
    if (!r.kubernetes?.context) throw new UsageError(`environments.${r.env}.kubernetes.context is not set in dagctl.yaml`, {code: 'KUBE_CONTEXT_UNSET', key: `environments.${r.env}.kubernetes.context`, hint: `Add \`kubernetes: {context: NAME}\` under environments.${r.env} (docs/configuration.md).`})
    const namespace = r.namespace ?? r.kubernetes.namespace ?? 'airflow'
    return {dir, state: {name: r.name, profile: 'prod', env: r.env, context: r.kubernetes.context, namespace, store: r.store ?? '?', releases: []}}
  }
  if (r.profile === 'kind') {
    return {dir, state: {name: r.name, profile: 'kind', env: r.env, context: `kind-${r.name}`, namespace: r.namespace ?? 'airflow', store: '?', releases: [], kindCluster: r.name}}
  }
  return undefined
}

export async function status(r: TargetRequest, ui: ClusterUi): Promise<AnyStatusResult> {
  const target = readState(clusterDir(r.root, r.name))?.profile === 'local' && !r.profile ? undefined : kubeTarget(r)
  if (!target) return {profile: 'local', ...(await clusterStatus(r.root, r.name))}
  const deps = kubeDeps(ui)
  return kubeStatus(target.state, new Executor(deps.env, deps.run, false, deps.steps))
}

export async function down(r: TargetRequest, ui: ClusterUi): Promise<AnyDownResult> {
  const target = readState(clusterDir(r.root, r.name))?.profile === 'local' && !r.profile ? undefined : kubeTarget(r)
  if (!target) return {profile: 'local', ...(await clusterDown(r.root, r.name, ui.steps))}
  const deps = kubeDeps(ui)
  const ex = new Executor(deps.env, deps.run, Boolean(r.dryRun), deps.steps)
  if (target.state.profile === 'prod') {
    const wanted = r.kubernetes?.context ?? target.state.context
    if (wanted !== target.state.context) throw new PolicyError(`cluster '${r.name}' was installed into '${target.state.context}', but environments.${target.state.env}.kubernetes.context is now '${wanted}'`, {code: 'KUBE_CONTEXT_MISMATCH', hint: 'Put the context back in dagctl.yaml, or pass --context with the one the cluster is in.'})
    await checkContext(ex, target.state.env, wanted, r.context)
  }
  return kubeDown(target.state, target.dir, ex, Boolean(r.yes))
}

export function defaultName(profile: Profile, env: string): string {
  return profile === 'local' ? 'local' : profile === 'kind' ? 'dagctl' : env
}
