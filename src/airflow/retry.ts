/**
 * When to try a request again, and how long to wait. Pure functions so the schedule is unit-tested
 * without a network (test/unit/airflow-retry.test.ts).
 */

export interface BackoffOptions {
  /** first delay before jitter, ms */
  baseMs?: number
  /** no single wait longer than this, ms (Retry-After included) */
  capMs?: number
  /** 0 ≤ random() < 1; injectable for tests */
  random?: () => number
}

export const DEFAULT_RETRIES = 3
const DEFAULT_BASE_MS = 250
const DEFAULT_CAP_MS = 30_000

/** Worth another try: the network failed, the server is overloaded (429) or broken (5xx). Never another 4xx. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500
}

/**
 * Exponential backoff with "equal jitter": attempt 0 waits base·[0.5, 1), attempt 1 base·2·[0.5, 1), ...
 * Half the delay is fixed (so retries really back off) and half random (so many clients retrying
 * together spread out).
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? DEFAULT_BASE_MS
  const cap = options.capMs ?? DEFAULT_CAP_MS
  const random = options.random ?? Math.random
  const exp = Math.min(cap, base * 2 ** attempt)
  return Math.round(exp / 2 + (exp / 2) * random())
}

/**
 * Retry-After as milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3). Undefined when
 * absent or unreadable, so the caller falls back to its own backoff.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value
  if (raw === undefined) return undefined
  const text = raw.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  const at = Date.parse(text)
  if (Number.isNaN(at)) return undefined
  return Math.max(0, at - now)
}

/** The wait before retry number `attempt` (0-based): the server's Retry-After when it gave one, else backoff. Both capped. */
export function retryDelay(attempt: number, retryAfterMs: number | undefined, options: BackoffOptions = {}): number {
  const cap = options.capMs ?? DEFAULT_CAP_MS
  if (retryAfterMs !== undefined) return Math.min(cap, retryAfterMs)
  return backoffDelay(attempt, options)
}
