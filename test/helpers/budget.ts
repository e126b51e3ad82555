import os from 'node:os'

/**
 * Tests must hold on a busy machine (a second suite or a build on the same two cores). A test's time
 * budget is what its work needs on a quiet 2-core machine, with margin, times TIME_SCALE:
 *  - DAGCTL_TEST_TIME_SCALE=N sets it (a number ≥ 1), for a CI runner known to be shared;
 *  - otherwise it follows the machine's load when the test file loads: the 1-minute load average per
 *    core, at least 1 and at most MAX_LOAD_SCALE.
 * Budgets only stop a test that hangs: no test asserts on how long anything took.
 */
export const MAX_LOAD_SCALE = 5

export function timeScale(env: NodeJS.ProcessEnv = process.env, load = os.loadavg()[0], cores = os.availableParallelism()): number {
  const set = env.DAGCTL_TEST_TIME_SCALE
  if (set !== undefined && set !== '') {
    const n = Number(set)
    if (!Number.isFinite(n) || n < 1) throw new Error(`DAGCTL_TEST_TIME_SCALE must be a number ≥ 1, not ${JSON.stringify(set)}`)
    return n
  }
  return Math.min(MAX_LOAD_SCALE, Math.max(1, load / Math.max(1, cores)))
}

export const TIME_SCALE = timeScale()

/** `ms` of a quiet machine, scaled to this one now. */
export function budget(ms: number): number {
  return Math.ceil(ms * TIME_SCALE)
}

export interface WaitOptions {
  /** what is awaited, for the message when the budget runs out */
  what: string
  /** quiet-machine milliseconds, scaled by TIME_SCALE (default 60 s) */
  timeoutMs?: number
  /** pause between checks (default 5 ms) */
  intervalMs?: number
  /** stop waiting (without error) once this is true, e.g. the process being watched exited */
  stop?: () => boolean
}

/**
 * Waits for a condition, checking it every `intervalMs`: true once it holds, false when `stop`
 * came first; an error naming `what` when the scaled budget runs out.
 */
export async function waitFor(check: () => boolean | Promise<boolean>, options: WaitOptions): Promise<boolean> {
  const deadline = Date.now() + budget(options.timeoutMs ?? 60_000)
  for (;;) {
    if (await check()) return true
    if (options.stop?.()) return false
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${options.what} after ${budget(options.timeoutMs ?? 60_000)} ms (time scale ${TIME_SCALE.toFixed(2)})`)
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 5))
  }
}
