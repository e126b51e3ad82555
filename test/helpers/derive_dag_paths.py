"""Every public import path of Airflow's DAG class and its dag/asset decorators, in this interpreter.

Run with the python of a managed venv (`dagctl python setup --airflow 3|2`):

    python test/helpers/derive_dag_paths.py      # prints {"DAG": [...], "dag": [...], "asset": [...]}

How: every module under the installed `airflow` package (core and providers; tests, example DAGs
and private modules, any path segment starting with "_", left out) whose top level binds one of
the names (a class, a def, an import, an assignment) or names it in a string (`__all__`, the lazy
import tables behind a module `__getattr__`, as airflow.sdk and the compat provider's sdk module
use) is a candidate; a candidate counts when importing it gives an attribute that *is* the object
of the canonical path (airflow.sdk.DAG on Airflow 3, airflow.models.dag.DAG on Airflow 2). So the
list follows what the installed Airflow really exports, not what a reader guesses.
python/dagctl_validate/dag_paths.py keeps the union over the Airflow 3 and 2 venvs;
test/unit/dag-paths.test.ts runs this script in both and compares.
"""
import ast
import importlib
import json
import os
import sys
import warnings

NAMES = ("DAG", "dag", "asset")
CANONICAL = {
    "DAG": ("airflow.sdk", "airflow.models.dag"),
    "dag": ("airflow.sdk", "airflow.decorators"),
    "asset": ("airflow.sdk",),
}
SKIP_SEGMENTS = {"tests", "example_dags", "example_dag", "system"}


def canonical(name):
    for module in CANONICAL[name]:
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
    return None


def mentions(tree, names):
    """Names of NAMES that the module exports on purpose: defines at its top level (class, def),
    re-exports explicitly (`from x import DAG as DAG`), lists in `__all__`, or names as a key of a
    module-level table (the lazy imports and deprecated aliases behind a module `__getattr__`). An import made for the
    module's own use (`from airflow.models.dag import DAG` in a CLI command) is not an export."""
    found = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and node.name in names:
            found.add(node.name)
        elif isinstance(node, ast.ImportFrom):
            found.update(a.name for a in node.names if a.asname == a.name and a.name in names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            is_all = any(isinstance(x, ast.Name) and x.id == "__all__" for x in targets)
            value = node.value
            if is_all and isinstance(value, (ast.List, ast.Tuple)):
                found.update(e.value for e in value.elts if isinstance(e, ast.Constant) and e.value in names)
            elif isinstance(value, ast.Dict):  # also nested: {__name__: {"dag": "airflow.sdk.dag"}}
                for d in ast.walk(value):
                    if isinstance(d, ast.Dict):
                        found.update(k.value for k in d.keys if isinstance(k, ast.Constant) and k.value in names)
        elif isinstance(node, ast.If):  # `if TYPE_CHECKING:` re-exports, version switches
            found |= mentions(ast.Module(body=node.body + node.orelse, type_ignores=[]), names)
    return found


def main():
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    import airflow

    base = os.path.dirname(os.path.dirname(os.path.abspath(airflow.__file__)))
    targets = {n: canonical(n) for n in NAMES}
    out = {n: set() for n in NAMES}
    for dirpath, dirnames, filenames in os.walk(os.path.join(base, "airflow")):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(("_", ".")) and d not in SKIP_SEGMENTS)
        for filename in sorted(filenames):
            if not filename.endswith(".py") or (filename.startswith("_") and filename != "__init__.py"):
                continue
            path = os.path.join(dirpath, filename)
            try:
                with open(path, "rb") as fh:
                    source = fh.read()
            except OSError:
                continue
            if not any(n.encode() in source for n in NAMES):
                continue
            try:
                tree = ast.parse(source)
            except SyntaxError:
                continue
            hits = mentions(tree, set(NAMES))
            if not hits:
                continue
            rel = os.path.relpath(path, base)[:-3].split(os.sep)
            if rel[-1] == "__init__":
                rel = rel[:-1]
            module_name = ".".join(rel)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    module = importlib.import_module(module_name)
                except BaseException:  # noqa: BLE001  a provider whose dependencies are missing
                    continue
                for name in hits:
                    try:
                        value = getattr(module, name)
                    except BaseException:  # noqa: BLE001
                        continue
                    if targets[name] is not None and value is targets[name]:
                        out[name].add(f"{module_name}.{name}")
    json.dump({n: sorted(v) for n, v in out.items()}, sys.stdout, indent=1)
    sys.stdout.write("\n")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
