#!/usr/bin/env python3
"""dagctl validate: checks Airflow DAG files without importing them (the ast engine).

Protocol (one process for all files; JSON in, JSON out):

  stdin   {"engine": "ast" | "airflow" | "auto",
           "root": "/abs/package/folder",          # finding paths are relative to it, with /
           "files": ["/abs/dags/a.py", ...],
           "package": "team_a",                    # DAG ids must start with "team_a_"
           "airflow_version": 2 | 3,               # the target Airflow (airflow3-* rules)
           "options": {...}}                       # engine options: cache (default true),
                                                   # ast_cache_dir, workers; airflow: file_timeout, ...

  stdout  {"engine": "ast" | "airflow",
           "dags": [{"dag_id", "file", "line", "tasks"?}],
           "findings": [{"file", "line", "column", "rule", "severity", "message", "hint"}],
           "files": [{"file", "seconds", "cached"}]?}
      or  {"error": {"code", "message", "hint"}}   # the caller exits 2 and shows the hint

  `python3 dagctl_validate.py --rules` prints the rule catalogue {name: severity}.

Results per file are cached by content hash in options.ast_cache_dir (dagctl sends
<its cache dir>/validate-ast), unless options.cache is false; without a folder nothing is cached.

The ast engine always runs first. With engine "airflow", or "auto" when Airflow is importable,
its result goes to dagctl_airflow_engine.run_airflow_engine(request, ast_result) (a module beside
this one), which returns the final response.

Speed matters (CI runs this on every push, over hundreds of files): each file is read once,
parsed once and walked once; everything after the walk works on the few nodes it collected.
"""
import ast
import gc
import json
import os
import sys

MIN_PYTHON = (3, 8)

# name -> severity. docs/rules.md describes each; src/check/rules.ts mirrors this table.
RULES = {
    "syntax-error": "error",
    "dag-id-prefix": "error",
    "duplicate-dag-id": "error",
    "missing-dag-id": "error",
    "top-level-code": "warning",
    "missing-schedule": "warning",
    "airflow3-removed-import": "warning",
    "airflow3-removed-argument": "warning",
    "dynamic-dag-id": "info",
}

DAG_CLASSES = {
    "airflow.DAG",
    "airflow.models.DAG",
    "airflow.models.dag.DAG",
    "airflow.sdk.DAG",
    "airflow.sdk.definitions.dag.DAG",
}
DAG_DECORATORS = {
    "airflow.decorators.dag",
    "airflow.models.dag.dag",
    "airflow.sdk.dag",
    "airflow.sdk.definitions.dag.dag",
}
# Airflow 3 assets: every @asset(...) / @asset.multi(...) function is a DAG of its own, with the
# asset's name (default: the function name) or, for multi, the function name as its id.
ASSET_DECORATORS = {"airflow.sdk.asset", "airflow.sdk.definitions.asset.decorators.asset"}
ASSET_MULTI_DECORATORS = {f"{q}.multi" for q in ASSET_DECORATORS}
SCHEDULE_ARGS = ("schedule", "schedule_interval", "timetable")

# DAG arguments Airflow 3 no longer accepts: name -> what to use instead.
AIRFLOW3_REMOVED_DAG_ARGS = {
    "schedule_interval": "pass the same value as `schedule=`",
    "timetable": "pass the timetable as `schedule=`",
    "sla_miss_callback": "remove it: SLAs were removed in Airflow 3 (deadline alerts replace them in 3.1)",
    "fail_stop": "use `fail_fast=`",
    "concurrency": "use `max_active_tasks=`",
}

# Calls that do I/O or read the clock when run at import time (module level).
NETWORK_CALLS = {
    "urllib.request.urlopen",
    "urllib.request.urlretrieve",
    "urllib.request.Request",
    "socket.create_connection",
    "socket.socket",
    "socket.gethostbyname",
    "socket.getaddrinfo",
    "http.client.HTTPConnection",
    "http.client.HTTPSConnection",
}
NETWORK_MODULE_METHODS = {
    "requests": {"get", "post", "put", "patch", "delete", "head", "options", "request"},
    "httpx": {"get", "post", "put", "patch", "delete", "head", "options", "request", "stream"},
}
CLOCK_CALLS = {
    "datetime.datetime.now",
    "datetime.datetime.utcnow",
    "datetime.datetime.today",
    "datetime.date.today",
    "pendulum.now",
    "pendulum.today",
    "pendulum.yesterday",
    "pendulum.tomorrow",
    "airflow.utils.timezone.utcnow",
}
CONNECTION_METHODS = {"get_connection", "get_connection_from_secrets", "get_connections"}

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

IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


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


class FileAnalysis:
    """Everything one walk of one file collects; the rules then run on these few nodes."""

    __slots__ = ("aliases", "star_airflow", "imports", "calls", "decorated", "assigns", "store_counts")

    def __init__(self):
        self.aliases = {}  # local name -> qualified name, from imports
        self.star_airflow = False
        self.imports = []  # (node, guarded by try/except ImportError)
        self.calls = []  # (Call, locals of enclosing functions or None, enclosing module-level For loops)
        self.decorated = []  # (FunctionDef, locals of enclosing functions)
        self.assigns = {}  # module-level NAME -> value expression (last one)
        self.store_counts = {}  # module-level name -> times bound


_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
_CHILD_FIELDS = {}


def walk(tree, acc):
    """One pre-order pass. Scope: None at module level, else the set of names local to the
    enclosing function(s) (filled as the walk goes on, read only after it ends)."""
    Call, Name, Store, Lambda, Import, ImportFrom = ast.Call, ast.Name, ast.Store, ast.Lambda, ast.Import, ast.ImportFrom
    Assign, Try, If, ClassDef, arg_t, For = ast.Assign, ast.Try, ast.If, ast.ClassDef, ast.arg, ast.For
    TryStar = getattr(ast, "TryStar", Try)
    Constant, keyword_t = ast.Constant, ast.keyword
    child_fields = _CHILD_FIELDS
    calls, imports, store_counts = acc.calls, acc.imports, acc.store_counts
    # stack items: (node, scope, guarded by `except ImportError`, enclosing module-level For loops)
    stack = [(tree, None, False, ())]
    pop, push = stack.pop, stack.append
    while stack:
        node, scope, guarded, loops = pop()
        t = type(node)
        if t is Constant:  # a default value, a lambda's body, a loop's iterable
            continue
        if t is Call:
            calls.append((node, scope, loops))
        elif t is Name:
            if type(node.ctx) is Store:
                if scope is None:
                    store_counts[node.id] = store_counts.get(node.id, 0) + 1
                else:
                    scope.add(node.id)
            continue
        elif t is Import or t is ImportFrom:
            imports.append((node, guarded))
            record_import(node, acc)
            continue
        elif t in _FUNCS:
            if scope is not None:
                scope.add(node.name)
            else:
                store_counts[node.name] = store_counts.get(node.name, 0) + 1
            inner = set() if scope is None else set(scope)
            if node.decorator_list:
                acc.decorated.append((node, scope))
            a = node.args
            for p in a.posonlyargs + a.args + a.kwonlyargs:
                inner.add(p.arg)
            if a.vararg:
                inner.add(a.vararg.arg)
            if a.kwarg:
                inner.add(a.kwarg.arg)
            # decorators and defaults run at import time; the body does not
            for child in reversed(node.body):
                push((child, inner, guarded, ()))
            for child in reversed(a.defaults + [d for d in a.kw_defaults if d is not None] + node.decorator_list):
                push((child, scope, guarded, loops))
            continue
        elif t is Lambda:
            inner = set() if scope is None else set(scope)
            inner.update(p.arg for p in node.args.args)
            push((node.body, inner, guarded, ()))
            continue
        elif t is Assign:
            if scope is None and len(node.targets) == 1 and type(node.targets[0]) is Name:
                acc.assigns[node.targets[0].id] = node.value
        elif t is Try or t is TryStar:
            if not guarded and any(catches_import_error(h.type) for h in node.handlers):
                guarded = True
        elif t is If and not guarded and is_type_checking(node.test):
            # imports only type checkers see are never executed: not an Airflow 3 break
            for child in node.body:
                push((child, scope, True, loops))
            for child in node.orelse:
                push((child, scope, guarded, loops))
            continue
        elif t is If and scope is None and is_main_guard(node.test):
            # `if __name__ == "__main__":` never runs when Airflow imports the file
            for child in reversed(node.body):
                push((child, set(), guarded, ()))
            for child in reversed(node.orelse):
                push((child, scope, guarded, loops))
            continue
        elif t is For and scope is None:
            # module-level loops over literal lists are how most "dynamic" DAG files look:
            # their bodies see the loop so that ids built from the loop variable resolve
            push((node.target, scope, guarded, loops))
            push((node.iter, scope, guarded, loops))
            inner_loops = loops + (node,)
            for child in reversed(node.orelse):
                push((child, scope, guarded, loops))
            for child in reversed(node.body):
                push((child, scope, guarded, inner_loops))
            continue
        elif t is ClassDef:
            if scope is None:
                store_counts[node.name] = store_counts.get(node.name, 0) + 1
        elif t is arg_t:
            continue
        # Generic children. The hot loop of the whole tool: constants, keyword wrappers, names and
        # expression contexts are most of a DAG file's nodes, so they are handled here, not pushed.
        fields = child_fields.get(t)
        if fields is None:
            fields = child_fields[t] = tuple(f for f in t._fields if f not in SCALAR_FIELDS)
        for field in fields:
            v = getattr(node, field, None)
            if type(v) is list:
                for x in v:
                    tx = type(x)
                    if tx is keyword_t:
                        x = x.value
                        tx = type(x)
                    if tx is Constant or x is None:
                        continue
                    if tx is Name:
                        if type(x.ctx) is Store:
                            if scope is None:
                                store_counts[x.id] = store_counts.get(x.id, 0) + 1
                            else:
                                scope.add(x.id)
                        continue
                    push((x, scope, guarded, loops))
            elif v is not None:
                tv = type(v)
                if tv is Constant:
                    continue
                if tv is Name:
                    if type(v.ctx) is Store:
                        if scope is None:
                            store_counts[v.id] = store_counts.get(v.id, 0) + 1
                        else:
                            scope.add(v.id)
                    continue
                push((v, scope, guarded, loops))


