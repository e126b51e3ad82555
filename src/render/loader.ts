import {DAG_MAP_MARKER, GENERATED_PREFIX, withoutHeader} from './header.js'
import {parseImport} from './imports.js'
import {pyLiteral} from './python-literal.js'

/**
 * The `loader:N` layout (docs/specs.md#file-layout): per N DAGs, a small loader file that Airflow
 * parses (`<package>-loader-001.py`: the DAG -> spec map, the imports, a loop that builds the DAGs)
 * and a module with the DAGs' code, `_dagctl/<package>-loader-001.py`, that Airflow's DAG processor
 * does not parse as a DAG file.
 *
 * Why the module is skipped: Airflow's DAG discovery safe mode (on by default, `[core]
 * dag_discovery_safe_mode`) parses a `.py` file only when its text holds the word "airflow" (any
 * case). The module is written without it: the imports are hoisted into the loader, which hands
 * the imported names to the module; an imported name that holds the word is renamed; string
 * literals write its first letter as an escape (`"\x41irflow"`, the same value); comments spell it
 * `Air-flow`. The alternatives do not ship: `.airflowignore` is a hidden file, which `publish` never
 * publishes, and a file that is not `.py` is not published by default either. When a platform
 * template's own code still names the word (an attribute, a keyword argument), Airflow parses the
 * module as a DAG file too: it defines functions only, so this costs a parse and loads nothing.
 *
 * What this buys on Airflow 3: each DAG's stored code (DagCode, one copy per DAG) is the small
 * loader, not a file of N DAGs; the processor's source re-reads cover the loader only; Python caches
 * the module's bytecode. A task's worker sets `_AIRFLOW_PARSING_CONTEXT_DAG_ID` (Airflow 2.11 and 3)
 * and the loader then builds that DAG only.
 */

export const MODULE_DIR = '_dagctl'
export const MODULE_PREFIX = `${GENERATED_PREFIX}module `
export const SEGMENT_BEGIN = '# dagctl:begin '

/** The word Airflow's safe mode looks for (lower-cased). */
const WORD = /airflow/gi

export interface LoaderDag {
  dagId: string
  source: string
  line?: number
  content: string
}

export interface LoaderFiles {
  loader: string
  module: string
  /** true when the module still holds the word (a platform template's own code): Airflow parses it too */
  moduleNamesAirflow: boolean
}

/** `from a import B as C` → the names it binds, each with what it means (for clash detection). */
function bindings(line: string): Array<[string, string]> {
  const imp = parseImport(line)
  if (imp.from === undefined) {
    const [{name, as}] = imp.names
    return as === undefined ? [[name.split('.')[0], `module ${name.split('.')[0]}`]] : [[as, `module ${name}`]]
  }
  return imp.names.map((n) => [n.as ?? n.name, `${imp.from}.${n.name}`])
}

const IMPORT_LINE = /^(?:from [A-Za-z_][\w.]* import [\w, ]+|import [A-Za-z_][\w.]*(?: as [A-Za-z_]\w*)?)$/

/** A one-DAG file's template output split into its leading import lines and the rest. */
export function splitImports(content: string): {imports: string[]; body: string} {
  const lines = withoutHeader(content).split('\n')
  const imports: string[] = []
  let i = 0
  for (; i < lines.length; i++) {
    const line = lines[i]
    if (line.trim() === '') continue
    if (!IMPORT_LINE.test(line)) break
    imports.push(line)
  }
  return {imports, body: lines.slice(i).join('\n').replace(/\s+$/, '')}
}

const IDENT_START = /[A-Za-z_]/
const IDENT = /[A-Za-z0-9_]/
const STRING_PREFIX = /^(?:[rRbBuUfF]|[rR][bBfF]|[bBfF][rR])$/

/**
 * Rewrites Python source so it does not hold the word "airflow": in (non-raw) string literals its
 * first letter becomes an escape, in comments it becomes `Air-flow`, and identifiers in `rename`
 * (imported names) become their alias. Everything else is copied. A small scanner of Python's
 * lexical grammar: comments, strings (prefixes, triple quotes, escapes), identifiers.
 */
export function withoutWord(src: string, rename: Map<string, string>): string {
  let out = ''
  let i = 0
  // the last character written that is a line end or not white space (is an identifier an attribute?)
  let last = ''
  const n = src.length
  while (i < n) {
    const before = out.length
    i = step()
    for (let k = out.length - 1; k >= before; k--) {
      if (out[k] === '\n' || !/\s/.test(out[k])) {
        last = out[k]
        break
      }
    }
  }
  return out

  function step(): number {
    const c = src[i]
    if (c === '#') {
      const end = src.indexOf('\n', i)
      const stop = end === -1 ? n : end
      out += src.slice(i, stop).replace(WORD, (w) => `${w.slice(0, 3)}-${w.slice(3)}`)
      return stop
    }
    if (c === '"' || c === "'") return copyString(src, i, '', (s) => (out += s))
    if (IDENT_START.test(c)) {
      let j = i + 1
      while (j < n && IDENT.test(src[j])) j++
      const word = src.slice(i, j)
      if ((src[j] === '"' || src[j] === "'") && STRING_PREFIX.test(word)) return copyString(src, j, word, (s) => (out += s))
      // an attribute (`x.name`) is not the imported name
      out += last !== '.' && rename.has(word) ? rename.get(word)! : word
      return j
    }
    if (/[0-9]/.test(c)) {
      // a number (`1e5`, `0x1f`) is copied whole, so its letters are never read as a name
      let j = i + 1
      while (j < n && /[\w.]/.test(src[j])) j++
      out += src.slice(i, j)
      return j
    }
    out += c
    return i + 1
  }
}

