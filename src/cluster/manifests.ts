import {readFileSync} from 'node:fs'
import path from 'node:path'
import {stringify} from 'yaml'

import {UsageError} from '../errors.js'

/**
 * Where dagctl is installed: the shipped charts/, the Dockerfile and bin/run.js are found from here.
 * Two levels up holds both for the compiled file (dist/cluster/manifests.js) and for the bundle's
 * chunk it ends up in (dist/bundle/chunk-*.js); a file one folder deeper (src/cluster/profiles/)
 * must import this rather than count its own levels.
 */
export const INSTALL_ROOT = path.resolve(import.meta.dirname, '..', '..')

export const AIRFLOW_CHART_VERSION = '1.22.0'
export const DATAHUB_CHART_VERSION = '1.1.0'

/**
 * The charts dagctl installs are shipped with it (charts/vendor/, packaged, with their provenance in
 * charts/vendor/README.md): no chart repository is reached. The values files are charts/<chart>/.
 * DAGCTL_CHARTS_DIR names another charts folder with the same layout.
 */
export function chartsDir(env: NodeJS.ProcessEnv): string {
  return env.DAGCTL_CHARTS_DIR ? path.resolve(env.DAGCTL_CHARTS_DIR) : path.join(INSTALL_ROOT, 'charts')
}

export function chartPackage(env: NodeJS.ProcessEnv, chart: 'airflow' | 'datahub'): string {
  // the packaged charts stay in dagctl's own charts/vendor/ even when DAGCTL_CHARTS_DIR swaps the values
  const version = chart === 'airflow' ? AIRFLOW_CHART_VERSION : DATAHUB_CHART_VERSION
  return path.join(INSTALL_ROOT, 'charts', 'vendor', `${chart}-${version}.tgz`)
}

export function valuesFile(env: NodeJS.ProcessEnv, chart: 'airflow' | 'datahub', variant: string): string {
  return path.join(chartsDir(env), chart, `values-${variant}.yaml`)
}

export function dagctlImage(): string {
  const version = (JSON.parse(readFileSync(path.join(INSTALL_ROOT, 'package.json'), 'utf8')) as {version: string}).version
  return `dagctl:${version}`
}

// ---- Terraform's outputs → the one overlay values file ------------------------------------------

/** What `terraform output -json` of terraform/ gives (the contract with the module). */
export interface TerraformOutputs {
  bucket: string
  store: string
  region: string
  environment: string
  airflow_role_arn: string
  ci_policy_arn?: string
  kms_key_arn?: string
  /** the namespace and service accounts the IRSA role trusts (`system:serviceaccount:<ns>:<sa>`) */
  kubernetes_namespace?: string
  airflow_service_accounts?: string[]
}

const CHECKS: Array<[keyof TerraformOutputs, RegExp, string]> = [
  ['bucket', /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name'],
  ['store', /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[\w.\/-]+)?$/, 's3://<bucket>[/prefix]'],
  ['region', /^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as eu-west-1'],
  ['environment', /^[a-z][a-z0-9_-]{0,31}$/, 'an environment name'],
  ['airflow_role_arn', /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@\/-]{1,512}$/, 'an IAM role ARN'],
]

/**
 * Reads `terraform output -json` and checks every value dagctl writes into the values: each must look
 * like what it is (a bucket name, an ARN, a region), since they end up in the chart's templates.
 */