# fields that never hold a node worth visiting (names, flags, operators, expression contexts)
SCALAR_FIELDS = frozenset(
    ("ctx", "op", "ops", "id", "attr", "name", "asname", "module", "level", "arg", "kind", "conversion", "is_async", "type_comment", "simple", "names", "type_ignores", "tag", "rest", "kwd_attrs")
)


def catches_import_error(expr):
    if expr is None:  # bare except
        return True
    if type(expr) is ast.Tuple:
        return any(catches_import_error(e) for e in expr.elts)
    return type(expr) is ast.Name and expr.id in IMPORT_ERRORS


def is_type_checking(test):
    return (type(test) is ast.Name and test.id == "TYPE_CHECKING") or (type(test) is ast.Attribute and test.attr == "TYPE_CHECKING")


def is_main_guard(test):
    return (
        type(test) is ast.Compare
        and type(test.left) is ast.Name
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and type(test.comparators[0]) is ast.Constant
        and test.comparators[0].value == "__main__"
    )


def record_import(node, acc):
    aliases = acc.aliases
    if type(node) is ast.Import:
        for a in node.names:
            if a.asname:
                aliases[a.asname] = a.name
            else:
                top = a.name.split(".", 1)[0]
                aliases[top] = top
    elif node.level == 0 and node.module:
        for a in node.names:
            if a.name == "*":
                if node.module.startswith("airflow"):
                    acc.star_airflow = True
                continue
            aliases[a.asname or a.name] = f"{node.module}.{a.name}"


def qualified(expr, aliases):
    """Dotted name of a Name/Attribute chain, with its root resolved through the imports."""
    parts = []
    while type(expr) is ast.Attribute:
        parts.append(expr.attr)
        expr = expr.value
    if type(expr) is not ast.Name:
        return None
    root = aliases.get(expr.id)
    if root is None:
        return None
    parts.append(root)
    return ".".join(reversed(parts))


def callee_name(func):
    if type(func) is ast.Name:
        return func.id
    if type(func) is ast.Attribute:
        return func.attr
    return None


MAX_EXPANDED_IDS = 1000


