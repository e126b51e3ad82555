import {parseAllDocuments} from 'yaml'

import {UsageError} from '../errors.js'
import type {Executor} from './executor.js'

/** A Secret (and the keys of it) a rendered chart's pods read but the chart does not create. */
export interface SecretNeed {
  name: string
  /** the keys read by name (secretKeyRef, volume items); empty when only the whole Secret is mounted */
  keys: string[]
  /** where it is read, for the error: `Deployment/airflow-scheduler` */
  readBy: string[]
}

interface PodSpecLike {
  containers?: ContainerLike[]
  initContainers?: ContainerLike[]
  volumes?: Array<{secret?: {secretName?: string; optional?: boolean; items?: Array<{key?: string}>}; projected?: {sources?: Array<{secret?: {name?: string; optional?: boolean; items?: Array<{key?: string}>}}>}}>
}
interface ContainerLike {
  env?: Array<{valueFrom?: {secretKeyRef?: {name?: string; key?: string; optional?: boolean}}}>
  envFrom?: Array<{secretRef?: {name?: string; optional?: boolean}}>
}

/** The pod spec of a workload object (Deployment, StatefulSet, Job, CronJob, Pod), if it has one. */
function podSpecOf(doc: any): PodSpecLike | undefined {
  if (doc?.kind === 'Pod') return doc.spec
  if (doc?.kind === 'CronJob') return doc.spec?.jobTemplate?.spec?.template?.spec
  return doc?.spec?.template?.spec
}

/**
 * The Secrets the pods of a rendered chart read that the chart does not render itself, with the
 * keys read by name. An `optional: true` reference is not a need. Pure: the rendered YAML in, the needs out.
 */
export function secretNeeds(renderedYaml: string): SecretNeed[] {
  return secretNeedsOf(parseAllDocuments(renderedYaml).map((d) => d.toJS()))
}

/** secretNeeds of objects already parsed. */
export function secretNeedsOf(objects: unknown[]): SecretNeed[] {
  const docs = objects.filter((d): d is any => d !== null && typeof d === 'object')
  const rendered = new Set(docs.filter((d) => d.kind === 'Secret').map((d) => d.metadata?.name as string))
  const needs = new Map<string, SecretNeed>()
  const need = (name: string | undefined, key: string | undefined, where: string) => {
    if (!name || rendered.has(name)) return
    const n = needs.get(name) ?? {name, keys: [], readBy: []}
    if (key && !n.keys.includes(key)) n.keys.push(key)
    if (!n.readBy.includes(where)) n.readBy.push(where)
    needs.set(name, n)
  }
  for (const doc of docs) {
    const spec = podSpecOf(doc)
    if (!spec) continue
    const where = `${doc.kind}/${doc.metadata?.name}`
    for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef
        if (ref && !ref.optional) need(ref.name, ref.key, where)
      }
      for (const e of c.envFrom ?? []) if (e.secretRef && !e.secretRef.optional) need(e.secretRef.name, undefined, where)
    }
    for (const v of spec.volumes ?? []) {
      if (v.secret && !v.secret.optional) {
        need(v.secret.secretName, undefined, where)
        for (const i of v.secret.items ?? []) need(v.secret.secretName, i.key, where)
      }
      for (const s of v.projected?.sources ?? []) {
        if (s.secret && !s.secret.optional) {
          need(s.secret.name, undefined, where)
          for (const i of s.secret.items ?? []) need(s.secret.name, i.key, where)
        }
      }
    }
  }
  return [...needs.values()].sort((a, b) => a.name.localeCompare(b.name))
}

// Only the keys' names come back from the API server: no Secret value ever reaches dagctl.
// One line per Secret of the namespace: its name, then its keys' names. Only names come back.
const NAMES_AND_KEYS = '{{range .items}}{{.metadata.name}}{{range $k, $v := .data}} {{$k}}{{end}}{{"\\n"}}{{end}}'

/**
 * Before an install: every Secret the rendered chart's pods read and the chart does not make must
 * exist in the namespace with the keys read, or the pods would never start
 * (CreateContainerConfigError) after helm reported success. Refused with the list and the commands
 * that create them; nothing is installed. Reads only the keys' names.
 */
export async function checkSecrets(ex: Executor, o: {context: string; namespace: string; release: string; rendered: string; valuesFiles: string[]}): Promise<void> {
  const needs = secretNeeds(o.rendered)
  const problems: Array<{name: string; missingKeys?: string[]; readBy: string[]}> = []
  if (needs.length === 0) return
  // one request for the namespace's Secrets, not one per Secret needed
  const r = await ex.read('kubectl', ['--context', o.context, '--namespace', o.namespace, 'get', 'secrets', '-o', `go-template=${NAMES_AND_KEYS}`])
  if (r.exitCode !== 0) return // the API server could not say (RBAC may forbid listing Secrets): the install goes on, as before
  const stored = new Map(r.stdout.split('\n').filter(Boolean).map((line) => {
    const [name, ...keys] = line.split(' ')
    return [name!, new Set(keys)] as const
  }))
  for (const n of needs) {
    const have = stored.get(n.name)
    if (!have) {
      problems.push({name: n.name, readBy: n.readBy})
      continue
    }
    const missingKeys = n.keys.filter((k) => !have.has(k))
    if (missingKeys.length > 0) problems.push({name: n.name, missingKeys, readBy: n.readBy})
  }
  if (problems.length === 0) return
  const lines = problems.map((p) => `  ${p.name}: ${p.missingKeys ? `no key ${p.missingKeys.join(', ')}` : 'does not exist'} (read by ${p.readBy.slice(0, 3).join(', ')}${p.readBy.length > 3 ? ', …' : ''})`)
  const create = problems.map((p) => {
    const keys = p.missingKeys ?? needs.find((n) => n.name === p.name)!.keys
    return `kubectl --context ${o.context} --namespace ${o.namespace} create secret generic ${p.name} ${keys.map((k) => `--from-literal=${k}=...`).join(' ') || '--from-literal=KEY=...'}`.trimEnd()
  })
  throw new UsageError(`${problems.length} Secret(s) the ${o.release} release's pods read are missing in ${o.context}/${o.namespace}; its pods would never start, so nothing was installed:\n${lines.join('\n')}`, {
    code: 'CLUSTER_SECRETS_MISSING',
    details: {missing: problems},
    hint: `Create them (values from your secret store, never in a values file), e.g.\n  ${create.join('\n  ')}\nthen run the same cluster up again. The values files that name them: ${o.valuesFiles.join(', ')}.`,
  })
}
