"""From per-file results to the validate report."""

from __future__ import annotations

import os
import re
from typing import Any

from ..loaders import is_loader_module

# without the ast engine's DAG list: does a file skipped by safe mode look like it defines a DAG?
_DAG_DEFINITION_RE = re.compile(r"\bDAG\s*\(|@dag\b")
_TRACE_FRAME_RE = re.compile(r'^\s*File "([^"]+)", line (\d+)', re.MULTILINE)


def build_report(root: str, files: list[str], results: dict[str, dict[str, Any]], sources: dict[str, bytes], ast_result: dict[str, Any], versions: dict[str, str], tb_lines: int, import_as: tuple[str, str] | None = None) -> dict[str, Any]:
    findings: list[dict[str, Any]] = []
    dags_out: list[dict[str, Any]] = []
    files_out: list[dict[str, Any]] = []
    owner: dict[str, str] = {}
    ast_lines = {(d.get("file"), d.get("dag_id")): d.get("line", 0) for d in ast_result.get("dags", [])}

    for path in files:
        result = results.get(path)
        if result is None:
            continue
        rel = _rel(path, root)
        text = sources.get(path, b"").decode("utf-8", "replace")

        def dag_line(dag_id: str) -> int:
            return ast_lines.get((rel, dag_id)) or _line_of_dag(text, dag_id)

        if result.get("fatal"):
            message = result["fatal"]
            line = 0
            if result.get("crash"):
                # faulthandler's dump: keep its headline and the frames in the file itself
                line = _deepest_line(result["crash"], path)
                dump = result["crash"].strip().splitlines()
                keep = [x for x in dump if x.startswith("Fatal Python error")][:1]
                keep += [x for x in dump if _TRACE_FRAME_RE.match(x) and _deepest_line(x, path)]
                message += "".join("\n" + x for x in keep)
            hint = {
                "import-timeout": "Move slow work (network, sleeps, heavy computation) out of the file's top level; Airflow imports the file on every parse.",
                "import-crash": "Something in the file (or a library it loads) ended the Python process; run `python <file>` to see it.",
            }.get(result["rule"], "")
            findings.append(_finding(rel, line, result["rule"], message, hint))
        for error in result.get("errors", []):
            findings.append(_error_finding(rel, path, error, tb_lines, dag_line, import_as))
        # a dagctl loader's module is skipped on purpose: its loader builds its DAGs (loaders.py)
        if result.get("skipped") and not is_loader_module(sources.get(path, b"")) and (any(f == rel for f, _ in ast_lines) or _DAG_DEFINITION_RE.search(text)):
            findings.append(
                _finding(rel, 0, "airflow-safe-mode-skip", "Airflow skips this file: it does not contain both words 'airflow' and 'dag' (DAG discovery safe mode)", "Mention both words in the file (a comment is enough) or Airflow will never load its DAGs.", "info")
            )
        kept = 0
        for dag in result.get("dags", []):
            first = owner.get(dag["dag_id"])
            line = dag_line(dag["dag_id"])
            if first is not None and first != rel:
                findings.append(
                    _finding(rel, line, "duplicate-dag-id", f"AirflowDagDuplicatedIdException: Ignoring DAG {dag['dag_id']} from {rel} - also found in {first}", "Give the DAG a unique id; Airflow keeps only one of the files' DAGs.")
                )
                continue
            owner[dag["dag_id"]] = rel
            kept += 1
            dags_out.append({"dag_id": dag["dag_id"], "file": rel, "line": line, "tasks": dag["tasks"]})
        entry = {"file": rel, "seconds": result.get("seconds", 0.0), "cached": bool(result.get("cached")), "dags": kept, "tasks": sum(d["tasks"] for d in result.get("dags", []))}
        if result.get("worker") and not result.get("cached"):
            entry["worker"] = result["worker"]  # pid of the worker process that imported it
        files_out.append(entry)

    seen = {(f.get("file"), f.get("line"), f.get("rule")) for f in ast_result.get("findings", [])}
    # A file that does not parse fails Airflow's import with that same SyntaxError (the ast pass ran
    # in this interpreter): it is one problem, reported once, as the ast engine's syntax-error.
    unparsable = {f.get("file") for f in ast_result.get("findings", []) if f.get("rule") == "syntax-error"}
    # likewise an own-module-import is the ModuleNotFoundError Airflow gives at that line
    own_imports = {(f.get("file"), f.get("line")) for f in ast_result.get("findings", []) if f.get("rule") == "own-module-import"}
    # dag-factory-call says "only Airflow can see these DAGs": Airflow has just imported the file.
    merged = [f for f in ast_result.get("findings", []) if f.get("rule") != "dag-factory-call"] + [
        f
        for f in findings
        if (f["file"], f["line"], f["rule"]) not in seen and not (f["rule"] == "import-error" and (f["file"] in unparsable or (f["file"], f["line"]) in own_imports))
    ]
    return {"engine": "airflow", "airflow_version": versions.get("apache-airflow", ""), "dags": dags_out, "findings": merged, "files": files_out}