class Resolver:
    """Static value of an id expression: string constants, module-level constants, f-strings, +,
    and the variables of module-level loops over literal lists, dicts and range()."""

    def __init__(self, acc, rel):
        self.acc = acc
        self.rel = rel
        self.cache = {}

    def constant(self, name):
        """The expression bound once, by a plain assignment, to a module-level name."""
        if self.acc.store_counts.get(name) != 1:
            return None
        return self.acc.assigns.get(name)

    def prefix(self, expr, scope, env=None, depth=0):
        """(text, complete): the resolvable leading text, and whether it is the whole value."""
        t = type(expr)
        if t is ast.Constant:
            return (expr.value, True) if type(expr.value) is str else ("", False)
        if depth > 20:
            return "", False
        if t is ast.Name:
            name = expr.id
            if env and name in env:
                return env[name], True
            if scope is not None and name in scope:
                return "", False
            bound = self.constant(name)
            if bound is None:
                return "", False
            if env:
                return self.prefix(bound, None, env, depth + 1)
            if name not in self.cache:
                self.cache[name] = ("", False)  # cycle guard
                self.cache[name] = self.prefix(bound, None, None, depth + 1)
            return self.cache[name]
        if t is ast.JoinedStr:
            out = []
            for part in expr.values:
                if type(part) is ast.Constant:
                    out.append(part.value)
                    continue
                if part.conversion not in (-1, 115) or part.format_spec is not None:
                    return "".join(out), False
                text, complete = self.prefix(part.value, scope, env, depth + 1)
                out.append(text)
                if not complete:
                    return "".join(out), False
            return "".join(out), True
        if t is ast.Attribute and expr.attr == "stem" and self.is_path_of_this_file(expr.value):
            # dag_id=Path(__file__).stem: the file's name without .py
            name = self.rel.rsplit("/", 1)[-1]
            return (name[:-3] if name.endswith(".py") else name), True
        if t is ast.BinOp and type(expr.op) is ast.Add:
            left, complete = self.prefix(expr.left, scope, env, depth + 1)
            if not complete:
                return left, False
            right, complete = self.prefix(expr.right, scope, env, depth + 1)
            return left + right, complete
        return "", False

    def is_path_of_this_file(self, expr):
        return (
            type(expr) is ast.Call
            and len(expr.args) == 1
            and type(expr.args[0]) is ast.Name
            and expr.args[0].id == "__file__"
            and qualified(expr.func, self.acc.aliases) in ("pathlib.Path", "pathlib.PurePath")
        )

    def literal(self, expr, depth=0):
        if type(expr) is ast.Name and depth < 5:
            bound = self.constant(expr.id)
            return self.literal(bound, depth + 1) if bound is not None else None
        if type(expr) is ast.Call and type(expr.func) is ast.Attribute and not expr.args and expr.func.attr in ("items", "keys", "values"):
            value = self.literal(expr.func.value, depth + 1)
            if not isinstance(value, dict):
                return None
            return list(getattr(value, expr.func.attr)())
        if type(expr) is ast.Call and type(expr.func) is ast.Name and expr.func.id == "range" and "range" not in self.acc.aliases:
            try:
                r = range(*[ast.literal_eval(a) for a in expr.args])
            except (ValueError, TypeError, SyntaxError):
                return None
            return list(r) if len(r) <= MAX_EXPANDED_IDS else None
        try:
            value = ast.literal_eval(expr)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return None
        return value

    def loop_envs(self, loops):
        """Every binding of the loop variables (one dict per iteration, nested loops multiplied),
        or None when a loop does not iterate over a literal."""
        envs = [{}]
        for loop in loops:
            items = self.literal(loop.iter)
            if isinstance(items, (dict, set, frozenset)):
                items = list(items)
            if not isinstance(items, (list, tuple)):
                return None
            rows = [bind(loop.target, item) for item in items]
            envs = [{**env, **row} for env in envs for row in rows]
            if len(envs) > MAX_EXPANDED_IDS:
                return None
        return envs


def bind(target, value):
    if type(target) is ast.Name:
        if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
            return {target.id: str(value)}
        return {}
    if type(target) in (ast.Tuple, ast.List) and isinstance(value, (tuple, list)) and len(value) == len(target.elts):
        out = {}
        for elt, v in zip(target.elts, value):
            out.update(bind(elt, v))
        return out
    return {}


def keyword_names(keywords):
    names = set()
    has_star = False
    for k in keywords:
        if k.arg is None:
            has_star = True
        else:
            names.add(k.arg)
    return names, has_star


