// The shipped CLI as a few files instead of hundreds: esbuild bundles oclif (src/bundle/oclif.ts,
// which bin/run.js starts, and which exports the command index of src/bundle/commands.ts for
// oclif's explicit strategy) and the hook, with dagctl's own code and its pure-JS dependencies, into
// dist/bundle/. Splitting is on and the index imports each command on first use, so every command
// is a chunk of its own and a run evaluates oclif's chunk, the index and the chunks of the one
// command it runs (the AWS SDK's only for the commands that open an S3 store). listr2, nunjucks and
// execa stay in node_modules and load only when a command uses them, and so does oclif's help
// plugin. Every chunk sits directly in dist/bundle/, two levels under the package root like the tsc
// output in dist/<area>/, so import.meta.dirname + '../..' still finds python/ and templates/. Then
// the manifest (scripts/manifest.mjs).
import {createHash} from 'node:crypto'
import {mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {builtinModules, createRequire} from 'node:module'
import path from 'node:path'

import * as esbuild from 'esbuild'

rmSync('dist/bundle', {recursive: true, force: true})

// zod re-exports its 50 translations of the error messages as `z.locales`, which keeps all of them
// (a third of zod's size) in the bundle; dagctl uses the English one zod sets by default, so the
// index of translations is cut down to that one.
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({filter: /\/locales\/index\.js$/}, (args) =>
      args.importer.includes(`${path.sep}node_modules${path.sep}zod${path.sep}`) ? {path: path.join(args.resolveDir, args.path), namespace: 'zod-locales'} : undefined,
    )
    build.onLoad({filter: /.*/, namespace: 'zod-locales'}, (args) => ({
      contents: `export {default as en} from ${JSON.stringify(path.join(path.dirname(args.path), 'en.js'))}\n`,
      loader: 'js',
      resolveDir: path.dirname(args.path),
    }))
  },
}

// An ESM `import {x} from 'node:fs'` gets Node's ES module facade of the builtin, which reads every
// export once to build it: that runs the lazy getters (fs.ReadStream loads all of node:stream,
// crypto's webcrypto and argon2 load theirs), CPU at every start that no command asked for.
// process.getBuiltinModule (Node >= 20.16) hands out the module itself, as require() does, so each
// ESM import of a builtin becomes a small module that reads only the exports its importer names:
// every export is a pure call, which esbuild drops when unused. One such module per importer,
// since an export that any importer names would otherwise be read wherever the module runs.
// require() calls (the banner's require) stay as they are; dynamic imports: below.
const nodeRequire = createRequire(import.meta.url)
const builtins = new Set(builtinModules)
const builtinsWithoutFacade = {
  name: 'builtins-without-facade',
  setup(build) {
    build.onResolve({filter: /^(node:)?[a-z_]+(\/[a-z_]+)?$/}, (args) => {
      const name = args.path.replace(/^node:/, '')
      if (args.kind !== 'import-statement' || !builtins.has(name)) return undefined
      return {path: `node:${name}`, suffix: `?${path.relative(process.cwd(), args.importer)}`, namespace: 'builtin'}
    })
    build.onLoad({filter: /.*/, namespace: 'builtin'}, (args) => {
      const names = Object.keys(nodeRequire(args.path)).filter((n) => /^[A-Za-z_$][\w$]*$/.test(n) && n !== 'default')
      const lines = [
        `const m = /* @__PURE__ */ process.getBuiltinModule(${JSON.stringify(args.path)})`,
        'const pick = (k) => m[k]',
        'export default m',
        ...names.map((n) => `export const ${n} = /* @__PURE__ */ pick(${JSON.stringify(n)})`),
      ]
      return {contents: lines.join('\n'), loader: 'js'}
    })
  },
}