def _rel(path: str, root: str) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


def _finding(file: str, line: int, rule: str, message: str, hint: str = "", severity: str = "error") -> dict[str, Any]:
    return {"file": file, "line": line, "column": 0, "rule": rule, "severity": severity, "message": message, "hint": hint}


def _error_finding(rel: str, path: str, error: str, tb_lines: int, dag_line: Any, import_as: tuple[str, str] | None = None) -> dict[str, Any]:
    text = error.strip()
    last = text.splitlines()[-1] if text else "unknown error"
    if "AirflowDagCycleException" in last:
        m = re.search(r"Cycle detected in (?:DAG|Dag): (\S+?)\.? Faulty task", last)
        return _finding(rel, dag_line(m.group(1)) if m else 0, "dag-cycle", last, "Remove the dependency that closes the loop (see the faulty task).")
    if "AirflowDagDuplicatedIdException" in last:
        return _finding(rel, 0, "duplicate-dag-id", last, "Give the DAG a unique id.")
    if "AirflowTaskTimeout" in text and "DagBag import timeout" in text:
        m = re.search(r"DagBag import timeout for .*? after [\d.]+s", text)
        summary = m.group(0) if m else "DagBag import timeout"
        return _finding(rel, _deepest_line(text, path), "import-timeout", f"{summary}\n{_trace_tail(text, path, tb_lines)}", "Move slow work out of the file's top level; Airflow imports the file on every parse.")
    tail = _trace_tail(text, path, tb_lines)
    message = f"{last}\n{tail}" if tail else last
    return _finding(rel, _deepest_line(text, path), "import-error", message, _own_module_hint(last, import_as) or "Fix the error at the line shown; `python <file>` in the same environment reproduces it.")


def _own_module_hint(last: str, import_as: tuple[str, str] | None) -> str | None:
    """`import helpers` of a module the package itself has: in Airflow it is `<package>.helpers`."""
    m = re.match(r"ModuleNotFoundError: No module named '([\w.]+)'", last)
    if not m or not import_as:
        return None
    package, folder = import_as
    top = m.group(1).split(".")[0]
    if top == package or not (os.path.isfile(os.path.join(folder, f"{top}.py")) or os.path.isdir(os.path.join(folder, top))):
        return None
    return (
        f"{top} is a module of this package: in Airflow the package's files are in <DAG folder>/{package}/ (dagctl sync, "
        f"the DagctlBundle), so it imports as `{package}.{top}` (`from {package}.{m.group(1)} import ...`). docs/sync.md#importing-a-packages-own-modules"
    )


def _trace_tail(trace: str, path: str, lines: int) -> str:
    """The traceback's last lines, from the deepest frame in the file itself when there is one,
    without the exception line (the message's first line)."""
    all_lines = trace.rstrip().splitlines()
    body = all_lines[:-1]
    start = max(0, len(body) - lines)
    real = os.path.realpath(path)
    for i in range(len(body) - 1, -1, -1):
        m = _TRACE_FRAME_RE.match(body[i])
        if m and (m.group(1) == path or os.path.realpath(m.group(1)) == real):
            start = i if len(body) - i <= lines else start
            break
    return "\n".join(body[start:])


def _deepest_line(trace: str, path: str) -> int:
    """The last frame of the traceback that is in the file itself (a SyntaxError's too)."""
    line = 0
    real = os.path.realpath(path)
    for frame_file, frame_line in _TRACE_FRAME_RE.findall(trace):
        if frame_file == path or os.path.realpath(frame_file) == real:
            line = int(frame_line)
    return line


def _line_of_dag(text: str, dag_id: str) -> int:
    for pattern in (rf"""['"]{re.escape(dag_id)}['"]""", rf"def\s+{re.escape(dag_id)}\s*\("):
        m = re.search(pattern, text)
        if m:
            return text.count("\n", 0, m.start()) + 1
    return 0


# --------------------------------------------------------------------------------------------
