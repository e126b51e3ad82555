"""What Airflow 3 removed or moved: DAG arguments and import paths (airflow3-* rules)."""

from .rules import finding

# DAG arguments Airflow 3 no longer accepts: name -> what to use instead.
AIRFLOW3_REMOVED_DAG_ARGS = {
    "schedule_interval": "pass the same value as `schedule=`",
    "timetable": "pass the timetable as `schedule=`",
    "sla_miss_callback": "remove it: SLAs were removed in Airflow 3 (deadline alerts replace them in 3.1)",
    "fail_stop": "use `fail_fast=`",
    "concurrency": "use `max_active_tasks=`",
}


# Airflow 3 import paths (ruff AIR301/AIR302/AIR312). module -> {name or "*": (kind, replacement)}
# kind "removed": the import fails on Airflow 3; "moved": still importable through a deprecated
# alias that a later 3.x drops. replacement: a dotted name, or a sentence starting with "!".
# Checked against Airflow 3.3.2: every "removed" entry fails to import there, every "moved" one works.
_STD = "airflow.providers.standard"


def _same(names, module, kind="removed"):
    return {n: (kind, f"{module}.{n}") for n in names}


_PY_OPS = ("PythonOperator", "BranchPythonOperator", "PythonVirtualenvOperator", "ShortCircuitOperator")
_EMPTY = ("removed", f"{_STD}.operators.empty.EmptyOperator")
_SQL = {"*": ("removed", "airflow.providers.common.sql.operators.sql.SQLExecuteQueryOperator")}
AIRFLOW3_IMPORTS = {
    "airflow.operators.bash_operator": _same(["BashOperator"], f"{_STD}.operators.bash"),
    "airflow.operators.python_operator": _same(_PY_OPS, f"{_STD}.operators.python"),
    "airflow.operators.dummy": {"DummyOperator": _EMPTY, "EmptyOperator": _EMPTY, "*": _EMPTY},
    "airflow.operators.dummy_operator": {"DummyOperator": _EMPTY, "EmptyOperator": _EMPTY, "*": _EMPTY},
    "airflow.operators.email_operator": _same(["EmailOperator"], "airflow.providers.smtp.operators.smtp"),
    "airflow.operators.dagrun_operator": _same(["TriggerDagRunOperator", "TriggerDagRunLink"], f"{_STD}.operators.trigger_dagrun"),
    "airflow.operators.latest_only_operator": _same(["LatestOnlyOperator"], f"{_STD}.operators.latest_only"),
    "airflow.operators.branch_operator": _same(["BaseBranchOperator"], f"{_STD}.operators.branch"),
    "airflow.operators.http_operator": {"SimpleHttpOperator": ("removed", "airflow.providers.http.operators.http.HttpOperator")},
    "airflow.operators.docker_operator": _same(["DockerOperator"], "airflow.providers.docker.operators.docker"),
    "airflow.operators.hive_operator": _same(["HiveOperator"], "airflow.providers.apache.hive.operators.hive"),
    "airflow.operators.postgres_operator": _SQL,
    "airflow.operators.mysql_operator": _SQL,
    "airflow.operators.mssql_operator": _SQL,
    "airflow.operators.sqlite_operator": _SQL,
    "airflow.operators.oracle_operator": _SQL,
    "airflow.operators.jdbc_operator": _SQL,
    "airflow.sensors.base_sensor_operator": {"BaseSensorOperator": ("removed", "airflow.sdk.BaseSensorOperator")},
    "airflow.sensors.external_task_sensor": _same(["ExternalTaskSensor", "ExternalTaskMarker"], f"{_STD}.sensors.external_task"),
    "airflow.sensors.date_time_sensor": _same(["DateTimeSensor"], f"{_STD}.sensors.date_time"),
    "airflow.sensors.time_delta_sensor": _same(["TimeDeltaSensor"], f"{_STD}.sensors.time_delta"),
    "airflow.sensors.s3_key_sensor": _same(["S3KeySensor"], "airflow.providers.amazon.aws.sensors.s3"),
    "airflow.sensors.http_sensor": _same(["HttpSensor"], "airflow.providers.http.sensors.http"),
    "airflow.sensors.sql_sensor": _same(["SqlSensor"], "airflow.providers.common.sql.sensors.sql"),
    "airflow.hooks.base_hook": {"BaseHook": ("removed", "airflow.sdk.BaseHook")},
    "airflow.hooks.S3_hook": _same(["S3Hook"], "airflow.providers.amazon.aws.hooks.s3"),
    "airflow.hooks.http_hook": _same(["HttpHook"], "airflow.providers.http.hooks.http"),
    "airflow.utils.dates": {
        "days_ago": ("removed", "!use a fixed start_date such as `pendulum.datetime(2024, 1, 1, tz=\"UTC\")`"),
        **{n: ("removed", "!use `datetime`/`pendulum` directly") for n in ("date_range", "parse_execution_date", "round_time", "scale_time_units", "infer_time_unit")},
    },
    "airflow.utils.helpers": _same(["chain", "cross_downstream"], "airflow.sdk"),
    "airflow.models.baseoperator": _same(["chain", "chain_linear", "cross_downstream"], "airflow.sdk", "moved"),
    "airflow.utils.decorators": {"apply_defaults": ("removed", "!remove it: defaults are always applied now")},
    "airflow.utils.dag_parsing_context": _same(["get_parsing_context"], "airflow.sdk"),
    "airflow.datasets": {
        "Dataset": ("removed", "airflow.sdk.Asset"),
        "DatasetAlias": ("removed", "airflow.sdk.AssetAlias"),
        "DatasetAll": ("removed", "airflow.sdk.AssetAll"),
        "DatasetAny": ("removed", "airflow.sdk.AssetAny"),
    },
    "airflow": {"Dataset": ("moved", "airflow.sdk.Asset")},
    # Still importable on Airflow 3.0 through deprecated aliases (ruff AIR312).
    "airflow.operators.bash": _same(["BashOperator"], f"{_STD}.operators.bash", "moved"),
    "airflow.operators.python": {
        **_same(_PY_OPS + ("ExternalPythonOperator", "BranchExternalPythonOperator"), f"{_STD}.operators.python", "moved"),
        "get_current_context": ("moved", "airflow.sdk.get_current_context"),
    },
    "airflow.operators.empty": _same(["EmptyOperator"], f"{_STD}.operators.empty", "moved"),
    "airflow.operators.trigger_dagrun": _same(["TriggerDagRunOperator"], f"{_STD}.operators.trigger_dagrun", "moved"),
    "airflow.operators.latest_only": _same(["LatestOnlyOperator"], f"{_STD}.operators.latest_only", "moved"),
    "airflow.operators.datetime": _same(["BranchDateTimeOperator"], f"{_STD}.operators.datetime", "moved"),
    "airflow.operators.weekday": _same(["BranchDayOfWeekOperator"], f"{_STD}.operators.weekday", "moved"),
    "airflow.sensors.external_task": _same(["ExternalTaskSensor", "ExternalTaskMarker"], f"{_STD}.sensors.external_task", "moved"),
    "airflow.sensors.date_time": _same(["DateTimeSensor", "DateTimeSensorAsync"], f"{_STD}.sensors.date_time", "moved"),
    "airflow.sensors.time_delta": _same(["TimeDeltaSensor", "TimeDeltaSensorAsync"], f"{_STD}.sensors.time_delta", "moved"),
    "airflow.sensors.time_sensor": {
        "TimeSensor": ("moved", f"{_STD}.sensors.time.TimeSensor"),
        "TimeSensorAsync": ("moved", f"{_STD}.sensors.time.TimeSensorAsync"),
    },
    "airflow.sensors.filesystem": _same(["FileSensor"], f"{_STD}.sensors.filesystem", "moved"),
    "airflow.sensors.weekday": _same(["DayOfWeekSensor"], f"{_STD}.sensors.weekday", "moved"),
    "airflow.hooks.subprocess": _same(["SubprocessHook"], f"{_STD}.hooks.subprocess", "moved"),
    "airflow.hooks.filesystem": _same(["FSHook"], f"{_STD}.hooks.filesystem", "moved"),
}
# Whole packages: prefix -> (kind, replacement)
AIRFLOW3_PACKAGES = (
    ("airflow.contrib.operators.kubernetes_pod_operator", ("removed", "airflow.providers.cncf.kubernetes.operators.pod.KubernetesPodOperator")),
    ("airflow.contrib", ("removed", "!`airflow.contrib` is gone: import the operator from its provider package (`airflow.providers.<provider>...`)")),
    ("airflow.operators.subdag", ("removed", "!SubDAGs are gone: group tasks with `airflow.sdk.TaskGroup`")),
    ("airflow.kubernetes", ("removed", "!use `airflow.providers.cncf.kubernetes` (apache-airflow-providers-cncf-kubernetes)")),
)


