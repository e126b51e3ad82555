import {readFileSync, readdirSync} from 'node:fs'
import path from 'node:path'
import {createRequire} from 'node:module'
import type nunjucks from 'nunjucks'
import type nodesModule from 'nunjucks/src/nodes.js'
import type parserModule from 'nunjucks/src/parser.js'

import {ConfigError} from '../errors.js'
import {pyDottedName, pyIdentifier, pyLiteral} from './python-literal.js'

/** The templates shipped with dagctl (package root /templates, beside dist/ and src/). */
// nunjucks (CommonJS) is loaded on first use, not when a command module is imported: a command
// that renders nothing never pays for it.
const load = createRequire(import.meta.url)
let lib: {nunjucks: typeof nunjucks; nodes: typeof nodesModule; parser: typeof parserModule} | undefined
const nj = () => (lib ??= {nunjucks: load('nunjucks'), nodes: load('nunjucks/src/nodes.js'), parser: load('nunjucks/src/parser.js')})

export const BUILTIN_TEMPLATES_DIR = path.resolve(import.meta.dirname, '..', '..', 'templates')

/** Filters a template may end an output with: they alone write values into Python. */
export const SAFE_OUTPUT_FILTERS = new Set(['py', 'ident', 'dotted'])

const ENV_OPTIONS = {autoescape: false, trimBlocks: true, lstripBlocks: true, throwOnUndefined: true}

export interface TemplateLintProblem {
  template: string
  /** 1-based */
  line: number
  column: number
  message: string
}

/**
 * Every `{{ ... }}` in a template must end in `| py` (a Python literal), `| ident` (a checked
 * identifier) or `| dotted` (a checked dotted name, for imports). Anything else (`{{ x }}`, `{{ "a" ~ x | py }}`, `{{ x | py | upper }}`) could paste
 * text into code, so it is refused: in the test of templates/ and when a platform template loads.
 */
export function lintTemplate(name: string, source: string): TemplateLintProblem[] {
  const root = nj().parser.parse(source, [], ENV_OPTIONS)
  const problems: TemplateLintProblem[] = []
  for (const output of outputNodes(root)) {
    for (const child of output.children ?? []) {
      if (child.typename === 'TemplateData') continue
      if (child.typename === 'Filter' && SAFE_OUTPUT_FILTERS.has(String(child.name?.value))) continue
      problems.push({
        template: name,
        line: child.lineno + 1,
        column: child.colno + 1,
        message: `output must end with | py, | ident or | dotted (found ${child.typename === 'Filter' ? `| ${String(child.name?.value)}` : child.typename})`,
      })
    }
  }
  return problems
}

/**
 * Every Output node, found by walking all properties: nunjucks' own findAll follows each node
 * type's declared fields, and `{% set x %}...{% endset %}` keeps its body outside them.
 */
function outputNodes(node: unknown, found: NunjucksNode[] = []): NunjucksNode[] {
  const {nodes} = nj()
  if (Array.isArray(node)) {
    for (const child of node) outputNodes(child, found)
  } else if (node instanceof nodes.Node) {
    if (node instanceof nodes.Output) found.push(node as NunjucksNode)
    for (const value of Object.values(node as object)) outputNodes(value, found)
  }
  return found
}

/** Template name → source, read once; the loader serves them from memory. */
export type TemplateSources = Map<string, {src: string; path: string}>

/** Every *.njk under `dir`, named by its path relative to `dir` (forward slashes). */
export function readTemplateDir(dir: string, prefix = ''): TemplateSources {
  const out: TemplateSources = new Map()
  for (const entry of readdirSync(dir, {recursive: true, withFileTypes: true})) {
    if (!entry.isFile() || !entry.name.endsWith('.njk')) continue
    const file = path.join(entry.parentPath, entry.name)
    const name = prefix + path.relative(dir, file).split(path.sep).join('/')
    out.set(name, {src: readFileSync(file, 'utf8'), path: file})
  }
  return out
}

class MemoryLoader implements nunjucks.ILoader {
  constructor(private readonly sources: TemplateSources) {}

