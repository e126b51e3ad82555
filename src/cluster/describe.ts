import type {AnyDownResult, AnyStatusResult, AnyUpResult} from './cluster.js'
import {commandLine} from './executor.js'
import type {KubeDownResult, KubeStatusResult, KubeUpResult} from './profiles/kube.js'
import type {StatusResult, UpResult} from './profiles/local.js'
import {describeCheck} from './tools.js'
import {CheckFailedError} from '../errors.js'

const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`)

/** The lines `cluster up` prints for people (stdout). */
export function describeUp(result: UpResult, printConfig: boolean): string[] {
  if (result.dryRun) {
    const lines = [`# cluster ${result.name}: the commands up would run (nothing started)`]
    for (const c of result.commands) {
      lines.push(`# ${c.component} (log ${c.log})`)
      lines.push([...Object.entries(c.env).map(([k, v]) => `${k}=${shellQuote(v)}`), ...c.command.map((a) => shellQuote(a))].join(' '))
    }
    lines.push('# dagctl.yaml:', ...result.config.trimEnd().split('\n').map((l) => `#   ${l}`))
    return lines
  }
  const lines = result.components.map((c) => `${c.name.padEnd(8)}${c.action.padEnd(17)}${c.pid ? `pid ${c.pid}`.padEnd(12) : ''}${c.url}`)
  lines.push('', `Airflow ${result.airflowVersion}: ${result.airflowUrl} (user ${result.username}, password ${result.password ?? '?'})`, `Store: ${result.store}`)
  if (result.configWritten) lines.push(`Wrote environments in ${result.configWritten}. Next: dagctl publish, then dagctl trigger <dag> --wait`)
  if (printConfig) lines.push('Add to dagctl.yaml:', ...result.config.trimEnd().split('\n'))
  return lines
}

/** The table `cluster status` prints. */
export function describeStatus(result: StatusResult): string[] {
  if (result.components.length === 0) return [`cluster ${result.name}: not up (nothing recorded under ${result.dir})`]
  const lines = [`cluster ${result.name}: ${result.up ? 'up' : 'NOT healthy'}`]
  for (const c of result.components) {
    lines.push(`${c.name.padEnd(8)}${(c.pid ? `pid ${c.pid}` : '-').padEnd(12)}${(c.healthy ? 'healthy' : 'unhealthy').padEnd(11)}${(c.version ?? '').padEnd(8)}${c.url}  ${c.healthy ? '' : c.detail}`.trimEnd())
  }
  lines.push(`Airflow ${result.airflowVersion}: ${result.airflowUrl} (user ${result.username}, password ${result.password ?? '?'})`, `Store: ${result.store}${result.mode === 'bundle' ? ' (through the DagctlBundle)' : ''}`)
  return lines
}

/** The lines `cluster up` prints, for any profile. */
export function describeAnyUp(result: AnyUpResult, printConfig: boolean): string[] {
  return result.profile === 'local' ? describeUp(result, printConfig) : describeKubeUp(result)
}

export function describeAnyStatus(result: AnyStatusResult): string[] {
  return result.profile === 'local' ? describeStatus(result) : describeKubeStatus(result)
}

/**
 * What `cluster status` fails with when the cluster is not up and healthy (exit 1, like fsck's
 * damage): what is wrong, and where to look. Scripts and CI gates branch on it.
 */
export function notHealthyError(result: AnyStatusResult): CheckFailedError {
  if (result.profile === 'local') {
    if (result.components.length === 0) {
      return new CheckFailedError(`cluster ${result.name} is not up: nothing is recorded under ${result.dir}`, {code: 'CLUSTER_NOT_UP', hint: 'Run `dagctl cluster up` to start it.'})
    }
    const bad = result.components.filter((c) => !c.healthy)
    return new CheckFailedError(`cluster ${result.name} is not healthy: ${bad.map((c) => `${c.name} ${c.detail}`).join('; ')}`, {
      code: 'CLUSTER_NOT_HEALTHY',
      details: {unhealthy: bad.map((c) => c.name)},
      hint: `Read the component's log (${bad.map((c) => c.log).filter(Boolean).join(', ') || 'under the cluster folder'}); \`dagctl cluster up\` restarts what is not running.`,
    })
  }
  const reasons = [
    ...result.releases.filter((r) => !r.installed || r.status !== 'deployed').map((r) => `release ${r.name} ${r.installed ? r.status : 'not installed'}`),
    ...result.workloads.filter((w) => w.ready < w.desired).map((w) => `${w.kind} ${w.name} ${w.ready}/${w.desired} ready`),
    ...(result.workloads.length === 0 ? ['no workloads'] : []),
    ...(result.airflow.healthy === true ? [] : [`Airflow ${result.airflow.detail}`]),
  ]
  const installed = result.releases.some((r) => r.installed)
  return new CheckFailedError(`cluster ${result.name} (${result.profile}, context ${result.context}) is ${installed ? 'not healthy' : 'not up'}: ${reasons.join('; ')}`, {
    code: installed ? 'CLUSTER_NOT_HEALTHY' : 'CLUSTER_NOT_UP',
    details: {reasons},
    hint: installed
      ? `See why with \`kubectl --context ${result.context} -n ${result.namespace} get pods\` and \`kubectl describe\` of a pod that is not ready.`
      : `Run \`dagctl cluster up --profile ${result.profile}${result.profile === 'prod' ? ` --env ${result.env}` : ''}\`.`,
  })
}