def analyze(source, rel, package, airflow_version):
    """Findings and DAGs of one file (its bytes)."""
    findings = []
    dags = []
    try:
        tree = ast.parse(source, rel)
    except SyntaxError as e:
        line = e.lineno or 0
        column = e.offset or 0
        if column and e.text and sys.version_info < (3, 10) and e.offset > len(e.text):
            column = len(e.text)
        findings.append(
            finding(
                rel,
                line,
                column,
                "syntax-error",
                f"{e.msg}" + (f": {e.text.strip()}" if e.text and e.text.strip() else ""),
                "Fix the syntax; `python3 -m py_compile FILE` shows the same error.",
            )
        )
        return dags, findings
    except (ValueError, UnicodeDecodeError) as e:
        findings.append(finding(rel, 0, 0, "syntax-error", f"cannot parse the file: {e}", "Save the file as UTF-8 Python source without NUL bytes."))
        return dags, findings

    acc = FileAnalysis()
    walk(tree, acc)
    aliases = acc.aliases
    uses_airflow = any(q == "airflow" or q.startswith("airflow.") for q in aliases.values()) or acc.star_airflow

    if not uses_airflow:
        return dags, findings

    prefix_required = package + "_"
    resolver = Resolver(acc, rel)
    target3 = airflow_version >= 3

    def is_dag_class(func):
        q = qualified(func, aliases)
        if q is not None:
            return q in DAG_CLASSES
        return acc.star_airflow and type(func) is ast.Name and func.id == "DAG"

    def is_dag_decorator(expr):
        q = qualified(expr, aliases)
        if q is not None:
            return q in DAG_DECORATORS
        return acc.star_airflow and type(expr) is ast.Name and expr.id == "dag"

    def check_id(id_expr, text, complete, line, column):
        if complete:
            dags.append({"dag_id": text, "file": rel, "line": line, "column": column})
            if not text.startswith(prefix_required):
                findings.append(
                    finding(
                        rel,
                        line,
                        column,
                        "dag-id-prefix",
                        f"DAG id '{text}' is outside package {package}: ids must start with '{prefix_required}'",
                        f"Rename it to '{prefix_required}{text}' (a package owns only the DAG ids that start with its name).",
                    )
                )
            return
        shown = ast.unparse(id_expr) if hasattr(ast, "unparse") else "expression"
        outside = not text.startswith(prefix_required) and (len(text) >= len(prefix_required) or not prefix_required.startswith(text))
        if outside:
            findings.append(
                finding(
                    rel,
                    line,
                    column,
                    "dag-id-prefix",
                    f"DAG id {shown} starts with '{text}', outside package {package}: ids must start with '{prefix_required}'",
                    f"Start the id with '{prefix_required}'.",
                )
            )
        else:
            findings.append(
                finding(
                    rel,
                    line,
                    column,
                    "dynamic-dag-id",
                    f"DAG id {shown} is computed at run time; dagctl cannot check it statically",
                    f"Fine when intended; make sure it always starts with '{prefix_required}' (`--engine airflow` checks the real ids).",
                )
            )

    def declare(node, id_expr, fallback_id, keywords, positional, scope, what, loops=()):
        line, column = node.lineno, node.col_offset + 1
        names, has_star = keyword_names(keywords)
        if id_expr is None and fallback_id is None:
            if not has_star:
                findings.append(finding(rel, line, column, "missing-dag-id", f"{what} has no dag_id", "Pass `dag_id=\"" + prefix_required + "...\"`."))
            else:
                findings.append(finding(rel, line, column, "dynamic-dag-id", f"{what} takes its dag_id from **kwargs; it cannot be checked statically", "Pass `dag_id=` explicitly, or validate with `--engine airflow`."))
        else:
            if id_expr is None:
                resolved = [(fallback_id, True)]
            else:
                resolved = [resolver.prefix(id_expr, scope)]
                if not resolved[0][1] and loops:
                    envs = resolver.loop_envs(loops)
                    if envs:
                        expanded = [resolver.prefix(id_expr, scope, env) for env in envs]
                        if all(complete for _, complete in expanded):
                            resolved = list(dict.fromkeys(expanded))
            for text, complete in resolved:
                check_id(id_expr, text, complete, line, column)
        if not has_star and not (names & set(SCHEDULE_ARGS)) and len(positional) < 3:
            default = "None (never scheduled)" if target3 else "a daily schedule"
            findings.append(
                finding(
                    rel,
                    line,
                    column,
                    "missing-schedule",
                    f"{what} has no schedule; Airflow {airflow_version} defaults to {default}",
                    "Say it explicitly: `schedule=\"@daily\"`, a cron string, or `schedule=None` for manual runs.",
                )
            )
        if target3:
            for k in keywords:
                if k.arg in AIRFLOW3_REMOVED_DAG_ARGS:
                    findings.append(
                        finding(
                            rel,
                            # keywords have positions from Python 3.9; before, `name=value` is assumed
                            k.lineno if hasattr(k, "lineno") else k.value.lineno,
                            (k.col_offset if hasattr(k, "lineno") else max(k.value.col_offset - len(k.arg) - 1, 0)) + 1,
                            "airflow3-removed-argument",
                            f"`{k.arg}` is not accepted by Airflow 3's DAG",
                            AIRFLOW3_REMOVED_DAG_ARGS[k.arg][0].upper() + AIRFLOW3_REMOVED_DAG_ARGS[k.arg][1:] + ".",
                        )
                    )

    # DAGs: DAG(...) calls anywhere (also inside factories and loops) and @dag functions.
    dag_calls = set()
    for node, scope in acc.decorated:
        for dec in node.decorator_list:
            if type(dec) is ast.Call and is_dag_decorator(dec.func):
                dag_calls.add(id(dec))
                id_expr = next((k.value for k in dec.keywords if k.arg == "dag_id"), dec.args[0] if dec.args else None)
                declare(dec, id_expr, node.name if id_expr is None else None, dec.keywords, dec.args, scope, f"@{callee_name(dec.func)}(...) on {node.name}()")
            elif type(dec) is not ast.Call and is_dag_decorator(dec):
                declare(dec, None, node.name, [], [], scope, f"@{callee_name(dec)} on {node.name}()")
            elif type(dec) is ast.Call and type(dec.func) in (ast.Name, ast.Attribute):
                q = qualified(dec.func, aliases)
                if q in ASSET_DECORATORS or q in ASSET_MULTI_DECORATORS:
                    id_expr = None if q in ASSET_MULTI_DECORATORS else next((k.value for k in dec.keywords if k.arg == "name"), None)
                    declare(dec, id_expr, node.name if id_expr is None else None, dec.keywords, dec.args, scope, f"@{q.split('.', 2)[-1]}(...) on {node.name}()")

    dag_names = {"DAG", "dag"} | {local for local, q in aliases.items() if q in DAG_CLASSES}
    for node, scope, loops in acc.calls:
        func = node.func
        name = callee_name(func)
        if name in dag_names and id(node) not in dag_calls and is_dag_class(func):
            id_expr = next((k.value for k in node.keywords if k.arg == "dag_id"), node.args[0] if node.args else None)
            declare(node, id_expr, None, node.keywords, node.args, scope, f"{name}(...)", loops)

    # top-level-code: calls that run when the scheduler imports the file. Each such call needs one
    # of these words in the source (in the call or its import), so most files skip the check.
    for node, scope, _ in acc.calls if may_run_at_import(source) else ():
        if scope is not None:
            continue
        func = node.func
        if type(func) is not ast.Attribute and type(func) is not ast.Name:
            continue
        q = qualified(func, aliases)
        if q is None:
            continue
        what = top_level_problem(q)
        if what:
            findings.append(
                finding(
                    rel,
                    node.lineno,
                    node.col_offset + 1,
                    "top-level-code",
                    f"{ast.unparse(func) if hasattr(ast, 'unparse') else q}() runs at import time, every time the scheduler parses this file ({what})",
                    TOP_LEVEL_HINTS[what],
                )
            )

    if target3:
        for node, guarded in acc.imports:
            if guarded:
                continue
            if type(node) is ast.ImportFrom:
                if node.level or not node.module:
                    continue
                for a in node.names:
                    hit = airflow3_import(node.module, None if a.name == "*" else a.name)
                    if hit:
                        old = node.module if a.name == "*" else f"{node.module}.{a.name}"
                        findings.append(import_finding(rel, node, old, hit))
            else:
                for a in node.names:
                    hit = airflow3_import(a.name, None)
                    if hit:
                        findings.append(import_finding(rel, node, a.name, hit))
    return dags, findings


