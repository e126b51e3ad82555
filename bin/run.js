#!/usr/bin/env node
import module from 'node:module'
import {fileURLToPath} from 'node:url'

// Node >= 22.1 keeps compiled code on disk between runs (in the OS temp folder unless
// NODE_COMPILE_CACHE says where): of what loads from node_modules (listr2, nunjucks, oclif's help).
// The bundle runs from its CommonJS copy, which V8 compiles with a cache of dagctl's own, on every
// line (src/bundle/commonjs-loader.ts: why); with --verbose, or NODE_DISABLE_COMPILE_CACHE, from
// the ES bundle, whose stacks the source maps resolve.
module.enableCompileCache?.()
const commonJs = !process.env.NODE_DISABLE_COMPILE_CACHE && !process.argv.includes('--verbose')

// The shipped binary runs the build, whatever NODE_ENV says: oclif would otherwise swap in the
// TypeScript sources under NODE_ENV=test|development, with a second copy of oclif beside the bundle's.
globalThis.oclif = {...globalThis.oclif, enableAutoTranspile: false}

// --verbose prints the stack of an error: through the bundle's source maps, so that it names
// dagctl's source files and lines rather than positions in dist/bundle/ chunks. Only then: Node
// reads each chunk's map as it loads it (about 70 ms of CPU), which a run without --verbose skips.
if (process.argv.includes('--verbose')) process.setSourceMapsEnabled(true)

if (process.argv[2] === '--version') {
  // oclif's answer without oclif (src/bundle/version.ts)
  const {versionLine} = await import('../dist/bundle/version.js')
  process.stdout.write(`${versionLine(fileURLToPath(new URL('..', import.meta.url)))}\n`)
} else {
  // oclif and the commands from the bundle (scripts/bundle.mjs): a few files instead of hundreds
  const {run} = commonJs ? (await import('../dist/bundle-cjs/loader.js')).load('oclif.cjs') : await import('../dist/bundle/oclif.js')
  await run(import.meta.url)
}
