import {helperOptions} from './invocation.js'
import {PythonBridge} from './python-bridge.js'
import type {EngineChoice} from './types.js'
import {resolvePython} from '../python/interpreter.js'

/**
 * `dagctl validate`'s Python helper, started by src/bundle/oclif.ts before oclif and the
 * configuration load, instead of ~100 ms later by the command: Python's start and its imports are
 * then done by the time the files are known, off the path of a cold validate.
 *
 * How the helper runs depends on the configuration (`python:`, `validate.engine`,
 * `airflow.version`), which is not read yet: this guesses from the command line (--python, --engine,
 * --no-cache) and the environment (DAGCTL_PYTHON, DAGCTL_AIRFLOW_VERSION, the managed venv) with
 * dagctl.yaml's defaults, through the same rules the command follows (resolvePython,
 * helperOptions). A guess only ever saves time, it never decides anything: the command takes the
 * process over only when it would start exactly the same command (PythonBridge.speculate); when
 * the configuration says otherwise, the guess is killed unread and the right one is started.
 */
export function speculateValidate(argv: string[], env: NodeJS.ProcessEnv = process.env): void {
  if (argv.includes('--help') || argv.includes('-h') || argv.includes('--')) return
  const flag = (name: string): string | undefined => {
    let value: string | undefined
    for (let i = 0; i < argv.length; i++) {
      if (argv[i] === `--${name}`) value = argv[i + 1]
      else if (argv[i].startsWith(`--${name}=`)) value = argv[i].slice(name.length + 3)
    }
    return value
  }
  const cache = argv.lastIndexOf('--no-cache') <= argv.lastIndexOf('--cache')
  const engine = (flag('engine') ?? 'auto') as EngineChoice // validate.engine's default
  const {python} = resolvePython({flag: flag('python'), airflowVersion: Number(env.DAGCTL_AIRFLOW_VERSION) === 2 ? 2 : 3, env})
  new PythonBridge(python).speculate('dagctl_validate', helperOptions({engine, cache}))
}