export function parseTerraformOutputs(json: string, source: string): TerraformOutputs {
  let raw: Record<string, {value?: unknown}>
  try {
    raw = JSON.parse(json) as Record<string, {value?: unknown}>
  } catch (error) {
    throw new UsageError(`${source} is not JSON: ${(error as Error).message}`, {code: 'TERRAFORM_OUTPUTS', hint: 'Run `terraform output -json` in the Terraform folder to see what it gives.'})
  }
  const out: Record<string, string> = {}
  for (const key of ['bucket', 'store', 'region', 'environment', 'airflow_role_arn', 'ci_policy_arn', 'kms_key_arn']) {
    const v = raw?.[key]?.value
    if (typeof v === 'string') out[key] = v
  }
  const ns = raw?.kubernetes_namespace?.value
  if (typeof ns === 'string') out.kubernetes_namespace = ns
  const sas = raw?.airflow_service_accounts?.value
  const result = out as unknown as TerraformOutputs
  if (Array.isArray(sas) && sas.every((x) => typeof x === 'string')) result.airflow_service_accounts = sas as string[]
  for (const [key, re, what] of CHECKS) {
    const v = out[key]
    if (v === undefined) throw new UsageError(`${source} has no output '${key}'`, {code: 'TERRAFORM_OUTPUTS', key, hint: `The Terraform module must output ${CHECKS.map((c) => c[0]).join(', ')} (docs/profiles.md).`})
    if (!re.test(v)) throw new UsageError(`${source}: output '${key}' is not ${what}: ${JSON.stringify(v.slice(0, 80))}`, {code: 'TERRAFORM_OUTPUTS', key, hint: 'Fix the Terraform output; dagctl writes only values of the expected shape into the chart values.'})
  }
  if (out.store !== `s3://${out.bucket}` && !out.store!.startsWith(`s3://${out.bucket}/`)) {
    throw new UsageError(`${source}: output 'store' (${out.store}) is not in the bucket '${out.bucket}'`, {code: 'TERRAFORM_OUTPUTS', key: 'store', hint: 'The store output must be s3://<bucket>[/prefix] of the bucket output.'})
  }
  return result
}

/** The service accounts the Airflow chart makes for the components that get the IRSA role (release `airflow`: airflow-scheduler, ...). */
export function irsaServiceAccounts(release: string): string[] {
  return IRSA_COMPONENTS.map((c) => `${release}-${c === 'workers' ? 'worker' : c.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`)}`)
}

/** The components of the Airflow chart that read DAGs from the store, and so get the IRSA role. */
export const IRSA_COMPONENTS = ['dagProcessor', 'scheduler', 'triggerer', 'workers'] as const

export interface OverlayInput {
  store: string
  env: string
  region: string
  /** IRSA: the role Airflow's service accounts assume (prod) */
  roleArn?: string
  /** an S3 endpoint other than AWS (kind: the in-cluster moto) */
  endpoint?: string
  /** kind: the dagctl image loaded into the cluster, for the sync containers (`dagctl.image` of the values) */
  image?: string
}

/**
 * The one values file through which everything from Terraform (or the kind profile's S3) enters the
 * chart, passed as the last `-f`: maps only, so it merges into the values files before it.
 */
export function overlayValues(input: OverlayInput): string {
  const data: Record<string, string> = {DAGCTL_STORE: input.store, DAGCTL_ENV: input.env, AWS_REGION: input.region}
  if (input.endpoint) data.AWS_ENDPOINT_URL_S3 = input.endpoint
  const values: Record<string, unknown> = {}
  if (input.roleArn) for (const c of IRSA_COMPONENTS) values[c] = {serviceAccount: {annotations: {'eks.amazonaws.com/role-arn': input.roleArn}}}
  if (input.image) {
    const at = input.image.lastIndexOf(':')
    const slash = input.image.lastIndexOf('/')
    values.dagctl = {image: at > slash ? {repository: input.image.slice(0, at), tag: input.image.slice(at + 1)} : {repository: input.image, tag: 'latest'}}
  }
  values.extraConfigMaps = {'{{ .Release.Name }}-dagctl': {data: stringify(data, {defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN'})}}
  return `# Written by dagctl cluster up (the values that come from ${input.roleArn ? "Terraform's outputs" : 'the kind profile'}); do not edit: the next up rewrites it.\n${stringify(values)}`
}

// ---- kind ---------------------------------------------------------------------------------------

export function kindConfig(name: string): string {
  return `# Written by dagctl cluster up --profile kind\n${stringify({kind: 'Cluster', apiVersion: 'kind.x-k8s.io/v1alpha4', name, nodes: [{role: 'control-plane'}]})}`
}

export const S3_SERVICE = 'dagctl-s3'
export const S3_BUCKET_JOB = 'dagctl-s3-bucket'
export const S3_PORT = 5000
/** moto's published image, the same moto as python/requirements/moto.txt */
export const MOTO_IMAGE = 'motoserver/moto:5.2.5'

