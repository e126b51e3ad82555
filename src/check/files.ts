import {readdirSync, statSync} from 'node:fs'
import path from 'node:path'

import {UsageError} from '../errors.js'

const SKIPPED_DIRS = new Set(['__pycache__', 'node_modules'])

/**
 * The Python files to validate: files as given, folders searched recursively for `*.py`
 * (hidden folders, __pycache__ and node_modules skipped). Relative paths are relative to `base`.
 * Sorted and without duplicates, so reports are stable.
 */
export function collectPythonFiles(paths: string[], base: string): string[] {
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
    if (stat.isDirectory()) walk(abs, out)
    else out.add(abs)
  }
  return [...out].sort()
}

function walk(dir: string, out: Set<string>): void {
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    if (entry.name.startsWith('.')) continue
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) walk(full, out)
    } else if (entry.name.endsWith('.py') && (entry.isFile() || entry.isSymbolicLink())) {
      out.add(full)
    }
  }
}
