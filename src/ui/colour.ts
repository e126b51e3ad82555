import {Chalk, type ChalkInstance} from 'chalk'

/**
 * Colour is decided in this one place: only when the stream is a TTY, never with NO_COLOR
 * (chalk 5 ignores NO_COLOR by itself), and FORCE_COLOR may turn it on for a non-TTY.
 */
export function colourEnabled(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false') return true
  return Boolean(stream.isTTY)
}

export function palette(stream: NodeJS.WriteStream = process.stdout): ChalkInstance {
  return new Chalk({level: colourEnabled(stream) ? 1 : 0})
}
