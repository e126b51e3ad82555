import {Document, LineCounter, isMap, isPair, isScalar, isSeq, parseDocument, visit, type Node} from 'yaml'
import type {z} from 'zod'

import {ConfigError} from '../errors.js'
import {formatKeyPath, type KeyPath} from './key-path.js'

export {formatKeyPath, type KeyPath} from './key-path.js'

/**
 * A parsed YAML file that remembers where every value came from, so that an error about
 * `tasks.extract.depends_on[1]` can name the line and column in the user's file.
 * Used for dagctl.yaml, DAG specs and mapping files alike.
 */
export interface YamlSource {
  file: string
  doc: Document.Parsed
  lineCounter: LineCounter
  data: unknown
}

/**
 * Parses YAML text. Syntax errors become a ConfigError (exit 2) naming the file, line and column.
 * `{{` and `%` mean nothing here: values stay plain strings.
 */
export function parseYamlSource(file: string, text: string, what = 'file'): YamlSource {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, {lineCounter, prettyErrors: false, uniqueKeys: true, strict: true})
  const first = doc.errors[0]
  if (first) {
    // The parser notices an unclosed quote where the text ends; the mistake is the opening quote.
    const quote = first.code === 'MISSING_CHAR' && /quote/.test(first.message) ? openingQuote(doc, first.pos[0]) : undefined
    const pos = linePosOf(lineCounter, quote ?? first.pos[0])
    throw new ConfigError(quote === undefined ? `${what} is not valid YAML: ${first.message.split('\n')[0]}` : `${what} is not valid YAML: this quoted string is never closed`, {
      file,
      line: pos?.line,
      column: pos?.col,
      code: 'YAML_SYNTAX',
      hint: quote === undefined ? 'Fix the YAML syntax at the line shown (indentation, a missing colon, an unclosed quote).' : 'Close the quote at the end of the value, or remove it.',
    })
  }
  const data = doc.toJS({maxAliasCount: 100})
  return {file, doc, lineCounter, data}
}

/**
 * Line and column (1-based) of the value at `path`, or of its key when `atKey` is set; falls back
 * to the deepest ancestor that exists (an unknown or missing key is reported at its parent).
 */
export function locate(src: YamlSource, path: KeyPath, atKey = false): {line?: number; column?: number} {
  let node: unknown = src.doc.contents
  let best: Node | undefined = isNodeWithRange(node) ? node : undefined
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]
    const last = i === path.length - 1
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg))
      if (!pair) break
      if (last && atKey && isNodeWithRange(pair.key)) {
        best = pair.key
        break
      }
      node = pair.value
      if (isNodeWithRange(node)) best = node
      else if (isNodeWithRange(pair.key)) best = pair.key
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg]
      if (isNodeWithRange(node)) best = node
      else break
    } else {
      break
    }
  }
  if (!best?.range) return {}
  const pos = src.lineCounter.linePos(best.range[0])
  return {line: pos.line, column: pos.col}
}

/** Offset of the opening quote of the quoted scalar still open at `errorOffset`, if there is one. */
function openingQuote(doc: Document, errorOffset: number): number | undefined {
  let start: number | undefined
  visit(doc, {
    Scalar(_key, node) {
      if ((node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') && node.range && node.range[0] <= errorOffset && node.range[1] >= errorOffset) {
        if (start === undefined || node.range[0] > start) start = node.range[0]
      }
    },
  })
  return start
}

function linePosOf(lc: LineCounter, offset: number): {line: number; col: number} {
  return lc.linePos(offset)
}

function isNodeWithRange(n: unknown): n is Node {
  return typeof n === 'object' && n !== null && 'range' in n && Array.isArray((n as Node).range)
}

/**
 * Turns a zod failure into a ConfigError at the first issue's line and key; the rest of the
 * issues ride along in `details.issues` so --json shows them all.
 */
export function zodIssueToConfigError(src: YamlSource, error: z.ZodError, what: string, hint: string): ConfigError {
  const issues = error.issues.map((issue) => describeIssue(src, issue))
  const first = issues[0]
  return new ConfigError(`${what}: ${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : ''}`, {
    file: src.file,
    line: first.line,
    column: first.column,
    key: first.key || undefined,
    hint,
    details: issues.length > 1 ? {issues} : undefined,
  })
}

export interface DescribedIssue {
  key: string
  message: string
  line?: number
  column?: number
}

export function describeIssue(src: YamlSource, issue: z.core.$ZodIssue): DescribedIssue {
  if (issue.code === 'unrecognized_keys') {
    const keyPath = [...issue.path, issue.keys[0]]
    const pos = locate(src, keyPath, true)
    const names = issue.keys.map((k) => `'${k}'`).join(', ')
    return {key: formatKeyPath(keyPath), message: `unknown key ${names}`, ...pos}
  }
  const pos = locate(src, issue.path)
  const key = formatKeyPath(issue.path)
  let message = issue.message
  if (issue.code === 'invalid_type' && issue.input === undefined) message = `'${key}' is required`
  else if (key) message = `${key}: ${issue.message}`
  return {key, message, ...pos}
}
