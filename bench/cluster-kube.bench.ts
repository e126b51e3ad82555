/**
 * `dagctl cluster up --profile prod` beside the `helm upgrade --install` a user would run instead,
 * on a real kube-apiserver on loopback (test/helpers/kube-apiserver.ts; etcd and kube-apiserver
 * from the Go tool cache), the shipped Airflow chart 1.22.0 with the prod values and the same
 * overlay. dagctl's up adds the preflight, the context guard, the (stubbed) Terraform steps and the
 * API server's server-side dry run before the install. Median of BENCH_KUBE_RUNS (5), each into a
 * fresh namespace, the objects stored and never scheduled (--no-wait). Nothing here asserts a time.
 */
import {execa} from 'execa'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {ETCD, findGoTool, HELM, KUBE_APISERVER} from '../test/setup/go-tools.js'
import {startKubeApiServer} from '../test/helpers/kube-apiserver.js'

const ROOT = path.resolve(import.meta.dirname, '..')
const BIN = path.join(ROOT, 'bin', 'run.js')
const RUNS = Number(process.env.BENCH_KUBE_RUNS ?? 5)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`
const NO_HOOKS = ['--set', 'migrateDatabaseJob.useHelmHooks=false', '--set', 'createUserJob.useHelmHooks=false']

export default async function bench(): Promise<void> {
  const helm = findGoTool(HELM)
  const etcd = findGoTool(ETCD)
  const kubeApiserver = findGoTool(KUBE_APISERVER)
  if (!helm || !etcd || !kubeApiserver) {
    console.log('skipped: helm, etcd and kube-apiserver are not built yet (run the tests once: test/setup/go-tools.ts builds them)')
    return
  }
  const kube = await startKubeApiServer({etcd, kubeApiserver}, {context: 'bench-prod'})
  const root = mkdtempSync(path.join(os.tmpdir(), 'dagctl-bench-kube-'))
  try {
    const stub = path.join(ROOT, 'test', 'fixtures', 'cluster', 'terraform', 'terraform')
    const outputs = JSON.parse(readFileSync(path.join(ROOT, 'test', 'fixtures', 'terraform', 'prod-output.json'), 'utf8'))
    const env = {KUBECONFIG: kube.kubeconfig, DAGCTL_HELM: helm, DAGCTL_TERRAFORM: stub, NO_COLOR: '1'}
    const dagctl: number[] = []
    const plain: number[] = []
    for (let i = 0; i < RUNS; i++) {
      // dagctl, into its own namespace (Terraform's role set to trust it)
      const ns = `bench-d${i}`
      const pkg = path.join(root, ns)
      outputs.kubernetes_namespace.value = ns
      writeFileSync(path.join(root, `${ns}.json`), JSON.stringify(outputs))
      await execa('mkdir', ['-p', path.join(pkg, 'terraform')])
      writeFileSync(path.join(pkg, 'dagctl.yaml'), 'package: bench\nenvironments:\n  prod:\n    kubernetes: {context: bench-prod}\n')
      let t = performance.now()
      const r = await execa('node', [BIN, 'cluster', 'up', '--profile', 'prod', '--env', 'prod', '--namespace', ns, '--yes', '--no-wait', ...NO_HOOKS], {cwd: pkg, env: {...env, DAGCTL_TF_STUB_OUTPUTS: path.join(root, `${ns}.json`)}, reject: false})
      dagctl.push(performance.now() - t)
      if (r.exitCode !== 0) throw new Error(`cluster up failed: ${r.stderr}`)
      // the same install by hand: helm alone, same chart, values and overlay
      const overlay = path.join(pkg, '.dagctl', 'cluster', 'prod', 'values-terraform.yaml')
      t = performance.now()
      const h = await execa(helm, ['upgrade', '--install', 'airflow', path.join(ROOT, 'charts', 'vendor', 'airflow-1.22.0.tgz'), '--namespace', `bench-h${i}`, '--create-namespace', '--kube-context', 'bench-prod', '-f', path.join(ROOT, 'charts', 'airflow', 'values-prod.yaml'), '-f', overlay, ...NO_HOOKS], {env, reject: false})
      plain.push(performance.now() - t)
      if (h.exitCode !== 0) throw new Error(`helm failed: ${h.stderr}`)
    }
    console.log(`load average ${os.loadavg()[0]!.toFixed(1)}, ${os.availableParallelism()} cores, ${RUNS} runs, median`)
    console.log('| case | dagctl cluster up --profile prod | helm upgrade --install alone |')
    console.log('| --- | --- | --- |')
    console.log(`| install Airflow 1.22.0 (prod values + overlay) into a fresh namespace, no wait | ${s(median(dagctl))} | ${s(median(plain))} |`)
  } finally {
    await kube.stop()
    rmSync(root, {recursive: true, force: true})
  }
}
