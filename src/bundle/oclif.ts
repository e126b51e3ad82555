// oclif itself as an entry of the bundle (scripts/bundle.mjs): bin/run.js starts it from here, so
// oclif, its dependencies and the commands share one copy read from a few files.
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {Errors, flush, handle, run as runOclif, type Interfaces} from '@oclif/core'

import {COMMAND_LOADERS} from './commands.js'

// oclif's explicit command strategy imports the index from this file (package.json oclif.commands),
// which bin/run.js has already loaded: the index is not a module of its own to read at every start
export {COMMANDS} from './commands.js'

/** What a command line starting with one of these runs is dagctl's own: the first words of its command ids, and --version. */
const OWN = new Set([...Object.keys(COMMAND_LOADERS).map((id) => id.split(':')[0]), '--version'])

/**
 * Runs the CLI whose bin/run.js is `binUrl`. oclif is given the package's folder and package.json
 * (read once here) instead of finding them from the bin's path. The plugins package.json names
 * (help, autocomplete) only add the `help` and `autocomplete` commands: a command line that runs one
 * of dagctl's own commands (or --version) loads none of them, which spares oclif resolving, reading
 * and matching their package.json and manifests at every start. Any other command line (no
 * command, `help`, `autocomplete`, a typo the command_not_found hook answers) loads them as before.
 */
export async function run(binUrl: string, argv = process.argv.slice(2)): Promise<unknown> {
  const root = path.resolve(path.dirname(fileURLToPath(binUrl)), '..')
  const pjson = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Interfaces.PJSON
  if (argv[0] !== undefined && OWN.has(argv[0])) pjson.oclif = {...pjson.oclif, plugins: []}
  // run from the CommonJS copy of the bundle (src/bundle/commonjs-loader.ts), oclif takes
  // the index and the hook from that copy too, which the loader has put in require's cache
  if (import.meta.url.endsWith('.cjs')) pjson.oclif = {...pjson.oclif, ...commonJsTargets(pjson.oclif)}
  // validate's Python helper starts now, on a guess its command checks (src/check/speculate.ts)
  if (argv[0] === 'validate') (await import('../check/speculate.js')).speculateValidate(argv.slice(1))
  // what oclif's execute() does, but for a command's own exit: BaseCommand.catch has printed what
  // it had to and drained the streams, and handle() would only format the error (wrapped to the
  // terminal, its stack cleaned: 3-4 ms of CPU) before it drops it and exits with the same code
  return runOclif(argv, {root, pjson}).then(
    (result) => {
      void flush()
      return result
    },
    async (error: Error) => (error instanceof Errors.ExitError ? process.exit(error.oclif.exit) : handle(error)),
  )
}

/** package.json's paths into dist/bundle/ (the commands' index, the hooks), as those of their CommonJS copies in dist/bundle-cjs/ */
function commonJsTargets(oclif: Interfaces.PJSON['oclif']): Pick<Interfaces.PJSON['oclif'], 'commands' | 'hooks'> {
  const copy = (file: string) => file.replace(/^\.\/dist\/bundle\/([\w-]+)\.js$/, './dist/bundle-cjs/$1.cjs')
  const commands = typeof oclif.commands === 'object' ? {...oclif.commands, target: copy(oclif.commands.target)} : oclif.commands
  const hooks = Object.fromEntries(Object.entries(oclif.hooks ?? {}).map(([event, file]) => [event, typeof file === 'string' ? copy(file) : file]))
  return {commands, hooks}
}
