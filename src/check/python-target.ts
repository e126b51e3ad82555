import {UsageError} from '../errors.js'
import type {PythonSource} from '../python/interpreter.js'

/** Runs `python -c CODE` and gives its stdout, or undefined when the interpreter does not run. */
export type VersionRunner = (python: string) => Promise<string | undefined>

const runVersion: VersionRunner = async (python) => {
  const result = await (await import('execa')).execa(python, ['-S', '-c', 'import platform; print(platform.python_version())'], {reject: false, timeout: 60_000})
  return result.exitCode === 0 ? result.stdout.trim() : undefined
}

export interface ParsingPythonRequest {
  /** the interpreter resolvePython chose */
  python: string
  source?: PythonSource
  /** for people: `--python`, `DAGCTL_PYTHON`, `dagctl.yaml (python)`, ... */
  from?: string
  /** validate.python: `3.12` */
  target?: string
}

/**
 * The interpreter that parses the files. Syntax valid only on newer Pythons (3.12's f-strings that
 * reuse their quote) must be judged by the version that runs the DAGs, `validate.python`:
 * - no target, or the chosen interpreter has that version: it is used;
 * - an interpreter the user named (--python, DAGCTL_PYTHON, `python:`) of another version: exit 2,
 *   naming both (dagctl never swaps a named interpreter for another);
 * - otherwise (the managed venv, python3 on PATH): `python3.X` on PATH, or exit 2 saying it is not there.
 */
export async function chooseParsingPython(request: ParsingPythonRequest, run: VersionRunner = runVersion): Promise<string> {
  const {python, target} = request
  if (!target) return python
  const version = await run(python)
  if (version === undefined) return python // the bridge reports an interpreter that does not run, with its hint
  if (majorMinor(version) === target) return python
  const named = request.source === 'flag' || request.source === 'env' || request.source === 'config'
  if (named) {
    throw new UsageError(`validate.python is ${target}, but the interpreter named by ${request.from ?? 'the configuration'} (${python}) is Python ${version}`, {
      code: 'PYTHON_TARGET_MISMATCH',
      hint: `Point ${request.from ?? 'it'} at a Python ${target} (the version that runs your DAGs), or change validate.python in dagctl.yaml.`,
    })
  }
  const candidate = `python${target}`
  const found = await run(candidate)
  if (found !== undefined && majorMinor(found) === target) return candidate
  throw new UsageError(
    `validate.python is ${target}, but no Python ${target} is available: ${python} is Python ${version}, and ${candidate} ${found === undefined ? 'is not on PATH (or does not run)' : `is Python ${found}`}`,
    {
      code: 'PYTHON_TARGET_MISSING',
      hint: `Install Python ${target} so that ${candidate} is on PATH, or name one with \`python:\` in dagctl.yaml, DAGCTL_PYTHON or --python; or change validate.python.`,
    },
  )
}

function majorMinor(version: string): string {
  return version.split('.').slice(0, 2).join('.')
}
