import path from 'node:path'

import {collectPythonFiles} from './files.js'
import {DEFAULT_PYTHON, PythonBridge} from './python-bridge.js'
import {chooseParsingPython} from './python-target.js'
import {helperOptions} from './invocation.js'
import type {DagInfo, EngineName, Finding, InlineIgnore, RuleOverride, RuleSetting, Severity, ValidateOptions, ValidationReport, ValidationSummary} from './types.js'
import {cacheDir} from '../python/venv.js'

export type {DagInfo, EngineChoice, EngineName, Finding, InlineIgnore, ParsingPython, RuleOverride, RuleSetting, Severity, Suppressions, ValidateOptions, ValidationReport, ValidationSummary} from './types.js'
export {collectPythonFiles, repositoryPrefix, type CollectOptions} from './files.js'
export {PythonBridge, DEFAULT_PYTHON, PYTHON_DIR, type StartedCall} from './python-bridge.js'
export {RULES, RULES_DOC_URL, ruleHelpUri, ruleInfo, type RuleInfo} from './rules.js'

/** The helper's answer (python/dagctl_validate/protocol.py), snake_case on the wire. */
interface EngineResponse {
  engine: EngineName
  dags: Array<{dag_id: string; file: string; line: number; tasks?: number}>
  findings: Array<{file: string; line: number; column: number; rule: string; severity: Severity; message: string; hint?: string | null}>
  files?: Array<{file: string; seconds?: number; cached?: boolean}>
  /** each `# dagctl: ignore[...]` comment, with the findings it silenced */
  ignores?: InlineIgnore[]
  python?: {version: string; executable: string}
  /** with `records: true` in the request */
  records?: Record<string, FileRecord>
}

const SEVERITY_ORDER: Record<Severity, number> = {error: 0, warning: 1, info: 2}

/**
 * Validates DAG files through one Python process: the core of `dagctl validate`, also called by
 * `publish` before it uploads. Files may be files or folders (searched for *.py), absolute or
 * relative to `root`; finding paths are relative to `root`. Never throws for findings: the caller
 * decides (the command exits 1 when `summary.errors > 0`). Throws UsageError (exit 2) when the
 * interpreter is missing or the airflow engine is unavailable.
 */
export async function validateDags(options: ValidateOptions, deps: {bridge?: PythonBridge} = {}): Promise<ValidationReport> {
  // the interpreter starts (and imports the engine) while the files are collected
  const pending = startValidation(options, deps)
  const root = path.resolve(options.root)
  let files: string[]
  try {
    files = collectPythonFiles(options.files, root, {ignoreSyntax: options.airflowVersion >= 3 ? 'glob' : 'regexp'})
  } catch (error) {
    await pending.cancel()
    throw error
  }
  return (await pending.run(files)).report
}

/** What a run of the ast engine knows of one file that a later run may reuse (see src/check/reuse.ts). */
export interface FileRecord {
  /** [dag id, line, column] of each DAG the file defines */
  dags: Array<[string, number, number]>
  /** its `# dagctl: ignore[...]` comments: line -> rules */
  ignores?: Record<string, string[]>
}

/** The helper's part of the validation fingerprint (python/dagctl_validate/protocol.py fingerprint()). */
export interface HelperFingerprint {
  python: string
  /** the engine `auto` resolves to */
  engine: EngineName
  /** hash of the ast engine's code */
  engine_code: string
  /** the package's own module names, comma-separated (own-module-import) */
  own_modules: string
}

export interface PendingValidation {
  /** with `fingerprint: true`: the helper's fingerprint, before any file is sent (undefined when it gave none) */
  fingerprint(): Promise<HelperFingerprint | undefined>
  /**
   * Validates `files` (absolute, already collected). `known`: files validated before and not sent
   * again, by path relative to root, which the cross-file rule (duplicate-dag-id) still sees.
   * `records`: also return each validated file's FileRecord.
   */
  run(files: string[], extra?: {known?: Record<string, FileRecord>; records?: boolean}): Promise<{report: ValidationReport; records?: Record<string, FileRecord>}>
  /** nothing to validate after all: the helper ends without parsing anything */
  cancel(): Promise<void>
}

/**
 * Starts the validation helper before the files are known, so that Python's start and imports
 * overlap with the caller's own work (collecting files, reading the store). The interpreter is
 * spawned at once unless validate.python needs a version probe first.
 */
