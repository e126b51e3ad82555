#!/usr/bin/env -S node --import tsx
// Runs the TypeScript sources directly (tsx pinned to 4.23.14: later versions fall back to dist silently).
// The commands are found by listing src/commands/ (oclif maps dist/ to src/ in development), not
// through the bundle's index, whose stand-ins carry no flags of their own (src/bundle/commands.ts).
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {execute} from '@oclif/core'

const root = fileURLToPath(new URL('..', import.meta.url))
const pjson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
pjson.oclif = {...pjson.oclif, commands: './dist/commands', hooks: {...pjson.oclif.hooks, command_not_found: './dist/hooks/command-not-found.js'}}

await execute({development: true, loadOptions: {root, pjson}})
