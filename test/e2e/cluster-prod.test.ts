import {execa} from 'execa'
import {existsSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'

import {REPO_ROOT, runCli, type CliResult} from '../helpers/cli.js'
import {startKubeApiServer, type KubeApiServer} from '../helpers/kube-apiserver.js'
import {tempDir} from '../helpers/tmp.js'

/**
 * `dagctl cluster up --profile prod` for real against a real Kubernetes API server (etcd +
 * kube-apiserver on loopback, test/helpers/kube-apiserver.ts) with the real Helm and the shipped
 * Airflow chart 1.22.0; Terraform is a stub that replays a recorded plan and recorded outputs
 * (test/fixtures/cluster/terraform/: the AWS provider cannot be downloaded here).
 *
 * The API server stores and validates objects, but nothing schedules pods (no controller-manager,
 * scheduler or kubelet): Deployments and StatefulSets exist with 0 ready replicas, no pod is ever
 * made, and the chart's post-install hook Jobs would never finish, so the install runs with
 * `--no-wait --set migrateDatabaseJob.useHelmHooks=false --set createUserJob.useHelmHooks=false`.
 */
const TF_STUB = path.join(REPO_ROOT, 'test', 'fixtures', 'cluster', 'terraform', 'terraform')
const NO_HOOKS = ['--set', 'migrateDatabaseJob.useHelmHooks=false', '--set', 'createUserJob.useHelmHooks=false']
const CONTEXT = 'acme-prod-eks'

describe('cluster up --profile prod against a real API server', () => {
  let kube: KubeApiServer
  const helm = inject('helmBinary')

  beforeAll(async () => {
    kube = await startKubeApiServer(inject('kubeBinaries'), {context: CONTEXT})
  })
  afterAll(async () => {
    await kube?.stop()
  })

  /** a package whose dagctl.yaml names the prod context, with the stub Terraform folder */
  /** Terraform's recorded prod outputs (terraform/ module), its role trusting service accounts in `namespace` */
  function outputsFor(dir: string, namespace: string): string {
    const outputs = JSON.parse(readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'terraform', 'prod-output.json'), 'utf8'))
    outputs.kubernetes_namespace.value = namespace
    const file = path.join(dir, `outputs-${namespace}.json`)
    writeFileSync(file, JSON.stringify(outputs))
    return file
  }

  function pkg(extra = '', namespace = 'airflow'): {dir: string; log: string; env: Record<string, string>} {
    const dir = tempDir({
      'dagctl.yaml': `package: team_a\nenvironments:\n  prod:\n    kubernetes: {context: ${CONTEXT}}\n${extra}`,
      'terraform/main.tf': '# the root module (replayed by the stub)\n',
    })
    const log = path.join(dir, 'terraform-calls.log')
    return {dir, log, env: {KUBECONFIG: kube.kubeconfig, DAGCTL_HELM: helm, DAGCTL_TERRAFORM: TF_STUB, DAGCTL_TF_STUB_LOG: log, DAGCTL_TF_STUB_OUTPUTS: outputsFor(dir, namespace)}}
  }
  const show = (r: CliResult) => `exit ${r.exitCode}\n${r.stdout}\n--- stderr ---\n${r.stderr}`
  const tfCalls = (log: string) => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => l.split(' ').find((a) => !a.startsWith('-chdir'))) : [])
  const releases = async (namespace: string) => JSON.parse((await execa(helm, ['list', '--namespace', namespace, '--all', '-o', 'json'], {env: {KUBECONFIG: kube.kubeconfig}})).stdout || '[]') as Array<{name: string; status: string; chart: string}>
  const getJson = async (args: string[]) => {
    const r = await kube.kubectl([...args, '-o', 'json'])
    expect(r.exitCode, r.stderr).toBe(0)
    return JSON.parse(r.stdout)
  }

  it('up: terraform init/plan/apply, then helm upgrade --install with the prod values and the overlay from terraform output; status reads it back; down keeps the PVCs', async () => {
    const ns = 'airflow-a'
    const {dir, log, env} = pkg('', ns)
    const upArgs = ['cluster', 'up', '--profile', 'prod', '--env', 'prod', '--namespace', ns, '--yes', '--no-wait', ...NO_HOOKS]
    // the prod values read existing Secrets: with none there, or one lacking the key the pods read,
    // up refuses before helm installs anything (the pods would never start), naming each and its key
    const secret = async (name: string, key: string) => expect((await kube.kubectl(['--namespace', ns, 'create', 'secret', 'generic', name, `--from-literal=${key}=s3cr3t-${name}`])).exitCode).toBe(0)
    const none = await runCli([...upArgs, '--json'], {cwd: dir, env})
    expect(none.exitCode, show(none)).toBe(2)
    expect(none.json().error).toMatchObject({code: 'CLUSTER_SECRETS_MISSING'})
    expect(none.json().error.details.missing.map((m: {name: string}) => m.name)).toEqual(['airflow-api-secret', 'airflow-fernet-key', 'airflow-jwt-secret', 'airflow-metadata-db'])
    expect(none.json().error.hint).toContain(`kubectl --context ${CONTEXT} --namespace ${ns} create secret generic airflow-metadata-db --from-literal=connection=...`)
    expect(await releases(ns)).toEqual([])
    await secret('airflow-metadata-db', 'url') // the wrong key
    for (const [name, key] of [['airflow-fernet-key', 'fernet-key'], ['airflow-api-secret', 'api-secret-key'], ['airflow-jwt-secret', 'jwt-secret']]) await secret(name!, key!)
    const wrongKey = await runCli(upArgs, {cwd: dir, env})
    expect(wrongKey.exitCode, show(wrongKey)).toBe(2)
    expect(wrongKey.stderr).toMatch(/airflow-metadata-db: no key connection \(read by /)
    expect(`${wrongKey.stdout}${wrongKey.stderr}`).not.toContain('s3cr3t') // only the keys' names are read, never a value
    expect(await releases(ns)).toEqual([])
    expect((await kube.kubectl(['--namespace', ns, 'delete', 'secret', 'airflow-metadata-db'])).exitCode).toBe(0)
    await secret('airflow-metadata-db', 'connection')
    rmSync(log, {force: true})

    const up = await runCli(upArgs, {cwd: dir, env})
    expect(up.exitCode, show(up)).toBe(0)
    expect(tfCalls(log)).toEqual(['version', 'init', 'plan', 'apply', 'output'])
    expect(up.stderr).toContain('Plan: 9 to add') // the plan is shown before it is applied
    expect(up.stdout).toContain(`kubectl --context ${CONTEXT} --namespace ${ns} port-forward svc/airflow-api-server 8080:8080`)

    expect(await releases(ns)).toMatchObject([{name: 'airflow', status: 'deployed', chart: 'airflow-1.22.0'}])
    // what Terraform gave reached the objects: the IRSA role on the service accounts of the pods that read DAGs, the store in the ConfigMap
    const role = 'arn:aws:iam::444455556666:role/dagctl-prod-airflow'
    for (const sa of ['airflow-scheduler', 'airflow-dag-processor', 'airflow-triggerer', 'airflow-worker']) {
      expect((await getJson(['--namespace', ns, 'get', 'serviceaccount', sa])).metadata.annotations?.['eks.amazonaws.com/role-arn'], sa).toBe(role)
    }
    expect((await getJson(['--namespace', ns, 'get', 'serviceaccount', 'airflow-api-server'])).metadata.annotations?.['eks.amazonaws.com/role-arn']).toBeUndefined()
    expect((await getJson(['--namespace', ns, 'get', 'configmap', 'airflow-dagctl'])).data).toEqual({DAGCTL_STORE: 's3://acme-airflow-dags-prod', DAGCTL_ENV: 'prod', AWS_REGION: 'eu-west-1'})
    // the prod values' sync sidecar, as the API server stored it, reads that ConfigMap
    const scheduler = await getJson(['--namespace', ns, 'get', 'deployment', 'airflow-scheduler'])
    const sync = scheduler.spec.template.spec.containers.find((c: {name: string}) => c.name === 'dagctl-sync')
    expect(sync.envFrom).toEqual(expect.arrayContaining([{configMapRef: {name: 'airflow-dagctl'}}]))
    const overlay = readFileSync(path.join(dir, '.dagctl', 'cluster', 'prod', 'values-terraform.yaml'), 'utf8')
    expect(overlay).toContain(role)

    // status: the release and the objects, read back; nothing schedules pods here, so none is ready
    // not healthy is exit 1 (CLUSTER_NOT_HEALTHY, each workload named), and the report is still stdout's whole
    const status = await runCli(['cluster', 'status', '--json'], {cwd: dir, env})
    expect(status.exitCode, show(status)).toBe(1)
    const s = status.json()
    expect(s).toMatchObject({profile: 'prod', context: CONTEXT, namespace: ns, up: false, pods: []})
    expect(s.releases).toMatchObject([{name: 'airflow', installed: true, status: 'deployed', chart: 'airflow-1.22.0', appVersion: '3.2.1'}])
    const names = s.workloads.map((w: {kind: string; name: string}) => `${w.kind}/${w.name}`)
    expect(names).toEqual(expect.arrayContaining(['Deployment/airflow-scheduler', 'Deployment/airflow-dag-processor', 'Deployment/airflow-api-server', 'StatefulSet/airflow-triggerer']))
    expect(s.workloads.every((w: {ready: number}) => w.ready === 0)).toBe(true)
    expect(s.airflow.reachable).toBe(false)
    const human = await runCli(['cluster', 'status'], {cwd: dir, env})
    expect(human.stdout).toMatch(/deployment\/airflow-scheduler\s+0\/2 ready {2}NOT READY/)
    expect(human.exitCode).toBe(1)
    expect(human.stderr).toMatch(/CLUSTER_NOT_HEALTHY|is not healthy: .*Deployment airflow-scheduler 0\/2 ready/)
    expect(human.stderr).toContain(`kubectl --context ${CONTEXT} -n ${ns} get pods`)

    // a claim as a StatefulSet's volumeClaimTemplate makes it (no controller here makes them)
    const pvc = await kube.kubectl(['apply', '-f', '-'], JSON.stringify({apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: {name: 'logs-airflow-triggerer-0', namespace: ns, labels: {release: 'airflow'}}, spec: {accessModes: ['ReadWriteOnce'], resources: {requests: {storage: '1Gi'}}}}))
    expect(pvc.exitCode, pvc.stderr).toBe(0)
    // down --dry-run: what it would run, and nothing goes
    const plan = await runCli(['cluster', 'down', '--dry-run', '--json'], {cwd: dir, env})
    expect(plan.exitCode, show(plan)).toBe(0)
    expect(plan.json().commands.map((c: {argv: string[]}) => c.argv.slice(1))).toEqual([['uninstall', 'airflow', '--namespace', ns, '--kube-context', CONTEXT]])
    expect(await releases(ns)).toHaveLength(1)
    const down = await runCli(['cluster', 'down', '--json'], {cwd: dir, env})
    expect(down.exitCode, show(down)).toBe(0)
    expect(down.json()).toMatchObject({uninstalled: ['airflow'], deleted: []})
    expect(down.json().kept.map((k: {what: string}) => k.what)).toEqual(['persistentvolumeclaim/logs-airflow-triggerer-0', 'bucket s3://acme-airflow-dags-prod'])
    expect(await releases(ns)).toEqual([])
    expect((await getJson(['--namespace', ns, 'get', 'persistentvolumeclaim', 'logs-airflow-triggerer-0'])).metadata.deletionTimestamp).toBeUndefined()

    // with --yes the claims go (deletion is requested; the protection controller that would finish it does not run here)
    const yes = await runCli(['cluster', 'down', '--yes'], {cwd: dir, env})
    expect(yes.exitCode, show(yes)).toBe(0)
    expect(yes.stdout).toContain('deleted persistentvolumeclaim/logs-airflow-triggerer-0')
    const gone = await kube.kubectl(['--namespace', ns, 'get', 'persistentvolumeclaim', 'logs-airflow-triggerer-0', '-o', 'json', '--ignore-not-found'])
    expect(gone.stdout.trim() === '' || JSON.parse(gone.stdout).metadata.deletionTimestamp !== undefined).toBe(true)
    expect(yes.stdout).toContain('kept bucket s3://acme-airflow-dags-prod')
  })

  it('refuses another kube context (current-context or --context) before anything runs, naming both', async () => {
    const {dir, log, env} = pkg()
    const other = kube.kubeconfigFor('acme-staging-eks', path.join(dir, 'kubeconfig-staging'))
    // both files together know the prod context too: only the choice is wrong
    const r = await runCli(['cluster', 'up', '--profile', 'prod', '--env', 'prod', '--namespace', 'airflow-b', '--yes', '--no-wait', '--json', ...NO_HOOKS], {cwd: dir, env: {...env, KUBECONFIG: `${other}:${kube.kubeconfig}`}})
    expect(r.exitCode, show(r)).toBe(5)
    expect(r.json().error).toMatchObject({code: 'KUBE_CONTEXT_MISMATCH', details: {wanted: CONTEXT, current: 'acme-staging-eks', from: 'current-context'}})
    expect(r.json().error.message).toContain("'acme-staging-eks'")
    expect(r.json().error.message).toContain(`'${CONTEXT}'`)
    const flag = await runCli(['cluster', 'up', '--profile', 'prod', '--env', 'prod', '--namespace', 'airflow-b', '--context', 'acme-staging-eks', '--yes', '--no-wait', ...NO_HOOKS], {cwd: dir, env})
    expect(flag.exitCode, show(flag)).toBe(5)
    expect(flag.stderr).toContain('acme-staging-eks')
    // nothing ran: not even terraform init
    expect(tfCalls(log).filter((c) => c !== 'version')).toEqual([])
    expect(await releases('airflow-b')).toEqual([])
    expect(existsSync(path.join(dir, '.dagctl', 'cluster', 'prod', 'state.json'))).toBe(false)
  })

  it('a values mistake that rendering accepts (a volume mount naming no volume) is refused by the API server, and nothing is installed', async () => {
    const {dir, env} = pkg('', 'airflow-c')
    writeFileSync(path.join(dir, 'bad-values.yaml'), 'scheduler:\n  extraVolumeMounts:\n    - name: dags-from-nowhere\n      mountPath: /opt/airflow/dags\n')
    // helm renders it without a word ...
    const chart = path.join(REPO_ROOT, 'charts', 'vendor', 'airflow-1.22.0.tgz')
    const rendered = await execa(helm, ['template', 'airflow', chart, '-f', path.join(dir, 'bad-values.yaml')], {reject: false})
    expect(rendered.exitCode, rendered.stderr).toBe(0)
    expect(rendered.stdout).toContain('dags-from-nowhere')
    // ... the API server does not take it
    const ns = 'airflow-c'
    const r = await runCli(['cluster', 'up', '--profile', 'prod', '--env', 'prod', '--namespace', ns, '--yes', '--no-wait', '--values', 'bad-values.yaml', '--json', ...NO_HOOKS], {cwd: dir, env})
    expect(r.exitCode, show(r)).toBe(2)
    const error = r.json().error
    expect(error.code).toBe('CLUSTER_VALUES_REFUSED')
    expect(error.message).toContain('volumeMounts')
    expect(error.message).toContain('Not found: "dags-from-nowhere"')
    expect(error.hint).toContain(path.join(dir, 'bad-values.yaml'))
    // checked by a server-side dry run before the install: no release, no object left behind
    expect(await releases(ns)).toEqual([])
    expect((await getJson(['--namespace', ns, 'get', 'deployments,statefulsets,configmaps,serviceaccounts'])).items.filter((o: {metadata: {name: string}}) => o.metadata.name !== 'default' && o.metadata.name !== 'kube-root-ca.crt')).toEqual([])
  })

  it('off a terminal without --yes the plan is shown and nothing is applied or installed', async () => {
    const {dir, log, env} = pkg()
    const r = await runCli(['cluster', 'up', '--profile', 'prod', '--env', 'prod', '--namespace', 'airflow-d', '--no-wait', ...NO_HOOKS], {cwd: dir, env})
    expect(r.exitCode, show(r)).toBe(2)
    expect(r.stderr).toContain('needs confirmation, and this is not a terminal')
    expect(r.stderr).toContain('Plan: 9 to add')
    expect(tfCalls(log)).toEqual(['version', 'init', 'plan'])
    expect(await releases('airflow-d')).toEqual([])
  })

  it('a store in dagctl.yaml that is not the bucket Terraform made is refused before helm runs', async () => {
    const {dir, env} = pkg('    store: s3://some-other-bucket\n', 'airflow-e')
    const r = await runCli(['cluster', 'up', '--profile', 'prod', '--env', 'prod', '--namespace', 'airflow-e', '--yes', '--no-wait', '--json', ...NO_HOOKS], {cwd: dir, env})
    expect(r.exitCode, show(r)).toBe(2)
    expect(r.json().error).toMatchObject({code: 'CLUSTER_STORE_MISMATCH', location: {key: 'environments.prod.store'}})
    expect(r.json().error.message).toContain('s3://acme-airflow-dags-prod')
    expect(await releases('airflow-e')).toEqual([])
  })

  it("a namespace Terraform's role does not trust is refused before helm runs (IRSA would hand the pods no credentials)", async () => {
    const {dir, env} = pkg('', 'airflow')
    const r = await runCli(['cluster', 'up', '--profile', 'prod', '--env', 'prod', '--namespace', 'airflow-g', '--yes', '--no-wait', '--json', ...NO_HOOKS], {cwd: dir, env})
    expect(r.exitCode, show(r)).toBe(2)
    expect(r.json().error).toMatchObject({code: 'TERRAFORM_OUTPUTS', location: {key: 'kubernetes_namespace'}})
    expect(r.json().error.message).toContain("namespace 'airflow'")
    expect(r.json().error.message).toContain("'airflow-g'")
    expect(await releases('airflow-g')).toEqual([])
  })

  it('--executor celery and --bundle add their values files after the prod values, before the user\'s and the overlay', async () => {
    const {dir, env} = pkg()
    writeFileSync(path.join(dir, 'mine.yaml'), 'scheduler: {replicas: 3}\n')
    const r = await runCli(['cluster', 'up', '--profile', 'prod', '--env', 'prod', '--executor', 'celery', '--bundle', '--values', 'mine.yaml', '--dry-run', '--no-wait'], {cwd: dir, env})
    expect(r.exitCode, show(r)).toBe(0)
    const charts = path.join(REPO_ROOT, 'charts', 'airflow')
    const install = r.stdout.split('\n').find((l) => l.includes(' upgrade --install airflow '))!
    const files = [...install.matchAll(/ -f (\S+)/g)].map((m) => m[1])
    expect(files).toEqual([path.join(charts, 'values-prod.yaml'), path.join(charts, 'values-prod-celery.yaml'), path.join(charts, 'values-bundle.yaml'), path.join(dir, 'mine.yaml'), path.join(dir, '.dagctl', 'cluster', 'prod', 'values-terraform.yaml')])
    // celery is prod's: the other profiles refuse it rather than ignore it
    const kind = await runCli(['cluster', 'up', '--profile', 'kind', '--env', 'prod', '--executor', 'celery', '--dry-run'], {cwd: dir, env})
    expect(kind.exitCode, show(kind)).toBe(2)
    expect(kind.stderr).toContain('--executor celery: only for --profile prod')
  })

  it('--dry-run prints the exact commands and runs none of them', async () => {
    const {dir, log, env} = pkg()
    const r = await runCli(['cluster', 'up', '--profile', 'prod', '--env', 'prod', '--namespace', 'airflow-f', '--dry-run', '--no-wait', ...NO_HOOKS], {cwd: dir, env})
    expect(r.exitCode, show(r)).toBe(0)
    const tfDir = path.join(dir, 'terraform')
    const stateDir = path.join(dir, '.dagctl', 'cluster', 'prod')
    const lines = r.stdout.split('\n').filter((l) => !l.startsWith('#'))
    const chart = path.join(REPO_ROOT, 'charts', 'vendor', 'airflow-1.22.0.tgz')
    const prodValues = path.join(path.join(REPO_ROOT, 'charts'), 'airflow', 'values-prod.yaml')
    expect(lines).toEqual([
      `${TF_STUB} -chdir=${tfDir} init -input=false`,
      `${TF_STUB} -chdir=${tfDir} plan -input=false -detailed-exitcode -out=${stateDir}/terraform.tfplan`,
      `${TF_STUB} -chdir=${tfDir} apply -input=false ${stateDir}/terraform.tfplan`,
      `${TF_STUB} -chdir=${tfDir} output -json`,
      `kubectl --context ${CONTEXT} create namespace airflow-f`,
      `${helm} template airflow ${chart} --namespace airflow-f --kube-context ${CONTEXT} -f ${prodValues} -f ${stateDir}/values-terraform.yaml --set migrateDatabaseJob.useHelmHooks=false --set createUserJob.useHelmHooks=false`,
      `kubectl --context ${CONTEXT} --namespace airflow-f apply --dry-run=server --filename -`,
      `${helm} upgrade --install airflow ${chart} --namespace airflow-f --create-namespace --kube-context ${CONTEXT} -f ${prodValues} -f ${stateDir}/values-terraform.yaml --set migrateDatabaseJob.useHelmHooks=false --set createUserJob.useHelmHooks=false`,
    ])
    expect(r.stdout).toMatch(/# {3}terraform +v1\.11\.4 +wanted >= 1\.5 +ok/)
    // --with datahub: its own namespace, the Action's ConfigMap first; prod makes no Secret (they come from the secret manager)
    const dh = await runCli(['cluster', 'up', '--profile', 'prod', '--env', 'prod', '--namespace', 'airflow-f', '--with', 'datahub', '--dry-run', '--json'], {cwd: dir, env})
    expect(dh.exitCode, show(dh)).toBe(0)
    const dhLines = dh.json().commands.map((c: {argv: string[]}) => c.argv.slice(1).join(' ')).slice(-5)
    expect(dhLines).toEqual([
      `--context ${CONTEXT} create namespace datahub`,
      `--context ${CONTEXT} --namespace datahub apply --filename ${path.join(REPO_ROOT, 'charts', 'datahub', 'dagctl-action-config.yaml')}`,
      `template datahub ${path.join(REPO_ROOT, 'charts', 'vendor', 'datahub-1.1.0.tgz')} --namespace datahub --kube-context ${CONTEXT} -f ${path.join(REPO_ROOT, 'charts', 'datahub', 'values-prod.yaml')}`,
      `--context ${CONTEXT} --namespace datahub apply --dry-run=server --filename -`,
      `upgrade --install datahub ${path.join(REPO_ROOT, 'charts', 'vendor', 'datahub-1.1.0.tgz')} --namespace datahub --create-namespace --kube-context ${CONTEXT} -f ${path.join(REPO_ROOT, 'charts', 'datahub', 'values-prod.yaml')} --wait --timeout 240s`,
    ])
    // a local-only flag is a usage error with the other profiles
    const s3 = await runCli(['cluster', 'up', '--profile', 'prod', '--env', 'prod', '--s3', '--dry-run'], {cwd: dir, env})
    expect(s3.exitCode, show(s3)).toBe(2)
    expect(s3.stderr).toContain('--s3: only for --profile local')
    // terraform was only asked its version, by each run
    expect(new Set(tfCalls(log))).toEqual(new Set(['version']))
    expect(existsSync(stateDir)).toBe(false)
    expect(await releases('airflow-f')).toEqual([])
  })
})