  getSource(name: string): nunjucks.LoaderSource {
    const found = this.sources.get(name)
    if (!found) throw new Error(`template not found: ${name}`)
    return {src: found.src, path: found.path, noCache: false}
  }
}

/**
 * The one nunjucks environment: built-in templates plus a platform's, each linted, compiled once
 * and cached. Spec values only ever enter as data (the render context), never as template source.
 */
export function createRenderEnvironment(extra: TemplateSources = new Map()): nunjucks.Environment {
  const sources: TemplateSources = new Map([...readTemplateDir(BUILTIN_TEMPLATES_DIR), ...extra])
  lintSources(sources)
  return environmentOver(sources)
}

function lintSources(sources: TemplateSources): void {
  for (const [name, {src, path: file}] of sources) {
    const problems = lintTemplate(name, src)
    if (problems.length > 0) {
      const p = problems[0]
      throw new ConfigError(`template ${name} writes a value without the py filter: ${p.message}`, {
        file,
        line: p.line,
        column: p.column,
        code: 'TEMPLATE_UNSAFE',
        hint: 'Write every value as {{ value | py }} (a Python literal), or {{ name | ident }} for an identifier.',
      })
    }
  }
}

function environmentOver(sources: TemplateSources): nunjucks.Environment {
  const env = new (nj().nunjucks.Environment)(new MemoryLoader(sources), ENV_OPTIONS)
  env.addFilter('py', (value: unknown) => pyLiteral(value))
  env.addFilter('ident', (value: unknown) => pyIdentifier(value))
  env.addFilter('dotted', (value: unknown) => pyDottedName(value))
  return env
}

// An include alone on its line (indent allowed: lstripBlocks drops it) and without whitespace
// control; any other include is left to nunjucks, which renders it the same, only slower.
const INCLUDE = /^[ \t]*\{%\s*include\s+(?:"([^"]+)"|'([^']+)'|(task\.template))\s*%\}\n?/gm

/**
 * The DAG template with every include written inline (`{% include task.template %}` becomes an
 * if/elif over the task types): nunjucks resolves an include per task at render time, and inlining
 * halves the time of a 1,000-spec run. Same output as the includes (a test compares both).
 */
export function inlineIncludes(name: string, sources: TemplateSources, taskTemplates: string[], depth = 0): string {
  if (depth > 10) throw new Error(`templates include each other too deeply at ${name}`)
  const body = (n: string): string => {
    const found = sources.get(n)
    if (!found) throw new Error(`template not found: ${n} (included from ${name})`)
    // A leading {#- would eat the newline before the include point; at a file's start it eats nothing.
    return inlineIncludes(n, new Map([...sources, [n, {...found, src: found.src.replace(/^\{#-/, '{#')}]]), taskTemplates, depth + 1)
  }
  return sources.get(name)!.src.replace(INCLUDE, (_m, dq?: string, sq?: string) => {
    if (dq ?? sq) return body((dq ?? sq)!)
    const branches = taskTemplates.map((t, i) => `{% ${i === 0 ? 'if' : 'elif'} task.template == ${JSON.stringify(t)} %}\n${body(t)}`)
    return `${branches.join('')}{% endif %}\n`
  })
}

/** Renders DAG files: the inlined template for speed; on an error, the include-based one names the template at fault. */
export interface DagRenderer {
  render(context: object): string
}

export function createDagRenderer(extra: TemplateSources, taskTemplates: string[]): DagRenderer {
  const sources: TemplateSources = new Map([...readTemplateDir(BUILTIN_TEMPLATES_DIR), ...extra])
  lintSources(sources)
  const env = environmentOver(sources)
  const flat = new (nj().nunjucks.Template)(inlineIncludes('dag.py.njk', sources, taskTemplates), env, sources.get('dag.py.njk')!.path, true)
  return {
    render(context: object): string {
      try {
        return flat.render(context)
      } catch {
        // Render again through the includes so the error names the template and line at fault.
        return env.render('dag.py.njk', context)
      }
    },
  }
}