export function startValidation(options: Omit<ValidateOptions, 'files'>, deps: {bridge?: PythonBridge; fingerprint?: boolean} = {}): PendingValidation {
  const root = path.resolve(options.root)
  const request = {
    engine: options.engine,
    root,
    package: options.packageName,
    ...(options.dagsFolder ? {dags_folder: path.resolve(options.dagsFolder)} : {}),
    airflow_version: options.airflowVersion,
    // One rule for where dagctl caches (src/python/venv.ts); each engine gets its own folder in it.
    options: {
      ...options.engineOptions,
      cache: options.cache ?? true,
      ast_cache_dir: path.join(options.cacheDir ?? cacheDir(), 'validate-ast'),
      cache_dir: path.join(options.cacheDir ?? cacheDir(), 'airflow-engine'),
    },
  }
  const open = (bridge: PythonBridge) => bridge.start<EngineResponse>('dagctl_validate', {...helperOptions(options), ...(deps.fingerprint ? {prelude: request} : {})})
  // validate.python: the files are parsed by the Python version that will run them
  const started = deps.bridge
    ? Promise.resolve(open(deps.bridge))
    : options.pythonTarget
      ? chooseParsingPython({python: options.python ?? DEFAULT_PYTHON, source: options.pythonSource, from: options.pythonFrom, target: options.pythonTarget}).then((python) => open(new PythonBridge(python)))
      : Promise.resolve(open(new PythonBridge(options.python ?? DEFAULT_PYTHON)))
  started.catch(() => {})
  return {
    fingerprint: async () => (deps.fingerprint ? ((await (await started).hello()) as HelperFingerprint | undefined) : undefined),
    run: async (files, extra = {}) => {
      const call = await started
      const response = await call.send(
        deps.fingerprint
          ? {files, ...(extra.known ? {known: extra.known} : {}), ...(extra.records ? {records: true} : {})}
          : {...request, files, ...(extra.known ? {known: extra.known} : {}), ...(extra.records ? {records: true} : {})},
      )
      return {report: toReport(response, files.length, options), ...(response.records ? {records: response.records} : {})}
    },
    cancel: async () => {
      try {
        await (await started).close()
      } catch {
        // a helper that never started has nothing to end
      }
    },
  }
}

/**
 * The wire answer as the ValidationReport of types.ts, sorted by file, line, column, with
 * `validate.rules` applied (a rule off removes its findings, a severity replaces theirs) and every
 * use of a rule setting or an inline ignore listed in `suppressions`.
 */
export function toReport(response: EngineResponse, fileCount: number, settings: Pick<ValidateOptions, 'rules' | 'ruleSources' | 'pythonTarget'> = {}): ValidationReport {
  const dags: DagInfo[] = response.dags.map((d) => ({dagId: d.dag_id, file: d.file, line: d.line, ...(d.tasks === undefined ? {} : {tasks: d.tasks})}))
  dags.sort((a, b) => compare(a.file, b.file) || a.line - b.line)
  const rules = settings.rules ?? {}
  const touched: Record<string, number> = {}
  const configured = (f: EngineResponse['findings'][number]): RuleSetting | undefined => {
    const setting = rules[f.rule]
    if (setting === undefined || setting === f.severity) return undefined
    touched[f.rule] = (touched[f.rule] ?? 0) + 1
    return setting
  }
  const findings: Finding[] = response.findings.flatMap((f) => {
    const setting = configured(f)
    if (setting === 'off') return []
    return [{...f, severity: setting ?? f.severity}]
  }).map((f) => ({
    file: f.file,
    line: f.line,
    column: f.column,
    rule: f.rule,
    severity: f.severity,
    message: f.message,
    ...(f.hint ? {hint: f.hint} : {}),
  }))
  findings.sort((a, b) => compare(a.file, b.file) || a.line - b.line || a.column - b.column || SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || compare(a.rule, b.rule))
  const summary: ValidationSummary = {
    files: fileCount,
    dags: dags.length,
    errors: findings.filter((f) => f.severity === 'error').length,
    warnings: findings.filter((f) => f.severity === 'warning').length,
    infos: findings.filter((f) => f.severity === 'info').length,
  }
  const config: RuleOverride[] = Object.entries(rules)
    .filter((e): e is [string, RuleSetting] => e[1] !== undefined)
    .map(([rule, setting]) => ({rule, setting, source: settings.ruleSources?.[rule] ?? 'dagctl.yaml', findings: touched[rule] ?? 0}))
    .sort((a, b) => compare(a.rule, b.rule))
  return {
    engine: response.engine,
    dags,
    findings,
    summary,
    ...(response.files ? {files: response.files} : {}),
    ...(response.python ? {python: {...response.python, ...(settings.pythonTarget ? {target: settings.pythonTarget} : {})}} : {}),
    suppressions: {config, inline: response.ignores ?? []},
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
