// Ids on the path of a trigger, without node:crypto: loading it costs 6-8 ms of CPU at every start
// (measured on Node 20 and 24). Nothing here is a secret, only a name that must not repeat.

/**
 * `bytes` random bytes as hex: unique enough to tell runs and dead letters apart (two ids of 4
 * bytes made in the same second collide once in 4 billion), never a secret or a token.
 * Math.random is V8's xorshift128+, seeded per process from the OS.
 */
export function uniqueHex(bytes: number): string {
  let out = ''
  for (let i = 0; i < bytes; i++) out += Math.floor(Math.random() * 256).toString(16).padStart(2, '0')
  return out
}
