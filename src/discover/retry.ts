import {z} from 'zod'

import {Duration, durationSeconds} from '../config/schema.js'

/**
 * A retry policy as runner configs write it (docs/schedules.md). Mapped onto Airflow's own
 * retries, retry_delay, retry_exponential_backoff and max_retry_delay; exit codes outside
 * `retryable_exit_codes` fail at once through AirflowFailException (docs/schedules.md).
 */
export const RetryPolicy = z.strictObject({
  max_retries: z.number().int().min(0).max(100).describe('Retries after the first try (Airflow `retries`).'),
  initial_delay: Duration.optional().describe('Delay before the first retry (Airflow `retry_delay`): seconds or 30s, 5m, 1h.'),
  backoff_multiplier: z.number().min(1).max(100).optional().describe('Each delay is the previous one times this (Airflow `retry_exponential_backoff`); 1 or absent: a fixed delay.'),
  max_delay: Duration.optional().describe('Longest delay between tries (Airflow `max_retry_delay`).'),
  retryable_exit_codes: z
    .array(z.number().int().min(1).max(255))
    .optional()
    .describe('Exit codes that may be retried; any other non-zero code fails at once. Absent: every failure may be retried.'),
})

export type RetryPolicyInput = z.infer<typeof RetryPolicy>

/** What the templates write: Airflow's task arguments, durations in seconds. */
export interface AirflowRetry {
  retries: number
  retry_delay?: number
  /** Airflow 3: the multiplier; Airflow 2: true (its multiplier is fixed at 2) */
  retry_exponential_backoff?: number | boolean
  max_retry_delay?: number
  retryable_exit_codes?: number[]
}

/** A retry policy (or a bare number of retries) as Airflow task arguments for one Airflow major. */
export function airflowRetry(policy: RetryPolicyInput | number, airflowVersion: 2 | 3): AirflowRetry {
  if (typeof policy === 'number') return {retries: policy}
  const multiplier = policy.backoff_multiplier
  const out: AirflowRetry = {retries: policy.max_retries}
  if (policy.initial_delay !== undefined) out.retry_delay = durationSeconds(policy.initial_delay)
  if (multiplier !== undefined && multiplier > 1) out.retry_exponential_backoff = airflowVersion === 3 ? multiplier : true
  if (policy.max_delay !== undefined) out.max_retry_delay = durationSeconds(policy.max_delay)
  if (policy.retryable_exit_codes !== undefined) out.retryable_exit_codes = [...new Set(policy.retryable_exit_codes)].sort((a, b) => a - b)
  return out
}
