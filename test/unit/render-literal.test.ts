import {describe, expect, it} from 'vitest'

import {pyDottedName, pyIdentifier, pyLiteral, pyString} from '../../src/render/python-literal.js'
import {TRICKY_STRINGS, TRICKY_VALUES, pythonRoundTrip} from '../fixtures/specs/tricky-values.js'

describe('pyLiteral', () => {
  it('writes every tricky value so that real python3 reads back exactly the same value', () => {
    const pairs = TRICKY_VALUES.map((value) => ({literal: pyLiteral(value), expected: value}))
    const results = pythonRoundTrip(pairs)
    const failed = results.filter((r) => !r.ok).map((r) => ({literal: pairs[r.index].literal, got: r.got}))
    expect(failed).toEqual([])
    expect(results).toHaveLength(TRICKY_VALUES.length)
  })

  it('keeps each literal on one line, with no raw control, separator or bidi character', () => {
    for (const s of TRICKY_STRINGS) {
      const literal = pyString(s)
      expect(literal).not.toMatch(/[\p{C}\u2028\u2029\u00a0]/u)
      expect(literal.split('\n')).toHaveLength(1)
    }
  })

  it('writes Python spellings for the non-string scalars', () => {
    expect(pyLiteral(null)).toBe('None')
    expect(pyLiteral(true)).toBe('True')
    expect(pyLiteral(1e21)).toBe('1000000000000000000000')
    expect(pyLiteral(-0)).toBe('0')
    expect(pyLiteral(Number.NaN)).toBe('float("nan")')
    expect(pyLiteral({a: [1, 'x']})).toBe('{"a": [1, "x"]}')
  })

  it('refuses what is not a plain value', () => {
    expect(() => pyLiteral(undefined)).toThrow(/undefined/)
    expect(() => pyLiteral(() => 1)).toThrow(/function/)
    expect(() => pyLiteral(new Date(0))).toThrow(/Date/)
    expect(() => pyLiteral(new Map())).toThrow(/Map/)
    expect(() => pyLiteral([1, Symbol('s')])).toThrow(/symbol/)
  })
})

describe('pyIdentifier and pyDottedName', () => {
  it('pass identifiers and dotted names, refuse anything else', () => {
    expect(pyIdentifier('SFTPOperator')).toBe('SFTPOperator')
    expect(pyDottedName('airflow.providers.standard.operators.bash')).toBe('airflow.providers.standard.operators.bash')
    for (const bad of ['', '1x', 'a-b', 'import', 'None', 'a b', 'x;y', 'x\n', 'é', 42]) expect(() => pyIdentifier(bad)).toThrow()
    for (const bad of ['a..b', '.a', 'a.', 'a.class', 'os; x']) expect(() => pyDottedName(bad)).toThrow()
  })
})
