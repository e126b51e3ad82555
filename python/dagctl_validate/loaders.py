"""dagctl's `loader:N` layout: a loader file Airflow parses (it imports what the DAGs use) and a
module of the DAGs' code, `_dagctl/<loader's name>`, that imports nothing and never holds the word
"airflow" (so Airflow's safe mode does not parse it as a DAG file). The module's names mean what the
loader's imports bind; this gives them to the module's analysis, so its DAGs are found and checked
like any other file's."""

import ast
import os

MODULE_MARKER = b"# dagctl:generated module "


def module_names(path, source):
    """For a loader's module: {name: qualified name} of what its loader imports and hands over
    (also its `_dagctl_X = Name` renames); None for any other file, {} when the loader cannot be read."""
    if not source.startswith(MODULE_MARKER):
        return None
    loader = os.path.join(os.path.dirname(os.path.dirname(path)), os.path.basename(path))
    try:
        with open(loader, "rb") as fh:
            tree = ast.parse(fh.read(), loader)
    except (OSError, SyntaxError, ValueError):
        return {}
    names = {}
    # the loader's imports, as plain statements at its top level (it also runs them one by one first)
    for node in tree.body:
        if type(node) is ast.Import:
            for a in node.names:
                if a.asname:
                    names[a.asname] = a.name
                else:
                    top = a.name.split(".", 1)[0]
                    names[top] = top
        elif type(node) is ast.ImportFrom and node.level == 0 and node.module:
            for a in node.names:
                if a.name != "*":
                    names[a.asname or a.name] = f"{node.module}.{a.name}"
        elif type(node) is ast.Assign and len(node.targets) == 1 and type(node.targets[0]) is ast.Name and type(node.value) is ast.Name and node.value.id in names:
            # a rename: `_dagctl_X = Name`
            names[node.targets[0].id] = names[node.value.id]
    return names


def module_dags(path, source):
    """For a loader's module: [(first line, DAG id, spec)] of its functions, from its
    `# dagctl:begin <n>` lines and its loader's map (the n-th `# dagctl:dag` line); [] otherwise."""
    if not source.startswith(MODULE_MARKER):
        return []
    loader = os.path.join(os.path.dirname(os.path.dirname(path)), os.path.basename(path))
    try:
        with open(loader, "rb") as fh:
            head = fh.read().decode("utf-8", "replace")
    except OSError:
        return []
    mapped = []
    for line in head.splitlines():
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
