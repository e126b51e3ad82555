/**
 * The names of every rule a validate finding can carry: the ast engine's (RULES in rules.ts,
 * mirrored by python/dagctl_validate/rules.py) and the Airflow engine's. dagctl.yaml's
 * `validate.rules` accepts exactly these; no dependency on anything else, so the config schema can
 * import it.
 */
export const AST_RULE_NAMES = [
  'syntax-error',
  'dag-id-prefix',
  'duplicate-dag-id',
  'missing-dag-id',
  'own-module-import',
  'top-level-code',
  'missing-schedule',
  'airflow3-removed-import',
  'airflow3-removed-argument',
  'dynamic-dag-id',
  'dag-factory-call',
] as const

/** Findings only the Airflow engine gives (docs/python-environments.md#findings). */
export const AIRFLOW_ENGINE_RULE_NAMES = ['import-error', 'import-timeout', 'import-crash', 'dag-cycle', 'airflow-safe-mode-skip'] as const

export const CONFIGURABLE_RULES = [...AST_RULE_NAMES, ...AIRFLOW_ENGINE_RULE_NAMES] as const

export type RuleName = (typeof CONFIGURABLE_RULES)[number]
