import {existsSync, readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'

import {loadConfig, type ResolvedConfig} from '../config/load.js'
import {UsageError} from '../errors.js'
import {optionalConfig} from '../python/interpreter.js'
import type {AirflowMajor} from '../python/venv.js'
import {defaultName, type Profile, type TargetRequest, type UpRequest} from './cluster.js'
import {clusterDir} from './profiles/local.js'

/** The flags of `cluster up`, as the command parsed them (the command layer owns their definitions). */
export interface UpFlags {
  profile: string
  name?: string
  env: string
  airflow: string
  s3?: boolean
  bundle?: boolean
  executor?: string
  port: number
  's3-port': number
  'metrics-port': number
  timeout: number
  setup?: boolean
  'dry-run'?: boolean
  'print-config'?: boolean
  with?: string[]
  context?: string
  namespace?: string
  yes?: boolean
  values?: string[]
  set?: string[]
  wait?: boolean
  'terraform-dir'?: string
  image?: string
}

function configuredStore(loaded: ResolvedConfig | undefined, env: string): string | undefined {
  if (!loaded) return undefined
  return loaded.sources[`environments.${env}.store`] === 'default' ? undefined : loaded.environment.store
}

/** Flags + dagctl.yaml → what the profile's up takes. */
export function upRequest(flags: UpFlags, loaded: ResolvedConfig | undefined): UpRequest {
  const profile = flags.profile as Profile
  const root = loaded?.root ?? process.cwd()
  const name = flags.name ?? defaultName(profile, flags.env)
  if (profile === 'local') {
    return {
      profile,
      local: {
        root, configFile: loaded?.file, name, env: flags.env, configuredStore: loaded?.environment.store, package: loaded?.config.package,
        airflowVersion: Number(flags.airflow) as AirflowMajor, s3: Boolean(flags.s3), bundle: Boolean(flags.bundle),
        airflowPort: flags.port, s3Port: flags['s3-port'], metricsPort: flags['metrics-port'], timeoutMs: flags.timeout * 1000,
        setup: Boolean(flags.setup), dryRun: Boolean(flags['dry-run']), printConfig: Boolean(flags['print-config']) || !loaded,
      },
    }
  }
  if (flags.executor === 'celery' && profile !== 'prod') {
    throw new UsageError('--executor celery: only for --profile prod', {code: 'USAGE', hint: `Profile ${profile} runs the LocalExecutor (the dev values); drop --executor, or use --profile prod.`})
  }
  const localOnly = [flags.s3 && '--s3', flags.setup && '--setup', flags['print-config'] && '--print-config', flags.airflow !== '3' && `--airflow ${flags.airflow}`].filter(Boolean)
  if (localOnly.length > 0) {
    throw new UsageError(`${localOnly.join(', ')}: only for --profile local`, {code: 'USAGE', hint: `Profile ${profile} installs Airflow 3 from its chart with S3 (${profile === 'kind' ? 'moto in the cluster' : "Terraform's bucket"}); drop ${localOnly.join(' and ')}.`})
  }
  return {
    profile,
    kube: {
      root, dir: clusterDir(root, name), name, env: flags.env, dryRun: Boolean(flags['dry-run']), yes: Boolean(flags.yes),
      context: flags.context, namespace: flags.namespace, kubernetes: loaded?.config.environments[flags.env]?.kubernetes,
      configuredStore: configuredStore(loaded, flags.env), withDatahub: (flags.with ?? []).includes('datahub'), bundle: Boolean(flags.bundle),
      celery: flags.executor === 'celery', values: flags.values ?? [], set: flags.set ?? [], wait: flags.wait ?? true, timeoutSeconds: flags.timeout,
      terraformDir: flags['terraform-dir'], image: flags.image,
    },
  }
}

export interface TargetFlags {
  profile?: string
  name?: string
  env?: string
  context?: string
  namespace?: string
  yes?: boolean
  'dry-run'?: boolean
}

/**
 * Flags + dagctl.yaml → the cluster status/down act on. The environment is --env, else the one up
 * recorded for the cluster, else dev; `load(env, required)` reads dagctl.yaml (undefined: none).
 */
export function targetRequest(flags: TargetFlags, load: (envName: string | undefined, required: boolean) => ResolvedConfig | undefined): TargetRequest {
  const loaded = load(flags.env, flags.env !== undefined)
  const profile = flags.profile as Profile | undefined
  const root = loaded?.root ?? process.cwd()
  const name = flags.name ?? (profile ? defaultName(profile, flags.env ?? 'dev') : onlyCluster(root) ?? 'local')
  const env = flags.env ?? recordedEnv(clusterDir(root, name)) ?? 'dev'
  const environment = loaded?.config.environments[env]
  return {
    root, name, profile, env, context: flags.context, namespace: flags.namespace,
    kubernetes: environment?.kubernetes, store: environment?.store,
    yes: Boolean(flags.yes), dryRun: Boolean(flags['dry-run']),
  }
}

function recordedEnv(dir: string): string | undefined {
  const file = path.join(dir, 'state.json')
  if (!existsSync(file)) return undefined
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as {env?: string}).env
  } catch {
    return undefined
  }
}

/** With neither --name nor --profile: the one cluster recorded under .dagctl/cluster/, when there is exactly one. */
function onlyCluster(root: string): string | undefined {
  const dir = path.join(root, '.dagctl', 'cluster')
  if (!existsSync(dir)) return undefined
  const names = readdirSync(dir).filter((n) => existsSync(path.join(dir, n, 'state.json')))
  return names.length === 1 ? names[0] : undefined
}

/**
 * The cluster `status` and `down` act on: targetRequest with dagctl.yaml (`--config`, else the
 * folders above) when there is one; the environment must exist in it only when --env names it.
 */
export function clusterTarget(flags: TargetFlags & {config?: string}): TargetRequest {
  return targetRequest(flags, (envName, required) => optionalConfig(() => loadConfig({configPath: flags.config, envName, requireEnvironment: required ? {completeWith: []} : undefined})))
}
