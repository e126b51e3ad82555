/**
 * The one glob dialect of trigger allowlists and event mappings: `*` is any run of characters
 * (`/` and `:` included, since URNs and DAG ids are not paths), `?` one character, all else literal.
 */
export function globToRegExp(pattern: string): RegExp {
  let re = ''
  for (const ch of pattern) {
    if (ch === '*') re += '.*'
    else if (ch === '?') re += '.'
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${re}$`, 's')
}

export function globMatch(pattern: string, value: string): boolean {
  return globToRegExp(pattern).test(value)
}
