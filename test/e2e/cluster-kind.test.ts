import {execa, execaSync} from 'execa'
import {chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'

import {REPO_ROOT, runCli, type CliResult} from '../helpers/cli.js'
import {startKubeApiServer, type KubeApiServer} from '../helpers/kube-apiserver.js'
import {tempDir} from '../helpers/tmp.js'

/**
 * `dagctl cluster up --profile kind`. No Docker engine runs on the test machines, so kind cannot
 * create a cluster here: the preflight and --dry-run are tested with stand-ins for kind and docker
 * (shell scripts that answer `version` as the real ones do and log every call), and the kind
 * profile's own objects (the S3 manifests) and its Helm install with the dev values are applied,
 * with the exact commands --dry-run prints, to a real API server whose context is named as kind
 * names it (kind-dagctl). What only a real kind cluster shows (pods running, the image loaded, the
 * bucket Job completing) is not proven here: docs/profiles.md says so.
 */
const NO_HOOKS = ['--set', 'migrateDatabaseJob.useHelmHooks=false', '--set', 'createUserJob.useHelmHooks=false']

/** A stand-in program: logs its arguments, answers by the first matching case (stdout, exit code, stderr). */
function stub(dir: string, name: string, cases: Array<[pattern: string, stdout: string, exit?: number, stderr?: string]>): string {
  const file = path.join(dir, name)
  const say = (text: string, fd = '') => (text === '' ? '' : `printf '%b\\n' ${JSON.stringify(text)}${fd}; `)
  const body = cases.map(([p, out, code, err]) => `  ${JSON.stringify(p)}) ${say(out)}${say(err ?? '', ' >&2')}exit ${code ?? 0} ;;`).join('\n')
  writeFileSync(file, `#!/usr/bin/env bash\nprintf '%s\\n' "$*" >> "${path.join(dir, 'calls.log')}"\ncase "$*" in\n${body}\n  *) exit 0 ;;\nesac\n`)
  chmodSync(file, 0o755)
  return file
}

const show = (r: CliResult) => `exit ${r.exitCode}\n${r.stdout}\n--- stderr ---\n${r.stderr}`

function stubs(options: {kind?: string; engine?: boolean; clusters?: string} = {}) {
  const dir = tempDir({}, 'dagctl-stubs-')
  const kind = stub(dir, 'kind', [['version', `kind v${options.kind ?? '0.31.0'} go1.25.1 linux/amd64`], ['get clusters', options.clusters ?? '']])
  const down = 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?'
  // as the real client answers: its own version on stdout, and exit 1 when no engine answers
  const docker = stub(dir, 'docker', options.engine === false
    ? [['version --format {{.Client.Version}}', '28.2.2', 1, down], ['version --format {{.Server.Version}}', '', 1, down]]
    : [['version --format {{.Client.Version}}', '28.2.2'], ['version --format {{.Server.Version}}', '28.2.2']])
  const calls = () => (existsSync(path.join(dir, 'calls.log')) ? readFileSync(path.join(dir, 'calls.log'), 'utf8').trim().split('\n') : [])
  return {kind, docker, calls}
}

describe('cluster up --profile kind', () => {
  const helm = inject('helmBinary')
  const baseEnv = (s: ReturnType<typeof stubs>, extra: Record<string, string> = {}) => ({DAGCTL_KIND: s.kind, DAGCTL_DOCKER: s.docker, DAGCTL_HELM: helm, ...extra})
  const pkg = () => tempDir({'dagctl.yaml': 'package: team_a\nenvironments:\n  dev: {}\n'})

  describe('preflight: each tool with the version found, the version wanted and how to install it', () => {
    it('a missing tool is exit 2 naming it, with how to install it; nothing runs', async () => {
      const s = stubs()
      const dir = pkg()
      const r = await runCli(['cluster', 'up', '--profile', 'kind', '--json'], {cwd: dir, env: baseEnv(s, {DAGCTL_KIND: path.join(dir, 'no-such-kind')})})
      expect(r.exitCode, show(r)).toBe(2)
      const e = r.json().error
      expect(e.code).toBe('TOOL_MISSING')
      expect(e.message).toContain('kind')
      expect(e.message).toContain('wanted >= 0.24')
      expect(e.message).toContain('go install sigs.k8s.io/kind@')
      expect(e.details.tools).toEqual(expect.arrayContaining([
        expect.objectContaining({tool: 'kind', ok: false, problem: 'missing', wanted: '>= 0.24'}),
        expect.objectContaining({tool: 'docker', ok: true, found: '28.2.2'}),
        expect.objectContaining({tool: 'helm', ok: true, found: '3.22'}),
        expect.objectContaining({tool: 'kubectl', ok: true}),
      ]))
      expect(s.calls().every((c) => c.startsWith('version'))).toBe(true)
      expect(existsSync(path.join(dir, '.dagctl'))).toBe(false)
    })

    it('an old tool is exit 2 with the version found and wanted', async () => {
      const s = stubs({kind: '0.20.0'})
      const r = await runCli(['cluster', 'up', '--profile', 'kind'], {cwd: pkg(), env: baseEnv(s)})
      expect(r.exitCode, show(r)).toBe(2)
      expect(r.stderr).toMatch(/kind +v0\.20\.0 +wanted >= 0\.24 +TOO OLD/)
      expect(r.stderr).toContain('older than dagctl needs')
      expect(s.calls().every((c) => c.startsWith('version'))).toBe(true)
    })

    it('a docker client with no engine (as on this machine) is exit 4: kind needs a running engine', async () => {
      const s = stubs({engine: false})
      const r = await runCli(['cluster', 'up', '--profile', 'kind', '--json'], {cwd: pkg(), env: baseEnv(s)})
      expect(r.exitCode, show(r)).toBe(4)
      expect(r.json().error.code).toBe('DOCKER_NOT_RUNNING')
      expect(r.json().error.message).toContain('Is the docker daemon running?')
    })

    // The machine's own docker. `docker version` prints the client's version and fails when no engine
    // answers: that is the case this test is about (the test machines have the client and no engine).
    // Where docker is missing, or an engine runs, the stand-in tests above cover the two other cases.
    const realDocker = execaSync('docker', ['version', '--format', '{{.Client.Version}}'], {reject: false})
    const clientWithoutEngine = realDocker.failed && realDocker.stdout.trim() !== ''
    it.runIf(clientWithoutEngine)('the real docker client with no engine is told apart from a missing docker (runs where docker is a client with no engine)', async () => {
      const s = stubs()
      const r = await runCli(['cluster', 'up', '--profile', 'kind', '--json'], {cwd: pkg(), env: baseEnv(s, {DAGCTL_DOCKER: 'docker'})})
      expect(r.exitCode, show(r)).toBe(4)
      expect(r.json().error.details.tools).toEqual(expect.arrayContaining([expect.objectContaining({tool: 'docker', found: realDocker.stdout.trim(), problem: 'engine not running'})]))
    })

    it('the prod profile needs terraform: its absence is named with where to get it', async () => {
      const dir = tempDir({'dagctl.yaml': 'package: team_a\nenvironments:\n  prod:\n    kubernetes: {context: x}\n'})
      const r = await runCli(['cluster', 'up', '--profile', 'prod', '--env', 'prod', '--json'], {cwd: dir, env: {DAGCTL_HELM: helm, DAGCTL_TERRAFORM: path.join(dir, 'no-terraform')}})
      expect(r.exitCode, show(r)).toBe(2)
      expect(r.json().error.code).toBe('TOOL_MISSING')
      expect(r.json().error.message).toContain('https://developer.hashicorp.com/terraform/install')
    })
  })

  it('--dry-run prints the preflight and the exact commands, and runs and writes nothing', async () => {
    const s = stubs({engine: false})
    const dir = pkg()
    const r = await runCli(['cluster', 'up', '--profile', 'kind', '--with', 'datahub', '--dry-run'], {cwd: dir, env: baseEnv(s)})
    expect(r.exitCode, show(r)).toBe(0)
    const state = path.join(dir, '.dagctl', 'cluster', 'dagctl')
    const values = path.join(REPO_ROOT, 'charts')
    const chart = (c: string) => path.join(REPO_ROOT, 'charts', 'vendor', c)
    expect(r.stdout.split('\n').filter((l) => !l.startsWith('#'))).toEqual([
      `${s.kind} create cluster --name dagctl --config ${state}/kind.yaml --wait 120s`,
      `${s.docker} build --tag dagctl:0.1.0 --file ${REPO_ROOT}/Dockerfile ${REPO_ROOT}`,
      `${s.kind} load docker-image dagctl:0.1.0 --name dagctl`,
      `kubectl --context kind-dagctl apply --filename ${state}/s3.yaml`,
      `kubectl --context kind-dagctl --namespace airflow wait --for=condition=complete job/dagctl-s3-bucket --timeout=240s`,
      `${helm} template airflow ${chart('airflow-1.22.0.tgz')} --namespace airflow --kube-context kind-dagctl -f ${values}/airflow/values-dev.yaml -f ${state}/values-kind.yaml`,
      'kubectl --context kind-dagctl --namespace airflow apply --dry-run=server --filename -',
      `${helm} upgrade --install airflow ${chart('airflow-1.22.0.tgz')} --namespace airflow --create-namespace --kube-context kind-dagctl -f ${values}/airflow/values-dev.yaml -f ${state}/values-kind.yaml --wait --timeout 240s`,
      // DataHub in its own namespace: the Action's ConfigMap and the dev Airflow's password first (its chart cannot make them)
      'kubectl --context kind-dagctl create namespace datahub',
      `kubectl --context kind-dagctl --namespace datahub apply --filename ${values}/datahub/dagctl-action-config.yaml`,
      `kubectl --context kind-dagctl apply --filename ${state}/datahub-airflow-credentials.yaml`,
      `${helm} template datahub ${chart('datahub-1.1.0.tgz')} --namespace datahub --kube-context kind-dagctl -f ${values}/datahub/values-dev.yaml`,
      'kubectl --context kind-dagctl --namespace datahub apply --dry-run=server --filename -',
      `${helm} upgrade --install datahub ${chart('datahub-1.1.0.tgz')} --namespace datahub --create-namespace --kube-context kind-dagctl -f ${values}/datahub/values-dev.yaml --wait --timeout 240s`,
    ])
    // the preflight is shown, with the engine that does not run
    expect(r.stdout).toMatch(/# {3}docker +v28\.2\.2 +wanted >= 24\.0 +ENGINE NOT RUNNING/)
    expect(r.stdout).toMatch(/# {3}helm +v3\.22 +wanted >= 3\.14 +ok/)
    // only `version` and `kind get clusters` ran; nothing was written
    expect(s.calls().filter((c) => !c.startsWith('version'))).toEqual(['get clusters'])
    expect(existsSync(path.join(dir, '.dagctl'))).toBe(false)
  })

  it('an existing kind cluster is reused, and --image skips the build', async () => {
    const s = stubs({clusters: 'other\ndagctl'})
    const r = await runCli(['cluster', 'up', '--profile', 'kind', '--dry-run', '--image', 'registry.example.com/dagctl:0.1.0', '--json'], {cwd: pkg(), env: baseEnv(s)})
    expect(r.exitCode, show(r)).toBe(0)
    const argv = r.json().commands.map((c: {argv: string[]}) => c.argv.slice(1, 3).join(' '))
    expect(argv).not.toContain('create cluster')
    expect(argv).not.toContain('build --tag')
    expect(r.json().commands[0].argv).toEqual([s.kind, 'load', 'docker-image', 'registry.example.com/dagctl:0.1.0', '--name', 'dagctl'])
  })

  describe('its S3 manifests and the dev install, applied to a real API server', () => {
    let kube: KubeApiServer
    beforeAll(async () => {
      kube = await startKubeApiServer(inject('kubeBinaries'), {context: 'kind-dagctl'})
    })
    afterAll(async () => {
      await kube?.stop()
    })

    it('the commands --dry-run prints (but kind, docker and the wait for the bucket Job) run as printed; status reads the result', async () => {
      const s = stubs({clusters: 'dagctl'})
      const dir = pkg()
      const env = baseEnv(s, {KUBECONFIG: kube.kubeconfig})
      const plan = await runCli(['cluster', 'up', '--profile', 'kind', '--with', 'datahub', '--dry-run', '--no-wait', '--json', ...NO_HOOKS], {cwd: dir, env})
      expect(plan.exitCode, show(plan)).toBe(0)
      const {files, commands} = plan.json() as {files: Array<{path: string; content: string}>; commands: Array<{tool: string; argv: string[]}>}
      for (const f of files) {
        mkdirSync(path.dirname(f.path), {recursive: true})
        writeFileSync(f.path, f.content)
      }
      let rendered = ''
      for (const c of commands) {
        if (c.tool === 'kind' || c.tool === 'docker' || c.argv.includes('wait')) continue
        // DataHub's chart has pre-install hook Jobs, which never finish where nothing runs pods: its objects are checked by the server-side dry run only
        if (c.argv[1] === 'upgrade' && c.argv[3] === 'datahub') continue
        const r = await execa(c.argv[0]!, c.argv.slice(1), {env: {KUBECONFIG: kube.kubeconfig}, reject: false, input: c.argv.at(-1) === '-' ? rendered : ''})
        expect(r.exitCode, `${c.argv.join(' ')}\n${r.stderr}`).toBe(0)
        if (c.argv[1] === 'template') rendered = r.stdout
      }
      // the S3 of the kind profile: moto, its Service, its (fake) credentials, the Job that makes the bucket
      const get = async (what: string) => JSON.parse((await kube.kubectl(['--namespace', 'airflow', 'get', what, '-o', 'json'])).stdout)
      expect((await get('deployment/dagctl-s3')).spec.template.spec.containers[0].image).toMatch(/^motoserver\/moto:/)
      expect((await get('service/dagctl-s3')).spec.ports[0].port).toBe(5000)
      const job = await get('job/dagctl-s3-bucket')
      expect(job.spec.template.spec.containers[0].env).toEqual(expect.arrayContaining([{name: 'BUCKET', value: 'dagctl-dev'}]))
      expect(Object.keys((await get('secret/airflow-dagctl-s3')).data)).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'])
      // the sync containers of the dev values run the image kind loaded, with the overlay's ConfigMap and the S3 keys' Secret
      const scheduler = (await get('statefulset/airflow-scheduler').catch(() => undefined)) ?? (await get('deployment/airflow-scheduler'))
      const sync = scheduler.spec.template.spec.containers.find((c: {name: string}) => c.name === 'dagctl-sync')
      expect(sync.image).toBe('dagctl:0.1.0')
      expect(sync.envFrom).toEqual([{configMapRef: {name: 'airflow-dagctl'}}, {secretRef: {name: 'airflow-dagctl-s3', optional: true}}])
      // DataHub's namespace: the Action's ConfigMap and the Airflow password it reads
      expect((await kube.kubectl(['--namespace', 'datahub', 'get', 'configmap/dagctl-datahub-action', 'secret/dagctl-airflow-credentials'])).exitCode).toBe(0)
      // the chart, with the store and the in-cluster endpoint from the overlay
      expect((await get('configmap/airflow-dagctl')).data).toEqual({DAGCTL_STORE: 's3://dagctl-dev', DAGCTL_ENV: 'dev', AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_S3: 'http://dagctl-s3.airflow.svc.cluster.local:5000'})

      const status = await runCli(['cluster', 'status', '--profile', 'kind', '--json'], {cwd: dir, env})
      expect(status.exitCode, show(status)).toBe(1) // nothing schedules pods here: not healthy
      expect(status.json()).toMatchObject({profile: 'kind', context: 'kind-dagctl', up: false, s3: {ready: false, detail: '0/1 ready'}, releases: [{name: 'airflow', installed: true, status: 'deployed'}]})
      expect(status.json().workloads.map((w: {name: string}) => w.name)).toEqual(expect.arrayContaining(['dagctl-s3', 'airflow-scheduler']))

      // down without --yes: the release goes, the in-cluster S3 (it holds the bucket) and the cluster stay
      const down = await runCli(['cluster', 'down', '--profile', 'kind', '--json'], {cwd: dir, env})
      expect(down.exitCode, show(down)).toBe(0)
      expect(down.json().uninstalled).toEqual(['airflow'])
      expect(down.json().kept.map((k: {what: string}) => k.what)).toEqual(['deployment/dagctl-s3', 'kind cluster dagctl'])
      expect((await kube.kubectl(['--namespace', 'airflow', 'get', 'deployment/dagctl-s3'])).exitCode).toBe(0)
      expect(s.calls().filter((c) => c.startsWith('delete'))).toEqual([])
      // with --yes the kind cluster is deleted (the stand-in kind records it)
      const yes = await runCli(['cluster', 'down', '--profile', 'kind', '--yes'], {cwd: dir, env})
      expect(yes.exitCode, show(yes)).toBe(0)
      expect(s.calls().filter((c) => c.startsWith('delete'))).toEqual(['delete cluster --name dagctl'])
    })
  })
})
