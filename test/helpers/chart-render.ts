import {execa} from 'execa'
import {mkdtempSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {parseAllDocuments} from 'yaml'

import {budget} from './budget.js'
import {REPO_ROOT} from './cli.js'

/** The packaged charts dagctl ships and installs (charts/vendor/README.md: provenance), and dagctl's values for them. */
export const AIRFLOW_CHART = path.join(REPO_ROOT, 'charts', 'vendor', 'airflow-1.22.0.tgz')
export const DATAHUB_CHART = path.join(REPO_ROOT, 'charts', 'vendor', 'datahub-1.1.0.tgz')
export const EXAMPLE_OVERLAY = path.join(REPO_ROOT, 'test', 'fixtures', 'charts', 'dagctl-overlay.yaml')
export const chartsFile = (...parts: string[]) => path.join(REPO_ROOT, 'charts', ...parts)

export type K8sObject = {apiVersion: string; kind: string; metadata: {name: string; labels?: Record<string, string>; annotations?: Record<string, string>}; [key: string]: any}

export interface HelmRun {
  exitCode: number
  stdout: string
  stderr: string
}

// helm keeps caches and repository config under HOME: a private set per test process
let helmHome: string | undefined
function helmEnv(): Record<string, string> {
  helmHome ??= mkdtempSync(path.join(os.tmpdir(), 'dagctl-helm-home-'))
  return {HELM_CACHE_HOME: path.join(helmHome, 'cache'), HELM_CONFIG_HOME: path.join(helmHome, 'config'), HELM_DATA_HOME: path.join(helmHome, 'data')}
}

export async function helm(binary: string, args: string[]): Promise<HelmRun> {
  const r = await execa(binary, args, {reject: false, env: helmEnv(), timeout: budget(120_000)})
  return {exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr}
}

const valuesArgs = (files: string[], set: string[] = []) => [...files.flatMap((f) => ['-f', f]), ...set.flatMap((s) => ['--set', s])]

/** `helm lint --strict` (which also checks the chart's values schema) with these values files, in order. */
export function helmLint(binary: string, chart: string, files: string[], set?: string[]): Promise<HelmRun> {
  return helm(binary, ['lint', '--strict', chart, ...valuesArgs(files, set)])
}

/** `helm template` with these values files, in order; the objects parsed (every YAML document). */
export async function helmTemplate(binary: string, chart: string, files: string[], options: {release?: string; namespace?: string; set?: string[]} = {}): Promise<HelmRun & {objects: K8sObject[]}> {
  const r = await helm(binary, ['template', options.release ?? 'airflow', chart, '--namespace', options.namespace ?? 'airflow', ...valuesArgs(files, options.set)])
  const objects = r.exitCode === 0 ? parseObjects(r.stdout) : []
  return {...r, objects}
}

export function parseObjects(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`rendered YAML does not parse: ${d.errors[0].message}`)
      return d.toJS() as K8sObject | null
    })
    .filter((o): o is K8sObject => o !== null && typeof o === 'object')
}

export interface PodSpecOf {
  /** kind/name, or `ConfigMap/<name>:pod_template_file.yaml` for the KubernetesExecutor's pod template */
  where: string
  /** the chart's `component` label (dag-processor, scheduler, worker...) */
  component?: string
  spec: any
}

/** Every pod spec the objects define: workloads' templates, and the KubernetesExecutor pod template held in a ConfigMap. */
export function podSpecs(objects: K8sObject[]): PodSpecOf[] {
  const out: PodSpecOf[] = []
  for (const o of objects) {
    if (['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].includes(o.kind)) {
      out.push({where: `${o.kind}/${o.metadata.name}`, component: o.spec.template.metadata?.labels?.component ?? o.metadata.labels?.component, spec: o.spec.template.spec})
    } else if (o.kind === 'CronJob') {
      out.push({where: `CronJob/${o.metadata.name}`, component: o.metadata.labels?.component, spec: o.spec.jobTemplate.spec.template.spec})
    } else if (o.kind === 'ConfigMap' && typeof o.data?.['pod_template_file.yaml'] === 'string') {
      const [pod] = parseObjects(o.data['pod_template_file.yaml'])
      out.push({where: `ConfigMap/${o.metadata.name}:pod_template_file.yaml`, component: pod.metadata?.labels?.component, spec: pod.spec})
    }
  }
  return out
}

export const containersOf = (spec: any): any[] => [...(spec.initContainers ?? []), ...(spec.containers ?? [])]

/** The `key = value` lines of an INI file (airflow.cfg), by section. */
export function parseIni(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {}
  let section = ''
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    const s = /^\[(.+)\]$/.exec(line)
    if (s) {
      section = s[1]
      out[section] ??= {}
      continue
    }
    const eq = line.indexOf('=')
    if (eq > 0) (out[section] ??= {})[line.slice(0, eq).trim()] = line.slice(eq + 1).trim()
  }
  return out
}

const SECRETISH = /(pass(word|wd)?|secret|token|api[_-]?key|private[_-]?key|access[_-]?key|fernet|credential|authorization|salt|signing[_-]?key)/i
/** keys that name a Secret (or a key in one), not a secret value */
const NAMES_A_SECRET = /^(secretKey|secretRef|name|key)$|secret_?name$/i

/** A value made only of `${VAR}` references (and an auth scheme word) holds no secret itself. */
function onlyReferences(value: string): boolean {
  return value.replace(/\$\{[^}]*\}/g, '').replace(/\b(Basic|Bearer)\b/g, '').replace(/[\s:'"]/g, '') === ''
}

/**
 * Secret-looking settings with literal values, anywhere in a tree: keys that look like a password,
 * token or key (or a `{name, value}` pair whose name does) and hold a literal that is not only
 * `${VAR}` references. Strings that parse as YAML/JSON maps (ConfigMap data) or INI are searched too.
 */
export function secretLookingValues(tree: unknown, where = ''): string[] {
  const found: string[] = []
  const visit = (v: unknown, at: string, key?: string): void => {
    if (typeof v === 'string') {
      if (key && SECRETISH.test(key) && !NAMES_A_SECRET.test(key) && v.trim() !== '' && !onlyReferences(v)) found.push(`${at}: ${key}`)
      // a multi-line or JSON-looking string (not a Helm template, which is not data)
      if (!v.includes('{{') && (v.includes('\n') || v.trim().startsWith('{') || v.trim().startsWith('['))) {
        const docs = parseAllDocuments(v)
        if (docs.every((d) => d.errors.length === 0)) {
          const inner = docs.map((d) => d.toJS())
          if (inner.some((d) => d !== null && typeof d === 'object')) visit(inner, at)
        }
        if (/^\s*\[[^\]]+\]\s*$/m.test(v) && /^\s*[\w.-]+\s*=/m.test(v)) {
          for (const [section, kv] of Object.entries(parseIni(v))) for (const [k, val] of Object.entries(kv)) visit(val, `${at} [${section}]`, k)
        }
      }
      return
    }
    if (Array.isArray(v)) {
      v.forEach((item, i) => visit(item, `${at}[${i}]`))
      return
    }
    if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>
      // an env entry: {name: X_PASSWORD, value: literal}
      if (typeof o.name === 'string' && typeof o.value === 'string' && SECRETISH.test(o.name) && o.value.trim() !== '' && !onlyReferences(o.value)) found.push(`${at}: env ${o.name}`)
      for (const [k, child] of Object.entries(o)) visit(child, at ? `${at}.${k}` : k, k)
    }
  }
  visit(tree, where)
  return found
}
