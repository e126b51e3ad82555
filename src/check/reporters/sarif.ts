import {RULES, RULES_DOC_URL, ruleHelpUri} from '../rules.js'
import type {Severity, ValidationReport} from '../types.js'

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = {error: 'error', warning: 'warning', info: 'note'}

export interface SarifOptions {
  toolVersion?: string
  /** where docs/rules.md is published; rule anchors are appended */
  rulesDocUrl?: string
  /** the package's folder relative to the repository root (`packages/team_a/`), for result paths */
  pathPrefix?: string
}

/**
 * SARIF 2.1.0 for GitHub code scanning: the tool's rules with their metadata and helpUri into
 * docs/rules.md, one result per finding located relative to the repository root (%SRCROOT%).
 */
export function renderSarif(report: ValidationReport, options: SarifOptions = {}): string {
  const base = options.rulesDocUrl ?? RULES_DOC_URL
  const known = new Set(RULES.map((r) => r.name))
  const extra = [...new Set(report.findings.map((f) => f.rule).filter((r) => !known.has(r)))]
  const rules = [
    ...RULES.map((r) => ({
      id: r.name,
      name: r.name,
      shortDescription: {text: r.summary},
      helpUri: ruleHelpUri(r.name, base),
      help: {text: `See ${ruleHelpUri(r.name, base)}`},
      defaultConfiguration: {level: LEVEL[r.severity]},
    })),
    // rules an engine added (the airflow engine may report its own) still get an entry
    ...extra.map((id) => ({id, name: id, shortDescription: {text: id}, helpUri: ruleHelpUri(id, base)})),
  ]
  const index = new Map(rules.map((r, i) => [r.id, i]))
  const results = report.findings.map((f) => ({
    ruleId: f.rule,
    ruleIndex: index.get(f.rule),
    level: LEVEL[f.severity],
    message: {text: f.hint ? `${f.message}. ${f.hint}` : f.message},
    locations: [
      {
        physicalLocation: {
          artifactLocation: {uri: encodeURI((options.pathPrefix ?? '') + f.file), uriBaseId: '%SRCROOT%'},
          ...(f.line > 0 ? {region: {startLine: f.line, ...(f.column > 0 ? {startColumn: f.column} : {})}} : {}),
        },
      },
    ],
  }))
  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {driver: {name: 'dagctl', informationUri: base, ...(options.toolVersion ? {version: options.toolVersion} : {}), rules}},
        automationDetails: {id: `dagctl-validate/${report.engine}/`},
        results,
      },
    ],
  }
  return `${JSON.stringify(sarif, null, 2)}\n`
}
