import {type Hook, toConfiguredId} from '@oclif/core'

import {UsageError} from '../errors.js'
import {suggestCommand} from '../ui/suggest.js'
import {renderError} from '../ui/render-error.js'
import {flushOutput} from '../ui/streams.js'

/**
 * `dagctl publsh`: a usage error (exit 2) with the nearest command, as JSON on stdout under
 * --json (or DAGCTL_CONTENT_TYPE=json), like every other error. Never runs a guess.
 */
const hook: Hook.CommandNotFound = async function (opts) {
  const argv = opts.argv ?? []
  // `dagctl --json publsh`: oclif takes the first word, a flag here, for the command
  const typed = opts.id.startsWith('-') ? (argv.find((a) => !a.startsWith('-')) ?? opts.id) : toConfiguredId(opts.id, opts.config)
  const visible = opts.config.commands.filter((c) => !c.hidden).flatMap((c) => [c.id, ...c.aliases])
  const suggestion = suggestCommand(typed, visible.map((id) => toConfiguredId(id, opts.config)))
  const bin = opts.config.bin
  const error = new UsageError(`${typed} is not a ${bin} command${suggestion ? `; did you mean ${suggestion}?` : ''}`, {
    code: 'COMMAND_NOT_FOUND',
    hint: suggestion ? `Run \`${bin} ${suggestion} --help\`, or \`${bin} --help\` for every command.` : `Run \`${bin} --help\` for every command.`,
    details: {command: typed, ...(suggestion ? {suggestion} : {})},
  })
  const json = [opts.id, ...argv].includes('--json') || process.env.DAGCTL_CONTENT_TYPE?.toLowerCase() === 'json'
  if (json) process.stdout.write(`${JSON.stringify({error: error.toJSON()}, null, 2)}\n`)
  else process.stderr.write(`${renderError(error, false)}\n`)
  await flushOutput()
  this.exit(error.exitCode)
}

export default hook
