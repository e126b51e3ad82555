import {execFile} from 'node:child_process'
import path from 'node:path'

import {ConfigError} from '../errors.js'
import {findAirflowEnv, type AirflowMajor} from './venv.js'

/**
 * Which python `validate` (and `doctor`) use. First match wins:
 *   1. `--python PATH`                          (source `flag`)
 *   2. `DAGCTL_PYTHON`                           (source `env`)
 *   3. `python:` in dagctl.yaml                  (source `config`; relative paths are relative to dagctl.yaml)
 *   4. the managed venv for `airflow.version`,
 *      when `dagctl python setup` already built it (source `managed`)
 *   5. `python3` on PATH                         (source `default`)
 * Nothing here builds a venv: that is `dagctl python setup`'s job, so validate never starts a pip install.
 */
export type PythonSource = 'flag' | 'env' | 'config' | 'managed' | 'default'

export interface PythonChoice {
  python: string
  source: PythonSource
  /** for people: `--python`, `DAGCTL_PYTHON`, `dagctl.yaml (python)`, `managed Airflow 3 venv`, `python3 on PATH` */
  from: string
}

export interface ResolvePythonOptions {
  flag?: string
  /** `python` of the resolved dagctl.yaml (loadConfig already folds DAGCTL_PYTHON into it) */
  configPython?: string
  /** where configPython came from (ResolvedConfig.sources.python), to tell env from file */
  configSource?: string
  /** the folder of dagctl.yaml, for a relative `python:` path */
  configRoot?: string
  /** `airflow.version` of the config; default 3 */
  airflowVersion?: AirflowMajor
  env?: NodeJS.ProcessEnv
}

export function resolvePython(options: ResolvePythonOptions = {}): PythonChoice {
  const env = options.env ?? process.env
  if (options.flag) return {python: options.flag, source: 'flag', from: '--python'}
  if (env.DAGCTL_PYTHON) return {python: env.DAGCTL_PYTHON, source: 'env', from: 'DAGCTL_PYTHON'}
  if (options.configPython) {
    const fromEnv = options.configSource?.startsWith('env') ?? false
    const value = !fromEnv && options.configRoot && isRelativePath(options.configPython) ? path.resolve(options.configRoot, options.configPython) : options.configPython
    return fromEnv ? {python: value, source: 'env', from: 'DAGCTL_PYTHON'} : {python: value, source: 'config', from: 'dagctl.yaml (python)'}
  }
  const version = options.airflowVersion ?? 3
  const managed = findAirflowEnv(version, env)
  if (managed) return {python: managed.python, source: 'managed', from: `managed Airflow ${version} venv`}
  return {python: 'python3', source: 'default', from: 'python3 on PATH'}
}

/** `venv/bin/python` and `./python` are paths relative to the config; `python3.11` is a name on PATH. */
function isRelativePath(value: string): boolean {
  return !path.isAbsolute(value) && value.includes('/')
}

/** What an interpreter has: read from package metadata, without importing Airflow (fast). */
export interface PythonProbe {
  /** false when the interpreter could not be run at all */
  ok: boolean
  error?: string
  executable?: string
  /** `3.11.7` */
  version?: string
  /** apache-airflow's version, when installed */
  airflow?: string
  /** apache-airflow-providers-* name (without the prefix) → version */
  providers: Record<string, string>
}

const PROBE_SCRIPT = `
import json, sys, platform
from importlib import metadata
out = {"executable": sys.executable, "version": platform.python_version(), "airflow": None, "providers": {}}
for dist in metadata.distributions():
    name = (dist.metadata.get("Name") or "").lower().replace("_", "-")
    if name == "apache-airflow":
        out["airflow"] = dist.version
    elif name.startswith("apache-airflow-providers-"):
        out["providers"][name[len("apache-airflow-providers-"):]] = dist.version
print(json.dumps(out))
`

/** Runs the interpreter once to learn its version, Airflow's and the providers'. */
export function probePython(python: string, timeoutMs = 60_000): Promise<PythonProbe> {
  return new Promise((resolve) => {
    execFile(python, ['-c', PROBE_SCRIPT], {timeout: timeoutMs, maxBuffer: 4 << 20}, (error, stdout, stderr) => {
      if (error) {
        const code = (error as NodeJS.ErrnoException).code
        const reason = code === 'ENOENT' ? 'not found' : code === 'EACCES' ? 'not executable' : (stderr.trim().split('\n').at(-1) ?? error.message)
        resolve({ok: false, error: `${python}: ${reason}`, providers: {}})
        return
      }
      try {
        const parsed = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as {executable: string; version: string; airflow: string | null; providers: Record<string, string>}
        const providers = Object.fromEntries(Object.entries(parsed.providers).sort(([a], [b]) => a.localeCompare(b)))
        resolve({ok: true, executable: parsed.executable, version: parsed.version, airflow: parsed.airflow ?? undefined, providers})
      } catch {
        resolve({ok: false, error: `${python}: did not answer like a Python interpreter`, providers: {}})
      }
    })
  })
}

export function airflowMajor(version: string | undefined): AirflowMajor | undefined {
  const major = Number(version?.split('.')[0])
  return major === 2 || major === 3 ? major : undefined
}

/** The settings of dagctl.yaml that choose a python, when there is a dagctl.yaml (none is fine here). */
export interface PythonSettings {
  configPython?: string
  configSource?: string
  configRoot?: string
  airflowVersion: AirflowMajor
  engine?: 'auto' | 'ast' | 'airflow'
}

export function pythonSettings(config: {root: string; config: {python?: string; airflow: {version: AirflowMajor}; validate: {engine: 'auto' | 'ast' | 'airflow'}}; sources: Record<string, string>} | undefined): PythonSettings {
  if (!config) return {airflowVersion: 3}
  return {
    configPython: config.config.python,
    configSource: config.sources.python,
    configRoot: config.root,
    airflowVersion: config.config.airflow.version,
    engine: config.config.validate.engine,
  }
}

/** dagctl.yaml is optional for `python setup` and `doctor`: a missing one means defaults, a broken one is still an error. */
export function optionalConfig<T>(load: () => T): T | undefined {
  try {
    return load()
  } catch (error) {
    if (error instanceof ConfigError && error.code === 'CONFIG_MISSING') return undefined
    throw error
  }
}
