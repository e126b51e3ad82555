"""The rule catalogue of the ast engine and the shape of one finding."""

# name -> severity. docs/rules.md describes each; src/check/rules.ts mirrors this table.
RULES = {
    "syntax-error": "error",
    "dag-id-prefix": "error",
    "duplicate-dag-id": "error",
    "missing-dag-id": "error",
    "own-module-import": "error",
    "top-level-code": "warning",
    "missing-schedule": "warning",
    "airflow3-removed-import": "warning",
    "airflow3-removed-argument": "warning",
    "dynamic-dag-id": "info",
    "dag-factory-call": "info",
}


def finding(file, line, column, rule, message, hint=None):
    return {
        "file": file,
        "line": line,
        "column": column,
        "rule": rule,
        "severity": RULES[rule],
        "message": message,
        "hint": hint,
    }
