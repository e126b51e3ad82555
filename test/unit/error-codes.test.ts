import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {renderTroubleshooting, TROUBLESHOOTING_FILE} from '../../scripts/troubleshooting.js'
import {ERROR_CODES, exitsOf} from '../../src/error-codes.js'
import {ExitCode} from '../../src/errors.js'
import {REPO_ROOT} from '../helpers/cli.js'

/** Every error code the code raises is in src/error-codes.ts with the exit code it really ends with, and docs/troubleshooting.md is what that table renders. */

const CLASS_EXIT: Record<string, number> = {UsageError: 2, ConfigError: 2, CheckFailedError: 1, ConflictError: 3, RemoteError: 4, PolicyError: 5, TimeoutError: 124}

function files(dir: string, ext: string): string[] {
  return readdirSync(path.join(REPO_ROOT, dir), {recursive: true, withFileTypes: true})
    .filter((d) => d.isFile() && d.name.endsWith(ext))
    .map((d) => path.join(d.parentPath, d.name))
}

interface Raise {
  code: string
  where: string
  exit?: number
}

/** The codes the TypeScript raises, with the exit its error class gives, where that can be read. */
function raisedInSource(): Raise[] {
  const found: Raise[] = []
  for (const file of files('src', '.ts')) {
    if (file.endsWith('error-codes.ts')) continue
    const text = readFileSync(file, 'utf8')
    const rel = path.relative(REPO_ROOT, file)
    for (const m of text.matchAll(/code: ([^,\n}]+)/g)) {
      const expr = m[1]
      const codes = [...expr.matchAll(/'([A-Z][A-Z0-9_]+)'/g)].map((c) => c[1])
      if (/`AIRFLOW_HTTP_\$\{/.test(expr)) codes.push('AIRFLOW_HTTP_nnn')
      if (codes.length === 0) continue
      const before = text.slice(Math.max(0, text.lastIndexOf('new ', m.index!)), m.index!)
      const cls = /^new (\w+)\(/.exec(before)?.[1]
      let exit = cls ? CLASS_EXIT[cls] : undefined
      const explicit = /ExitCode\.(\w+)\s*,\s*\{\s*$/.exec(before.replace(/\s+/g, ' ')) ?? /ExitCode\.(\w+), \{/.exec(before)
      if (cls === 'DagctlError' && explicit && !/\?/.test(before.slice(-120))) exit = ExitCode[explicit[1] as keyof typeof ExitCode]
      const line = text.slice(0, m.index!).split('\n').length
      for (const code of codes) found.push({code, where: `${rel}:${line}`, exit})
    }
    // a subclass whose super() carries the code
    for (const m of text.matchAll(/class \w+ extends (\w+Error) \{[\s\S]*?super\([^]*?code: '([A-Z_]+)'/g)) found.push({code: m[2], where: rel, exit: CLASS_EXIT[m[1]]})
  }
  return found
}

/** The codes python/ answers with (`error("CODE", ...)`, `"code": "CODE"`); the bridge turns them into exit 2. */
function raisedInPython(): Raise[] {
  const found: Raise[] = []
  for (const file of files('python', '.py')) {
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(/(?:\berror\(|"code":\s*)"([A-Z][A-Z0-9_]+)"/g)) found.push({code: m[1], where: path.relative(REPO_ROOT, file), exit: 2})
  }
  return found
}

describe('the error table (src/error-codes.ts)', () => {
  const raised = [...raisedInSource(), ...raisedInPython()]

  it('finds the codes in the code (the scan works)', () => {
    const codes = new Set(raised.map((r) => r.code))
    for (const c of ['LOST_RACE', 'MANIFEST_REFUSED', 'AIRFLOW_UNREACHABLE', 'AIRFLOW_UNAVAILABLE', 'AIRFLOW_HTTP_nnn', 'AIRFLOW_BROKEN', 'BAD_REQUEST', 'SPEC_INVALID']) expect(codes).toContain(c)
    expect(codes.size).toBeGreaterThan(50)
  })

  it('has every code the code raises, with the exit code its error class gives', () => {
    const missing = raised.filter((r) => !(r.code in ERROR_CODES)).map((r) => `${r.code} (${r.where})`)
    expect(missing).toEqual([])
    const wrongExit = raised.filter((r) => r.exit !== undefined && r.code in ERROR_CODES && !exitsOf(ERROR_CODES[r.code]).includes(r.exit as never)).map((r) => `${r.code} exits ${r.exit} at ${r.where}, the table says ${exitsOf(ERROR_CODES[r.code]).join('/')}`)
    expect(wrongExit).toEqual([])
  })

  it('has no code the code never raises', () => {
    const codes = new Set([...raised.map((r) => r.code), 'DAGCTL_ERROR'])
    expect(Object.keys(ERROR_CODES).filter((c) => !codes.has(c))).toEqual([])
    expect(readFileSync(path.join(REPO_ROOT, 'src', 'errors.ts'), 'utf8')).toContain("options.code ?? 'DAGCTL_ERROR'")
  })

  it('docs/troubleshooting.md is what `npm run docs:troubleshooting` writes', () => {
    expect(readFileSync(TROUBLESHOOTING_FILE, 'utf8'), 'run `npm run docs:troubleshooting` and commit docs/troubleshooting.md').toBe(renderTroubleshooting())
  })
})
