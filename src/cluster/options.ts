import {existsSync, readdirSync} from 'node:fs'
import path from 'node:path'

import type {ResolvedConfig} from '../config/load.js'
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
  return {
    profile,
    kube: {
      root, dir: clusterDir(root, name), name, env: flags.env, dryRun: Boolean(flags['dry-run']), yes: Boolean(flags.yes),
      context: flags.context, namespace: flags.namespace, kubernetes: loaded?.config.environments[flags.env]?.kubernetes,
      configuredStore: configuredStore(loaded, flags.env), withDatahub: (flags.with ?? []).includes('datahub'), bundle: Boolean(flags.bundle),
      values: flags.values ?? [], set: flags.set ?? [], wait: flags.wait ?? true, timeoutSeconds: flags.timeout,
      terraformDir: flags['terraform-dir'], image: flags.image,
    },
  }
}

export interface TargetFlags {
  profile?: string
  name?: string
  env: string
  context?: string
  namespace?: string
  yes?: boolean
  'dry-run'?: boolean
}

/** Flags + dagctl.yaml → the cluster status/down act on. */
export function targetRequest(flags: TargetFlags, loaded: ResolvedConfig | undefined): TargetRequest {
  const profile = flags.profile as Profile | undefined
  const root = loaded?.root ?? process.cwd()
  return {
    root,
    name: flags.name ?? (profile ? defaultName(profile, flags.env) : onlyCluster(root) ?? 'local'),
    profile, env: flags.env, context: flags.context, namespace: flags.namespace,
    kubernetes: loaded?.config.environments[flags.env]?.kubernetes, store: configuredStore(loaded, flags.env),
    yes: Boolean(flags.yes), dryRun: Boolean(flags['dry-run']),
  }
}

/** With neither --name nor --profile: the one cluster recorded under .dagctl/cluster/, when there is exactly one. */
function onlyCluster(root: string): string | undefined {
  const dir = path.join(root, '.dagctl', 'cluster')
  if (!existsSync(dir)) return undefined
  const names = readdirSync(dir).filter((n) => existsSync(path.join(dir, n, 'state.json')))
  return names.length === 1 ? names[0] : undefined
}
