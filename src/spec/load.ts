import {readFileSync, readdirSync, statSync} from 'node:fs'
import path from 'node:path'
import jsyaml from 'js-yaml'
import type {z} from 'zod'

import {describeIssue, formatKeyPath, locate, parseYamlSource, type DescribedIssue, type YamlSource} from '../config/yaml-source.js'
import {ConfigError, DagctlError} from '../errors.js'
import type {DagSpec, SpecSchema, TaskSpec} from './schema.js'

/** One spec file, parsed and valid. */
export interface LoadedSpec {
  /** absolute path */
  file: string
  /** path relative to the package root, forward slashes: what the generated header names */
  rel: string
  /** the authoritative parse, with positions (made on first use on the fast path) */
  readonly src: YamlSource
  spec: DagSpec
}

const SPEC_HINT = 'Fix the key shown; docs/specs.md lists every key of a spec (`dagctl schema spec` gives the JSON Schema).'

/** Spec paths end up in a comment of generated code: plain characters only. */
const SAFE_REL_PATH = /^[A-Za-z0-9_./@+-]+$/

/** Every *.yaml / *.yml under `dir` (dot files and folders skipped), sorted. */
export function findSpecFiles(dir: string): string[] {
  let stat
  try {
    stat = statSync(dir)
  } catch {
    throw new ConfigError(`the specs folder ${dir} does not exist`, {
      key: 'specs',
      code: 'SPECS_MISSING',
      hint: 'Create it (dagctl init does), or set `specs:` in dagctl.yaml to the folder holding your DAG specs.',
    })
  }
  if (!stat.isDirectory()) throw new ConfigError(`specs: ${dir} is not a folder`, {key: 'specs', hint: 'Set `specs:` in dagctl.yaml to a folder.'})
  const out: string[] = []
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, {withFileTypes: true})) {
      if (entry.name.startsWith('.')) continue
      const full = path.join(d, entry.name)
      if (entry.isDirectory()) walk(full)
      else if (entry.isFile() && /\.ya?ml$/.test(entry.name)) out.push(full)
    }
  }
  walk(dir)
  return out.sort()
}

/** zod's issues, said the way a spec author needs them. */
function describeSpecIssue(src: YamlSource, issue: z.core.$ZodIssue): DescribedIssue {
  if (issue.code === 'invalid_key') {
    const key = formatKeyPath(issue.path)
    const inner = issue.issues[0]?.message ?? issue.message
    return {key, message: `${key}: bad id '${String(issue.path.at(-1))}': ${inner}`, ...locate(src, issue.path, true)}
  }
  if (issue.code === 'invalid_union' && 'discriminator' in issue && issue.discriminator === 'type') {
    const key = formatKeyPath(issue.path)
    const options = (issue as {options?: unknown[]}).options ?? []
    const value = valueAt(src.data, issue.path)
    const what = value === undefined ? 'a task needs a type' : `unknown task type ${JSON.stringify(value)}`
    return {key, message: `${key}: ${what} (one of ${options.join(', ')})`, ...locate(src, value === undefined ? issue.path.slice(0, -1) : issue.path)}
  }
  return describeIssue(src, issue)
}

function valueAt(data: unknown, keyPath: ReadonlyArray<PropertyKey>): unknown {
  let node = data
  for (const seg of keyPath) {
    if (typeof node !== 'object' || node === null) return undefined
    node = (node as Record<PropertyKey, unknown>)[seg]
  }
  return node
}

function specError(src: YamlSource, described: DescribedIssue[], hint = SPEC_HINT): ConfigError {
  const [first] = described
  const more = described.length > 1 ? ` (and ${described.length - 1} more problem${described.length > 2 ? 's' : ''})` : ''
  return new ConfigError(`invalid spec: ${first.message}${more}`, {
    file: src.file,
    line: first.line,
    column: first.column,
    key: first.key || undefined,
    code: 'SPEC_INVALID',
    hint,
    details: described.length > 1 ? {issues: described} : undefined,
  })
}

export function dependsOn(task: TaskSpec): string[] {
  if (task.depends_on === undefined) return []
  return Array.isArray(task.depends_on) ? task.depends_on : [task.depends_on]
}

/** A cycle among the tasks' depends_on, as the list of task ids around it (first repeated last). */
export function findCycle(tasks: Record<string, TaskSpec>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>()
  const stack: string[] = []
  const visit = (id: string): string[] | undefined => {
    state.set(id, 'open')
    stack.push(id)
    for (const up of dependsOn(tasks[id])) {
      if (!(up in tasks)) continue
      if (state.get(up) === 'open') return [...stack.slice(stack.indexOf(up)), up]
      if (!state.has(up)) {
        const found = visit(up)
        if (found) return found
      }
    }
    stack.pop()
    state.set(id, 'done')
    return undefined
  }
  for (const id of Object.keys(tasks)) {
    if (state.has(id)) continue
    const found = visit(id)
    if (found) return found.reverse()
  }
  return undefined
}

/**
 * YAML that js-yaml reads differently from the `yaml` library, or that only `yaml` guards: an
 * anchor (aliases need one; `yaml` limits alias expansion) or a tag at a node's start, a 0b
 * binary int (not YAML 1.2 core), a float exponent out of range.
 */
