/** A JSON object (not null, not an array): what JSON.parse or YAML gives for `{...}`. */
export type Plain = Record<string, unknown>

export function isPlainObject(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
