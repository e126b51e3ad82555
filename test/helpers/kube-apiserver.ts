import {execa, execaSync} from 'execa'
import {spawn, type ChildProcess} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {request} from 'node:https'
import os from 'node:os'
import path from 'node:path'
import {stringify} from 'yaml'

import {waitFor} from './budget.js'
import {freePort} from './moto.js'

/**
 * A real Kubernetes API server on loopback: etcd + kube-apiserver (built once per machine from the
 * Go module proxy by test/setup/go-tools.ts; the global setup provides them as inject('kubeBinaries')),
 * a self-signed certificate for 127.0.0.1 (openssl), one bearer token in group system:masters, RBAC,
 * service-account keys, and a kubeconfig with a named context.
 *
 * There is no controller-manager, scheduler or kubelet: objects are validated and stored (what
 * `helm template` cannot check: a volume mount naming no volume is refused here), but no
 * ReplicaSet, Pod, PVC of a StatefulSet or Job pod is ever made, and nothing becomes ready.
 */
export interface KubeApiServer {
  url: string
  /** a kubeconfig whose current context is `context` */
  kubeconfig: string
  context: string
  token: string
  dir: string
  /** writes another kubeconfig for the same server, its current context named `context` */
  kubeconfigFor(context: string, file?: string): string
  /** kubectl against this server (the machine's kubectl), its output */
  kubectl(args: string[], input?: string): Promise<{exitCode: number; stdout: string; stderr: string}>
  stop(): Promise<void>
}

export interface KubeBinaries {
  etcd: string
  kubeApiserver: string
}

export async function startKubeApiServer(binaries: KubeBinaries, options: {context?: string; kubectl?: string} = {}): Promise<KubeApiServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dagctl-kube-'))
  const context = options.context ?? 'test-cluster'
  const kubectlBin = options.kubectl ?? 'kubectl'
  const [etcdPort, etcdPeerPort, port] = [await freePort(), await freePort(), await freePort()]
  const url = `https://127.0.0.1:${port}`
  const file = (name: string) => path.join(dir, name)

  // TLS for 127.0.0.1, and the service accounts' signing key
  execaSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('server.key'), '-out', file('server.crt'), '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], {stdio: 'pipe'})
  execaSync('openssl', ['genrsa', '-out', file('sa.key'), '2048'], {stdio: 'pipe'})
  execaSync('openssl', ['rsa', '-in', file('sa.key'), '-pubout', '-out', file('sa.pub')], {stdio: 'pipe'})
  const token = randomBytes(24).toString('hex')
  writeFileSync(file('tokens.csv'), `${token},dagctl-test-admin,dagctl-test-admin,"system:masters"\n`)

  const procs: ChildProcess[] = []
  const logOf = (name: string) => openSync(file(`${name}.log`), 'w')
  const stop = async () => {
    for (const p of [...procs].reverse()) {
      if (p.exitCode !== null || p.signalCode !== null) continue
      const gone = new Promise<void>((r) => p.once('exit', () => r()))
      p.kill('SIGTERM')
      const exited = await Promise.race([gone.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20_000))])
      if (!exited) {
        p.kill('SIGKILL')
        await gone
      }
    }
    rmSync(dir, {recursive: true, force: true})
  }
  const alive = (p: ChildProcess, name: string) => {
    if (p.exitCode !== null || p.signalCode !== null) throw new Error(`${name} exited (${p.exitCode}) during start-up:\n${tail(file(`${name}.log`))}`)
  }

  try {
    const etcdLog = logOf('etcd')
    const etcd = spawn(binaries.etcd, [
      '--name', 'default', '--data-dir', file('etcd-data'),
      '--listen-client-urls', `http://127.0.0.1:${etcdPort}`, '--advertise-client-urls', `http://127.0.0.1:${etcdPort}`,
      '--listen-peer-urls', `http://127.0.0.1:${etcdPeerPort}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeerPort}`,
      '--initial-cluster', `default=http://127.0.0.1:${etcdPeerPort}`, '--unsafe-no-fsync', '--log-level', 'warn',
    ], {stdio: ['ignore', etcdLog, etcdLog]})
    closeSync(etcdLog)
    procs.push(etcd)
    await waitFor(async () => {
      alive(etcd, 'etcd')
      return fetch(`http://127.0.0.1:${etcdPort}/health`).then((r) => r.ok, () => false)
    }, {what: 'etcd /health', timeoutMs: 60_000, intervalMs: 100})

    const apiLog = logOf('kube-apiserver')
    const api = spawn(binaries.kubeApiserver, [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${port}`,
      `--tls-cert-file=${file('server.crt')}`, `--tls-private-key-file=${file('server.key')}`,
      `--token-auth-file=${file('tokens.csv')}`, '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${file('sa.pub')}`, `--service-account-signing-key-file=${file('sa.key')}`,
      '--service-cluster-ip-range=10.96.0.0/16',
      `--cert-dir=${file('certs')}`,
    ], {stdio: ['ignore', apiLog, apiLog]})
    closeSync(apiLog)
    procs.push(api)
    const ca = readFileSync(file('server.crt'))
    await waitFor(async () => {
      alive(api, 'kube-apiserver')
      return (await get(`${url}/readyz`, token, ca)) === 200
    }, {what: 'kube-apiserver /readyz', timeoutMs: 120_000, intervalMs: 200})
  } catch (error) {
    await stop()
    throw error
  }

  const kubeconfigFor = (ctx: string, out = file(`kubeconfig-${ctx}`)) => {
    writeFileSync(out, stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': ctx,
      clusters: [{name: 'dagctl-test', cluster: {server: url, 'certificate-authority': file('server.crt')}}],
      users: [{name: 'dagctl-test-admin', user: {token}}],
      contexts: [{name: ctx, context: {cluster: 'dagctl-test', user: 'dagctl-test-admin'}}],
    }))
    return out
  }
  const kubeconfig = kubeconfigFor(context, file('kubeconfig'))
  return {
    url, kubeconfig, context, token, dir, kubeconfigFor,
    async kubectl(args, input) {
      const r = await execa(kubectlBin, args, {env: {KUBECONFIG: kubeconfig}, input: input ?? '', reject: false})
      return {exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr}
    },
    stop,
  }
}

function get(url: string, token: string, ca: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, {headers: {authorization: `Bearer ${token}`}, ca, timeout: 5000}, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', () => resolve(0))
    req.on('timeout', () => req.destroy())
    req.end()
  })
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n')
  } catch {
    return ''
  }
}
