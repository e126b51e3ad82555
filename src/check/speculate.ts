import {readFileSync} from 'node:fs'
import path from 'node:path'

import {helperOptions} from './invocation.js'
import {PythonBridge} from './python-bridge.js'
import type {EngineChoice} from './types.js'
import {findConfigFile} from '../config/resolved.js'
import {resolvePython} from '../python/interpreter.js'

/**
 * `dagctl validate`'s Python helper, started by src/bundle/oclif.ts before oclif and the
 * configuration load, instead of ~100 ms later by the command: Python's start and its imports are
 * then done by the time the files are known, off the path of a cold validate.
 *
 * How the helper runs depends on the configuration (`python:`, `validate.engine`,
 * `airflow.version`), which is not loaded yet: this guesses from the command line (--python,
 * --engine, --no-cache), the environment (DAGCTL_PYTHON, DAGCTL_AIRFLOW_VERSION, the managed venv)
 * and what dagctl.yaml's text plainly says (peek), else dagctl.yaml's defaults, through the same
 * rules the command follows (resolvePython, helperOptions). A guess only ever saves time, it never
 * decides anything: the command takes the process over only when it would start exactly the same
 * command (PythonBridge.speculate); when the configuration says otherwise, the guess is killed
 * unread and the right one is started. Where the text shows that a guess could not be right (an
 * interpreter named in dagctl.yaml or an `extends:` file, validate.python's version check), none
 * is made.
 */
export function speculateValidate(argv: string[], env: NodeJS.ProcessEnv = process.env): void {
  if (argv.includes('--help') || argv.includes('-h') || argv.includes('--')) return
  try {
    guess(argv, env)
  } catch {
    // a guess never fails a run (no home folder for the cache path, a broken install): the command
    // starts its helper itself and reports whatever is wrong
  }
}

function guess(argv: string[], env: NodeJS.ProcessEnv): void {
  const flag = (name: string) => flagValue(argv, name)
  const config = peek(flag('config') ?? env.DAGCTL_CONFIG ?? findConfigFile(process.cwd()))
  const pythonGiven = flag('python') ?? env.DAGCTL_PYTHON
  if (config.target || (!pythonGiven && (config.python || config.extends)) || (config.extends && !flag('engine'))) return
  const cache = argv.lastIndexOf('--no-cache') <= argv.lastIndexOf('--cache')
  const engine = (flag('engine') ?? config.engine ?? 'auto') as EngineChoice // validate.engine's default
  const version = Number(env.DAGCTL_AIRFLOW_VERSION ?? config.airflowVersion) === 2 ? 2 : 3
  const {python} = resolvePython({flag: flag('python'), airflowVersion: version, env})
  new PythonBridge(python).speculate('dagctl_validate', helperOptions({engine, cache}))
}

/** the last value given to --name (`--name value` or `--name=value`) */
function flagValue(argv: string[], name: string): string | undefined {
  let value: string | undefined
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === `--${name}`) value = argv[i + 1]
    else if (argv[i].startsWith(`--${name}=`)) value = argv[i].slice(name.length + 3)
  }
  return value
}

interface Peeked {
  /** a top-level `python:` */
  python?: boolean
  /** a top-level `extends:` (whose file may set anything) */
  extends?: boolean
  /** `validate.python` (the version the files are parsed with) */
  target?: boolean
  /** `validate.engine` */
  engine?: string
  /** `airflow.version` */
  airflowVersion?: string
}

/**
 * What dagctl.yaml's text plainly says about how the helper runs, read with a few regular
 * expressions (yaml is not loaded yet: that is what this start saves). A misreading costs only the
 * guess; the configuration the command loads decides.
 */
function peek(file: string | undefined): Peeked {
  let text: string
  try {
    text = file ? readFileSync(path.resolve(file), 'utf8').replaceAll('\r\n', '\n') : ''
  } catch {
    return {}
  }
  const section = (name: string) => new RegExp(`^${name}:[ \\t]*(?:#.*)?\\n((?:(?:[ \\t]+.*)?\\n?)*)`, 'm').exec(text)?.[1] ?? ''
  const value = (block: string, key: string) => new RegExp(`^[ \\t]+${key}:[ \\t]*["']?([\\w.]+)["']?[ \\t]*(?:#.*)?$`, 'm').exec(block)?.[1]
  const validate = section('validate')
  return {
    python: /^python:/m.test(text),
    extends: /^extends:/m.test(text),
    target: /^[ \t]+python:/m.test(validate),
    engine: value(validate, 'engine'),
    airflowVersion: value(section('airflow'), 'version'),
  }
}
