"""dag-factory-call: a file where no DAG was recognised, but a module-level call may build one
(a company wrapper `MY_DAG = create_dag(dag_id=...)` that returns airflow.DAG(...), dag-factory's
`load_yaml_dags(globals_dict=globals())`, `globals()[name] = build(...)`). Airflow's DagBag finds
those DAGs; the ast engine cannot, and says so instead of staying silent."""

import ast

from .walk import callee_name, is_main_guard, qualified

_BODIES = (ast.For, ast.AsyncFor, ast.While, ast.If, ast.With, ast.AsyncWith, ast.Try) + ((ast.TryStar,) if hasattr(ast, "TryStar") else ())
_SKIP = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def module_statements(body):
    """Statements that run when the file is imported: module level and inside loops, ifs, withs
    and trys, not in functions, classes or `if __name__ == "__main__":`."""
    for stmt in body:
        if isinstance(stmt, _SKIP):
            continue
        if isinstance(stmt, ast.If) and is_main_guard(stmt.test):
            yield from module_statements(stmt.orelse)
            continue
        yield stmt
        if isinstance(stmt, _BODIES):
            for field in ("body", "orelse", "finalbody"):
                yield from module_statements(getattr(stmt, field, None) or [])
            for handler in getattr(stmt, "handlers", None) or []:
                yield from module_statements(handler.body)


def _calls(node):
    """Calls in one statement's own expressions (not in nested statements, lambdas or comprehensions' defs)."""
    stack = [child for field, child in ast.iter_fields(node) if field not in ("body", "orelse", "finalbody", "handlers")]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, ast.AST) or isinstance(item, (_SKIP, ast.stmt)):
            continue
        if isinstance(item, ast.Call):
            yield item
        stack.extend(child for _, child in ast.iter_fields(item))


def _is_globals(expr):
    return isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "globals"


def factory_call(tree, aliases):
    """The first module-level call that may build a DAG, as (node, shown name), or None."""
    best = None
    for stmt in module_statements(tree.body):
        into_globals = isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Subscript) and _is_globals(t.value) for t in stmt.targets)
        for call in _calls(stmt):
            name = callee_name(call.func)
            if name is None or name == "globals":
                continue
            q = qualified(call.func, aliases)
            if q is not None and (q == "airflow" or q.startswith("airflow.")):
                continue  # Airflow's own DAG builders are recognised; its other classes build none
            if "dag" in name.lower() or any(k.arg == "dag_id" for k in call.keywords) or into_globals or any(_is_globals(a) for a in call.args) or any(_is_globals(k.value) for k in call.keywords):
                if best is None or (call.lineno, call.col_offset) < (best.lineno, best.col_offset):
                    best = call
    if best is None:
        return None
    shown = ast.unparse(best.func) if hasattr(ast, "unparse") else callee_name(best.func)
    return best, shown
