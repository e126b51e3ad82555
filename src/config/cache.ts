import {readFileSync, readdirSync, rmSync, statSync} from 'node:fs'
import path from 'node:path'

import {writeFileAtomic} from '../util/atomic-write.js'
import {cacheDir} from '../util/cache-dir.js'
import {isPlainObject, type Plain} from '../util/plain.js'
import {
  SECRET_KEYS,
  configFileOf,
  finishResolved,
  leaves,
  overrideLayers,
  setIn,
  type LoadConfigOptions,
  type OverrideLayers,
  type ResolvedConfig,
  type ResolvedCore,
} from './resolved.js'

/**
 * The validated configuration of the last run, kept so that the next one loads neither yaml nor
 * zod (25-35 ms of CPU at every start, a third of a cold refused trigger's): one JSON file
 * per dagctl.yaml and set of overrides in dagctl's cache folder (`config/` of $DAGCTL_CACHE_DIR,
 * $XDG_CACHE_HOME/dagctl or ~/.cache/dagctl, beside validate's cache), so that nothing appears in
 * the package (a refused command still writes nothing there). Never stale: an entry holds the
 * text of every file of the extends: chain as it was validated, and is served only when each file
 * still reads the same, character for character (an edit of the same size within the same second
 * included); it holds its whole key too (the build of dagctl, the file, the DAGCTL_* and flag
 * overrides), compared the same way, so that two keys whose file names collide (a short hash of
 * the key) only replace each other's entry. No node:crypto for any of it: loading it would cost
 * 6-8 ms of CPU at every start. Never a secret: the values of secret overrides
 * (DAGCTL_AIRFLOW_PASSWORD, _TOKEN) are neither stored nor part of the key (their key paths are;
 * any string is valid there, so the cached validation holds for whatever value the next run
 * brings), and a configuration that holds a secret of its own (a password in a file, a URL with
 * credentials) is not cached at all; an entry is readable by its user only, as it copies the
 * files' comments. A cache folder dagctl cannot write means no cache, not an error; a read-only
 * checkout is no matter (nothing is written there).
 */

// The build of dagctl (scripts/bundle.mjs writes it into the bundle): a new build never reads an
// older build's entries, whose schema may differ. Outside the bundle (tests of the sources) there
// is no build id and no cache.
const BUILD = process.env.DAGCTL_BUILD_ID
const FORMAT = 2
/** entries kept: one per checkout and set of overrides in use; the oldest go first */
const MAX_ENTRIES = 256

/** The folder of the entries. */
export function configCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheDir(env), 'config')
}

interface Entry {
  /** what the entry answers (keyOf): the entry format, the build, the file and the overrides */
  key: string
  /** every file of the chain, dagctl.yaml first, with the text validated */
  files: Array<{file: string; text: string}>
  core: ResolvedCore
}

const isSecretPath = (keyPath: string[]) => SECRET_KEYS.has(keyPath.at(-1)!)

function secretLeaves(overrides: OverrideLayers): Array<[string[], unknown]> {
  // env first, then flags: set in this order, a flag's value wins as it does in the full load
  return [...leaves(overrides.envLayer), ...leaves(overrides.flagLayer)].filter(([keyPath]) => isSecretPath(keyPath))
}

/** The layer with every secret's value replaced by `true`: its key path stays, its value goes. */
function withoutSecretValues(layer: Plain): Plain {
  const out = structuredClone(layer)
  for (const [keyPath] of leaves(layer)) if (isSecretPath(keyPath)) setIn(out, keyPath, true)
  return out
}

function keyOf(file: string, overrides: OverrideLayers): string {
  const {envLayer, envSources, flagLayer, flagSources} = overrides
  return JSON.stringify([FORMAT, BUILD, file, withoutSecretValues(envLayer), envSources, withoutSecretValues(flagLayer), flagSources])
}

/**
 * A 64-bit FNV-1a hash of the key's UTF-16 code units, as 16 hex digits: a short file name for a
 * long key. Not collision-proof, by design: readCachedConfig compares the key stored in the entry.
 */
