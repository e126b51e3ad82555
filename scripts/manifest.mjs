// oclif.manifest.json, which oclif reads for everything it needs before a command runs: the command
// list, flags, args, help, the hook's suggestions. The shipped index (src/bundle/commands.ts) holds
// stand-ins that import their command on first run, so the manifest is written from the command
// classes themselves: the tsc output in dist/commands/ loaded as oclif loads any plugin's commands
// (the code of `oclif manifest`, with only the commands target changed). Nothing of the tsc output
// is read at run time.
import {readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {Plugin} from '@oclif/core'

const root = path.resolve(import.meta.dirname, '..')
const pjson = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'))
const plugin = new Plugin({
  root,
  isRoot: true,
  type: 'core',
  ignoreManifest: true,
  errorOnManifestCreate: true,
  respectNoCacheDefault: true,
  pjson: {...pjson, oclif: {...pjson.oclif, commands: './dist/commands'}},
})
await plugin.load()
// what the explicit strategy's manifest holds: no file path per command (oclif finds them in the index)
for (const command of Object.values(plugin.manifest.commands)) {
  delete command.relativePath
  delete command.isESM
}
const file = path.join(root, 'oclif.manifest.json')
writeFileSync(file, JSON.stringify(plugin.manifest, null, 2))
console.log(`wrote manifest to ${file} (${Object.keys(plugin.manifest.commands).length} commands)`)
