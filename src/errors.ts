/**
 * Exit codes are a documented contract (docs/exit-codes.md).
 * Every failure dagctl reports is a DagctlError carrying one of these.
 */
export const ExitCode = {
  OK: 0,
  /** the thing checked failed: validation errors, a failed DAG run, fsck found damage */
  CHECK_FAILED: 1,
  /** bad usage or bad configuration */
  USAGE: 2,
  /** conflict: another publish won the race, an id already taken */
  CONFLICT: 3,
  /** a remote (S3, Airflow, a wrapped tool) failed or was unreachable after retries */
  REMOTE: 4,
  /** refused by policy: allowlist, outside the package, guardrail */
  POLICY: 5,
  /** --wait or --timeout ran out */
  TIMEOUT: 124,
} as const

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

/** Where in a user's file the fault is. Line and column are 1-based. */
export interface SourceLocation {
  file?: string
  line?: number
  column?: number
  /** dotted key path inside the file, e.g. `tasks.extract.depends_on[0]` */
  key?: string
}

export interface DagctlErrorOptions extends SourceLocation {
  /** what to do about it: a sentence, usually with the command to run */
  hint?: string
  /** stable machine-readable code, e.g. `CONFIG_INVALID` */
  code?: string
  cause?: unknown
  /** extra structured data for --json output (never secrets) */
  details?: Record<string, unknown>
}

export class DagctlError extends Error {
  readonly exitCode: ExitCodeValue
  readonly hint?: string
  readonly code: string
  readonly location: SourceLocation
  readonly details?: Record<string, unknown>

  constructor(message: string, exitCode: ExitCodeValue, options: DagctlErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = new.target.name
    this.exitCode = exitCode
    this.hint = options.hint
    this.code = options.code ?? 'DAGCTL_ERROR'
    this.location = {file: options.file, line: options.line, column: options.column, key: options.key}
    this.details = options.details
  }

  /** The stable JSON shape of an error under --json. */
  toJSON(): Record<string, unknown> {
    const loc = Object.fromEntries(Object.entries(this.location).filter(([, v]) => v !== undefined))
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      exitCode: this.exitCode,
      ...(this.hint ? {hint: this.hint} : {}),
      ...(Object.keys(loc).length > 0 ? {location: loc} : {}),
      ...(this.details ? {details: this.details} : {}),
    }
  }
}

/** Bad usage or configuration: exit 2. */
export class UsageError extends DagctlError {
  constructor(message: string, options: DagctlErrorOptions = {}) {
    super(message, ExitCode.USAGE, {code: 'USAGE', ...options})
  }
}

/** Invalid dagctl.yaml or spec: exit 2, always with the file and, when known, line and key. */
export class ConfigError extends DagctlError {
  constructor(message: string, options: DagctlErrorOptions = {}) {
    super(message, ExitCode.USAGE, {code: 'CONFIG_INVALID', ...options})
  }
}

/** The thing checked failed: exit 1. */
export class CheckFailedError extends DagctlError {
  constructor(message: string, options: DagctlErrorOptions = {}) {
    super(message, ExitCode.CHECK_FAILED, {code: 'CHECK_FAILED', ...options})
  }
}

/** Lost a race or an id is taken: exit 3. */
export class ConflictError extends DagctlError {
  constructor(message: string, options: DagctlErrorOptions = {}) {
    super(message, ExitCode.CONFLICT, {code: 'CONFLICT', ...options})
  }
}

/** A remote failed after retries: exit 4. */
export class RemoteError extends DagctlError {
  constructor(message: string, options: DagctlErrorOptions = {}) {
    super(message, ExitCode.REMOTE, {code: 'REMOTE', ...options})
  }
}

/** Refused by policy: exit 5. */
export class PolicyError extends DagctlError {
  constructor(message: string, options: DagctlErrorOptions = {}) {
    super(message, ExitCode.POLICY, {code: 'POLICY', ...options})
  }
}

/** A wait or timeout ran out: exit 124. */
export class TimeoutError extends DagctlError {
  constructor(message: string, options: DagctlErrorOptions = {}) {
    super(message, ExitCode.TIMEOUT, {code: 'TIMEOUT', ...options})
  }
}

export function isDagctlError(err: unknown): err is DagctlError {
  return err instanceof DagctlError
}