function shortHash(text: string): string {
  let h = 0xcbf29ce484222325n
  for (let i = 0; i < text.length; i++) h = BigInt.asUintN(64, (h ^ BigInt(text.charCodeAt(i))) * 0x100000001b3n)
  return h.toString(16).padStart(16, '0')
}

function entryPath(key: string): string {
  return path.join(configCacheDir(), `config-${shortHash(key)}.json`)
}

/** `s3://key:secret@host`, `https://user:password@airflow`: credentials in a URL */
const CREDENTIALS_IN_URL = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\s]*@/i

/** Does the value hold a secret: a value under a secret key, or a URL with credentials? */
function holdsSecret(value: unknown, key?: string): boolean {
  if (key !== undefined && SECRET_KEYS.has(key) && value !== undefined) return true
  if (typeof value === 'string') return CREDENTIALS_IN_URL.test(value)
  if (Array.isArray(value)) return value.some((v) => holdsSecret(v))
  if (isPlainObject(value)) return Object.entries(value).some(([k, v]) => holdsSecret(v, k))
  return false
}

function deleteIn(target: Plain, keyPath: string[]): void {
  let node: unknown = target
  for (const seg of keyPath.slice(0, -1)) {
    if (!isPlainObject(node)) return
    node = node[seg]
  }
  if (isPlainObject(node)) delete node[keyPath.at(-1)!]
}

/**
 * The configuration an earlier run validated for the same files (byte for byte) and overrides,
 * or undefined: then the full load (config/load.ts) reads the files, and reports any error. Only
 * with `options.cache` (the commands, unless --no-cache).
 */
export function readCachedConfig(options: LoadConfigOptions): ResolvedConfig | undefined {
  if (!BUILD || !options.cache) return undefined
  const file = configFileOf(options)
  if (!file) return undefined
  let overrides: OverrideLayers
  try {
    overrides = overrideLayers(options)
  } catch {
    return undefined // a bad DAGCTL_* value: the full load says so
  }
  // checked at every call (a command's init and its run both ask): a file changed in between is seen
  let core: ResolvedCore
  try {
    const key = keyOf(file, overrides)
    const entry = JSON.parse(readFileSync(entryPath(key), 'utf8')) as Entry
    // the key holds the format, the build and the file: an entry of another of these never matches
    if (entry.key !== key) return undefined
    // the text as the full load decodes it (config/load.ts): equal text, equal answer
    for (const f of entry.files) if (readFileSync(f.file, 'utf8') !== f.text) return undefined
    core = entry.core
  } catch {
    return undefined // no entry, an unreadable one, or a file of the chain gone
  }
  for (const [keyPath, value] of secretLeaves(overrides)) setIn(core.config as unknown as Plain, keyPath, value)
  return finishResolved(core, overrides, options)
}

/** Keeps what the full load validated, unless it holds a secret; a folder that cannot be written is no error. */
export function writeConfigCache(core: ResolvedCore, files: Entry['files'], overrides: OverrideLayers): void {
  if (!BUILD) return
  const stored = structuredClone(core)
  for (const [keyPath] of secretLeaves(overrides)) deleteIn(stored.config as unknown as Plain, keyPath)
  if (holdsSecret(stored.config)) return
  try {
    const key = keyOf(core.file, overrides) // (no home folder at all: os.homedir() throws)
    const entry: Entry = {key, files, core: stored}
    const target = entryPath(key)
    // the user's alone, as the files it copies may be (their comments included)
    writeFileAtomic(target, `${JSON.stringify(entry)}\n`, {mode: 0o600})
    prune(path.dirname(target))
  } catch {
    // a cache folder that cannot be written: no cache; the next run loads the files again
  }
}

function prune(dir: string): void {
  const names = readdirSync(dir).filter((n) => n.startsWith('config-') && n.endsWith('.json'))
  if (names.length <= MAX_ENTRIES) return
  const byAge = names.map((n) => ({n, t: statSync(path.join(dir, n)).mtimeMs})).sort((a, b) => a.t - b.t)
  for (const {n} of byAge.slice(0, names.length - MAX_ENTRIES)) rmSync(path.join(dir, n), {force: true})
}