/** The bucket-creating Job's program: constant text; the bucket and endpoint come from its environment. */
const BUCKET_SCRIPT = [
  'import os, boto3',
  "s3 = boto3.client('s3', endpoint_url=os.environ['S3_ENDPOINT'])",
  "bucket = os.environ['BUCKET']",
  "if bucket not in [b['Name'] for b in s3.list_buckets().get('Buckets', [])]: s3.create_bucket(Bucket=bucket)",
  "s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={'Status': 'Enabled'})",
  "print('bucket ready:', bucket)",
].join('\n')

export function s3Endpoint(namespace: string): string {
  return `http://${S3_SERVICE}.${namespace}.svc.cluster.local:${S3_PORT}`
}

/**
 * The kind profile's S3: moto as a Deployment + Service in the namespace, its fixed (fake)
 * credentials in a Secret, and a Job that creates the environment's bucket with versioning on.
 * moto keeps the bucket in memory: it lives as long as the pod.
 */
export function s3Manifests(namespace: string, bucket: string, release: string): string {
  // the sync containers of the dev values read S3 keys from the optional Secret '<release>-dagctl-s3'
  const secretName = `${release}-dagctl-s3`
  const labels = {'app.kubernetes.io/name': S3_SERVICE, 'app.kubernetes.io/managed-by': 'dagctl'}
  const credentialsEnv = [
    {name: 'AWS_ACCESS_KEY_ID', valueFrom: {secretKeyRef: {name: secretName, key: 'AWS_ACCESS_KEY_ID'}}},
    {name: 'AWS_SECRET_ACCESS_KEY', valueFrom: {secretKeyRef: {name: secretName, key: 'AWS_SECRET_ACCESS_KEY'}}},
    {name: 'AWS_DEFAULT_REGION', value: 'us-east-1'},
  ]
  const docs: unknown[] = [
    {apiVersion: 'v1', kind: 'Namespace', metadata: {name: namespace, labels: {'app.kubernetes.io/managed-by': 'dagctl'}}},
    // moto takes any credentials: these are fixed, never real ones
    {apiVersion: 'v1', kind: 'Secret', metadata: {name: secretName, namespace, labels}, type: 'Opaque', stringData: {AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing'}},
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: {name: S3_SERVICE, namespace, labels},
      spec: {
        replicas: 1, selector: {matchLabels: labels},
        template: {
          metadata: {labels},
          spec: {containers: [{
            name: 'moto', image: MOTO_IMAGE, args: ['-H', '0.0.0.0', '-p', String(S3_PORT)],
            ports: [{name: 's3', containerPort: S3_PORT}],
            readinessProbe: {httpGet: {path: '/moto-api/', port: S3_PORT}, periodSeconds: 2},
            resources: {requests: {cpu: '50m', memory: '128Mi'}, limits: {memory: '512Mi'}},
          }]},
        },
      },
    },
    {apiVersion: 'v1', kind: 'Service', metadata: {name: S3_SERVICE, namespace, labels}, spec: {selector: labels, ports: [{name: 's3', port: S3_PORT, targetPort: S3_PORT}]}},
    {
      apiVersion: 'batch/v1', kind: 'Job', metadata: {name: S3_BUCKET_JOB, namespace, labels},
      spec: {
        backoffLimit: 30,
        template: {
          metadata: {labels: {'app.kubernetes.io/name': S3_BUCKET_JOB, 'app.kubernetes.io/managed-by': 'dagctl'}},
          spec: {restartPolicy: 'OnFailure', containers: [{
            name: 'create-bucket', image: MOTO_IMAGE, command: ['python', '-c', BUCKET_SCRIPT],
            env: [{name: 'S3_ENDPOINT', value: `http://${S3_SERVICE}:${S3_PORT}`}, {name: 'BUCKET', value: bucket}, ...credentialsEnv],
          }]},
        },
      },
    },
  ]
  return `# Written by dagctl cluster up --profile kind: S3 (moto) for the environment's bucket\n${docs.map((d) => stringify(d)).join('---\n')}`
}