const SLOW_SYNTAX = /(?:^|[[{,]|[:?-][ \t])[ \t]*[&!]|\b0b[01]|\d[eE][+-]?\d{3}/m

/** A `null:` or `~:` key: js-yaml names it "null", `yaml` "". */
function hasNullKey(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasNullKey)
  if (typeof value !== 'object' || value === null) return false
  return Object.entries(value).some(([k, v]) => k === 'null' || hasNullKey(v))
}

/**
 * The fast reading of a spec: js-yaml with the YAML 1.2 core schema, about 8× faster than the
 * `yaml` library, or undefined where the two could differ. A test holds them equal on the rest.
 */
export function fastYaml(text: string): unknown {
  if (SLOW_SYNTAX.test(text)) return undefined
  let data: unknown
  try {
    data = jsyaml.load(text, {schema: jsyaml.CORE_SCHEMA})
  } catch {
    return undefined
  }
  return hasNullKey(data) ? undefined : data
}

/**
 * A spec that passes every check, read the fast way; undefined sends it to the authoritative
 * path (yaml-source), which reads it again and names the line of any problem.
 */
function fastSpec(text: string, schema: SpecSchema): DagSpec | undefined {
  const data = fastYaml(text)
  if (data === undefined) return undefined
  const result = schema.safeParse(data)
  if (!result.success) return undefined
  const tasks = result.data.tasks as Record<string, TaskSpec>
  for (const [id, task] of Object.entries(tasks)) {
    const deps = dependsOn(task)
    if (deps.some((up, i) => up === id || !(up in tasks) || deps.indexOf(up) !== i)) return undefined
  }
  return findCycle(tasks) ? undefined : result.data
}

/** Parses and checks one spec: YAML, schema, depends_on. Throws a ConfigError at file:line key. */
export function loadSpec(file: string, root: string, schema: SpecSchema, text = readFileSync(file, 'utf8')): LoadedSpec {
  const rel = path.relative(root, file).split(path.sep).join('/')
  if (!SAFE_REL_PATH.test(rel) || rel.startsWith('../')) {
    throw new ConfigError(`spec file name ${JSON.stringify(rel)} has characters dagctl does not write into generated code`, {
      file,
      code: 'SPEC_INVALID',
      hint: 'Rename it with letters, digits, _, ., -, / only, inside the package folder.',
    })
  }
  const fast = fastSpec(text, schema)
  if (fast) {
    // Line numbers are only needed for an error found later (policy, image): parse for them then.
    let located: YamlSource | undefined
    return {
      file,
      rel,
      spec: fast,
      get src() {
        return (located ??= parseYamlSource(file, text, 'spec'))
      },
    }
  }
  const src = parseYamlSource(file, text, 'spec')
  if (typeof src.data !== 'object' || src.data === null || Array.isArray(src.data)) {
    throw new ConfigError('invalid spec: a spec is a mapping of keys (name, schedule, tasks, ...)', {file, line: 1, code: 'SPEC_INVALID', hint: SPEC_HINT})
  }
  // reportInput: zod 4 leaves issue.input out otherwise, and describeIssue reads it to tell "missing" from "wrong type".
  const result = schema.safeParse(src.data, {reportInput: true})
  if (!result.success) throw specError(src, result.error.issues.map((i) => describeSpecIssue(src, i)))
  const spec = result.data
  const tasks = spec.tasks as Record<string, TaskSpec>
  const problems: DescribedIssue[] = []
  for (const [id, task] of Object.entries(tasks)) {
    const deps = dependsOn(task)
    for (const [i, up] of deps.entries()) {
      const keyPath = Array.isArray(task.depends_on) ? ['tasks', id, 'depends_on', i] : ['tasks', id, 'depends_on']
      const key = formatKeyPath(keyPath)
      if (up === id) problems.push({key, message: `${key}: task '${id}' depends on itself`, ...locate(src, keyPath)})
      else if (!(up in tasks)) problems.push({key, message: `${key}: unknown task '${up}' (tasks: ${Object.keys(tasks).join(', ')})`, ...locate(src, keyPath)})
      else if (deps.indexOf(up) !== i) problems.push({key, message: `${key}: '${up}' is listed twice`, ...locate(src, keyPath)})
    }
  }
  if (problems.length > 0) throw specError(src, problems, 'depends_on lists ids of other tasks in the same spec.')
  const cycle = findCycle(tasks)
  if (cycle) {
    const keyPath = ['tasks', cycle[0], 'depends_on']
    throw new ConfigError(`invalid spec: depends_on forms a cycle: ${cycle.join(' → ')}`, {
      file,
      ...locate(src, keyPath),
      key: formatKeyPath(keyPath),
      code: 'SPEC_CYCLE',
      hint: `Remove one of the depends_on links between ${[...new Set(cycle)].join(', ')}.`,
      details: {cycle},
    })
  }
  return {file, rel, src, spec}
}

/** The first error, carrying every error (for --json and the human list) when there are several. */
export function combineErrors(errors: DagctlError[]): DagctlError {
  if (errors.length === 1) return errors[0]
  const [first] = errors
  const Ctor = first.constructor as new (message: string, options: ConstructorParameters<typeof ConfigError>[1]) => DagctlError
  return new Ctor(`${first.message} (and ${errors.length - 1} more error${errors.length > 2 ? 's' : ''} in other files)`, {
    ...first.location,
    code: first.code,
    hint: first.hint,
    details: {errors: errors.map((e) => e.toJSON())},
  })
}
