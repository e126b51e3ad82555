#!/usr/bin/env python3
"""dagctl discover: finds job modules with Python's ast, never importing one.

A job module is a Python file that assigns, at module level,

    JOB = (entrypoint, "description")

where `entrypoint` is a function defined in the same module, `entrypoint(argv) -> int`.
Optional module-level constants beside JOB carry per-job metadata (docs/discover.md):
SCHEDULE, TIMEZONE, RETRIES, RESOURCES, TENANT, TAGS, NAME. They must be literals
(ast.literal_eval); dagctl checks their types.

Importing a job module would run its code (and need its dependencies): this helper only reads
and parses. One process for every file; JSON in, JSON out:

  stdin   {"files": [{"file": "/abs/path.py", "rel": "packages/a/jobs/x.py"}, ...]}
  stdout  {"jobs": [{"rel", "line", "column", "entrypoint", "entrypoint_line", "description",
                     "meta": {NAME: {"value", "line"}}}],
           "problems": [{"rel", "line", "reason", "code"}],
           "parsed": N}

A file whose bytes do not contain "JOB" cannot assign it and is not parsed. Every other file is
parsed; one that looks like a job but is wrong is a problem with file, line and reason, never a
crash and never a silent skip.
"""
import ast
import json
import sys

META_NAMES = ("NAME", "SCHEDULE", "TIMEZONE", "RETRIES", "RESOURCES", "TENANT", "TAGS")


def problem(rel, line, code, reason):
    return {"rel": rel, "line": line, "code": code, "reason": reason}


def assigned_names(stmt):
    """(name, value node) pairs a module-level statement binds by plain assignment."""
    if isinstance(stmt, ast.Assign):
        for target in stmt.targets:
            if isinstance(target, ast.Name):
                yield target.id, stmt.value
            elif isinstance(target, (ast.Tuple, ast.List)):
                for elt in target.elts:
                    if isinstance(elt, ast.Name):
                        yield elt.id, None
    elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
        yield stmt.target.id, stmt.value


def bindings(tree):
    """Module-level name -> (kind, node) of its last binding: 'function', 'class', 'import', 'value'."""
    out = {}
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out[stmt.name] = ("function", stmt)
        elif isinstance(stmt, ast.ClassDef):
            out[stmt.name] = ("class", stmt)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            for alias in stmt.names:
                out[(alias.asname or alias.name).split(".")[0]] = ("import", stmt)
        else:
            for name, value in assigned_names(stmt):
                out[name] = ("value", stmt)
    return out


def examine(rel, source):
    """(job or None, [problems]) for one file's text."""
    try:
        tree = ast.parse(source, filename=rel)
    except SyntaxError as error:
        return None, [problem(rel, error.lineno or 1, "syntax-error", "syntax error: %s" % (error.msg,))]
    except ValueError as error:  # NUL bytes
        return None, [problem(rel, 1, "syntax-error", "cannot parse: %s" % (error,))]

    job_stmts = []
    meta = {}
    problems = []
    for stmt in tree.body:
        for name, value in assigned_names(stmt):
            if name == "JOB":
                job_stmts.append((stmt, value))
            elif name in META_NAMES and value is not None:
                try:
                    meta[name] = {"value": ast.literal_eval(value), "line": stmt.lineno}
                except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                    problems.append(problem(rel, stmt.lineno, "meta-not-literal", "%s must be a literal value (a string, number, list or dict written out), not an expression" % name))
    if not job_stmts:
        return None, []
    if len(job_stmts) > 1:
        lines = ", ".join(str(s.lineno) for s, _ in job_stmts)
        return None, [problem(rel, job_stmts[-1][0].lineno, "job-twice", "JOB is assigned %d times (lines %s): a job module assigns it once" % (len(job_stmts), lines))]
    stmt, value = job_stmts[0]
    line = stmt.lineno
    if not isinstance(value, ast.Tuple) or len(value.elts) != 2:
        what = "a tuple of %d" % len(value.elts) if isinstance(value, ast.Tuple) else "not a tuple"
        return None, [problem(rel, line, "job-not-pair", "JOB must be a 2-tuple (entrypoint, \"description\"), this is %s" % what)]
    entry, description = value.elts
    if not isinstance(entry, ast.Name):
        return None, [problem(rel, line, "entrypoint-not-name", "JOB[0] must name a function defined in this module")]
    bound = bindings(tree).get(entry.id)
    if bound is None:
        return None, [problem(rel, line, "entrypoint-undefined", "JOB's entrypoint %s is not defined in this module" % entry.id)]
    if bound[0] != "function":
        return None, [problem(rel, line, "entrypoint-not-function", "JOB's entrypoint %s is a %s here, not a function defined in this module (def %s(argv): ...)" % (entry.id, {"class": "class", "import": "name imported from elsewhere", "value": "variable"}[bound[0]], entry.id))]
    if not (isinstance(description, ast.Constant) and isinstance(description.value, str)):
        return None, [problem(rel, line, "description-not-string", "JOB[1] (the description) must be a string literal")]
    if problems:
        return None, problems
    job = {
        "rel": rel,
        "line": line,
        "entrypoint": entry.id,
        "entrypoint_line": bound[1].lineno,
        "description": description.value,
        "meta": meta,
    }
    return job, []


def main():
    request = json.load(sys.stdin)
    jobs = []
    problems = []
    parsed = 0
    for item in request["files"]:
        rel = item["rel"]
        try:
            with open(item["file"], "rb") as handle:
                data = handle.read()
        except OSError as error:
            problems.append(problem(rel, 1, "unreadable", "cannot read: %s" % (error.strerror or error,)))
            continue
        if b"JOB" not in data:
            continue
        parsed += 1
        try:
            source = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            problems.append(problem(rel, 1, "syntax-error", "not UTF-8 text: %s" % (error,)))
            continue
        try:
            job, found = examine(rel, source)
        except RecursionError:
            job, found = None, [problem(rel, 1, "syntax-error", "too deeply nested to parse")]
        problems.extend(found)
        if job is not None:
            jobs.append(job)
    # One document in as few writes as the pipe takes: json.dump hands the stream a piece per
    # token, which under PYTHONUNBUFFERED (set in many CI images) is one write(2) each: 26,000 for
    # 1,000 jobs, and as many 'data' events in dagctl (as dagctl_validate/protocol.py's write_answer).
    data = (json.dumps({"jobs": jobs, "problems": problems, "parsed": parsed}) + "\n").encode("utf-8")
    out = sys.stdout.buffer
    view = memoryview(data)
    while view:
        view = view[out.write(view) or 0 :]
    out.flush()


if __name__ == "__main__":
    main()