export function describeAnyDown(result: AnyDownResult): string[] {
  if (result.profile !== 'local') return describeKubeDown(result)
  const lines = result.stopped.map((s) => `stopped ${s.name} (pid ${s.pid})`)
  return lines.length > 0 ? lines : [`cluster ${result.name}: nothing running`]
}

export function describeKubeUp(r: KubeUpResult): string[] {
  if (r.dryRun) {
    const lines = [`# cluster ${r.name} (profile ${r.profile}, environment ${r.env}): the commands up would run (nothing run)`, '# preflight:']
    for (const c of r.preflight) lines.push(`#   ${describeCheck(c)}`)
    for (const f of r.files.filter((x) => x.content === undefined)) lines.push(`# writes ${f.path}: ${f.what}`)
    for (const f of r.files.filter((x) => x.content !== undefined)) lines.push(`# writes ${f.path}: ${f.what}`)
    for (const c of r.commands) {
      lines.push(`# ${c.what}${c.when ? ` (${c.when})` : ''}`)
      lines.push(commandLine(c.argv))
    }
    return lines
  }
  if (r.cancelled) return ['Cancelled: nothing changed (the Terraform plan was not applied; nothing was installed).']
  const lines = r.releases.map((x) => `release ${x.name} (${x.chart}) installed in ${r.context}/${r.namespace}`)
  lines.push(`Store: ${r.store}`, `Airflow: ${r.access.portForward}`, `  then open ${r.access.url}`, `Credentials: ${r.access.credentials}`, `Next: dagctl cluster status --name ${r.name}`)
  return lines
}

export function describeKubeStatus(r: KubeStatusResult): string[] {
  const lines = [`cluster ${r.name} (profile ${r.profile}, ${r.context}/${r.namespace}): ${r.up ? 'up' : 'NOT ready'}`]
  for (const rel of r.releases) lines.push(rel.installed ? `release ${rel.name}: ${rel.status}, revision ${rel.revision}, ${rel.chart} (app ${rel.appVersion})` : `release ${rel.name}: not installed`)
  for (const w of r.workloads) lines.push(`${`${w.kind.toLowerCase()}/${w.name}`.padEnd(44)}${w.ready}/${w.desired} ready${w.ready >= w.desired ? '' : '  NOT READY'}`)
  if (r.workloads.length === 0) lines.push('no Deployments or StatefulSets in the namespace')
  const notReady = r.pods.filter((p) => !p.ready)
  lines.push(`pods: ${r.pods.length - notReady.length}/${r.pods.length} ready${notReady.length > 0 ? ` (not ready: ${notReady.map((p) => `${p.name} ${p.phase}`).join(', ')})` : ''}`)
  lines.push(`airflow: ${r.airflow.detail}`, `sync: ${r.sync.reachable ? `${r.sync.detail} ${JSON.stringify(r.sync.metrics)}` : r.sync.detail}`)
  if (r.s3) lines.push(`s3: ${r.s3.detail}`)
  return lines
}

export function describeKubeDown(r: KubeDownResult): string[] {
  const lines = r.dryRun ? [`# cluster ${r.name}: the commands down would run (nothing run)`, ...r.commands.flatMap((c) => [`# ${c.what}`, commandLine(c.argv)])] : []
  for (const u of r.uninstalled) lines.push(`${r.dryRun ? 'would uninstall' : 'uninstalled'} release ${u}`)
  if (r.uninstalled.length === 0) lines.push(`cluster ${r.name}: no release installed in ${r.context}/${r.namespace}`)
  for (const d of r.deleted) lines.push(`${r.dryRun ? 'would delete' : 'deleted'} ${d}`)
  for (const k of r.kept) lines.push(`kept ${k.what}: ${k.why}`)
  return lines
}
