/** One Python import statement, in parts the template writes through `| dotted` and `| ident`. */
export interface ImportModel {
  from?: string
  names: Array<{name: string; as?: string}>
}

const FROM = /^from ([A-Za-z_][\w.]*) import (.+)$/
const PLAIN = /^import ([A-Za-z_][\w.]*)(?: as ([A-Za-z_]\w*))?$/

/** `from a.b import C as D, E` → parts. The filters check every part again when it is written. */
export function parseImport(line: string): ImportModel {
  const plain = PLAIN.exec(line)
  if (plain) return {names: [{name: plain[1], as: plain[2]}]}
  const from = FROM.exec(line)
  if (!from) throw new Error(`not an import statement: ${line}`)
  return {
    from: from[1],
    names: from[2].split(',').map((part) => {
      const [name, alias] = part.trim().split(/\s+as\s+/)
      return {name, as: alias}
    }),
  }
}
