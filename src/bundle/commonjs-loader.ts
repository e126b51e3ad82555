/**
 * How the bundle runs: bin/run.js loads oclif.cjs through here. Every chunk of dist/bundle/ is also
 * in dist/bundle-cjs/ as CommonJS (scripts/bundle.mjs), which V8 compiles through node:vm with the
 * code it kept from an earlier run. Node 20 has no compile cache, and parsed and compiled every
 * function a trigger runs at every start (141 M of a refused trigger's 303 M instructions, where
 * `node -e 0` is 87 M). Node 22+'s compile cache, for ES modules, keeps only what V8 compiled with
 * a module, not the functions it compiles lazily on their first call (most of them), and loading
 * the same chunks as CommonJS spares the ES loader's resolving and linking of 17 modules.
 *
 * A chunk's cache is written as the run that compiled it exits, so that it holds the functions that
 * run called, which V8 compiles lazily, on their first call, and the next runs find compiled: not
 * all of them (a cache of every function, compiled whole with --no-lazy, was 4.5 times the size,
 * and reading it cost a warm refused trigger 2-3 ms more of CPU on Node 20 and 24). The first three
 * runs that load a chunk write it, each adding what it compiled to what it read; a path none of them
 * took compiles its functions at each run. Each command keeps its own (the first word of the command
 * line names its folder: trigger's are not publish's),
 * under the build's key and V8's version, in NODE_COMPILE_CACHE (where Node keeps its own) or the
 * OS temp folder. A cache V8 rejects is written again; a folder that cannot be written, or that
 * another user could write, is no cache.
 * NODE_DISABLE_COMPILE_CACHE and --verbose run the ES bundle instead (bin/run.js).
 *
 * Built on its own (scripts/bundle.mjs): it imports nothing, so as not to load the facade of any
 * builtin module before the chunks run, and it runs before anything else of dagctl.
 */

declare const DAGCTL_COMMONJS_KEY: string

const fs = process.getBuiltinModule('node:fs')
const path = process.getBuiltinModule('node:path')
const vm = process.getBuiltinModule('node:vm')
const Module = process.getBuiltinModule('node:module')
const {isAscii} = process.getBuiltinModule('node:buffer')

const CHUNKS_DIR = __dirname
const BUILD_DIR = path.join(
  process.env.NODE_COMPILE_CACHE || path.join(process.getBuiltinModule('node:os').tmpdir(), 'node-compile-cache'),
  `dagctl-${DAGCTL_COMMONJS_KEY}-v8-${process.versions.v8}-${process.arch}`,
)
const CACHE_DIR = path.join(BUILD_DIR, commandFolder(process.argv[2]))
const CHUNK = /^\.\/[\w-]+\.cjs$/

// A chunk's import() (of listr2, execa, oclif's plugins) is one from here (scripts/bundle.mjs makes
// it a call of this), so that Node's own loader resolves it as from the chunks' folder
const importFromHere = (specifier: string): Promise<unknown> => import(specifier)

// require() as Node's from dist/bundle-cjs/, and its cache (require.cache)
const nodeRequire = Module.createRequire(path.join(CHUNKS_DIR, 'loader.cjs'))
/** require() for a chunk: the other chunks from here, anything else from Node */
const chunkRequire = Object.assign((id: string) => (CHUNK.test(id) ? load(id.slice(2)) : nodeRequire(id)), {resolve: nodeRequire.resolve})

// a folder that cannot be written, or is not only ours, is no cache: the chunks are then compiled
// lazily, as without one
let cacheUsable = true
try {
  fs.mkdirSync(CACHE_DIR, {recursive: true, mode: 0o700})
  fs.accessSync(CACHE_DIR, fs.constants.W_OK)
  cacheUsable = ownFolder(BUILD_DIR) && ownFolder(CACHE_DIR)
} catch {
  cacheUsable = false
}

