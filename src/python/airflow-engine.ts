import path from 'node:path'

import {cacheDir, PYTHON_DIR} from './venv.js'

/**
 * The Airflow engine (python/dagctl_validate/airflow_engine/) run on its own, without the ast pass:
 * what the engine's contract tests and bench drive. `validate` reaches the same package through
 * python/dagctl_validate/protocol.py, which calls `run_airflow_engine(request, ast_result)` in-process.
 */
export const VALIDATE_PACKAGE = path.join(PYTHON_DIR, 'dagctl_validate')
/** The interpreter arguments that run the Airflow engine alone: `python <these> < request.json`. */
export const AIRFLOW_ENGINE_ARGS: readonly string[] = [VALIDATE_PACKAGE, '--airflow-only']

/** `request.options` the engine reads (documented at the top of the Python module). */
export interface AirflowEngineOptions {
  file_timeout?: number
  workers?: number
  cache?: boolean
  cache_dir?: string
  dagctl_version?: string
  safe_mode?: boolean
  allow_network?: boolean
  traceback_lines?: number
}

export interface AirflowEngineRequest {
  engine?: 'airflow'
  root: string
  files: string[]
  package?: string
  airflow_version?: 2 | 3
  options?: AirflowEngineOptions
}

export interface AirflowEngineFinding {
  file: string
  line: number
  column: number
  rule: string
  severity: 'error' | 'warning' | 'info'
  message: string
  hint: string
}

export interface AirflowEngineResult {
  engine: 'airflow'
  airflow_version: string
  dags: Array<{dag_id: string; file: string; line: number; tasks: number}>
  findings: AirflowEngineFinding[]
  files: Array<{file: string; seconds: number; cached: boolean; dags: number; tasks: number; worker?: number}>
  /** seconds per phase (import_airflow, preimport, parse only when some file was not cached) */
  timings: {read: number; import_airflow?: number; preimport?: number; parse?: number; serial_cpu?: number; workers_cpu?: number; workers?: number; total: number}
}

/** Where the engine caches per-file results unless told otherwise (the user cache dir). */
export function airflowEngineCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheDir(env), 'airflow-engine')
}

export async function runAirflowEngine(python: string, request: AirflowEngineRequest, options: {timeoutMs?: number; env?: NodeJS.ProcessEnv} = {}): Promise<AirflowEngineResult> {
  const result = await (await import('execa')).execa(python, [...AIRFLOW_ENGINE_ARGS], {
    input: JSON.stringify({engine: 'airflow', ...request}),
    env: options.env,
    reject: false,
    timeout: options.timeoutMs ?? 600_000,
  })
  if (result.exitCode !== 0) {
    throw new Error(`the Airflow engine (${VALIDATE_PACKAGE}) exited ${result.exitCode ?? result.signal}: ${result.stderr.split('\n').slice(-20).join('\n')}`)
  }
  const parsed = JSON.parse(result.stdout) as AirflowEngineResult | {error: {code: string; message: string; hint: string}}
  if ('error' in parsed) throw new Error(`${parsed.error.code}: ${parsed.error.message} (${parsed.error.hint})`)
  return parsed
}
