import {InterruptedError, type StopSignal} from '../errors.js'
import type {StopSignalOptions} from '../util/interrupt.js'

/** What publish and rollback print when a signal arrives (stderr). */
export const stopMessages: StopSignalOptions = {
  onFirst: (sig) => `${sig} received: stopping at the next safe point, then saying what state the store is in (send it again to stop at once).`,
  onForce: (sig) =>
    `${sig} again: stopping at once. HEAD always names a complete release, but the live tree may lag it: run \`dagctl fsck\` with the same --env/--store to see the state, and \`dagctl fsck --repair\` to complete it (the next publish or rollback heals it too).`,
}

/** The signal arrived during the last, short step, which was finished: everything is done. */
export function finishedDespite(sig: StopSignal): InterruptedError {
  return new InterruptedError(`interrupted (${sig}) during the last step, which was finished: the release is current and the live tree is in line`, sig, {
    hint: 'Nothing is left to do.',
    details: {state: 'done'},
  })
}
