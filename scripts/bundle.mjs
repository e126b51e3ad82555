// The shipped CLI as a few files instead of hundreds: esbuild bundles oclif (src/bundle/oclif.ts,
// which bin/run.js starts), the command index (src/bundle/commands.ts, oclif's explicit strategy)
// and the hook, with dagctl's own code and its pure-JS dependencies, into dist/bundle/, split into
// shared chunks so that `--version` reads oclif's chunk only. The heavy packages stay in
// node_modules and load only when a command runs them (the AWS SDK, undici, listr2, nunjucks,
// execa; oclif's help plugin). Every chunk sits directly in dist/bundle/, two levels under the
// package root like the tsc output in dist/<area>/, so import.meta.dirname + '../..' still finds
// python/ and templates/.
import {rmSync} from 'node:fs'

import * as esbuild from 'esbuild'

rmSync('dist/bundle', {recursive: true, force: true})

await esbuild.build({
  entryPoints: ['src/bundle/oclif.ts', 'src/bundle/commands.ts', 'src/bundle/command-not-found.ts'],
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunk-[hash]',
  sourcemap: 'linked',
  // typescript and tsx: oclif's ts-path requires them only in development (bin/dev.js)
  external: ['@oclif/plugin-help', '@aws-sdk/*', 'undici', 'listr2', 'nunjucks', 'execa', 'typescript', 'tsx', 'ts-node'],
  // CommonJS packages inside an ESM bundle (js-yaml...) call require() for Node's own modules
  banner: {js: "import {createRequire as __dagctlCreateRequire} from 'node:module'; const require = __dagctlCreateRequire(import.meta.url);"},
  logLevel: 'warning',
  metafile: Boolean(process.env.DAGCTL_BUNDLE_META),
}).then(async (result) => {
  if (result.metafile) console.log(await esbuild.analyzeMetafile(result.metafile))
})
