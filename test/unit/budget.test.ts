import {describe, expect, it} from 'vitest'

import {MAX_LOAD_SCALE, timeScale, waitFor} from '../helpers/budget.js'

describe('test time budgets', () => {
  it('scale by DAGCTL_TEST_TIME_SCALE, else by the load per core, never below 1', () => {
    expect(timeScale({DAGCTL_TEST_TIME_SCALE: '3'}, 0.1, 2)).toBe(3)
    expect(timeScale({}, 0.5, 2)).toBe(1)
    expect(timeScale({}, 6, 2)).toBe(3)
    expect(timeScale({}, 40, 2)).toBe(MAX_LOAD_SCALE)
    expect(() => timeScale({DAGCTL_TEST_TIME_SCALE: '0.5'}, 1, 2)).toThrow(/≥ 1/)
    expect(() => timeScale({DAGCTL_TEST_TIME_SCALE: 'fast'}, 1, 2)).toThrow(/DAGCTL_TEST_TIME_SCALE/)
  })

  it('waitFor returns once the condition holds, false when told to stop, and names what it waited for when the budget runs out', async () => {
    let n = 0
    expect(await waitFor(() => ++n >= 3, {what: 'three checks', intervalMs: 1})).toBe(true)
    expect(await waitFor(() => false, {what: 'nothing', stop: () => true})).toBe(false)
    await expect(waitFor(() => false, {what: 'a thing that never happens', timeoutMs: 20, intervalMs: 1})).rejects.toThrow(/a thing that never happens/)
  })
})
