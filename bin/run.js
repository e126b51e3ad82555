#!/usr/bin/env node
// CommonJS (bin/package.json), as is all that runs of dagctl without --verbose: Node then never
// starts its ES module loader (4 ms of CPU on Node 20, 3 on 24).
'use strict'
const {enableCompileCache} = require('node:module')
const {pathToFileURL} = require('node:url')

// Node >= 22.1 keeps compiled code on disk between runs (in the OS temp folder unless
// NODE_COMPILE_CACHE says where): of what loads from node_modules (listr2, nunjucks, oclif's help).
// The bundle runs from its CommonJS copy, which V8 compiles with a cache of dagctl's own, on every
// line (src/bundle/commonjs-loader.ts: why); with --verbose, or NODE_DISABLE_COMPILE_CACHE, from
// the ES bundle, whose stacks the source maps resolve.
enableCompileCache?.()
const commonJs = !process.env.NODE_DISABLE_COMPILE_CACHE && !process.argv.includes('--verbose')
/** a module of the bundle: from its CommonJS copy (dist/bundle-cjs/<name>.cjs) or the ES bundle */
const bundled = (name) => (commonJs ? Promise.resolve(require('../dist/bundle-cjs/loader.cjs').load(`${name}.cjs`)) : import(`../dist/bundle/${name}.js`))

// The shipped binary runs the build, whatever NODE_ENV says: oclif would otherwise swap in the
// TypeScript sources under NODE_ENV=test|development, with a second copy of oclif beside the bundle's.
globalThis.oclif = {...globalThis.oclif, enableAutoTranspile: false}

// --verbose prints the stack of an error: through the bundle's source maps, so that it names
// dagctl's source files and lines rather than positions in dist/bundle/ chunks. Only then: Node
// reads each chunk's map as it loads it (about 70 ms of CPU), which a run without --verbose skips.
if (process.argv.includes('--verbose')) process.setSourceMapsEnabled(true)

if (process.argv[2] === '--version') {
  // oclif's answer without oclif (src/bundle/version.ts)
  bundled('version').then(({versionLine}) => process.stdout.write(`${versionLine(require('node:path').resolve(__dirname, '..'))}\n`))
} else {
  // oclif and the commands from the bundle (scripts/bundle.mjs): a few files instead of hundreds
  bundled('oclif').then(({run}) => run(pathToFileURL(__filename).href))
}
