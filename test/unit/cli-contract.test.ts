import {describe, expect, it} from 'vitest'

import {throttleStatus} from '../../src/ui/progress.js'
import {suggestCommand} from '../../src/ui/suggest.js'
import {formatOptionalTimestamp, formatTimestamp} from '../../src/ui/time.js'

describe('formatTimestamp: one format for every time dagctl prints', () => {
  it('ISO 8601 UTC to the second, from a Date, a release time or an Airflow time', () => {
    expect(formatTimestamp(new Date(Date.UTC(2026, 11, 1, 8, 9, 22, 123)))).toBe('2026-12-01T08:09:22Z')
    expect(formatTimestamp('2026-12-01T08:09:22.123Z')).toBe('2026-12-01T08:09:22Z')
    expect(formatTimestamp('2026-12-01T08:09:22.123456+00:00')).toBe('2026-12-01T08:09:22Z')
    expect(formatTimestamp('2026-12-01T10:09:22+02:00')).toBe('2026-12-01T08:09:22Z')
  })

  it('keeps text that is not a time, and absent times absent', () => {
    expect(formatTimestamp('yesterday-ish')).toBe('yesterday-ish')
    expect(formatOptionalTimestamp(null)).toBeNull()
    expect(formatOptionalTimestamp(undefined)).toBeNull()
  })
})

describe('suggestCommand', () => {
  const commands = ['config', 'diff', 'doctor', 'errors', 'fsck', 'generate', 'init', 'list', 'publish', 'python setup', 'releases', 'rollback', 'runs', 'schema', 'trigger', 'validate']
  it('finds the command meant, words swapped included; nothing when nothing is close', () => {
    expect(suggestCommand('publsh', commands)).toBe('publish')
    expect(suggestCommand('relases', commands)).toBe('releases')
    expect(suggestCommand('setup python', commands)).toBe('python setup')
    expect(suggestCommand('kubernetes', commands)).toBeUndefined()
  })
})

describe('throttleStatus: per-file statuses in a log', () => {
  it('a terminal gets every status (redrawn in place)', () => {
    const seen: string[] = []
    const set = throttleStatus((s) => seen.push(s), true)
    for (let i = 1; i <= 50; i++) set(`${i}/50`)
    expect(seen).toHaveLength(50)
  })

  it('a log gets each tenth of an N/M status, and other statuses at most every 30 s', () => {
    let now = 0
    const seen: string[] = []
    const set = throttleStatus((s) => seen.push(s), false, () => now)
    for (let i = 1; i <= 3000; i++) set(`${i}/3000`)
    expect(seen).toEqual(['1/3000', '300/3000', '600/3000', '900/3000', '1200/3000', '1500/3000', '1800/3000', '2100/3000', '2400/3000', '2700/3000', '3000/3000'])
    const other: string[] = []
    const text = throttleStatus((s) => other.push(s), false, () => now)
    text('listing')
    now += 10_000
    text('still listing')
    now += 30_000
    text('still listing')
    expect(other).toEqual(['listing', 'still listing'])
  })
})
