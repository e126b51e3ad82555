/**
 * The contract of `validate`, shared by the command, `publish` (which validates first) and both
 * engines. The Python side (python/dagctl_validate/) speaks the same shapes in snake_case-free JSON.
 */
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
}