/** Copies one string literal starting at its quote; returns the index after it. */
function copyString(src: string, start: number, prefix: string, emit: (s: string) => void): number {
  const q = src[start]
  const triple = src.startsWith(q.repeat(3), start)
  const close = triple ? q.repeat(3) : q
  let j = start + close.length
  while (j < src.length) {
    if (src[j] === '\\') {
      j += 2
      continue
    }
    if (src.startsWith(close, j)) break
    if (!triple && src[j] === '\n') break
    j++
  }
  const end = Math.min(src.length, j + close.length)
  const inner = src.slice(start + close.length, j)
  const raw = /[rR]/.test(prefix)
  const escaped = raw ? inner : inner.replace(WORD, (w) => `\\x${w.charCodeAt(0).toString(16)}${w.slice(1)}`)
  emit(prefix + close + escaped + src.slice(j, end))
  return end
}

const aliasOf = (name: string): string => `_dagctl_${name.replace(WORD, 'AF')}`

const where = (d: LoaderDag): string => `source=${d.source}${d.line !== undefined ? ` line ${d.line}` : ''}`

/**
 * The loader and module texts of one group of DAGs. `name` is the loader's file name (the module
 * has the same name under `_dagctl/`).
 */
export function renderLoaderFiles(layoutName: string, name: string, dags: LoaderDag[]): LoaderFiles {
  // the imports every DAG needs, once each, in first-seen order; a DAG whose import would bind a
  // name another DAG's import binds to something else keeps its imports in its own function
  const hoisted: string[] = []
  const bound = new Map<string, string>()
  const parts = dags.map((d) => {
    const {imports, body} = splitImports(d.content)
    const binds = imports.flatMap(bindings)
    const clash = binds.some(([nameBound, meaning]) => bound.has(nameBound) && bound.get(nameBound) !== meaning)
    if (clash) return {d, body: [...imports, '', body].join('\n'), needs: [] as number[]}
    for (const [nameBound, meaning] of binds) bound.set(nameBound, meaning)
    for (const line of imports) if (!hoisted.includes(line)) hoisted.push(line)
    return {d, body, needs: imports.map((line) => hoisted.indexOf(line) + 1)}
  })
  const rename = new Map<string, string>()
  for (const nameBound of bound.keys()) if (/airflow/i.test(nameBound) && !nameBound.includes('.')) rename.set(nameBound, aliasOf(nameBound))

  const module: string[] = [
    `${MODULE_PREFIX}dags=${dags.length}`,
    "# The code of the DAGs of the loader file of the same name one folder up, generated by dagctl: one function per DAG, in the order of that file's map. Do not edit: change the spec and run `dagctl generate`.",
    '# The loader imports what these functions use and hands it over. This file never names the scheduler, so its DAG processor does not parse it as a DAG file (safe mode).',
  ]
  parts.forEach(({body}, i) => {
    const indented = body
      .split('\n')
      .map((line) => (line.length > 0 ? `    ${line}` : line))
      .join('\n')
    module.push('', '', `${SEGMENT_BEGIN}${i + 1}`, `def _dagctl_dag_${i + 1}():`, withoutWord(indented, rename), '    return dag')
  })
  module.push('')
  const moduleText = module.join('\n')

  const head: string[] = [
    `${GENERATED_PREFIX}layout=${layoutName} dags=${dags.length}`,
    `# Airflow DAG loader generated by dagctl: the DAGs named below are built by ${MODULE_DIR}/${name}, which Airflow does not parse as a DAG file. Do not edit: change the spec and run \`dagctl generate\`.`,
    "# A task's worker builds only its own DAG. If a DAG fails to build, this file fails to import (Airflow then loads none of its DAGs) and the import error names the spec of every DAG that failed.",
    ...dags.map((d) => `${DAG_MAP_MARKER}${d.dagId} ${where(d)}`),
    '',
    'import hashlib as _dagctl_hashlib',
    'import os as _dagctl_os',
    'import sys as _dagctl_sys',
    'import traceback as _dagctl_traceback',
    'from importlib import util as _dagctl_util',
    '',
    '',
    'class DagctlSpecError(ImportError):',
    '    """DAGs of this generated file failed to build; the message names the spec of each."""',
    '',
    '',
    'def _dagctl_load(module_file, imports, renames, dags):',
    '    """Runs each import on its own (one that fails, such as a provider missing from the image, fails only the DAGs that need it),',
    '    then builds the DAGs: all, or only the one a task\'s worker asks for. If any fails, raises one import error naming each failed spec."""',
    '    import_errors = {}',
    '    for n, (statement, line) in enumerate(imports, 1):',
    '        try:',
    '            exec(statement, globals())',
    '        except ImportError as error:',
    '            import_errors[n] = (error, line)',
    '    for alias, imported in renames:',
    '        globals()[alias] = globals().get(imported)',
    '    path = _dagctl_os.path.join(_dagctl_os.path.dirname(_dagctl_os.path.abspath(__file__)), module_file)',
    '    name = "_dagctl_" + _dagctl_hashlib.sha1(path.encode()).hexdigest()',
    '    spec = _dagctl_util.spec_from_file_location(name, path)',
    '    module = _dagctl_util.module_from_spec(spec)',
    '    _dagctl_sys.modules[name] = module',
    '    spec.loader.exec_module(module)',
    '    module.__dict__.update((k, v) for k, v in globals().items() if not k.startswith("__"))',
    '    wanted = _dagctl_os.environ.get("_AIRFLOW_PARSING_CONTEXT_DAG_ID")',
    '    if wanted is not None and all(dag_id != wanted for dag_id, _, _ in dags):',
    '        wanted = None',
    '    failed = []',
    '    for i, (dag_id, source, needs) in enumerate(dags, 1):',
    '        missing = [import_errors[n] for n in needs if n in import_errors]',
    '        # a failed import always fails this file (the imports at its end would fail too)',
    '        if wanted is not None and dag_id != wanted and not missing:',
    '            continue',
    '        try:',
    '            if missing:',
    '                error, line = missing[0]',
    '                at = " (line %d of this file)" % line',
    '                raise error',
    '            globals()[dag_id] = getattr(module, "_dagctl_dag_%d" % i)()',
    '        except Exception as error:',
    '            if not missing:',
    '                frames = [f for f in _dagctl_traceback.extract_tb(error.__traceback__) if f.filename in (path, __file__)]',
    '                at = " (line %d of %s)" % (frames[-1].lineno, module_file if frames[-1].filename == path else "this file") if frames else ""',
    '            if not failed:',
    '                first = error',
    '            failed.append("  %s (DAG %s): %s: %s%s" % (source, dag_id, type(error).__name__, error, at))',
    '    if failed:',
    '        head = "%d of %d DAGs of this file failed to build, so Airflow loads none of its DAGs:" % (len(failed), len(dags))',
    '        raise DagctlSpecError("\\n".join([head] + failed)) from first',
    '',
    '',
  ]
  // the imports again as plain statements at the end: Airflow's DAG processor imports a file's
  // top-level airflow imports once, before it starts the processes that parse files (shared by
  // them all); they run only when every import inside _dagctl_load did, so they never fail
  const tail: string[] = [
    '',
    "# The same imports, for Airflow's DAG processor (it imports a file's top-level imports once for all its parsing processes) and for people.",
    '# They run only once every import above succeeded.',
    ...hoisted,
    ...[...rename].map(([from, to]) => `${to} = ${from}`),
    '',
  ]
  const call: string[] = [
    `_dagctl_load(`,
    `    ${pyLiteral(`${MODULE_DIR}/${name}`)},`,
    '    [',
    // each import with the line of its statement at the end of this file (where the error points)
    ...hoisted.map((line, i) => `        (${pyLiteral(line)}, ${'%LINE' + i + '%'}),`),
    '    ],',
    `    [${[...rename].map(([from, to]) => `(${pyLiteral(to)}, ${pyLiteral(from)})`).join(', ')}],`,
    '    [',
    ...parts.map(({d, needs}) => `        (${pyLiteral(d.dagId)}, ${pyLiteral(d.source)}, (${needs.join(', ')}${needs.length === 1 ? ',' : ''})),`),
    '    ],',
    ')',
  ]
  const firstTailLine = head.length + call.length + 3 + 1
  const loader = [...head, ...call.map((l) => l.replace(/%LINE(\d+)%/, (_, i: string) => String(firstTailLine + Number(i)))), ...tail]
  return {loader: loader.join('\n'), module: moduleText, moduleNamesAirflow: /airflow/i.test(moduleText)}
}

/**
 * The other half of a loader pair, by `/`-separated path: the module `<dir>/_dagctl/<name>` for
 * the loader `<dir>/<name>`, and the loader for the module (renderGroupFiles writes them so).
 * Whether that file exists is the caller's to check.
 */
export function loaderPartner(file: string): string {
  const parts = file.split('/')
  const name = parts.at(-1)!
  return (parts.at(-2) === MODULE_DIR ? [...parts.slice(0, -2), name] : [...parts.slice(0, -1), MODULE_DIR, name]).join('/')
}

/** Whether a file is a loader's module (its first line); it belongs to the loader of the same name one folder up. */
export function isLoaderModule(content: string): boolean {
  return content.startsWith(MODULE_PREFIX)
}

/** A module's DAG functions' text by position (1, 2, ...): what `--check` compares. */
export function moduleSegments(content: string): string[] {
  return content.split(`\n${SEGMENT_BEGIN}`).slice(1)
}
