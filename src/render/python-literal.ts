/**
 * The only way a value reaches generated Python: as a literal written here, never as pasted text.
 * Whatever a spec says, the result is one Python expression of the same value (str, int, float,
 * bool, None, list, dict), so no spec value can become code.
 */

export class PythonLiteralError extends Error {}

/**
 * Characters written as escapes instead of themselves: every control, format, surrogate,
 * private-use and unassigned code point (\p{C}: NUL, ESC, bidi overrides that can hide code in a
 * review, zero-width characters, BOM, lone surrogates), every separator but the plain space
 * (\p{Z}: NBSP, U+2028/U+2029 that some tools treat as line ends), plus the quote and backslash.
 * Printable unicode (letters, emoji, astral characters) stays readable as UTF-8.
 */
const NEEDS_ESCAPE = /[\p{C}\p{Z}"\\]/u

const SHORT_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '"': '\\"',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
}

function escapeCodePoint(ch: string): string {
  if (ch === ' ') return ' '
  const short = SHORT_ESCAPES[ch]
  if (short) return short
  const cp = ch.codePointAt(0)!
  if (cp <= 0xff) return `\\x${cp.toString(16).padStart(2, '0')}`
  if (cp <= 0xffff) return `\\u${cp.toString(16).padStart(4, '0')}`
  return `\\U${cp.toString(16).padStart(8, '0')}`
}

/** A double-quoted Python str literal equal to `value`, code point for code point. */
export function pyString(value: string): string {
  let out = '"'
  // for...of walks code points; a lone surrogate comes out alone and is escaped (\p{Cs}).
  for (const ch of value) out += NEEDS_ESCAPE.test(ch) ? escapeCodePoint(ch) : ch
  return `${out}"`
}

function pyNumber(value: number): string {
  if (Number.isNaN(value)) return 'float("nan")'
  if (value === Number.POSITIVE_INFINITY) return 'float("inf")'
  if (value === Number.NEGATIVE_INFINITY) return 'float("-inf")'
  // Integers stay ints in Python, also beyond 1e21 where String() would switch to an exponent.
  // (-0 too: YAML's `-0` is the integer 0, and JavaScript cannot tell it from -0.0.)
  if (Number.isInteger(value)) return BigInt(value).toString()
  // Shortest round-trip decimal; Python reads `1e-7` and `1.5e+300` as the same float.
  return String(value)
}

/** The Python literal of a JSON-like value. Throws on anything else (undefined, functions, dates). */
export function pyLiteral(value: unknown): string {
  if (value === null) return 'None'
  switch (typeof value) {
    case 'string':
      return pyString(value)
    case 'boolean':
      return value ? 'True' : 'False'
    case 'number':
      return pyNumber(value)
    case 'bigint':
      return value.toString()
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => pyLiteral(v)).join(', ')}]`
      const proto = Object.getPrototypeOf(value)
      if (proto !== Object.prototype && proto !== null) {
        throw new PythonLiteralError(`cannot write a ${(value as object).constructor?.name ?? 'non-plain object'} as a Python literal`)
      }
      const entries = Object.entries(value as Record<string, unknown>)
      return `{${entries.map(([k, v]) => `${pyString(k)}: ${pyLiteral(v)}`).join(', ')}}`
    }
    default:
      throw new PythonLiteralError(`cannot write ${value === undefined ? 'an undefined value' : `a ${typeof value}`} as a Python literal`)
  }
}

const PYTHON_KEYWORDS = new Set(
  'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield'.split(' '),
)

/** A Python identifier, passed through only when it is one (ASCII, not a keyword). */
export function pyIdentifier(value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(value) || PYTHON_KEYWORDS.has(value)) {
    throw new PythonLiteralError(`not a Python identifier: ${JSON.stringify(value)}`)
  }
  return value
}

/** A dotted Python name (`airflow.providers.standard.operators.bash`), each part an identifier. */
export function pyDottedName(value: unknown): string {
  if (typeof value !== 'string') throw new PythonLiteralError(`not a dotted Python name: ${JSON.stringify(value)}`)
  for (const part of value.split('.')) pyIdentifier(part)
  return value
}
