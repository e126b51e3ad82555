import type {Severity} from './types.js'

/**
 * The rules of `validate`, by their stable names. python/dagctl_validate/ emits them (the RULES of its rules.py
 * table must list the same names and severities: a unit test compares the two); docs/rules.md
 * explains each with an example and the fix. SARIF output carries this metadata.
 */
export interface RuleInfo {
  name: string
  severity: Severity
  summary: string
}

export const RULES: readonly RuleInfo[] = [
  {name: 'syntax-error', severity: 'error', summary: 'The file is not valid Python; Airflow reports it as an import error.'},
  {name: 'dag-id-prefix', severity: 'error', summary: "A DAG id outside the package: every id must start with '<package>_'."},
  {name: 'duplicate-dag-id', severity: 'error', summary: 'Two files define the same DAG id; Airflow keeps one and fails the other.'},
  {name: 'missing-dag-id', severity: 'error', summary: 'DAG(...) without a dag_id.'},
  {name: 'own-module-import', severity: 'error', summary: "A bare import of one of the package's own modules (`import helpers`): in Airflow it is `<package>.helpers`."},
  {name: 'top-level-code', severity: 'warning', summary: 'Variables, connections, network calls or clock reads at import time slow and destabilise DAG parsing.'},
  {name: 'missing-schedule', severity: 'warning', summary: 'A DAG without schedule/schedule_interval/timetable silently gets the default of its Airflow version.'},
  {name: 'airflow3-removed-import', severity: 'warning', summary: 'An import path that Airflow 3 removed or moved to a provider package.'},
  {name: 'airflow3-removed-argument', severity: 'warning', summary: "A DAG argument Airflow 3 no longer accepts (schedule_interval, timetable, ...)."},
  {name: 'dynamic-dag-id', severity: 'info', summary: 'A DAG id computed at run time that the ast engine cannot check.'},
  {name: 'dag-factory-call', severity: 'info', summary: 'No DAG recognised, but a call that may build one (a DAG factory or wrapper): only --engine airflow sees its DAGs.'},
]

/** Where docs/rules.md is published; each rule is an anchor (`#dag-id-prefix`). */
export const RULES_DOC_URL = 'https://github.com/dagctl/dagctl/blob/main/docs/rules.md'

export function ruleHelpUri(rule: string, base = RULES_DOC_URL): string {
  return `${base}#${rule}`
}

export function ruleInfo(name: string): RuleInfo | undefined {
  return RULES.find((r) => r.name === name)
}
