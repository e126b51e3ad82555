/**
 * The one format of a point in time in dagctl's output, for people and under --json alike:
 * ISO 8601 in UTC to the second, `2026-12-01T08:09:22Z`. Airflow's `2026-12-01T08:09:22.123456+00:00`
 * and a release's `2026-12-01T08:09:22.123Z` both become that. Text that is not a time is returned as
 * it is (never a made-up date).
 */
export function formatTimestamp(value: Date | string): string {
  const date = typeof value === 'string' ? new Date(value) : value
  if (Number.isNaN(date.getTime())) return String(value)
  return date.toISOString().replace(/\.\d+Z$/, 'Z')
}

/** formatTimestamp for the optional times of a record (a run not yet started has no start_date). */
export function formatOptionalTimestamp(value: Date | string | null | undefined): string | null {
  return value === null || value === undefined || value === '' ? null : formatTimestamp(value)
}
