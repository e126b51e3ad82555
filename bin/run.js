#!/usr/bin/env node
import module from 'node:module'

// Node >= 22.1 keeps compiled code on disk between runs (in the OS temp folder unless
// NODE_COMPILE_CACHE says where); Node 20 has no such API, and runs as before.
module.enableCompileCache?.()

// The shipped binary runs the build, whatever NODE_ENV says: oclif would otherwise swap in the
// TypeScript sources under NODE_ENV=test|development, with a second copy of oclif beside the bundle's.
globalThis.oclif = {...globalThis.oclif, enableAutoTranspile: false}

// oclif and the commands from the bundle (scripts/bundle.mjs): a few files instead of hundreds
const {execute} = await import('../dist/bundle/oclif.js')
await execute({dir: import.meta.url})
