import {PolicyError} from '../errors.js'
import {globMatch} from './glob.js'

/** `trigger.allow` from dagctl.yaml, or the package's own DAGs (`<package>_*`). */
export function allowPatterns(config: {package: string; trigger: {allow?: string[]}}): string[] {
  return config.trigger.allow ?? [`${config.package}_*`]
}

/** Refuses (exit 5) before any request is made: a DAG outside the allowlist is never contacted. */
export function assertAllowed(dagId: string, patterns: string[]): void {
  if (patterns.some((p) => globMatch(p, dagId))) return
  throw new PolicyError(`DAG ${dagId} is not on this package's trigger allowlist (${patterns.join(', ')})`, {
    code: 'NOT_ALLOWED',
    key: 'trigger.allow',
    hint: 'Only DAGs matching trigger.allow in dagctl.yaml may be triggered (default: the package\'s own <package>_*). Add a pattern there if this DAG should be allowed.',
  })
}
