/** One format for every timestamp dagctl shows people: ISO 8601 in UTC, to the second (`2026-12-01T08:09:22Z`). */
export function formatTimestamp(value: Date | string): string {
  const date = typeof value === 'string' ? new Date(value) : value
  if (Number.isNaN(date.getTime())) return String(value)
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}
