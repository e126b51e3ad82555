import {existsSync} from 'node:fs'
import path from 'node:path'

import {ConfigError} from '../errors.js'
import {isPlainObject, type Plain} from '../util/plain.js'
import {formatKeyPath} from './key-path.js'
import type {DagctlConfig, EnvironmentConfig} from './schema.js'

/**
 * The parts of config loading that need neither yaml nor zod: the options, the result, the
 * overrides of DAGCTL_* and flags, and the last steps after validation (the environment). Shared
 * by the full load (config/load.ts, which parses and validates) and the cache (config/cache.ts,
 * which serves an earlier load's validated result without loading either library).
 */

export const CONFIG_FILE = 'dagctl.yaml'
export const DEFAULT_ENV = 'dev'
export const DEFAULT_STORE = 'file://.dagctl/store'

/** One override: a key path in dagctl.yaml's shape and the value that replaces it. */
export interface Override {
  path: string[]
  value: unknown
  /** where it came from, for `dagctl config`: `env DAGCTL_IMAGE`, `flag --store` */
  source: string
}

export interface LoadConfigOptions {
  cwd?: string
  /** --config or DAGCTL_CONFIG; otherwise the nearest dagctl.yaml from cwd upwards */
  configPath?: string
  env?: NodeJS.ProcessEnv
  /** the selected environment (--env, DAGCTL_ENV, default dev): DAGCTL_STORE etc. apply to it */
  envName?: string
  /** flag overrides, highest precedence */
  flagOverrides?: Override[]
  /**
   * The selected environment must exist: defined under `environments:` in dagctl.yaml or a file it
   * extends, or the implicit `dev` (when no file defines any environment), or given in full by the
   * flags and DAGCTL_* variables: every key path of one of `completeWith` (e.g. `['store']`) set
   * there. Otherwise a ConfigError (exit 2) names the environments that exist.
   */
  requireEnvironment?: {completeWith: string[][]}
  /**
   * Keep the validated result in dagctl's cache folder for the next run (config/cache.ts):
   * the commands ask for it (base-command.ts); a library caller gets no file written.
   */
  cache?: boolean
}

export interface ResolvedConfig {
  /** the folder of dagctl.yaml: relative paths in the config are relative to it */
  root: string
  file: string
  config: DagctlConfig
  /** leaf key path → where its value came from (`default`, a file, `env DAGCTL_X`, `flag --x`) */
  sources: Record<string, string>
  envName: string
  /** the environments that exist: those dagctl.yaml (and its extends chain) defines, or the implicit dev */
  environments: string[]
  /** the selected environment with its store resolved (default file://.dagctl/store) */
  environment: EnvironmentConfig & {store: string}
  /** an absolute path for a path setting relative to the config's folder */
  resolvePath(relative: string): string
}

/** Environment variables that override dagctl.yaml. `{env}` is the selected environment. */
export const ENV_OVERRIDES: ReadonlyArray<{name: string; path: string[]; type: 'string' | 'number'}> = [
  {name: 'DAGCTL_PACKAGE', path: ['package'], type: 'string'},
  {name: 'DAGCTL_IMAGE', path: ['image'], type: 'string'},
  {name: 'DAGCTL_PYTHON', path: ['python'], type: 'string'},
  {name: 'DAGCTL_AIRFLOW_VERSION', path: ['airflow', 'version'], type: 'number'},
  {name: 'DAGCTL_STORE', path: ['environments', '{env}', 'store'], type: 'string'},
  {name: 'DAGCTL_AIRFLOW_URL', path: ['environments', '{env}', 'airflow', 'url'], type: 'string'},
  {name: 'DAGCTL_AIRFLOW_USERNAME', path: ['environments', '{env}', 'airflow', 'username'], type: 'string'},
  {name: 'DAGCTL_AIRFLOW_PASSWORD', path: ['environments', '{env}', 'airflow', 'password'], type: 'string'},
  {name: 'DAGCTL_AIRFLOW_TOKEN', path: ['environments', '{env}', 'airflow', 'token'], type: 'string'},
]

/** Keys whose values never reach output. */
export const SECRET_KEYS = new Set(['password', 'token', 'secret', 'secret_access_key'])

