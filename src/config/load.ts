import {existsSync, readFileSync} from 'node:fs'
import path from 'node:path'

import {ConfigError} from '../errors.js'
import {DagctlConfigSchema, PlatformConfigSchema, type DagctlConfig, type EnvironmentConfig} from './schema.js'
import {formatKeyPath, locate, parseYamlSource, zodIssueToConfigError, type YamlSource} from './yaml-source.js'

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

type Plain = Record<string, unknown>

function isPlainObject(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Objects merge key by key; arrays and scalars from `over` replace those of `base`. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over
  const out: Plain = {...base}
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v)
  return out
}

function setIn(target: Plain, keyPath: string[], value: unknown): void {
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

function readYamlLayer(file: string, what: string): {data: Plain; src: YamlSource} {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    // dagctl init writes a dagctl.yaml, never a platform's extends: file: only suggest it for the former
    throw new ConfigError(`cannot read ${what} ${file}: ${(error as Error).message}`, {
      file,
      ...(what === CONFIG_FILE
        ? {hint: `Check the path, or run \`dagctl init\` to create ${CONFIG_FILE}.`}
        : {hint: 'Check the extends: path (relative to the file that names it): the platform team\'s defaults file must be checked out there; or remove extends:.'}),
    })
  }
  const src = parseYamlSource(file, text, what)
  const data = src.data ?? {}
  if (!isPlainObject(data)) {
    throw new ConfigError(`${what} must be a mapping of keys to values`, {file, line: 1, hint: `See docs/configuration.md for the keys of ${CONFIG_FILE}.`})
  }
  // Validate this layer alone (every key optional) so the error points at the file and line
  // that holds the mistake, not at the merged result.
  const result = PlatformConfigSchema.safeParse(data, {reportInput: true})
  if (!result.success) {
    throw zodIssueToConfigError(src, result.error, `invalid ${what}`, `Fix the key shown; docs/configuration.md lists every key of ${CONFIG_FILE}.`)
  }
  return {data, src}
}

/**
 * Loads dagctl.yaml with its `extends:` chain, then DAGCTL_* variables, then flags, and
 * validates the result. Errors name the file, the line and the key path.
 */
export function loadConfig(options: LoadConfigOptions = {}): ResolvedConfig {
  const cwd = options.cwd ?? process.cwd()
  const env = options.env ?? process.env
  const envName = options.envName ?? env.DAGCTL_ENV ?? DEFAULT_ENV
  const file = options.configPath ? path.resolve(cwd, options.configPath) : findConfigFile(cwd)
  if (!file) {
    throw new ConfigError(`no ${CONFIG_FILE} found in ${cwd} or any folder above it`, {
      code: 'CONFIG_MISSING',
      hint: `Run \`dagctl init\` to create one, or pass --config PATH.`,
    })
  }
  if (!existsSync(file)) {
    throw new ConfigError(`config file not found: ${file}`, {code: 'CONFIG_MISSING', hint: 'Check --config / DAGCTL_CONFIG, or run `dagctl init`.'})
  }
  const root = path.dirname(file)

  // Layers, lowest precedence first. Each remembers its name for `dagctl config`.
  const layers: Array<{source: string; data: Plain}> = []
  const chain: string[] = []
  const collect = (layerFile: string, what: string): void => {
    if (chain.includes(layerFile)) {
      throw new ConfigError(`extends: ${layerFile} is already in the chain ${chain.join(' → ')}`, {
        file: chain.at(-1),
        key: 'extends',
        hint: 'Remove the loop in the extends: chain.',
      })
    }
    chain.push(layerFile)
    const {data, src} = readYamlLayer(layerFile, what)
    if (typeof data.extends === 'string') {
      // a mistake in extends: is the naming file's, at its line
      const at = {file: layerFile, ...locate(src, ['extends']), key: 'extends'}
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(data.extends)) {
        throw new ConfigError(`extends: takes a file path, not a URL (${data.extends})`, {
          ...at,
          hint: 'Vendor the platform defaults file into the repository (or a shared checkout) and point extends: at its path.',
        })
      }
      const target = path.resolve(path.dirname(layerFile), data.extends)
      if (!existsSync(target)) {
        throw new ConfigError(`extends: ${data.extends} names no file (${target})`, {
          ...at,
          hint: 'The path is relative to the file that names it: check out the platform team\'s defaults file there, fix the path, or remove extends:.',
        })
      }
      collect(target, 'platform defaults file')
    }
    const {extends: _ignored, ...rest} = data
    // Paths in a platform file are relative to that file, except the package's own folders.
    if (layerFile !== file && typeof rest.task_templates === 'string') {
      rest.task_templates = path.resolve(path.dirname(layerFile), rest.task_templates)
    }
    layers.push({source: path.relative(path.dirname(file), layerFile), data: rest})
  }
  collect(file, CONFIG_FILE)

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
  layers.push({source: 'env', data: envLayer})

  const flagLayer: Plain = {}
  const flagSources: Record<string, string> = {}
  for (const o of options.flagOverrides ?? []) {
    if (o.value === undefined) continue
    setIn(flagLayer, o.path, o.value)
    flagSources[formatKeyPath(o.path)] = o.source
  }
  layers.push({source: 'flags', data: flagLayer})

  const merged = layers.reduce<unknown>((acc, l) => deepMerge(acc, l.data), {})
  const result = DagctlConfigSchema.safeParse(merged, {reportInput: true})
  if (!result.success) {
    const issue = result.error.issues[0]
    const key = formatKeyPath(issue.path)
    const setBy = envSources[key] ?? flagSources[key]
    throw new ConfigError(`invalid configuration: ${key ? `${key}: ` : ''}${issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message}`, {
      file: setBy ? undefined : file,
      key: key || undefined,
      hint: setBy ? `The value comes from ${setBy}; correct or unset it.` : `Set ${key} in ${CONFIG_FILE} (docs/configuration.md).`,
    })
  }
  const config = result.data

  // Provenance: the highest layer that set each leaf; otherwise the schema's default.
  const sources: Record<string, string> = {}
  for (const key of Object.keys(flatten(config))) {
    sources[key] = flagSources[key] ?? envSources[key] ?? 'default'
    if (sources[key] === 'default') {
      for (let i = layers.length - 1; i >= 0; i--) {
        if (layers[i].source === 'env' || layers[i].source === 'flags') continue
        if (key in flatten(layers[i].data)) {
          sources[key] = layers[i].source
          break
        }
      }
    }
  }

  const fileEnvironments = new Set<string>()
  for (const l of layers) {
    if (l.source === 'env' || l.source === 'flags') continue
    if (isPlainObject(l.data.environments)) for (const name of Object.keys(l.data.environments)) fileEnvironments.add(name)
  }
  // With no environment defined, dev is the local one (file://.dagctl/store): a package works out of the box.
  const environments = fileEnvironments.size === 0 ? [DEFAULT_ENV] : [...fileEnvironments].sort()
  if (options.requireEnvironment && !environments.includes(envName)) {
    const given = (keyPath: string[]) => {
      const key = formatKeyPath(['environments', envName, ...keyPath])
      return key in envSources || key in flagSources
    }
    if (!options.requireEnvironment.completeWith.some((keyPath) => given(keyPath))) {
      throw unknownEnvironment(envName, environments, file, options.requireEnvironment.completeWith)
    }
  }

  const selected = config.environments[envName] ?? {}
  const environment = {...selected, store: selected.store ?? DEFAULT_STORE}
  if (!selected.store) sources[`environments.${envName}.store`] ??= 'default'

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
