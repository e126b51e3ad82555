/** A key path into a parsed file: `['tasks', 'extract', 'depends_on', 0]`. */
export type KeyPath = ReadonlyArray<PropertyKey>

/** `['tasks', 'extract', 'depends_on', 0]` → `tasks.extract.depends_on[0]` */
export function formatKeyPath(path: KeyPath): string {
  let out = ''
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`
    else out += out === '' ? String(seg) : `.${String(seg)}`
  }
  return out
}
