import path from 'node:path'

import {DagctlError, ExitCode, UsageError} from '../errors.js'

/** The Python helpers dagctl ships (python/ at the package root, beside dist/). */
export const PYTHON_DIR = path.resolve(import.meta.dirname, '..', '..', 'python')

export const DEFAULT_PYTHON = process.platform === 'win32' ? 'python' : 'python3'

const PYTHON_HINT = 'Install python3, or name an interpreter with `python:` in dagctl.yaml, DAGCTL_PYTHON, or --python PATH.'

/** What the helper says when it cannot do the job (see the protocol in python/dagctl_validate/protocol.py). */
interface HelperError {
  error: {code: string; message: string; hint?: string}
}

export interface PythonRunner {
  (file: string, args: string[], options: {input: string; timeout?: number; reject: false; maxBuffer: number; env?: Record<string, string>}): Promise<{
    exitCode?: number
    stdout: string
    stderr: string
    failed: boolean
    code?: string
    timedOut?: boolean
  }>
}

/** execa, loaded when the first Python helper runs (not when a command module is imported). */
const runWithExeca: PythonRunner = async (file, args, options) => (await import('execa')).execa(file, args, options) as unknown as ReturnType<PythonRunner>

/**
 * Runs one of dagctl's Python helpers with a JSON request on stdin and reads one JSON answer from
 * stdout. One process per call, whatever the number of files. The interpreter and the process
 * runner are injected so a unit test can swap either edge.
 */
export class PythonBridge {
  constructor(
    readonly python: string = DEFAULT_PYTHON,
    private readonly scriptDir: string = PYTHON_DIR,
    private readonly runner: PythonRunner = runWithExeca,
  ) {}

  async call<T>(
    script: string,
    request: unknown,
    options: {timeoutMs?: number; args?: string[]; env?: Record<string, string>; interpreterArgs?: string[]} = {},
  ): Promise<T> {
    const scriptPath = path.join(this.scriptDir, script)
    const result = await this.runner(this.python, [...(options.interpreterArgs ?? []), scriptPath, ...(options.args ?? [])], {
      input: JSON.stringify(request),
      timeout: options.timeoutMs,
      reject: false,
      maxBuffer: 512 * 1024 * 1024,
      ...(options.env ? {env: options.env} : {}),
    })
    if (result.code === 'ENOENT' || result.code === 'EACCES' || (result.failed && result.exitCode === undefined && !result.timedOut)) {
      throw new UsageError(`cannot run the Python interpreter '${this.python}'${result.code ? ` (${result.code})` : ''}`, {
        code: 'PYTHON_MISSING',
        hint: PYTHON_HINT,
      })
    }
    if (result.timedOut) {
      throw new DagctlError(`the Python helper ${script} did not finish within ${Math.round((options.timeoutMs ?? 0) / 1000)}s`, ExitCode.TIMEOUT, {code: 'TIMEOUT'})
    }
    let answer: unknown
    try {
      answer = JSON.parse(result.stdout)
    } catch {
      const tail = result.stderr.trim().split('\n').slice(-6).join('\n')
      // 127: a wrapper (pyenv shim, env) found no such interpreter
      if (result.exitCode === 127 || /command not found/.test(tail)) {
        throw new UsageError(`cannot run the Python interpreter '${this.python}': ${tail}`, {code: 'PYTHON_MISSING', hint: PYTHON_HINT})
      }
      if (/SyntaxError/.test(tail) && tail.includes(script)) {
        // Python 2 or a Python 3 too old to even read the helper
        throw new UsageError(`the Python interpreter '${this.python}' is too old to run dagctl's helper`, {code: 'PYTHON_TOO_OLD', hint: 'Point --python (or DAGCTL_PYTHON, or `python:` in dagctl.yaml) at Python 3.8 or newer.'})
      }
      throw new DagctlError(`the Python helper ${script} failed (exit ${result.exitCode}):\n${tail || result.stdout.slice(0, 500)}`, ExitCode.CHECK_FAILED, {
        code: 'PYTHON_HELPER_FAILED',
        hint: `Check that '${this.python}' is Python 3.8 or newer; re-run with --verbose and report the error if it persists.`,
      })
    }
    if (isHelperError(answer)) {
      throw new UsageError(answer.error.message, {code: answer.error.code, hint: answer.error.hint})
    }
    return answer as T
  }
}

function isHelperError(value: unknown): value is HelperError {
  return typeof value === 'object' && value !== null && 'error' in value && typeof (value as HelperError).error?.message === 'string'
}
