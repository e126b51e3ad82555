import path from 'node:path'

import {dagctlImage, INSTALL_ROOT, kindConfig, overlayValues, S3_BUCKET_JOB, S3_PORT, S3_SERVICE, s3Endpoint, s3Manifests, valuesFile} from '../manifests.js'
import {assertPreflight, preflight} from '../tools.js'
import {access, installDatahub, helmInstall, newExecutor, requireFiles, writeFile, writeKubeState, type FileWritten, type KubeDeps, type KubeUpResult, type ReleaseRecord} from './kube.js'
import type {KubeUpOptions} from './prod.js'

export function kindContext(cluster: string): string {
  return `kind-${cluster}`
}

/**
 * Profile kind: a kind cluster from a config dagctl writes (or the one already there), the dagctl
 * image built and loaded into it, S3 in the cluster (moto, a Service, a Job that makes the
 * environment's bucket), and the shipped Airflow chart with the dev values (and DataHub's with
 * --with datahub). Prints the port-forward, the URL and the credentials.
 */
export async function kindUp(o: KubeUpOptions, deps: KubeDeps): Promise<KubeUpResult> {
  const ex = newExecutor(deps, o.dryRun)
  const cluster = o.name
  const context = kindContext(cluster)
  const namespace = o.namespace ?? 'airflow'
  const checks = await preflight(['kind', 'docker', 'helm', 'kubectl'], deps.env, deps.run)
  if (!o.dryRun) assertPreflight('kind', checks)
  const values = [valuesFile(deps.env, 'airflow', 'dev'), ...(o.bundle ? [valuesFile(deps.env, 'airflow', 'bundle')] : []), ...o.values.map((v) => path.resolve(o.root, v))]
  requireFiles(values, 'values file')
  const files: FileWritten[] = []
  const bucket = `dagctl-${o.env.replaceAll('_', '-')}`
  const store = `s3://${bucket}`

  const configFile = path.join(o.dir, 'kind.yaml')
  writeFile(ex, files, configFile, kindConfig(cluster), 'the kind cluster config')
  const existing = await ex.read('kind', ['get', 'clusters'])
  const exists = existing.exitCode === 0 && existing.stdout.split('\n').map((l) => l.trim()).includes(cluster)
  if (exists) deps.note(`kind cluster ${cluster} exists: reusing it`)
  else await ex.change('kind', ['create', 'cluster', '--name', cluster, '--config', configFile, '--wait', '120s'], `kind: create cluster ${cluster}`, {when: 'unless `kind get clusters` lists it: then it is reused'})

  const image = o.image ?? dagctlImage()
  if (!o.image) await ex.change('docker', ['build', '--tag', image, '--file', path.join(INSTALL_ROOT, 'Dockerfile'), INSTALL_ROOT], `docker: build ${image}`)
  await ex.change('kind', ['load', 'docker-image', image, '--name', cluster], `kind: load ${image} into ${cluster}`)

  const s3File = path.join(o.dir, 's3.yaml')
  writeFile(ex, files, s3File, s3Manifests(namespace, bucket, 'airflow'), `S3 in the cluster: moto, its Service, and a Job that creates ${bucket}`)
  await ex.change('kubectl', ['--context', context, 'apply', '--filename', s3File], `kubectl: apply ${path.basename(s3File)}`)
  await ex.change('kubectl', ['--context', context, '--namespace', namespace, 'wait', '--for=condition=complete', `job/${S3_BUCKET_JOB}`, `--timeout=${o.timeoutSeconds}s`], `kubectl: wait for bucket ${bucket}`)

  const overlay = path.join(o.dir, 'values-kind.yaml')
  writeFile(ex, files, overlay, overlayValues({store, env: o.env, region: 'us-east-1', endpoint: s3Endpoint(namespace), image}), 'the overlay values: the store, the environment, the in-cluster S3 endpoint and the image kind loads (the last -f)')
  const releases: ReleaseRecord[] = []
  const common = {namespace, context, set: o.set, wait: o.wait, timeoutSeconds: o.timeoutSeconds, namespaceMade: true}
  releases.push(await helmInstall(ex, {...common, release: 'airflow', chart: 'airflow', values: [...values, overlay]}))
  if (o.withDatahub) releases.push(await installDatahub(ex, files, {dir: o.dir, context, variant: 'dev', wait: o.wait, timeoutSeconds: o.timeoutSeconds, airflowPassword: 'admin'}))
  if (!o.dryRun) writeKubeState(o.dir, {name: o.name, profile: 'kind', env: o.env, context, namespace, store, releases, kindCluster: cluster})
  const acc = {
    ...access(context, namespace), username: 'admin', password: 'admin',
    credentials: `admin / admin (the dev values' local user; kind only). To publish from this machine: kubectl --context ${context} --namespace ${namespace} port-forward svc/${S3_SERVICE} ${S3_PORT}:${S3_PORT}, then environments.${o.env}: {store: ${store}, s3: {endpoint: http://127.0.0.1:${S3_PORT}}}`,
  }
  return {profile: 'kind', name: o.name, dir: o.dir, env: o.env, dryRun: o.dryRun, context, namespace, store, preflight: checks, commands: ex.commands, files, releases, access: acc}
}