# second segments of the module paths above: everything else (airflow.sdk, airflow.providers...) is fine
_AIRFLOW3_AREAS = {m.split(".")[1] for m in AIRFLOW3_IMPORTS if "." in m} | {p.split(".")[1] for p, _ in AIRFLOW3_PACKAGES}


def airflow3_import(module, name):
    """(kind, replacement) when `from module import name` breaks or is deprecated on Airflow 3."""
    parts = module.split(".", 2)
    if parts[0] != "airflow" or (len(parts) > 1 and parts[1] not in _AIRFLOW3_AREAS):
        return None
    table = AIRFLOW3_IMPORTS.get(module)
    if table is not None:
        hit = table.get(name) or table.get("*")
        if hit:
            return hit
    full = f"{module}.{name}" if name else module
    for prefix, hit in AIRFLOW3_PACKAGES:
        if full == prefix or full.startswith(prefix + "."):
            return hit
    if name and full in AIRFLOW3_IMPORTS:  # `from airflow.operators import bash_operator`
        return next(iter(AIRFLOW3_IMPORTS[full].values()))
    return None


def replacement_hint(replacement):
    if replacement.startswith("!"):
        return replacement[1].upper() + replacement[2:] + "."
    module, _, name = replacement.rpartition(".")
    text = f"Use `from {module} import {name}`"
    parts = module.split(".")
    if len(parts) > 2 and parts[1] == "providers":
        provider = "-".join(parts[2:4]) if parts[2] in ("apache", "cncf", "common") else parts[2]
        text += f" (package apache-airflow-providers-{provider})"
    return text + "."


def import_finding(rel, node, old, hit):
    kind, replacement = hit
    if kind == "moved":
        message = f"`{old}` is a deprecated alias on Airflow 3 (moved to a provider) and goes away in a later 3.x"
    else:
        message = f"`{old}` was removed in Airflow 3: importing it fails"
    return finding(rel, node.lineno, node.col_offset + 1, "airflow3-removed-import", message, replacement_hint(replacement))
