"""Airflow engine of `dagctl validate`: Airflow's own DagBag is the judge.

Called by dagctl_validate/protocol.py as ``run_airflow_engine(request, ast_result)``, or run
directly (``python python/dagctl_validate --airflow-only < request.json``: the ast pass is skipped, ast_result is
empty) so that tests drive this module on its own.

Request (the validate seam): ``{"engine", "root", "files", "package", "dags_folder"?, "airflow_version", "options"}``.
``root`` and ``files`` are absolute (files may also be relative to root). With ``dags_folder`` (the
package's DAG folder), the files import their package's own modules as Airflow will: as
``<package>.<module>`` (``dagctl sync`` writes the package to ``DIR/<package>/`` with DIR on sys.path;
the DagctlBundle's path holds ``<package>/``), and neither ``root`` nor the DAG folder is on sys.path.
Without it, ``root`` is appended to sys.path. ``options`` this engine reads:

  file_timeout     seconds one file may take to import (default 30). Airflow's own import timeout
                   (SIGALRM) fires first and gives a traceback; a file that ignores it (blocked in C
                   code) is killed ``max(2, file_timeout / 2)`` seconds later.
  workers          worker processes (default: the number of CPUs).
  cache            false turns the result cache off (default true).
  cache_dir        where cached per-file results live; dagctl sends <its cache dir>/airflow-engine
                   (src/check/index.ts decides the folder, once). Without it nothing is cached.
  dagctl_version   part of the cache key (a new dagctl never trusts an old dagctl's results).
  safe_mode        Airflow's DAG discovery safe mode (default true, Airflow's default): a file without
                   both words "airflow" and "dag" is skipped, and reported as such (info).
  allow_network    false (default) makes network access at import time fail inside the workers.
  traceback_lines  how many last lines of a traceback go into an import-error finding (default 8).

Response: ``{"error": {"code", "message", "hint"}}`` when Airflow itself cannot be loaded, else the ast result's shape with engine "airflow": ``dags`` (with ``tasks``), ``findings`` (the
ast findings plus import-error, import-timeout, import-crash, dag-cycle, duplicate-dag-id,
airflow-safe-mode-skip), ``timings`` (seconds of each phase: read, import_airflow, preimport,
parse, total; CPU seconds of the serial part and of all workers: serial_cpu, workers_cpu; the number
of workers), ``files`` ([{file, seconds, cached, dags, tasks, worker}], worker being the pid of the process that imported the file) and ``airflow_version``.

How it stays safe and fast:
- Airflow runs with a temporary AIRFLOW_HOME and a SQLite file inside it (never a real database),
  examples off; the temporary home is removed afterwards.
- Airflow (and the airflow.* modules the files import) are imported once in this process; worker
  processes are forked from it, so each starts with everything imported. A supervisor loop hands out
  one file at a time; a worker that exceeds the timeout is killed, one that dies (sys.exit in C,
  os._exit, SIGSEGV) is reported for the file it held, and a fresh worker is forked in its place.
- Modules of the DAG folder a file imported are dropped after each file (each file sees fresh
  helpers), and recorded with their hashes so that the cache notices a changed helper.
- Per-file results are cached by (file path, file content, Airflow and provider versions, Python
  version, dagctl version, engine version, safe mode) plus the hashes of the local modules the file
  imported. A run where every file is cached never imports Airflow.
- Duplicate DAG ids are decided here, across all files (cached or not, whichever worker parsed them),
  in file order: the first file keeps the id, later ones get duplicate-dag-id, as DagBag does.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from .cache import ResultCache, environment_versions
from .report import build_report
from .sandbox import AirflowSandbox
from .supervisor import Supervisor

DEFAULT_FILE_TIMEOUT = 30.0
DEFAULT_TRACEBACK_LINES = 8


def run_airflow_engine(request: dict[str, Any], ast_result: dict[str, Any] | None = None) -> dict[str, Any]:
    import gc

    # protocol.py turns the cycle collector off for its ast walk; DAGs are full of cycles
    # (a DAG and its tasks point at each other), so a worker going through many files needs it.
    gc_was_enabled = gc.isenabled()
    gc.enable()
    try:
        return _run(request, ast_result)
    finally:
        if not gc_was_enabled:
            gc.disable()


def _run(request: dict[str, Any], ast_result: dict[str, Any] | None) -> dict[str, Any]:
    started = time.monotonic()
    timings: dict[str, float] = {}
    ast_result = ast_result or {"engine": "ast", "dags": [], "findings": []}
    options = dict(request.get("options") or {})
    root = os.path.abspath(request["root"])
    files = _ordered_unique([os.path.abspath(os.path.join(root, f)) for f in request.get("files") or []])
    file_timeout = float(options.get("file_timeout") or DEFAULT_FILE_TIMEOUT)
    safe_mode = bool(options.get("safe_mode", True))
    tb_lines = int(options.get("traceback_lines") or DEFAULT_TRACEBACK_LINES)

    versions = environment_versions()
    allow_network = bool(options.get("allow_network", False))
    import_as = (request["package"], os.path.abspath(request["dags_folder"])) if request.get("dags_folder") and request.get("package") else None
    options["import_as"] = list(import_as) if import_as else None  # part of the cache key
    cache = ResultCache(options, versions, safe_mode, allow_network) if options.get("cache", True) and options.get("cache_dir") else None

    results: dict[str, dict[str, Any]] = {}
    sources: dict[str, bytes] = {}
    pending: list[str] = []
    for path in files:
        try:
            sources[path] = Path(path).read_bytes()
        except OSError as error:
            results[path] = {"file": path, "seconds": 0.0, "dags": [], "errors": [], "fatal": f"cannot read the file: {error}", "rule": "import-error"}
            continue
        hit = cache.get(path, sources[path]) if cache else None
        if hit is not None:
            hit["cached"] = True
            results[path] = hit
        else:
            pending.append(path)

    timings["read"] = time.monotonic() - started
    if pending:
        with AirflowSandbox(root, file_timeout) as sandbox:
            workers = max(1, min(int(options.get("workers") or os.cpu_count() or 1), len(pending)))
            t = time.monotonic()
            cpu = time.process_time()
            try:
                supervisor = Supervisor(sandbox, root, file_timeout, safe_mode, allow_network, workers, import_as)
            except Exception as error:  # noqa: BLE001  a broken environment is the caller's error to show, with a hint
                return {
                    "error": {
                        "code": "AIRFLOW_BROKEN",
                        "message": f"{sys.executable} cannot load Airflow: {type(error).__name__}: {error}",
                        "hint": "Run `dagctl doctor` to see what is missing, `dagctl python setup --airflow N` for a working environment, or use --engine ast.",
                    }
                }
            timings["import_airflow"] = time.monotonic() - t
            t = time.monotonic()
            supervisor.preimport([sources[p] for p in pending])
            timings["preimport"] = time.monotonic() - t
            timings["serial_cpu"] = time.process_time() - cpu  # Airflow's import and the preimports: nothing runs beside it
            children_before = os.times()
            t = time.monotonic()
            # the workers write their results to the cache themselves (in parallel): they get the entry's path
            entries = {p: str(cache.entry_path(p, sources[p])) for p in pending} if cache else {}
            # DAG files' bytecode goes to dagctl's cache, never into the user's folders (set after
            # Airflow's imports, which keep using the bytecode in site-packages)
            saved_prefix = sys.pycache_prefix
            sys.pycache_prefix = os.path.join(cache.dir if cache else sandbox.home, "pycache")
            try:
                for path, result in supervisor.run(pending, entries).items():
                    result["cached"] = False
                    results[path] = result
            finally:
                sys.pycache_prefix = saved_prefix
            timings["parse"] = time.monotonic() - t
            children_after = os.times()
            timings["workers_cpu"] = (children_after.children_user + children_after.children_system) - (children_before.children_user + children_before.children_system)
            timings["workers"] = workers
    report = build_report(root, files, results, sources, ast_result, versions, tb_lines, import_as)
    timings["total"] = time.monotonic() - started
    report["timings"] = {k: round(v, 3) for k, v in timings.items()}
    return report


def _ordered_unique(items: list[str]) -> list[str]:
    seen: set[str] = set()
    return [x for x in items if not (x in seen or seen.add(x))]