export function findConfigFile(cwd: string): string | undefined {
  let dir = path.resolve(cwd)
  for (;;) {
    const candidate = path.join(dir, CONFIG_FILE)
    if (existsSync(candidate)) return candidate
    const parent = path.dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}

/** Objects merge key by key; arrays and scalars from `over` replace those of `base`. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over
  const out: Plain = {...base}
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v)
  return out
}

export function setIn(target: Plain, keyPath: string[], value: unknown): void {
  let node = target
  for (const seg of keyPath.slice(0, -1)) {
    if (!isPlainObject(node[seg])) node[seg] = {}
    node = node[seg] as Plain
  }
  node[keyPath.at(-1)!] = value
}

/** Flattens to leaf key paths (arrays are leaves). */
export function flatten(value: unknown, prefix: string[] = [], out: Record<string, unknown> = {}): Record<string, unknown> {
  if (isPlainObject(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) flatten(v, [...prefix, k], out)
  } else if (prefix.length > 0) {
    out[formatKeyPath(prefix)] = value
  }
  return out
}

/** The leaves of a nested object as [key path, value] (arrays are leaves). */
export function leaves(value: unknown, prefix: string[] = []): Array<[string[], unknown]> {
  if (!isPlainObject(value) || Object.keys(value).length === 0) return prefix.length > 0 ? [[prefix, value]] : []
  return Object.entries(value).flatMap(([k, v]) => leaves(v, [...prefix, k]))
}

/** The dagctl.yaml a load reads (--config, or the nearest from cwd upwards), or undefined when there is none. */
export function configFileOf(options: LoadConfigOptions): string | undefined {
  const cwd = options.cwd ?? process.cwd()
  return options.configPath ? path.resolve(cwd, options.configPath) : findConfigFile(cwd)
}

export function envNameOf(options: LoadConfigOptions): string {
  return options.envName ?? (options.env ?? process.env).DAGCTL_ENV ?? DEFAULT_ENV
}

/** The two top layers, DAGCTL_* variables and flags, with where each leaf came from. */
export interface OverrideLayers {
  envLayer: Plain
  envSources: Record<string, string>
  flagLayer: Plain
  flagSources: Record<string, string>
}

export function overrideLayers(options: LoadConfigOptions): OverrideLayers {
  const env = options.env ?? process.env
  const envName = envNameOf(options)
  const envLayer: Plain = {}
  const envSources: Record<string, string> = {}
  for (const o of ENV_OVERRIDES) {
    const raw = env[o.name]
    if (raw === undefined || raw === '') continue
    const keyPath = o.path.map((s) => (s === '{env}' ? envName : s))
    let value: unknown = raw
    if (o.type === 'number') {
      value = Number(raw)
      if (!Number.isFinite(value)) throw new ConfigError(`${o.name} must be a number, got '${raw}'`, {key: formatKeyPath(keyPath), hint: `Unset ${o.name} or give it a number.`})
    }
    setIn(envLayer, keyPath, value)
    envSources[formatKeyPath(keyPath)] = `env ${o.name}`
  }
  const flagLayer: Plain = {}
  const flagSources: Record<string, string> = {}
  for (const o of options.flagOverrides ?? []) {
    if (o.value === undefined) continue
    setIn(flagLayer, o.path, o.value)
    flagSources[formatKeyPath(o.path)] = o.source
  }
  return {envLayer, envSources, flagLayer, flagSources}
}

/** What a load validated, before the environment is chosen: what the cache keeps. */
export interface ResolvedCore {
  file: string
  config: DagctlConfig
  sources: Record<string, string>
  /** the environments the files (dagctl.yaml and its extends chain) define */
  fileEnvironments: string[]
}

/** The last steps of a load, after validation: the environments that exist, the one selected. */
export function finishResolved(core: ResolvedCore, overrides: OverrideLayers, options: LoadConfigOptions): ResolvedConfig {
  const {file, config} = core
  const envName = envNameOf(options)
  const sources = {...core.sources}
  // With no environment defined, dev is the local one (file://.dagctl/store): a package works out of the box.
  const environments = core.fileEnvironments.length === 0 ? [DEFAULT_ENV] : [...core.fileEnvironments].sort()
  if (options.requireEnvironment && !environments.includes(envName)) {
    const given = (keyPath: string[]) => {
      const key = formatKeyPath(['environments', envName, ...keyPath])
      return key in overrides.envSources || key in overrides.flagSources
    }
    if (!options.requireEnvironment.completeWith.some((keyPath) => given(keyPath))) {
      throw unknownEnvironment(envName, environments, file, options.requireEnvironment.completeWith)
    }
  }

  const selected = config.environments[envName] ?? {}
  const environment = {...selected, store: selected.store ?? DEFAULT_STORE}
  if (!selected.store) sources[`environments.${envName}.store`] ??= 'default'
  const root = path.dirname(file)
  return {
    root,
    file,
    config,
    sources,
    envName,
    environments,
    environment,
    resolvePath: (relative: string) => path.resolve(root, relative),
  }
}

const GIVEN_BY: Record<string, string> = {store: '--store URL (or DAGCTL_STORE)', 'airflow.url': '--airflow-url URL (or DAGCTL_AIRFLOW_URL)'}

function unknownEnvironment(envName: string, environments: string[], file: string, completeWith: string[][]): ConfigError {
  const alternatives = completeWith.map((k) => GIVEN_BY[k.join('.')] ?? k.join('.'))
  return new ConfigError(`environment '${envName}' is not defined in ${CONFIG_FILE} (environments: ${environments.join(', ')})`, {
    code: 'ENV_UNKNOWN',
    file,
    key: 'environments',
    hint: `Pass --env ${environments.join(' | --env ')}, or add environments.${envName} to ${path.basename(file)}${alternatives.length > 0 ? `, or give it in full with ${alternatives.join(' or ')}` : ''} (docs/configuration.md, "Environments").`,
    details: {env: envName, environments},
  })
}

/** The resolved values with every secret replaced, for printing. */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets)
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET_KEYS.has(k) && v !== undefined ? '********' : redactSecrets(v)]))
  }
  return value
}
