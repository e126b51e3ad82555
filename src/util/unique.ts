// Ids and keys on the start-up path of the incident commands, without node:crypto: loading it costs
// 6-8 ms of CPU at every start (measured on Node 20 and 24), more than the rest of a refused
// trigger's own work. Nothing here is a secret or a check of content, only a name that must not
// repeat, or a file name whose entry is checked against the full key it was written for.

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

/**
 * A 64-bit FNV-1a hash of the text's UTF-16 code units, as 16 hex digits: a short file name for a
 * long key. Not collision-proof by design: whoever reads the file compares the key stored in it.
 */
export function shortHash(text: string): string {
  let h = 0xcbf29ce484222325n
  const mask = 0xffffffffffffffffn
  for (let i = 0; i < text.length; i++) h = ((h ^ BigInt(text.charCodeAt(i))) * 0x100000001b3n) & mask
  return h.toString(16).padStart(16, '0')
}
