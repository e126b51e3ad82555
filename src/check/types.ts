/**
 * The contract of `validate`, shared by the command, `publish` (which validates first) and both
 * engines. The Python side (python/dagctl_validate/) speaks the same shapes in snake_case-free JSON.
 */
import type {PythonSource} from '../python/interpreter.js'

export type Severity = 'error' | 'warning' | 'info'

export type EngineName = 'ast' | 'airflow'
export type EngineChoice = EngineName | 'auto'

export interface Finding {
  /** path relative to the validated root (the package folder), with forward slashes */
  file: string
  /** 1-based; 0 when the finding is about the whole file */
  line: number
  /** 1-based; 0 when unknown */
  column: number
  /** stable kebab-case rule name, listed in docs/rules.md */
  rule: string
  severity: Severity
  message: string
  hint?: string
}

export interface DagInfo {
  dagId: string
  file: string
  line: number
  /** number of tasks, when the engine knows (airflow engine) */
  tasks?: number
}

export interface ValidateOptions {
  /** files to check, absolute or relative to root */
  files: string[]
  /** the package folder; finding paths are relative to it */
  root: string
  packageName: string
  /**
   * the package's DAG folder (`dags:` of dagctl.yaml): Airflow imports its files as
   * `<package>.<module>` (sync writes them to DIR/<package>/, the bundle to <path>/<package>/), and
   * the airflow engine imports them the same way
   */
  dagsFolder?: string
  airflowVersion: 2 | 3
  engine: EngineChoice
  /** interpreter to use; default python3 (or the configured one) */
  python?: string
  /** passed to the engine as `options` (airflow engine: file_timeout, ...) */
  engineOptions?: Record<string, unknown>
  /** reuse per-file results of unchanged files (keyed by content hash); default true */
  cache?: boolean
  /** dagctl's cache folder for this run; default cacheDir() of src/python/venv.ts */
  cacheDir?: string
  /** `validate.rules` of dagctl.yaml: per rule, off or another severity */
  rules?: Partial<Record<string, RuleSetting>>
  /** where each rule setting came from (dagctl.yaml, the extends: file), for the report */
  ruleSources?: Record<string, string>
  /** `validate.python`: the Python version that runs the DAGs (`3.12`); the files are parsed with it */
  pythonTarget?: string
  /** how `python` was chosen (src/python/interpreter.ts): a named interpreter is never swapped for another */
  pythonSource?: PythonSource
  /** for people: where `python` came from (`--python`, `dagctl.yaml (python)`, ...) */
  pythonFrom?: string
}

export type RuleSetting = 'off' | Severity

/** One `validate.rules` entry and what it did in this run. */
export interface RuleOverride {
  rule: string
  setting: RuleSetting
  /** the config file that set it: `dagctl.yaml`, or the `extends:` file's path */
  source: string
  /** findings it changed (severity) or removed (off) */
  findings: number
}

/** One `# dagctl: ignore[...]` comment and what it did in this run. */
export interface InlineIgnore {
  file: string
  line: number
  rules: string[]
  /** findings it silenced; 0 means the comment is stale */
  silenced: number
}

export interface Suppressions {
  config: RuleOverride[]
  inline: InlineIgnore[]
}

/** The interpreter that parsed (and, with the airflow engine, imported) the files. */
export interface ParsingPython {
  version: string
  executable: string
  /** `validate.python`, when set */
  target?: string
}

export interface ValidationSummary {
  files: number
  dags: number
  errors: number
  warnings: number
  infos: number
}

export interface ValidationReport {
  engine: EngineName
  dags: DagInfo[]
  findings: Finding[]
  summary: ValidationSummary
  /** per-file timings and details an engine may add (airflow engine: parse seconds, task counts) */
  files?: Array<{file: string; seconds?: number; cached?: boolean}>
  /** the Python that parsed the files */
  python?: ParsingPython
  /** every use of validate.rules and of `# dagctl: ignore[...]` */
  suppressions?: Suppressions
}
