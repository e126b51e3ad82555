import {createInterface} from 'node:readline/promises'

import {InterruptedError, UsageError} from '../errors.js'

/**
 * Asks a yes/no question on the terminal (stderr). true to go on; false when declined (not an
 * error: the caller says nothing changed); Ctrl-C at the prompt is an interruption (exit 130).
 * Off a terminal it refuses, naming the flag that answers for the user.
 */
export async function confirm(question: string, what: {command: string; yesFlag: string}): Promise<boolean> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new UsageError(`${what.command} needs confirmation, and this is not a terminal`, {
      code: 'CONFIRMATION_NEEDED',
      hint: `Check the diff with --dry-run, then re-run with ${what.yesFlag}.`,
    })
  }
  const rl = createInterface({input: process.stdin, output: process.stderr})
  const ctrlC = new AbortController()
  // On a terminal, Ctrl-C reaches readline as a key, not the process as a signal.
  rl.once('SIGINT', () => ctrlC.abort())
  try {
    const answer = (await rl.question(`${question} [y/N] `, {signal: ctrlC.signal})).trim().toLowerCase()
    return answer === 'y' || answer === 'yes'
  } catch (error) {
    if (ctrlC.signal.aborted) throw new InterruptedError(`interrupted (SIGINT) at the confirmation: nothing changed`, 'SIGINT', {hint: `Run the ${what.command} again when ready.`})
    throw error
  } finally {
    rl.close()
  }
}
