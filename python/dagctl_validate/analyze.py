"""The per-file rules of the ast engine: one file's bytes in, its DAGs and findings out."""

import ast
import sys

from .airflow3 import AIRFLOW3_REMOVED_DAG_ARGS, airflow3_import, import_finding
from .factories import factory_call
from .dag_paths import ASSET_DECORATORS, ASSET_MULTI_DECORATORS, DAG_CLASSES, DAG_DECORATORS
from .resolve import Resolver
from .rules import finding
from .toplevel import TOP_LEVEL_HINTS, may_run_at_import, top_level_problem
from .walk import FileAnalysis, callee_name, qualified, walk

SCHEDULE_ARGS = ("schedule", "schedule_interval", "timetable")


def keyword_names(keywords):
    names = set()
    has_star = False
    for k in keywords:
        if k.arg is None:
            has_star = True
        else:
            names.add(k.arg)
    return names, has_star


LOADER_MARKER = b"# dagctl:generated layout=loader:"


def analyze(source, rel, package, airflow_version, own_modules=frozenset(), given=None):
    """Findings and DAGs of one file (its bytes). `own_modules`: top-level module names of the
    package's DAG folder, which Airflow imports as `<package>.<name>` (own-module-import).
    `given`: names the file uses without importing them, with what they mean (a dagctl loader's
    module: its loader imports them and hands them over, loaders.py)."""
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
    if given:
        acc.aliases = {**given, **acc.aliases}
    aliases = acc.aliases
    uses_airflow = any(q == "airflow" or q.startswith("airflow.") for q in aliases.values()) or acc.star_airflow

    # a dagctl loader builds its DAGs in its module, where this engine finds and checks them
    loader = source.startswith(LOADER_MARKER)

    if not uses_airflow:
        # Airflow still loads a file that mentions both words (DAG discovery safe mode), e.g. one that
        # only imports a company's DAG wrapper: say when it may build a DAG we cannot see.
        lowered = source.lower()
        if b"airflow" in lowered and b"dag" in lowered:
            factory_finding(tree, aliases, rel, findings)
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

    declared = []

    def declare(node, id_expr, fallback_id, keywords, positional, scope, what, loops=()):
        declared.append(node)
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

    if not declared:
        if not loader:
            factory_finding(tree, aliases, rel, findings)

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

    if own_modules:
        own_module_imports(acc.imports, rel, package, own_modules, findings)

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


def factory_finding(tree, aliases, rel, findings):
    hit = factory_call(tree, aliases)
    if hit is None:
        return
    node, shown = hit
    findings.append(
        finding(
            rel,
            node.lineno,
            node.col_offset + 1,
            "dag-factory-call",
            f"no DAG recognised in this file, but {shown}(...) may build one (a DAG factory or wrapper): the ast engine cannot see its DAGs, so their ids, prefix and schedule are not checked",
            "Validate with `--engine airflow` (after `dagctl python setup`), which imports the file as Airflow does and checks the DAGs it really builds.",
        )
    )


def own_module_imports(imports, rel, package, own_modules, findings):
    """`import helpers` / `from helpers import x` of a module of the package's own DAG folder: in
    Airflow the package's files are in <DAG folder>/<package>/ (dagctl sync, the DagctlBundle), so
    that import fails there; `<package>.helpers` is the name that works."""
    for node, guarded in imports:
        if guarded:
            continue
        if type(node) is ast.ImportFrom:
            if node.level or not node.module:
                continue
            modules = [node.module]
        else:
            modules = [a.name for a in node.names]
        for module in modules:
            top = module.split(".", 1)[0]
            if top in own_modules:
                findings.append(
                    finding(
                        rel,
                        node.lineno,
                        node.col_offset,
                        "own-module-import",
                        f"'{module}' is a module of package {package}: Airflow imports it as '{package}.{module}', and '{module}' alone fails there (ModuleNotFoundError)",
                        f"Write `{'from ' + package + '.' + module + ' import ...' if type(node) is ast.ImportFrom else 'import ' + package + '.' + module}`: in Airflow the package's files are in <DAG folder>/{package}/ (docs/sync.md#importing-a-packages-own-modules).",
                    )
                )