TOP_LEVEL_WORDS = (b"now", b"Variable", b"onnection", b"http", b"request", b"urllib", b"socket", b"today", b"yesterday", b"tomorrow")


def may_run_at_import(source):
    # bytes `in` is a memchr-fast scan; one regex alternation of these words costs ten times more
    for word in TOP_LEVEL_WORDS:
        if word in source:
            return True
    return False

TOP_LEVEL_HINTS = {
    "Airflow Variable": "Read it inside the task (a @task function or python_callable), or use a template such as \"{{ var.value.NAME }}\".",
    "Airflow connection": "Look the connection up inside the task, or pass its id (conn_id=...) to an operator or hook.",
    "network call": "Move the call into a task; the scheduler must parse DAG files quickly and offline.",
    "clock read": "Use a fixed start_date (e.g. `pendulum.datetime(2024, 1, 1, tz=\"UTC\")`) and templates such as \"{{ ds }}\" for run dates.",
}


def top_level_problem(q):
    parts = q.split(".")
    if q.startswith("airflow"):
        if len(parts) >= 2 and parts[-2] == "Variable" and parts[-1] in ("get", "set", "setdefault"):
            return "Airflow Variable"
        if parts[-1] in CONNECTION_METHODS:
            return "Airflow connection"
        if len(parts) >= 2 and parts[-2] == "Connection" and parts[-1] == "get":
            return "Airflow connection"
        if q in CLOCK_CALLS:
            return "clock read"
        return None
    if q in CLOCK_CALLS:
        return "clock read"
    if q in NETWORK_CALLS:
        return "network call"
    methods = NETWORK_MODULE_METHODS.get(parts[0])
    if methods is not None and len(parts) == 2 and parts[1] in methods:
        return "network call"
    return None


