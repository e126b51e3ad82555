import path from 'node:path'
import type {TestProject} from 'vitest/node'

import {ensureGoTool, ETCD, HELM, KUBE_APISERVER} from './go-tools.js'
import {ensureMinio} from './minio-build.js'
import {ensureAirflowEnv, ensureVenv} from './python-env.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** python with the test peers installed (moto server, ...) */
    testPython: string
    /** python of the managed Airflow venvs (python/requirements/airflow-N.txt), by major version */
    airflowPython: {'2': string; '3': string}
    /** python with acryl-datahub-actions (test/requirements-datahub.txt), for the DataHub Action's test */
    datahubPython: string
    /** the MinIO server binary (test/setup/minio-build.ts): the second real S3 server */
    minioBinary: string
    /** the helm binary (test/setup/go-tools.ts), for rendering and installing the charts */
    helmBinary: string
    /** etcd and kube-apiserver (test/setup/go-tools.ts): a real Kubernetes API server on loopback */
    kubeBinaries: {etcd: string; kubeApiserver: string}
  }
}

/**
 * Runs once before the suite: installs what the tests' real peers need into venvs cached outside
 * the repo (keyed by their requirement files), and the Go programs (MinIO, Helm, etcd, kube-apiserver; keyed by version), so only
 * the first run on a machine pays for it. The Go builds run in the background while the venvs install.
 */
export default async function setup(project: TestProject): Promise<void> {
  const root = path.resolve(import.meta.dirname, '..', '..')
  const log = (m: string) => process.stderr.write(`[test setup] ${m}\n`)
  // the Go builds run one after another (kube-apiserver alone wants 2 GB), beside the venvs
  const minio = ensureMinio({onProgress: log})
  const helm = minio.catch(() => {}).then(() => ensureGoTool(HELM, {onProgress: log}))
  const etcd = helm.catch(() => {}).then(() => ensureGoTool(ETCD, {onProgress: log}))
  const kubeApiserver = etcd.catch(() => {}).then(() => ensureGoTool(KUBE_APISERVER, {onProgress: log}))
  for (const p of [minio, helm, etcd, kubeApiserver]) p.catch(() => {})
  project.provide('testPython', ensureVenv(path.join(root, 'test', 'requirements.txt'), 'test', {onProgress: log}).python)
  project.provide('airflowPython', {
    '3': ensureAirflowEnv(3, {onProgress: log}).python,
    '2': ensureAirflowEnv(2, {onProgress: log}).python,
  })
  project.provide('datahubPython', ensureVenv(path.join(root, 'test', 'requirements-datahub.txt'), 'datahub', {onProgress: log}).python)
  project.provide('minioBinary', await minio)
  project.provide('helmBinary', await helm)
  project.provide('kubeBinaries', {etcd: await etcd, kubeApiserver: await kubeApiserver})
}