// A dynamic `import('node:http')` gets the facade too, and its exports cannot be dropped (the
// importer may read any of them): on Node 24 and 26 that facade reads node:http's lazy getters,
// which load undici (13 ms of CPU on the first S3 request, through the AWS SDK's HTTP handler).
// Such an import becomes a call of the banner's __dagctlImportBuiltin, a promise of an object with
// the module as `default` and a getter per export: what the importer reads, and only that, is read.
const DYNAMIC_BUILTIN = /\bimport\(\s*(["'])((?:node:)?[a-z_]+(?:\/[a-z_]+)?)\1\s*\)/g
const dynamicBuiltinsWithoutFacade = {
  name: 'dynamic-builtins-without-facade',
  setup(build) {
    build.onLoad({filter: /\.(c|m)?[jt]s$/}, (args) => {
      const source = readFileSync(args.path, 'utf8')
      const contents = withoutDynamicBuiltins(source)
      if (contents === source) return undefined
      return {contents, loader: /\.[cm]?ts$/.test(args.path) ? 'ts' : 'js', resolveDir: path.dirname(args.path)}
    })
  },
}
function withoutDynamicBuiltins(source) {
  if (!source.includes('import(')) return source
  return source.replace(DYNAMIC_BUILTIN, (whole, _quote, id) =>
    builtins.has(id.replace(/^node:/, '')) ? `__dagctlImportBuiltin(${JSON.stringify(id.startsWith('node:') ? id : `node:${id}`)})` : whole,
  )
}
// oclif's modules require at their top what only a few paths use: evaluated at every start, they
// were about a third of oclif's own start-up (10 ms of CPU on Node 24). Each binding below is used
// inside functions only, so it becomes a lazy one: a proxy that requires the module when the binding
// is first used (called, constructed, or read from), through the banner's __dagctlLazy. A binding
// that is no longer in its file (a new oclif) fails the build, not a run.
const OCLIF_LAZY_REQUIRES = {
  'config/config.js': ['ejs'], // templates with <%= config.bin %> (help, examples)
  'config/plugin.js': ['tinyglobby'], // the pattern strategy of command discovery (dagctl's is explicit)
  'config/plugin-loader.js': ['minimatch'], // plugin patterns in package.json
  'config/ts-path.js': ['node:fs/promises'], // a TypeScript source next to a command (development only)
  'errors/handle.js': ['../help/index'], // help shown after an error that asks for it
  'flags.js': ['./help'], // the --help flag's parse
  'help/util.js': ['ejs'], // help templates
  'parser/parse.js': ['node:readline'], // a flag read from stdin (`-` as its value)
  'performance.js': ['node:perf_hooks'], // its markers, only with OCLIF_PERFORMANCE or DEBUG
  'util/fs.js': ['node:fs/promises'], // Args.file and Args.directory's checks (readJson: OCLIF_REWRITES)
  'util/os.js': ['node:child_process'], // Windows' shell, for the user agent
  'util/read-pjson.js': ['lilconfig'], // a plugin's package.json (dagctl's own is read in src/bundle/oclif.ts)
  'util/read-tsconfig.js': ['node:fs/promises'], // tsconfig.json (development only)
  'ux/action/spinner.js': ['cli-spinners'], // a spinner's frames: only when one spins
}
// Of those, the packages a run reaches only on a rare path are not bundled at all: their code (with
// what they pull in: picomatch, fdir, brace-expansion...) was 330 KB of the 720 KB chunk every command
// loads, which Node reads and parses at every start without running it (3 ms of CPU on Node 20,
// which has no compile cache; 1-2 ms on 24 and 26). They load from node_modules on first use, found
// from @oclif/core's own folder (the banner's __dagctlOclifRequire), so that a copy npm nested under
// @oclif/core is the one used, as an unbundled oclif would.
const OCLIF_UNBUNDLED = new Set(['ejs', 'tinyglobby', 'minimatch', 'lilconfig', 'cli-spinners'])
// Whole expressions of oclif's replaced by what they amount to, each found exactly once, or the
// build fails.
const OCLIF_REWRITES = {
  // Plugin.load sorts the command list with localeCompare, whose first call builds ICU's collator for
  // the locale (5-7 ms of CPU at every start), for ids that oclif compares by code point everywhere
  // else (util.sortBy, which help uses) and whose two orders are the same (test/unit/commands-index)
  'config/plugin.js': [['.sort((a, b) => a.id.localeCompare(b.id));', '.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));']],
  // the check of Node against oclif's engines returns before it requires semver (the define below),
  // but esbuild bundled semver (72 KB) all the same: it is required from node_modules instead
  'index.js': [["const semver = require('semver');", "const semver = __dagctlOclifRequire('semver');"]],
  // the one file every start reads through readJson is oclif.manifest.json (88 KB): read at once, it
  // needs no node:fs/promises (1.6 ms of CPU to load on Node 24) and no round trip through the thread pool
  'util/fs.js': [["const contents = await (0, promises_1.readFile)(path, 'utf8');", "const contents = (0, node_fs_1.readFileSync)(path, 'utf8');"]],
  // Config.load asks wsl-utils whether this is WSL at every start: wsl-utils re-exports is-wsl's
  // answer, but its own top loads node:child_process and node:fs/promises (5-6 ms of CPU on Node 24)
  // for helpers only Windows' shell lookup calls. is-wsl is the same answer without them (and a
  // dependency of dagctl's, for --version), and a require() of it (esbuild evaluates it at the call)
  // spares the two modules a dynamic import reads.
  'util/os.js': [["(await import('wsl-utils')).isWsl", "require('is-wsl').default"]],
}
const OCLIF_LIB = `${path.sep}node_modules${path.sep}@oclif${path.sep}core${path.sep}lib${path.sep}`
const oclifLazyRequires = {
  name: 'oclif-lazy-requires',
  setup(build) {
    build.onLoad({filter: /[\\/]@oclif[\\/]core[\\/]lib[\\/].*\.js$/}, (args) => {
      const at = args.path.indexOf(OCLIF_LIB)
      const file = at === -1 ? undefined : args.path.slice(at + OCLIF_LIB.length).split(path.sep).join('/')
      const lazy = OCLIF_LAZY_REQUIRES[file] ?? []
      const rewrites = OCLIF_REWRITES[file] ?? []
      if (lazy.length === 0 && rewrites.length === 0) return undefined
      let contents = readFileSync(args.path, 'utf8')
      for (const [from, to] of rewrites) {
        if (contents.split(from).length !== 2) throw new Error(`oclif-lazy-requires: \`${from}\` is not once in ${args.path} (a new @oclif/core? check OCLIF_REWRITES)`)
        contents = contents.replace(from, to)
      }
      for (const spec of lazy) {
        // `const ejs_1 = __importDefault(require("ejs"));`, as tsc writes oclif's imports
        const line = new RegExp(`^const (\\w+) = ((?:__importDefault\\()?require\\(${JSON.stringify(spec).replaceAll('.', '\\.')}\\)\\)?);$`, 'm')
        if (!line.test(contents)) throw new Error(`oclif-lazy-requires: no top-level require of ${spec} in ${args.path} (a new @oclif/core? check OCLIF_LAZY_REQUIRES)`)
        const loader = OCLIF_UNBUNDLED.has(spec) ? '__dagctlOclifRequire(' : 'require('
        contents = contents.replace(line, (_, binding, load) => `const ${binding} = __dagctlLazy(() => ${load.replace('require(', loader)});`)
      }
      // this plugin's answer is the file's: the rewrite of its dynamic imports of builtins too
      return {contents: withoutDynamicBuiltins(contents), loader: 'js', resolveDir: path.dirname(args.path)}
    })
  },
}
const lazyHelper =
  'const __dagctlLazy = (load) => { let m; const get = () => (m ??= load()); return new Proxy(function () {}, {get: (_, k) => Reflect.get(get(), k), has: (_, k) => Reflect.has(get(), k), apply: (_, self, args) => Reflect.apply(get(), self, args), construct: (_, args) => Reflect.construct(get(), args)}) };'

// Every chunk has this banner, and most never call the require it defines (esbuild's __require in
// the runtime chunk is the one bundled CommonJS calls): the require is created on its first call,
// not in each of the 17 chunks a trigger reads (createRequire: 0.6-0.9 ms of CPU for them all).
const requireHelper =
  "let __dagctlRequireFn; const __dagctlRequireHere = () => (__dagctlRequireFn ??= process.getBuiltinModule('node:module').createRequire(import.meta.url)); const require = Object.assign((id) => __dagctlRequireHere()(id), {resolve: (id, options) => __dagctlRequireHere().resolve(id, options)});"

// require() as @oclif/core's own files would: from its folder in node_modules (OCLIF_UNBUNDLED)
const oclifRequireHelper =
  "let __dagctlOclifRequireFn; const __dagctlOclifRequire = (id) => (__dagctlOclifRequireFn ??= require('node:module').createRequire(require.resolve('@oclif/core')))(id);"

const importBuiltinHelper =
  'const __dagctlImportBuiltin = (id) => { const m = process.getBuiltinModule(id); const ns = {default: m}; for (const k of Object.keys(m)) if (k !== "default") Object.defineProperty(ns, k, {get: () => m[k], enumerable: true}); return Promise.resolve(ns) };'

// The build's id, for the config cache (src/config/cache.ts): a hash of the sources and the locked
// dependencies, so that a new build never serves what an older build's schema validated.
const buildHash = createHash('sha256')
for (const file of ['package.json', 'package-lock.json', ...readdirSync('src', {recursive: true}).map((f) => path.join('src', f)).filter((f) => f.endsWith('.ts')).sort()]) {
  buildHash.update(`${file}\0`).update(readFileSync(file)).update('\0')
}
const buildId = buildHash.digest('hex').slice(0, 16)

const {outputFiles, metafile} = await esbuild.build({
  entryPoints: ['src/bundle/oclif.ts', 'src/bundle/command-not-found.ts', 'src/bundle/version.ts'],
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunk-[hash]',
  sourcemap: 'linked',
  // typescript and tsx: oclif's ts-path requires them only in development (bin/dev.mjs)
  // The AWS SDK is bundled too (in the chunks of the store commands only): read from one chunk it
  // costs about 50 ms less CPU to load than from its ~300 files in node_modules.
  external: ['@oclif/plugin-help', 'listr2', 'nunjucks', 'execa', 'typescript', 'tsx', 'ts-node'],
  plugins: [zodEnglishOnly, builtinsWithoutFacade, oclifLazyRequires, dynamicBuiltinsWithoutFacade],
  // oclif's import-time check of Node against its own engines range reads its package.json by
  // __dirname, which a bundle has not (the check always failed, silently); skipping it spares
  // loading semver on every start (3 ms of CPU). package.json's engines says what dagctl needs.
  define: {'process.env.OCLIF_DISABLE_ENGINE_WARNING': '"1"', 'process.env.DAGCTL_BUILD_ID': JSON.stringify(buildId)},
  // CommonJS packages inside an ESM bundle (js-yaml...) call require() for Node's own modules
  // (and the dynamic imports of builtins: __dagctlImportBuiltin, above)
  banner: {js: `${requireHelper}\n${importBuiltinHelper}\n${lazyHelper}\n${oclifRequireHelper}`},
  // The ES builds where a package ships both: the AWS SDK's client-s3 as CommonJS is one file that
  // defines all of S3's operations and their schemas, while its ES build lets esbuild keep only the
  // operations dagctl sends (the chunks holding the SDK: 1.4 MB -> 0.8 MB; a publish with nothing to send, 27 ms less).
  // Only the AWS SDK, @smithy and fastest-levenshtein resolve differently with this.
  mainFields: ['module', 'main'],
  logLevel: 'warning',
  metafile: Boolean(process.env.DAGCTL_BUNDLE_META),
  // written below, with their CommonJS copies
  write: false,
})
if (metafile) console.log(await esbuild.analyzeMetafile(metafile))

mkdirSync('dist/bundle', {recursive: true})
for (const output of outputFiles) writeFileSync(output.path, output.contents)

// What runs is a CommonJS copy of every chunk, in dist/bundle-cjs/ (two levels under the root too),
// which src/bundle/commonjs-loader.ts compiles with V8's code kept from an earlier run: V8 keeps code
// only of what node:vm compiles, which takes no ES module, and Node's own compile cache misses most
// of it and is not on Node 20 (why and what it saves: the loader). dist/bundle/ stays what --verbose
// runs, with its source maps. esbuild converts each chunk from the ES output above: the imports of
// chunks become require() of their .cjs, which the loader answers; the banner's require helper goes,
// since a CommonJS module has its own; import.meta becomes __filename's.
rmSync('dist/bundle-cjs', {recursive: true, force: true})
mkdirSync('dist/bundle-cjs', {recursive: true})
const STATIC_CHUNK_IMPORT = /(\bfrom\s*|\bimport\s*)"\.\/(chunk-[A-Z0-9]+)\.js"/g
const DYNAMIC_CHUNK_IMPORT = /\bimport\("\.\/(chunk-[A-Z0-9]+)\.js"\)/g
const DYNAMIC_IMPORT_AS_REQUIRE = /Promise\.resolve\(\)\.then\(\(\) => __toESM\d*\(require\(/g
let dynamicImports = 0
const commonJsKey = createHash('sha256')
for (const output of outputFiles.filter((o) => o.path.endsWith('.js')).sort((a, b) => (a.path < b.path ? -1 : 1))) {
  const source = output.text.replace(/\n\/\/# sourceMappingURL=\S+\n?$/, '\n')
  if (!source.includes(requireHelper)) throw new Error(`CommonJS chunks: no banner in ${output.path}`)
  const es = source
    .replace(requireHelper, '')
    .replace(DYNAMIC_CHUNK_IMPORT, (_, chunk) => `Promise.resolve().then(() => require("./${chunk}.cjs"))`)
    .replace(STATIC_CHUNK_IMPORT, (_, keyword, chunk) => `${keyword}"./${chunk}.cjs"`)
  const {code: converted} = await esbuild.transform(es, {
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // a dynamic import of anything else (listr2, execa, oclif's plugins): below
    supported: {'dynamic-import': false},
    define: {'import.meta.url': '__dagctlImportMetaUrl', 'import.meta.dirname': '__dirname'},
    logLevel: 'error',
  })
  // esbuild writes each as a require() (`Promise.resolve().then(() => __toESM(require(x)))`), which
  // becomes an import() by the loader (its __dagctlImport): V8 keeps no import() callback with the
  // cached code of a node:vm script, and a require() of an ES module would see its namespace as default
  const code = converted.replace(DYNAMIC_IMPORT_AS_REQUIRE, () => (dynamicImports++, 'Promise.resolve().then(() => __dagctlImport(('))
  const url = code.includes('__dagctlImportMetaUrl') ? 'const __dagctlImportMetaUrl = require("node:url").pathToFileURL(__filename).href;\n' : ''
  const name = path.basename(output.path).replace(/\.js$/, '.cjs')
  commonJsKey.update(`${name}\0${url}${code}\0`)
  writeFileSync(path.join('dist/bundle-cjs', name), url + code)
}
// dagctl's import() of listr2 and execa: none found means esbuild converts them otherwise now
if (dynamicImports === 0) throw new Error('CommonJS chunks: no dynamic import as esbuild converts them (a new esbuild? check DYNAMIC_IMPORT_AS_REQUIRE)')
// the loader, on its own: the build's key names its cache, so that no build reads another's code
await esbuild.build({
  entryPoints: ['src/bundle/commonjs-loader.ts'],
  outfile: 'dist/bundle-cjs/loader.cjs',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  define: {DAGCTL_COMMONJS_KEY: JSON.stringify(commonJsKey.digest('hex').slice(0, 16))},
  logLevel: 'warning',
})