/**
 * V8 runs the code of a cache it accepts, and checks the cache against the source's length only: a
 * folder another user could write to (the OS temp folder is shared) is no cache, lest they plant code
 */
function ownFolder(dir: string): boolean {
  if (process.getuid === undefined) return true // not POSIX: no owner and mode bits to check
  const stat = fs.statSync(dir)
  return stat.uid === process.getuid() && (stat.mode & 0o022) === 0
}

function keep(file: string, data: Buffer): void {
  // written whole, then renamed: a run beside this one reads the old cache or the new, never half
  const partial = `${file}.${process.pid}`
  try {
    fs.writeFileSync(partial, data)
    fs.renameSync(partial, file)
  } catch {
    // costs the next run its compile, nothing else
    cacheUsable = false
    fs.rmSync(partial, {force: true})
  }
}

/** the folder of a command's caches: its first word, or `_` for anything else (help, a typo, a flag) */
function commandFolder(word: string | undefined): string {
  return word !== undefined && /^[a-z][a-z0-9-]{0,39}$/.test(word) ? word : '_'
}

/** how many runs write a chunk's cache: those after it read the code of the runs before, and write none */
const WRITES = 3

/** the chunks whose caches this run writes, at its exit */
const toKeep: Array<{file: string; script: InstanceType<typeof vm.Script>; writes: number}> = []

function keepAtExit(file: string, script: InstanceType<typeof vm.Script>, writes: number): void {
  if (toKeep.push({file, script, writes}) === 1) {
    process.once('exit', () => {
      for (const chunk of toKeep) if (cacheUsable) keep(chunk.file, Buffer.concat([Buffer.of(chunk.writes), chunk.script.createCachedData()]))
    })
  }
}

/** Runs the chunk dist/bundle-cjs/<name> (once) and returns its exports. */
export function load(name: string): unknown {
  const filename = path.join(CHUNKS_DIR, name)
  const known = nodeRequire.cache[filename]
  if (known) return known.exports
  const source = readSource(filename)
  const script = cacheUsable ? compileWithCache(filename, name, source) : new vm.Script(wrap(source), {filename})
  // in require's cache, so that oclif's require() of the commands' target and hooks gets this copy
  const chunk = new Module(filename)
  chunk.filename = filename
  nodeRequire.cache[filename] = chunk
  try {
    const wrapper = script.runInThisContext() as (...args: unknown[]) => void
    wrapper.call(chunk.exports, chunk.exports, chunkRequire, chunk, filename, CHUNKS_DIR, importFromHere)
  } catch (error) {
    delete nodeRequire.cache[filename]
    throw error
  }
  chunk.loaded = true
  return chunk.exports
}

/**
 * A chunk's text. esbuild writes them in ASCII (all but a few characters in regular expressions), which
 * V8 takes as it is, as Latin-1, where it decodes UTF-8 character by character (a warm refused trigger:
 * about 5 M instructions fewer, of 185-210 M)
 */
function readSource(filename: string): string {
  const bytes = fs.readFileSync(filename)
  return isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8')
}

/** the chunk as the function CommonJS runs it in */
const wrap = (source: string) => `(function (exports, require, module, __filename, __dirname, __dagctlImport) {${source}\n})`

function compileWithCache(filename: string, name: string, source: string): InstanceType<typeof vm.Script> {
  const cacheFile = path.join(CACHE_DIR, name)
  let kept: Buffer | undefined
  try {
    kept = fs.readFileSync(cacheFile)
  } catch {
    kept = undefined
  }
  // the first byte counts the runs that wrote it: each of the first few adds what it compiled (the
  // first run of a command is most often one with no config cache, the next ones read that cache)
  const writes = kept?.[0] ?? 0
  const cachedData = kept?.subarray(1)
  const script = new vm.Script(wrap(source), {filename, cachedData})
  if (cachedData === undefined || script.cachedDataRejected) keepAtExit(cacheFile, script, 1)
  else if (writes < WRITES) keepAtExit(cacheFile, script, writes + 1)
  return script
}
