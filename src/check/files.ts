import {existsSync, readFileSync, readdirSync, statSync} from 'node:fs'
import path from 'node:path'
import picomatch from 'picomatch'

import {UsageError} from '../errors.js'

const SKIPPED_DIRS = new Set(['__pycache__', 'node_modules'])

export interface CollectOptions {
  /**
   * Syntax of `.airflowignore` files: `glob` (Airflow 3's default) or `regexp` (Airflow 2's).
   * Airflow skips what they match; so does validate, or files Airflow never loads would fail CI.
   */
  ignoreSyntax?: 'glob' | 'regexp'
}

/** One `.airflowignore` line, applied to paths relative to the folder holding the file. */
interface IgnoreRule {
  base: string
  negated: boolean
  dirOnly: boolean
  test: (relative: string) => boolean
}

/**
 * The Python files to validate: files as given, folders searched recursively for `*.py`
 * (hidden folders, __pycache__, node_modules and whatever `.airflowignore` files exclude are
 * skipped). Relative paths are relative to `base`. Sorted and without duplicates.
 */
export function collectPythonFiles(paths: string[], base: string, options: CollectOptions = {}): string[] {
  const out = new Set<string>()
  for (const given of paths) {
    const abs = path.resolve(base, given)
    let stat
    try {
      stat = statSync(abs)
    } catch {
      const shown = path.relative(process.cwd(), abs) || abs
      throw new UsageError(`no such file or folder: ${shown}`, {hint: 'Pass DAG files or folders that exist, or set `dags:` in dagctl.yaml.'})
    }
    if (stat.isDirectory()) walk(abs, out, [], options.ignoreSyntax ?? 'glob')
    else out.add(abs)
  }
  return [...out].sort()
}

function walk(dir: string, out: Set<string>, inherited: IgnoreRule[], syntax: 'glob' | 'regexp'): void {
  const rules = [...inherited, ...readIgnoreFile(dir, syntax)]
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    if (entry.name.startsWith('.')) continue
    const full = path.join(dir, entry.name)
    const isDir = entry.isDirectory()
    if (isDir ? SKIPPED_DIRS.has(entry.name) : !entry.name.endsWith('.py')) continue
    if (ignored(full, isDir, rules)) continue
    if (isDir) walk(full, out, rules, syntax)
    else if (entry.isFile() || entry.isSymbolicLink()) out.add(full)
  }
}

function ignored(full: string, isDir: boolean, rules: IgnoreRule[]): boolean {
  let result = false
  for (const rule of rules) {
    if (rule.dirOnly && !isDir) continue
    const relative = path.relative(rule.base, full).split(path.sep).join('/')
    if (rule.test(relative)) result = !rule.negated
  }
  return result
}

function readIgnoreFile(dir: string, syntax: 'glob' | 'regexp'): IgnoreRule[] {
  const file = path.join(dir, '.airflowignore')
  if (!existsSync(file)) return []
  const rules: IgnoreRule[] = []
  for (const raw of readFileSync(file, 'utf8').split(/\r?\n/)) {
    const line = raw.replace(/\s+#.*$/, '').trim()
    if (line === '' || line.startsWith('#')) continue
    if (syntax === 'regexp') {
      let re: RegExp
      try {
        re = new RegExp(line)
      } catch {
        continue // Airflow logs and skips an invalid pattern too
      }
      rules.push({base: dir, negated: false, dirOnly: false, test: (relative) => re.test(relative)})
      continue
    }
    // gitignore-style globs, as Airflow 3 reads them
    const negated = line.startsWith('!')
    let pattern = negated ? line.slice(1) : line
    const dirOnly = pattern.endsWith('/')
    if (dirOnly) pattern = pattern.slice(0, -1)
    const anchored = pattern.includes('/')
    if (pattern.startsWith('/')) pattern = pattern.slice(1)
    const match = picomatch(anchored ? pattern : `**/${pattern}`, {dot: true})
    rules.push({base: dir, negated, dirOnly, test: (relative) => match(relative) || (!anchored && match(relative.split('/').pop() ?? ''))})
  }
  return rules
}

/**
 * Where `dir` sits inside its git repository, as a prefix for repository-relative paths
 * (`packages/team_a/`); empty when it is the repository root or not in a repository.
 */
export function repositoryPrefix(dir: string): string {
  let current = path.resolve(dir)
  for (;;) {
    if (existsSync(path.join(current, '.git'))) {
      const relative = path.relative(current, path.resolve(dir)).split(path.sep).join('/')
      return relative === '' ? '' : `${relative}/`
    }
    const parent = path.dirname(current)
    if (parent === current) return ''
    current = parent
  }
}