def import_finding(rel, node, old, hit):
    kind, replacement = hit
    if kind == "moved":
        message = f"`{old}` is a deprecated alias on Airflow 3 (moved to a provider) and goes away in a later 3.x"
    else:
        message = f"`{old}` was removed in Airflow 3: importing it fails"
    return finding(rel, node.lineno, node.col_offset + 1, "airflow3-removed-import", message, replacement_hint(replacement))


def relative(path, root, _prefixes={}):
    prefix = _prefixes.get(root)
    if prefix is None:
        prefix = _prefixes[root] = root.rstrip(os.sep) + os.sep
    # the common case, cheaply: a normalised absolute path inside root
    rel = path[len(prefix) :] if path.startswith(prefix) and os.sep + "." not in path else os.path.relpath(path, root)
    return rel.replace(os.sep, "/") if os.sep != "/" else rel


def analyze_chunk(args):
    items, package, airflow_version = args
    return [analyze(source, rel, package, airflow_version) for rel, source in items]


def read_file(path, rel):
    """(bytes, None), or (None, a finding) when the file cannot be read."""
    try:
        with open(path, "rb") as fh:
            return fh.read(), None
    except OSError as e:
        return None, finding(rel, 0, 0, "syntax-error", f"cannot read the file: {e.strerror}", "Check the file exists and is readable.")


class ResultCache:
    """Per-file results keyed by content hash, so an unchanged file is not parsed again.
    One JSON file per (package root, package, target version, Python, this script); any trouble
    reading or writing it only costs a cold run."""

    MAX_ENTRIES = 20000

    def __init__(self, cache_dir, root, package, airflow_version):
        import hashlib

        self.hashlib = hashlib
        with open(os.path.abspath(__file__), "rb") as fh:
            script = hashlib.sha1(fh.read()).hexdigest()
        key = "\0".join((root, package, str(airflow_version), sys.version, script))
        self.path = os.path.join(cache_dir, hashlib.sha1(key.encode()).hexdigest()[:20] + ".json")
        self.entries = {}
        self.dirty = False
        try:
            with open(self.path, "rb") as fh:
                self.entries = json.load(fh)
        except (OSError, ValueError):
            self.entries = {}

    def digest(self, source):
        return self.hashlib.sha1(source).hexdigest()

    def get(self, rel, digest):
        entry = self.entries.get(rel)
        if entry and entry[0] == digest:
            return entry[1], entry[2]
        return None

    def put(self, rel, digest, result):
        self.entries[rel] = [digest, result[0], result[1]]
        self.dirty = True

    def save(self):
        if not self.dirty:
            return
        if len(self.entries) > self.MAX_ENTRIES:
            self.entries = {}
        tmp = f"{self.path}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            with open(tmp, "w") as fh:
                json.dump(self.entries, fh, separators=(",", ":"))
            os.replace(tmp, self.path)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def run_ast_engine(request):
    root = request["root"]
    package = request["package"]
    airflow_version = int(request.get("airflow_version", 3))
    options = request.get("options") or {}
    cache = ResultCache(options["ast_cache_dir"], root, package, airflow_version) if options.get("cache", True) and options.get("ast_cache_dir") else None

    results = []  # (rel, (dags, findings)) in request order
    todo = []  # (index in results, rel, source, digest)
    for path in request["files"]:
        rel = relative(path, root)
        source, problem = read_file(path, rel)
        if source is None:
            results.append(([], [problem]))
            continue
        digest = cache.digest(source) if cache else None
        hit = cache.get(rel, digest) if cache else None
        results.append(hit)
        if hit is None:
            todo.append((len(results) - 1, rel, source, digest))

    fresh = None
    # the cores this process may use (a CI container often gets fewer than the host has), unless
    # options.workers or DAGCTL_VALIDATE_WORKERS says otherwise (1: no worker processes)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    workers = min(cores, 4)
    # on a machine already busy with other work, extra processes only add their own overhead
    if hasattr(os, "getloadavg") and os.getloadavg()[0] >= cores:
        workers = 1
    try:
        workers = int(options.get("workers") or os.environ.get("DAGCTL_VALIDATE_WORKERS") or workers)
    except ValueError:
        pass
    # Parsing is CPU-bound: past a few hundred files, fork workers (cheap on Linux) to use the cores.
    if workers > 1 and len(todo) >= 200 and sys.platform.startswith("linux"):
        try:
            import multiprocessing

            ctx = multiprocessing.get_context("fork")
            size = (len(todo) + workers * 4 - 1) // (workers * 4)
            chunks = [([(rel, source) for _, rel, source, _ in todo[i : i + size]], package, airflow_version) for i in range(0, len(todo), size)]
            with ctx.Pool(workers) as pool:
                fresh = [r for chunk in pool.map(analyze_chunk, chunks) for r in chunk]
        except (OSError, ImportError):
            fresh = None
    if fresh is None:
        fresh = analyze_chunk(([(rel, source) for _, rel, source, _ in todo], package, airflow_version))
    for (index, rel, _, digest), result in zip(todo, fresh):
        results[index] = result
        if cache:
            cache.put(rel, digest, result)
    if cache:
        cache.save()

    dags = []
    findings = []
    for file_dags, file_findings in results:
        dags.extend(file_dags)
        findings.extend(file_findings)

    # duplicate-dag-id: across files only (within one file Airflow keeps the last one, and
    # alternatives in if/else branches are a common, valid style).
    first = {}
    for dag in sorted(dags, key=lambda d: (d["file"], d["line"])):
        seen = first.get(dag["dag_id"])
        if seen is None:
            first[dag["dag_id"]] = dag
        elif seen["file"] != dag["file"]:
            findings.append(
                finding(
                    dag["file"],
                    dag["line"],
                    dag["column"],
                    "duplicate-dag-id",
                    f"DAG id '{dag['dag_id']}' is defined twice: {seen['file']}:{seen['line']} and {dag['file']}:{dag['line']}",
                    "Give one of them another id; Airflow keeps only one and reports an import error for the other.",
                )
            )
    dags = [{"dag_id": d["dag_id"], "file": d["file"], "line": d["line"]} for d in dags]
    return {"engine": "ast", "dags": dags, "findings": findings}


