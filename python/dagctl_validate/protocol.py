"""dagctl validate: checks Airflow DAG files, without importing them (the ast engine) or with Airflow.

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
           "files": [{"file", "seconds", "cached"}]?,
           "ignores": [{"file", "line", "rules", "silenced"}],   # each `# dagctl: ignore[...]`
           "python": {"version", "executable"}}                  # the interpreter that parsed
      or  {"error": {"code", "message", "hint"}}   # the caller exits 2 and shows the hint

  With "records": true the answer also holds "records": {file: {"dags": [[dag_id, line, column]],
  "ignores"?: {line: [rules]}}}, what a later run needs to reuse the result; a request's "known"
  (the same shape) names files validated before, not sent again, that duplicate-dag-id still sees.
  `--hello` splits the request in two (see hello()): dagctl starts the process early.

  `python3 python/dagctl_validate --rules` prints the rule catalogue {name: severity};
  `python3 python/dagctl_validate --airflow-only` runs the Airflow engine without the ast pass.

Results per file are cached by content hash in options.ast_cache_dir (dagctl sends
<its cache dir>/validate-ast), unless options.cache is false; without a folder nothing is cached.

The ast engine always runs first. With engine "airflow", or "auto" when Airflow is importable,
its result goes to airflow_engine.run_airflow_engine(request, ast_result) (a subpackage of this
one), which returns the final response.

Modules: protocol (this: the request, the answer, engine choice), ast_engine (many files: cache,
workers, duplicates), analyze (the per-file rules), walk (one pass over a tree), resolve (static
DAG ids), dag_paths (what a DAG is), airflow3 (what Airflow 3 removed), toplevel (import-time
calls), rules (the catalogue), airflow_engine/ (Airflow's DagBag as the judge).

Speed matters (CI runs this on every push, over hundreds of files): each file is read once,
parsed once and walked once; everything after the walk works on the few nodes it collected.
"""

import gc
import json
import os
import platform
import sys

from . import ignores as inline
from .ast_engine import run_ast_engine
from .rules import RULES


def write_answer(answer):
    """The answer as one JSON document on stdout, in as few writes as the pipe takes. json.dump
    would hand the stream thousands of small pieces: one write(2) each when stdout is unbuffered
    (PYTHONUNBUFFERED, set in many CI images), and as many reads for dagctl (1,000 files: ~14,000)."""
    data = json.dumps(answer).encode()
    sys.stdout.flush()
    out = sys.stdout.buffer  # a raw FileIO when unbuffered, whose write may take part of the bytes
    view = memoryview(data)
    while view:
        view = view[out.write(view) or 0 :]
    out.flush()


def error(code, message, hint):
    return {"error": {"code": code, "message": message, "hint": hint}}


def handle(request):
    engine = request.get("engine", "ast")
    if engine not in ("ast", "airflow", "auto"):
        return error("BAD_REQUEST", f"unknown engine {engine!r}", "Use --engine ast, airflow or auto.")
    result = run_ast_engine(request)
    ignores = result.pop("ignores", {})
    answer = run_engines(engine, request, result)
    if "error" in answer:
        return answer
    answer["findings"], answer["ignores"] = inline.apply(answer["findings"], ignores)
    # the interpreter that parsed (and, under the Airflow engine, imported) the files: syntax valid
    # only on newer Pythons (3.12's f-strings) is judged by it
    answer["python"] = {"version": platform.python_version(), "executable": sys.executable}
    return answer


def run_engines(engine, request, result):
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
        from .airflow_engine import run_airflow_engine
    except ImportError as e:
        if engine == "auto":
            return result
        return error("ENGINE_MISSING", f"the airflow engine is not available: {e}", "Reinstall dagctl, or use --engine ast.")
    return run_airflow_engine(request, result)


def fingerprint(prelude):
    """What, besides dagctl's own settings, decides the ast engine's findings for a file: the
    interpreter that parses, the engine's code, the engine `auto` resolves to, and the package's own
    module names (own-module-import). publish reuses a result only under an equal fingerprint."""
    from .ast_engine import engine_digest, own_modules

    engine = prelude.get("engine", "ast")
    if engine == "auto":
        import importlib.util

        engine = "airflow" if importlib.util.find_spec("airflow") is not None else "ast"
    return {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "engine": engine,
        "engine_code": engine_digest(),
        "own_modules": ",".join(sorted(own_modules(prelude.get("dags_folder"), prelude.get("package", "")))),
    }


def hello():
    """`--hello`: started before dagctl knows which files to send. The first stdin line is the
    request without its files (the prelude); the answer's first line is {"hello": fingerprint};
    then the rest of stdin holds {"files", "known"?, "records"?}, merged over the prelude, or
    nothing at all (publish reuses every result: no file is parsed, nothing more is written)."""
    prelude = json.loads(sys.stdin.readline() or "{}")
    sys.stdout.write(json.dumps({"hello": fingerprint(prelude)}) + "\n")
    sys.stdout.flush()
    rest = sys.stdin.read()
    if not rest.strip():
        return None
    request = dict(prelude)
    request.update(json.loads(rest))
    return request


def main(argv):
    if "--rules" in argv:
        write_answer(RULES)
        return 0
    # The walk allocates many short-lived, acyclic nodes; the cycle collector only costs time here.
    gc.disable()
    try:
        if "--hello" in argv:
            request = hello()
            if request is None:
                return 0
        else:
            request = json.load(sys.stdin)
    except ValueError as e:
        write_answer(error("BAD_REQUEST", f"request is not JSON: {e}", "This is a dagctl bug; report it."))
        return 0
    if "--airflow-only" in argv:
        from .airflow_engine import run_airflow_engine

        write_answer(run_airflow_engine(request, None))
    else:
        write_answer(handle(request))
    if "airflow" in sys.modules or "dagctl_validate.airflow_engine" not in sys.modules:
        # The answer is written; tearing down an interpreter that imported Airflow costs another
        # 1-1.5 s of finalizers and atexit hooks that nobody waits for, and the ast engine's ~5 ms
        # of freeing every file's bytes and results one by one (it leaves no atexit work: the
        # result cache is saved, the workers have exited). dagctl waits for the exit.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0
