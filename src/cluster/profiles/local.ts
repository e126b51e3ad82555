import {CreateBucketCommand, PutBucketVersioningCommand, S3Client} from '@aws-sdk/client-s3'
import {existsSync, mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {parseDocument} from 'yaml'

import {DagctlError, RemoteError, TimeoutError, UsageError} from '../../errors.js'
import {ensureAirflowEnv, ensureVenv, findAirflowEnv, findVenv, PYTHON_DIR, type AirflowMajor} from '../../python/venv.js'
import {runSteps, type StepRunner} from '../../util/steps.js'
import {INSTALL_ROOT} from '../manifests.js'
import {airflowEnv, airflowHealth, airflowPassword, LOCAL_PASSWORD, LOCAL_USERNAME, type Fetch} from '../airflow.js'
import {detachedSpawner, freePort, isOurs, portInUse, processStartTime, stopProcess, type ProcessRecord, type Spawner} from '../process.js'

export type ComponentName = 's3' | 'sync' | 'airflow'
const ORDER: ComponentName[] = ['s3', 'sync', 'airflow']

/** moto accepts any credentials; these are never real ones. */
export const LOCAL_S3_CREDENTIALS = {AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true'}

export interface ClusterState {
  name: string
  profile: 'local'
  airflowVersion: AirflowMajor
  env: string
  /** the store sync (or the bundle) reads and publish writes */
  store: string
  s3?: {endpoint: string; bucket: string}
  mode: 'sync' | 'bundle'
  package?: string
  ports: {airflow: number; s3?: number; metrics?: number; logPort: number; triggerLogPort: number}
  airflowUrl: string
  components: Partial<Record<ComponentName, ProcessRecord & {url: string}>>
}

export interface UpOptions {
  /** the package root (folder of dagctl.yaml), or the current folder */
  root: string
  /** dagctl.yaml to write the environment into; none: print only */
  configFile?: string
  name: string
  env: string
  /** the environment's configured store, used when it is a local one */
  configuredStore?: string
  package?: string
  airflowVersion: AirflowMajor
  s3: boolean
  bundle: boolean
  airflowPort: number
  s3Port: number
  metricsPort: number
  timeoutMs: number
  /** build missing venvs (else: an error naming the command that builds them) */
  setup: boolean
  dryRun: boolean
  printConfig: boolean
}

export interface ClusterDeps {
  spawn: Spawner
  fetch: Fetch
  steps: StepRunner
  note: (message: string) => void
  env: NodeJS.ProcessEnv
  /** the dagctl executable sync runs with: [node, bin/run.js] */
  dagctl: string[]
}

export function defaultDeps(partial: Partial<ClusterDeps> = {}): ClusterDeps {
  return {
    spawn: detachedSpawner,
    fetch,
    steps: runSteps,
    note: () => {},
    env: process.env,
    dagctl: [process.execPath, path.join(INSTALL_ROOT, 'bin', 'run.js')],
    ...partial,
  }
}

export interface PlannedCommand {
  component: ComponentName
  command: string[]
  /** the variables that differ from the caller's environment (credentials shown as their fixed local values) */
  env: Record<string, string>
  log: string
}

export interface UpResult {
  name: string
  dir: string
  dryRun: boolean
  airflowVersion: AirflowMajor
  airflowUrl: string
  username: string
  password?: string
  store: string
  s3Endpoint?: string
  /** what each component did: started, restarted, already running */
  components: Array<{name: ComponentName; action: 'started' | 'already running' | 'planned'; pid?: number; url: string; log: string}>
  commands: PlannedCommand[]
  /** the YAML written to (or to write into) dagctl.yaml */
  config: string
  configWritten?: string
}

export function clusterDir(root: string, name: string): string {
  return path.join(root, '.dagctl', 'cluster', name)
}

export function readState(dir: string): ClusterState | undefined {
  const file = path.join(dir, 'state.json')
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ClusterState) : undefined
}

function writeState(dir: string, state: ClusterState): void {
  const file = path.join(dir, 'state.json')
  writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`)
  renameSync(`${file}.tmp`, file)
}

/**
 * Starts (or completes) the local platform: moto's S3 (with --s3), `dagctl sync` into Airflow's DAG
 * folder (or the DagctlBundle with --bundle), and `airflow standalone`. Components already running
 * (same pid and start time as recorded) are left alone; dead ones are started again. On any failure,
 * what this call started is stopped again and the error names the log to read.
 */
export async function clusterUp(options: UpOptions, deps: ClusterDeps): Promise<UpResult> {
  if (options.bundle && options.airflowVersion !== 3) throw new UsageError('--bundle needs Airflow 3 (the DAG bundle API)', {code: 'USAGE', hint: 'Drop --bundle (sync feeds a DAG folder on Airflow 2), or use --airflow 3.'})
  if (options.bundle && !options.package) throw new UsageError('--bundle needs a package: no dagctl.yaml here names one', {code: 'PACKAGE_MISSING', hint: 'Run cluster up inside the package (where dagctl.yaml is).'})
  const dir = clusterDir(options.root, options.name)
  const previous = readState(dir)
  if (previous && anyRunning(previous) && (previous.airflowVersion !== options.airflowVersion || Boolean(previous.s3) !== Boolean(options.s3) || (previous.mode === 'bundle') !== Boolean(options.bundle))) {
    throw new UsageError(`cluster '${options.name}' is already up with Airflow ${previous.airflowVersion}${previous.s3 ? ', --s3' : ''}${previous.mode === 'bundle' ? ', --bundle' : ''}`, {
      code: 'CLUSTER_DIFFERENT',
      hint: `Run \`dagctl cluster down --name ${options.name}\` first to start it with other settings.`,
    })
  }

  // venvs: never built behind the user's back unless asked
  const airflowVenv = findAirflowEnv(options.airflowVersion, deps.env)
  const motoRequirements = path.join(PYTHON_DIR, 'requirements', 'moto.txt')
  const motoVenv = options.s3 ? findVenv(motoRequirements, 'moto', deps.env) : undefined
  if (!options.dryRun && !options.setup) {
    if (!airflowVenv) {
      throw new UsageError(`the managed Airflow ${options.airflowVersion} venv is not built yet`, {
        code: 'PYTHON_ENV_MISSING',
        hint: `Run \`dagctl python setup --airflow ${options.airflowVersion}\` (once, a few minutes), or add --setup to cluster up to build it now.`,
      })
    }
    if (options.s3 && !motoVenv) {
      throw new UsageError('the managed moto venv (S3 on loopback) is not built yet', {code: 'PYTHON_ENV_MISSING', hint: 'Add --setup to cluster up to build it now (under a minute).'})
    }
  }

  const ports = previous && anyRunning(previous) ? previous.ports : {
    airflow: options.airflowPort,
    s3: options.s3 ? options.s3Port : undefined,
    metrics: options.bundle ? undefined : options.metricsPort,
    logPort: await freePort(),
    triggerLogPort: await freePort(),
  }
  const airflowUrl = `http://127.0.0.1:${ports.airflow}`
  const bucket = `dagctl-${options.env.replaceAll('_', '-')}`
  const s3Endpoint = options.s3 ? `http://127.0.0.1:${ports.s3}` : undefined
  const localStore = options.configuredStore?.startsWith('file://') ? options.configuredStore : 'file://.dagctl/store'
  const store = options.s3 ? `s3://${bucket}` : localStore
  const absoluteStore = store.startsWith('file://') ? `file://${path.resolve(options.root, store.slice('file://'.length))}` : store
  const home = path.join(dir, 'airflow-home')
  const dagsDir = path.join(dir, 'dags')
  const logs = path.join(dir, 'logs')
  const s3Env = options.s3 ? {...LOCAL_S3_CREDENTIALS, AWS_ENDPOINT_URL_S3: s3Endpoint!} : {}

  const state: ClusterState = {
    name: options.name,
    profile: 'local',
    airflowVersion: options.airflowVersion,
    env: options.env,
    store,
    ...(options.s3 ? {s3: {endpoint: s3Endpoint!, bucket}} : {}),
    mode: options.bundle ? 'bundle' : 'sync',
    package: options.package,
    ports,
    airflowUrl,
    components: {...previous?.components},
  }

  const pythonOf = (venv: {python: string} | undefined, fallback: string) => venv?.python ?? fallback
  const plans: Partial<Record<ComponentName, PlannedCommand & {url: string; cwd: string; fullEnv: Record<string, string>}>> = {}
  const baseEnv = Object.fromEntries(Object.entries(deps.env).filter(([, v]) => v !== undefined)) as Record<string, string>
  if (options.s3) {
    const python = pythonOf(motoVenv, '<moto venv>/bin/python')
    const env = {...LOCAL_S3_CREDENTIALS}
    plans.s3 = {component: 's3', command: [python, '-m', 'moto.server', '-H', '127.0.0.1', '-p', String(ports.s3)], env, log: path.join(logs, 's3.log'), url: s3Endpoint!, cwd: dir, fullEnv: {...baseEnv, ...env}}
  }
  if (!options.bundle) {
    const args = ['sync', '--env', options.env, '--store', absoluteStore, '--to', dagsDir, '--interval', '1s', '--metrics-port', String(ports.metrics), '--metrics-host', '127.0.0.1', ...(s3Endpoint ? ['--endpoint', s3Endpoint] : [])]
    const env = {...s3Env, NO_COLOR: '1'}
    plans.sync = {component: 'sync', command: [...deps.dagctl, ...args], env, log: path.join(logs, 'sync.log'), url: `http://127.0.0.1:${ports.metrics}/metrics`, cwd: options.root, fullEnv: {...baseEnv, ...env}}
  }
  {
    const python = pythonOf(airflowVenv, `<airflow-${options.airflowVersion} venv>/bin/python`)
    const layout = {
      version: options.airflowVersion,
      python,
      home,
      dagsDir,
      port: ports.airflow,
      logPort: ports.logPort,
      triggerLogPort: ports.triggerLogPort,
      extraEnv: s3Env,
      ...(options.bundle
        ? {bundle: {name: options.package!, store: absoluteStore, env: options.env, package: options.package!, s3Endpoint, storagePath: path.join(dir, 'bundles'), pythonPath: path.join(PYTHON_DIR, 'dagctl_airflow')}}
        : {}),
    }
    const fullEnv = airflowEnv(layout, deps.env)
    const env = Object.fromEntries(Object.entries(fullEnv).filter(([k, v]) => baseEnv[k] !== v))
    plans.airflow = {component: 'airflow', command: [python, '-m', 'airflow', 'standalone'], env, log: path.join(logs, 'airflow.log'), url: airflowUrl, cwd: dir, fullEnv}
  }
  const commands = ORDER.flatMap((c) => (plans[c] ? [stripPlan(plans[c]!)] : []))
  const config = configYaml(options.env, store, s3Endpoint, airflowUrl, options.airflowVersion === 3 ? LOCAL_PASSWORD : undefined)

  if (options.dryRun) {
    return {name: options.name, dir, dryRun: true, airflowVersion: options.airflowVersion, airflowUrl, username: LOCAL_USERNAME, store, s3Endpoint, commands, config,
      components: commands.map((c) => ({name: c.component, action: 'planned' as const, url: plans[c.component]!.url, log: c.log}))}
  }

  for (const d of [dir, home, dagsDir, logs]) mkdirSync(d, {recursive: true})
  if (options.airflowVersion === 3) writeFileSync(path.join(home, 'passwords.json'), JSON.stringify({[LOCAL_USERNAME]: LOCAL_PASSWORD}))
  const started: ComponentName[] = []
  const results: UpResult['components'] = []
  try {
    if (options.setup) {
      await deps.steps(`Python: Airflow ${options.airflowVersion} venv`, async () => ensureAirflowEnv(options.airflowVersion, {env: deps.env, stdio: 'pipe'}))
      if (options.s3) await deps.steps('Python: moto venv', async () => ensureVenv(motoRequirements, 'moto', {env: deps.env, stdio: 'pipe'}))
      // the plans above named placeholders when the venvs were missing
      if (!airflowVenv || (options.s3 && !motoVenv)) return await clusterUp({...options, setup: false}, deps)
    }
    for (const name of ORDER) {
      const plan = plans[name]
      if (!plan) continue
      const record = state.components[name]
      if (isOurs(record)) {
        results.push({name, action: 'already running', pid: record!.pid, url: plan.url, log: plan.log})
        continue
      }
      delete state.components[name]
      const port = name === 's3' ? ports.s3 : name === 'sync' ? ports.metrics : ports.airflow
      if (port !== undefined && (await portInUse(port))) {
        throw new UsageError(`port ${port} on 127.0.0.1 is already taken: ${name} cannot listen on it`, {
          code: 'PORT_TAKEN',
          hint: `Stop what listens there, or pick another port with --${name === 'airflow' ? 'port' : name === 's3' ? 's3-port' : 'metrics-port'}.`,
          details: {port, component: name},
        })
      }
      await deps.steps(`${name}: start (log ${plan.log})`, async () => {
        const {pid} = deps.spawn({command: plan.command[0]!, args: plan.command.slice(1), env: plan.fullEnv, cwd: plan.cwd, log: plan.log})
        const startTime = processStartTime(pid) ?? ''
        state.components[name] = {pid, startTime, command: plan.command, log: plan.log, url: plan.url}
        started.push(name)
        writeState(dir, state)
        await waitReady(name, state, options, deps, plan.log)
        if (name === 's3') await createBucket(s3Endpoint!, bucket)
      })
      results.push({name, action: 'started', pid: state.components[name]!.pid, url: plan.url, log: plan.log})
    }
  } catch (error) {
    for (const name of [...started].reverse()) {
      const record = state.components[name]
      if (record) await stopProcess(record)
      delete state.components[name]
    }
    writeState(dir, state)
    throw error
  }
  writeState(dir, state)
  let configWritten: string | undefined
  if (options.configFile && !options.printConfig) {
    writeConfig(options.configFile, options.env, store, s3Endpoint, airflowUrl, options.airflowVersion === 3 ? LOCAL_PASSWORD : airflowPassword(2, home))
    configWritten = options.configFile
  }
  return {
    name: options.name, dir, dryRun: false, airflowVersion: options.airflowVersion, airflowUrl, username: LOCAL_USERNAME, password: airflowPassword(options.airflowVersion, home),
    store, s3Endpoint, components: results, commands, config: configYaml(options.env, store, s3Endpoint, airflowUrl, airflowPassword(options.airflowVersion, home)), configWritten,
  }
}