def error(code, message, hint):
    return {"error": {"code": code, "message": message, "hint": hint}}


def handle(request):
    engine = request.get("engine", "ast")
    if engine not in ("ast", "airflow", "auto"):
        return error("BAD_REQUEST", f"unknown engine {engine!r}", "Use --engine ast, airflow or auto.")
    result = run_ast_engine(request)
    if engine == "ast":
        return result
    import importlib.util

    has_airflow = importlib.util.find_spec("airflow") is not None
    if engine == "auto" and not has_airflow:
        return result
    if not has_airflow:
        return error(
            "AIRFLOW_MISSING",
            f"--engine airflow needs Airflow, and {sys.executable} cannot import it",
            f"Run `dagctl python setup --airflow {request.get('airflow_version', 3)}` (or point --python at an interpreter with Airflow), or use --engine ast.",
        )
    try:
        from dagctl_airflow_engine import run_airflow_engine
    except ImportError as e:
        if engine == "auto":
            return result
        return error("ENGINE_MISSING", f"the airflow engine is not available: {e}", "Reinstall dagctl, or use --engine ast.")
    return run_airflow_engine(request, result)


def main(argv):
    if sys.version_info < MIN_PYTHON:
        json.dump(error("PYTHON_TOO_OLD", f"dagctl needs Python >= 3.8, {sys.executable} is {sys.version.split()[0]}", "Point --python (or DAGCTL_PYTHON) at python3.8 or newer."), sys.stdout)
        return 0
    if "--rules" in argv:
        json.dump(RULES, sys.stdout)
        return 0
    # The walk allocates many short-lived, acyclic nodes; the cycle collector only costs time here.
    gc.disable()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    try:
        request = json.load(sys.stdin)
    except ValueError as e:
        json.dump(error("BAD_REQUEST", f"request is not JSON: {e}", "This is a dagctl bug; report it."), sys.stdout)
        return 0
    json.dump(handle(request), sys.stdout)
    if "airflow" in sys.modules:
        # The answer is written; tearing down an interpreter that imported Airflow costs another
        # 1-1.5 s of finalizers and atexit hooks that nobody waits for.
        sys.stdout.flush()
        os._exit(0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
