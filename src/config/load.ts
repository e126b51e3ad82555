import {existsSync, readFileSync} from 'node:fs'
import path from 'node:path'

import {ConfigError} from '../errors.js'
import {isPlainObject, type Plain} from '../util/plain.js'
import {writeConfigCache} from './cache.js'
import {
  CONFIG_FILE,
  configFileOf,
  deepMerge,
  finishResolved,
  flatten,
  overrideLayers,
  type LoadConfigOptions,
  type ResolvedConfig,
} from './resolved.js'
import {DagctlConfigSchema, PlatformConfigSchema} from './schema.js'
import {formatKeyPath, locate, parseYamlSource, zodIssueToConfigError, type YamlSource} from './yaml-source.js'

// Each file is validated once per run: zod's JIT, which writes and compiles (new Function) a parser
// for each object schema on its first parse, costs more here than it saves.
const PARSE = {reportInput: true, jitless: true} as const

// What needs neither yaml nor zod lives in config/resolved.ts; re-exported for the modules that import it from here.
export {
  CONFIG_FILE,
  DEFAULT_ENV,
  DEFAULT_STORE,
  ENV_OVERRIDES,
  SECRET_KEYS,
  deepMerge,
  findConfigFile,
  flatten,
  redactSecrets,
  type LoadConfigOptions,
  type Override,
  type ResolvedConfig,
} from './resolved.js'

function readYamlLayer(file: string, what: string): {data: Plain; src: YamlSource; text: string} {
  let bytes: Buffer
  try {
    bytes = readFileSync(file)
  } catch (error) {
    // dagctl init writes a dagctl.yaml, never a platform's extends: file: only suggest it for the former
    throw new ConfigError(`cannot read ${what} ${file}: ${(error as Error).message}`, {
      file,
      ...(what === CONFIG_FILE
        ? {hint: `Check the path, or run \`dagctl init\` to create ${CONFIG_FILE}.`}
        : {hint: 'Check the extends: path (relative to the file that names it): the platform team\'s defaults file must be checked out there; or remove extends:.'}),
    })
  }
  // the text parsed here is what the cache checks the file against (config/cache.ts)
  const text = bytes.toString('utf8')
  const src = parseYamlSource(file, text, what)
  const data = src.data ?? {}
  if (!isPlainObject(data)) {
    throw new ConfigError(`${what} must be a mapping of keys to values`, {file, line: 1, hint: `See docs/configuration.md for the keys of ${CONFIG_FILE}.`})
  }
  // Validate this layer alone (every key optional) so the error points at the file and line
  // that holds the mistake, not at the merged result.
  const result = PlatformConfigSchema.safeParse(data, PARSE)
  if (!result.success) {
    throw zodIssueToConfigError(src, result.error, `invalid ${what}`, `Fix the key shown; docs/configuration.md lists every key of ${CONFIG_FILE}.`)
  }
  return {data, src, text}
}

/**
 * Loads dagctl.yaml with its `extends:` chain, then DAGCTL_* variables, then flags, and
 * validates the result. Errors name the file, the line and the key path. With `cache`, the
 * validated result is kept for the next run (config/cache.ts serves it without yaml or zod).
 */
export function loadConfig(options: LoadConfigOptions = {}): ResolvedConfig {
  const cwd = options.cwd ?? process.cwd()
  const file = configFileOf(options)
  if (!file) {
    throw new ConfigError(`no ${CONFIG_FILE} found in ${cwd} or any folder above it`, {
      code: 'CONFIG_MISSING',
      hint: `Run \`dagctl init\` to create one, or pass --config PATH.`,
    })
  }
  if (!existsSync(file)) {
    throw new ConfigError(`config file not found: ${file}`, {code: 'CONFIG_MISSING', hint: 'Check --config / DAGCTL_CONFIG, or run `dagctl init`.'})
  }

  // Layers, lowest precedence first. Each remembers its name for `dagctl config`.
  const layers: Array<{source: string; data: Plain}> = []
  const chain: string[] = []
  const read: Array<{file: string; text: string}> = []
  const collect = (layerFile: string, what: string): void => {
    if (chain.includes(layerFile)) {
      throw new ConfigError(`extends: ${layerFile} is already in the chain ${chain.join(' → ')}`, {
        file: chain.at(-1),
        key: 'extends',
        hint: 'Remove the loop in the extends: chain.',
      })
    }
    chain.push(layerFile)
    const {data, src, text} = readYamlLayer(layerFile, what)
    read.push({file: layerFile, text})
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

  const overrides = overrideLayers(options)
  const {envSources, flagSources} = overrides
  layers.push({source: 'env', data: overrides.envLayer}, {source: 'flags', data: overrides.flagLayer})

  const merged = layers.reduce<unknown>((acc, l) => deepMerge(acc, l.data), {})
  const result = DagctlConfigSchema.safeParse(merged, PARSE)
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
  const core = {file, config, sources, fileEnvironments: [...fileEnvironments]}
  // kept before the environment is chosen: the core is valid whichever environment a run selects
  if (options.cache) writeConfigCache(core, read, overrides)
  return finishResolved(core, overrides, options)
}
