import type {ResolvedConfig} from '../config/load.js'
import {pythonSettings, resolvePython} from '../python/interpreter.js'
import type {EngineChoice, ValidateOptions} from './types.js'

/**
 * How files are judged, from dagctl.yaml and flags: the interpreter (resolution order in
 * docs/python-environments.md), the engine and the Airflow target. `validate` and `publish` both
 * take it from here, so a file that validate passes is a file publish accepts.
 */
export function validateSettings(
  resolved: ResolvedConfig,
  flags: {python?: string; engine?: EngineChoice} = {},
): Pick<ValidateOptions, 'python' | 'pythonSource' | 'pythonFrom' | 'pythonTarget' | 'engine' | 'airflowVersion' | 'dagsFolder' | 'engineOptions' | 'rules' | 'ruleSources'> {
  const c = resolved.config
  const choice = resolvePython({...pythonSettings(resolved), flag: flags.python})
  const rules = c.validate.rules ?? {}
  return {
    python: choice.python,
    pythonSource: choice.source,
    pythonFrom: choice.from,
    ...(c.validate.python ? {pythonTarget: c.validate.python} : {}),
    engine: flags.engine ?? c.validate.engine,
    airflowVersion: c.airflow.version,
    dagsFolder: resolved.resolvePath(c.dags),
    engineOptions: c.validate.file_timeout === undefined ? {} : {file_timeout: c.validate.file_timeout},
    rules,
    // which layer set each rule: the package's dagctl.yaml or the platform's extends: file
    ruleSources: Object.fromEntries(Object.keys(rules).map((rule) => [rule, resolved.sources[`validate.rules.${rule}`] ?? 'dagctl.yaml'])),
  }
}