function stripPlan(plan: PlannedCommand): PlannedCommand {
  return {component: plan.component, command: plan.command, env: plan.env, log: plan.log}
}

function anyRunning(state: ClusterState): boolean {
  return Object.values(state.components).some((r) => isOurs(r))
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function waitReady(name: ComponentName, state: ClusterState, options: UpOptions, deps: ClusterDeps, log: string): Promise<void> {
  const limit = name === 'airflow' ? options.timeoutMs : Math.max(options.timeoutMs, 60_000)
  const deadline = Date.now() + limit
  let last = 'not started'
  for (;;) {
    const record = state.components[name]
    if (!isOurs(record)) {
      throw new RemoteError(`${name} exited during start-up: see ${log}`, {code: 'CLUSTER_START_FAILED', file: log, hint: `Read ${log} (its last lines say why), fix it, and run \`dagctl cluster up\` again.`, details: {log, tail: tail(log)}})
    }
    const health = await componentHealth(name, state, deps.fetch)
    if (health.healthy) return
    last = health.detail
    if (Date.now() > deadline) {
      throw new TimeoutError(`${name} did not come up within ${Math.round(limit / 1000)} s (${last}): see ${log}`, {
        code: 'CLUSTER_START_TIMEOUT', file: log,
        hint: `Read ${log}; on a busy machine give it longer with --timeout, then run \`dagctl cluster up\` again.`, details: {log, tail: tail(log)},
      })
    }
    await sleep(name === 'airflow' ? 1000 : 200)
  }
}

function tail(file: string, lines = 15): string {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n') : ''
}

export interface ComponentStatus {
  name: ComponentName
  pid?: number
  running: boolean
  healthy: boolean
  url: string
  detail: string
  version?: string
  log: string
}

async function componentHealth(name: ComponentName, state: ClusterState, fetchFn: Fetch): Promise<{healthy: boolean; detail: string; version?: string}> {
  const record = state.components[name]
  try {
    if (name === 'airflow') {
      return await airflowHealth(state.airflowVersion, state.airflowUrl, airflowPassword(state.airflowVersion, path.join(path.dirname(path.dirname(record!.log)), 'airflow-home')), fetchFn)
    }
    if (name === 's3') {
      const res = await fetchFn(`${state.s3!.endpoint}/moto-api/`, {signal: AbortSignal.timeout(5000)})
      return res.status < 500 ? {healthy: true, detail: 'healthy', version: motoVersion(record)} : {healthy: false, detail: `HTTP ${res.status}`}
    }
    const res = await fetchFn(`http://127.0.0.1:${state.ports.metrics}/readyz`, {signal: AbortSignal.timeout(5000)})
    return res.status === 200 ? {healthy: true, detail: 'ready: every package at HEAD'} : {healthy: false, detail: `readyz answered HTTP ${res.status}`}
  } catch (error) {
    return {healthy: false, detail: `not answering (${(error as Error).message})`}
  }
}

function motoVersion(record: ProcessRecord | undefined): string | undefined {
  const requirements = path.join(PYTHON_DIR, 'requirements', 'moto.txt')
  void record
  return /moto\[server\]==(\S+)/.exec(readFileSync(requirements, 'utf8'))?.[1]
}

export interface StatusResult {
  name: string
  dir: string
  up: boolean
  airflowVersion?: AirflowMajor
  airflowUrl?: string
  username?: string
  password?: string
  store?: string
  s3Endpoint?: string
  mode?: 'sync' | 'bundle'
  components: ComponentStatus[]
}

export async function clusterStatus(root: string, name: string, fetchFn: Fetch = fetch): Promise<StatusResult> {
  const dir = clusterDir(root, name)
  const state = readState(dir)
  if (!state) return {name, dir, up: false, components: []}
  const components: ComponentStatus[] = []
  for (const c of ORDER) {
    const record = state.components[c]
    if (!record) continue
    const running = isOurs(record)
    const health = running ? await componentHealth(c, state, fetchFn) : {healthy: false, detail: 'not running (run `dagctl cluster up` to restart it)'}
    components.push({name: c, pid: running ? record.pid : undefined, running, healthy: health.healthy, url: record.url, detail: health.detail, version: health.version, log: record.log})
  }
  const home = path.join(dir, 'airflow-home')
  return {
    name, dir, up: components.length > 0 && components.every((c) => c.healthy), airflowVersion: state.airflowVersion, airflowUrl: state.airflowUrl,
    username: LOCAL_USERNAME, password: airflowPassword(state.airflowVersion, home), store: state.store, s3Endpoint: state.s3?.endpoint, mode: state.mode, components,
  }
}

export interface DownResult {
  name: string
  dir: string
  stopped: Array<{name: ComponentName; pid: number}>
  /** recorded processes that had already exited (or whose pid now belongs to another process) */
  gone: ComponentName[]
}

/** Stops exactly what `up` recorded: each process group by pid and start time, Airflow first. */
export async function clusterDown(root: string, name: string, steps: StepRunner = runSteps): Promise<DownResult> {
  const dir = clusterDir(root, name)
  const state = readState(dir)
  const result: DownResult = {name, dir, stopped: [], gone: []}
  if (!state) return result
  for (const c of [...ORDER].reverse()) {
    const record = state.components[c]
    if (!record) continue
    if (isOurs(record)) {
      await steps(`${c}: stop (pid ${record.pid})`, () => stopProcess(record))
      result.stopped.push({name: c, pid: record.pid})
    } else {
      await stopProcess(record) // only leftovers of its own session, never a reused pid
      result.gone.push(c)
    }
    delete state.components[c]
    writeState(dir, state)
  }
  return result
}

async function createBucket(endpoint: string, bucket: string): Promise<void> {
  const client = new S3Client({
    endpoint, region: 'us-east-1', forcePathStyle: true,
    credentials: {accessKeyId: LOCAL_S3_CREDENTIALS.AWS_ACCESS_KEY_ID, secretAccessKey: LOCAL_S3_CREDENTIALS.AWS_SECRET_ACCESS_KEY},
  })
  try {
    try {
      await client.send(new CreateBucketCommand({Bucket: bucket}))
    } catch (error) {
      const n = (error as {name?: string}).name
      if (n !== 'BucketAlreadyOwnedByYou' && n !== 'BucketAlreadyExists') throw error
    }
    await client.send(new PutBucketVersioningCommand({Bucket: bucket, VersioningConfiguration: {Status: 'Enabled'}}))
  } catch (error) {
    if (error instanceof DagctlError) throw error
    throw new RemoteError(`could not create bucket ${bucket} on ${endpoint}: ${(error as Error).message}`, {code: 'CLUSTER_START_FAILED', cause: error})
  } finally {
    client.destroy()
  }
}

// --- dagctl.yaml -------------------------------------------------------------------------------

function environmentValues(store: string, s3Endpoint: string | undefined, airflowUrl: string, password: string | undefined): Record<string, unknown> {
  return {
    store,
    ...(s3Endpoint ? {s3: {endpoint: s3Endpoint, region: 'us-east-1'}} : {}),
    airflow: {url: airflowUrl, username: LOCAL_USERNAME, ...(password ? {password} : {})},
  }
}

/** The `environments.<env>` block for dagctl.yaml, as YAML text. */
export function configYaml(env: string, store: string, s3Endpoint: string | undefined, airflowUrl: string, password: string | undefined): string {
  const doc = parseDocument('{}')
  doc.setIn(['environments', env], environmentValues(store, s3Endpoint, airflowUrl, password))
  return doc.toString({collectionStyle: 'block'} as never)
}

/** Sets `environments.<env>` store, s3 and airflow in dagctl.yaml, keeping the rest (comments included); written whole by rename. */
export function writeConfig(file: string, env: string, store: string, s3Endpoint: string | undefined, airflowUrl: string, password: string | undefined): void {
  const doc = parseDocument(readFileSync(file, 'utf8'))
  const values = environmentValues(store, s3Endpoint, airflowUrl, password)
  if (!doc.hasIn(['environments', env]) || !(doc.getIn(['environments', env], true) as {items?: unknown})?.items) doc.setIn(['environments', env], doc.createNode({}))
  const node = doc.getIn(['environments', env], true) as {flow?: boolean; comment?: string | null}
  // `dev: {}  # the local store ...` from init: written out in block style, its comment no longer true
  node.flow = false
  node.comment = null
  for (const [key, value] of Object.entries(values)) doc.setIn(['environments', env, key], doc.createNode(value))
  if (!s3Endpoint && doc.hasIn(['environments', env, 's3', 'endpoint'])) doc.deleteIn(['environments', env, 's3', 'endpoint'])
  writeFileSync(`${file}.tmp`, doc.toString())
  renameSync(`${file}.tmp`, file)
}
