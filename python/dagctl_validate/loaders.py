"""dagctl's `loader:N` layout: a loader file Airflow parses (it imports what the DAGs use) and a
module of the DAGs' code, `_dagctl/<loader's name>`, that imports nothing and never holds the word
"airflow" (so Airflow's safe mode does not parse it as a DAG file). The module's names mean what the
loader's imports bind; this gives them to the module's analysis, so its DAGs are found and checked
like any other file's."""

import ast
import os
from types import SimpleNamespace

from .walk import record_import

MODULE_MARKER = b"# dagctl:generated module "


def is_loader_module(source):
    """Whether a file's bytes are a dagctl loader's module (its first line)."""
    return source.startswith(MODULE_MARKER)


def loader_of(path, source):
    """For a loader's module: ({name: qualified name} of what its loader imports and hands over,
    also its `_dagctl_X = Name` renames; [(first line, DAG id, spec)] of the module's functions, from
    its `# dagctl:begin <n>` lines and the loader's map, the n-th `# dagctl:dag` line). None for any
    other file; ({}, []) when the loader cannot be read. The loader is read once for both."""
    if not is_loader_module(source):
        return None
    loader = os.path.join(os.path.dirname(os.path.dirname(path)), os.path.basename(path))
    try:
        with open(loader, "rb") as fh:
            text = fh.read()
    except OSError:
        return {}, []
    return _loader_names(text, loader), _module_spans(text, source)


def _loader_names(text, loader):
    try:
        tree = ast.parse(text, loader)
    except (SyntaxError, ValueError):
        return {}
    acc = SimpleNamespace(aliases={}, star_airflow=False)
    # the loader's imports, as plain statements at its top level (it also runs them one by one first)
    for node in tree.body:
        if type(node) in (ast.Import, ast.ImportFrom):
            record_import(node, acc)
        elif type(node) is ast.Assign and len(node.targets) == 1 and type(node.targets[0]) is ast.Name and type(node.value) is ast.Name and node.value.id in acc.aliases:
            # a rename: `_dagctl_X = Name`
            acc.aliases[node.targets[0].id] = acc.aliases[node.value.id]
    return acc.aliases


def _module_spans(text, source):
    mapped = []
    for line in text.decode("utf-8", "replace").splitlines():
        if not line.startswith("#"):
            break
        if line.startswith("# dagctl:dag "):
            parts = line[len("# dagctl:dag ") :].split(" source=", 1)
            if len(parts) == 2:
                mapped.append((parts[0], parts[1]))
    out = []
    for number, line in enumerate(source.decode("utf-8", "replace").splitlines(), 1):
        if line.startswith("# dagctl:begin "):
            n = line[len("# dagctl:begin ") :].strip()
            if n.isdigit() and 0 < int(n) <= len(mapped):
                out.append((number, *mapped[int(n) - 1]))
    return out


def name_specs(findings, dags_by_file):
    """Appends `(DAG <id>, from <spec>)` to each finding in a loader's module: the spec to change."""
    for f in findings:
        spans = dags_by_file.get(f.get("file"))
        if not spans:
            continue
        owner = None
        for first, dag_id, spec in spans:
            if first <= (f.get("line") or 0):
                owner = (dag_id, spec)
        if owner:
            f["message"] = f"{f['message']} (DAG {owner[0]}, from {owner[1]})"
