import {createHash} from 'node:crypto'

import type {Severity, ValidationReport} from '../types.js'

/** One issue of GitLab's code quality report (a subset of the Code Climate format). */
export interface CodeQualityIssue {
  description: string
  check_name: string
  fingerprint: string
  severity: 'info' | 'minor' | 'major' | 'critical' | 'blocker'
  location: {path: string; lines: {begin: number}}
}

const SEVERITY: Record<Severity, CodeQualityIssue['severity']> = {error: 'critical', warning: 'minor', info: 'info'}

/**
 * GitLab code quality JSON (`artifacts:reports:codequality`). Paths are relative to the repository
 * (`pathPrefix`: where the package sits in it), as GitLab maps them onto merge request diffs. The
 * fingerprint leaves the line out, so an issue keeps its identity when code above it moves;
 * repeats in one file are numbered.
 */
export function renderCodeQuality(report: ValidationReport, options: {pathPrefix?: string} = {}): string {
  const prefix = options.pathPrefix ?? ''
  const seen = new Map<string, number>()
  const issues: CodeQualityIssue[] = report.findings.map((f) => {
    const key = `${f.rule}\u0000${f.file}\u0000${f.message}`
    const n = (seen.get(key) ?? 0) + 1
    seen.set(key, n)
    return {
      description: `${f.message}${f.hint ? ` (${f.hint})` : ''}`,
      check_name: f.rule,
      fingerprint: createHash('sha256').update(`${key}\u0000${n}`).digest('hex'),
      severity: SEVERITY[f.severity],
      location: {path: prefix + f.file, lines: {begin: Math.max(f.line, 1)}},
    }
  })
  return `${JSON.stringify(issues, null, 2)}\n`
}
