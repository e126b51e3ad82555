"""Airflow engine of `dagctl validate`: Airflow's own DagBag is the judge.

Called by dagctl_validate.py (same folder) as ``run_airflow_engine(request, ast_result)``, or run
directly (``python dagctl_airflow_engine.py < request.json``: the ast pass is skipped, ast_result is
empty) so that tests drive this module on its own.

Request (the validate seam): ``{"engine", "root", "files", "package", "airflow_version", "options"}``.
``root`` and ``files`` are absolute (files may also be relative to root). ``options`` this engine reads:

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

import hashlib
import json
import os
import re
import select
import shutil
import signal
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

ENGINE_VERSION = "1"

DEFAULT_FILE_TIMEOUT = 30.0
DEFAULT_TRACEBACK_LINES = 8

_DIST_INFO_RE = re.compile(r"^(apache[-_.]airflow(?:[-_.][\w.-]*?)?)-(\d[^-]*)\.dist-info$", re.IGNORECASE)
_AIRFLOW_IMPORT_RE = re.compile(r"^[ \t]*(?:from[ \t]+(airflow[\w.]*)[ \t]+import|import[ \t]+(airflow[\w.]*))", re.MULTILINE)
# without the ast engine's DAG list: does a file skipped by safe mode look like it defines a DAG?
_DAG_DEFINITION_RE = re.compile(r"\bDAG\s*\(|@dag\b")
_TRACE_FRAME_RE = re.compile(r'^\s*File "([^"]+)", line (\d+)', re.MULTILINE)


# --------------------------------------------------------------------------------------------
# entry point


def run_airflow_engine(request: dict[str, Any], ast_result: dict[str, Any] | None = None) -> dict[str, Any]:
    import gc

    # dagctl_validate.py turns the cycle collector off for its ast walk; DAGs are full of cycles
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

    versions = _environment_versions()
    allow_network = bool(options.get("allow_network", False))
    cache = _ResultCache(options, versions, safe_mode, allow_network) if options.get("cache", True) and options.get("cache_dir") else None

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
        with _AirflowSandbox(root, file_timeout) as sandbox:
            workers = max(1, min(int(options.get("workers") or os.cpu_count() or 1), len(pending)))
            t = time.monotonic()
            cpu = time.process_time()
            try:
                supervisor = _Supervisor(sandbox, root, file_timeout, safe_mode, allow_network, workers)
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
    report = _report(root, files, results, sources, ast_result, versions, tb_lines)
    timings["total"] = time.monotonic() - started
    report["timings"] = {k: round(v, 3) for k, v in timings.items()}
    return report


def _ordered_unique(items: list[str]) -> list[str]:
    seen: set[str] = set()
    return [x for x in items if not (x in seen or seen.add(x))]


# --------------------------------------------------------------------------------------------
# versions and cache


def _environment_versions() -> dict[str, str]:
    """Versions of Airflow and its providers, from the names of their .dist-info folders (no Airflow
    import, no metadata file read: a warm run must stay fast)."""
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for folder in names:
            m = _DIST_INFO_RE.match(folder)
            if m:
                name = m.group(1).lower().replace("_", "-").replace(".", "-")
                found.setdefault(name, m.group(2))
    return found


class _ResultCache:
    """One JSON file per (file path, content, environment) key; written atomically."""

    def __init__(self, options: dict[str, Any], versions: dict[str, str], safe_mode: bool, allow_network: bool):
        self.dir = Path(options["cache_dir"]) / f"v{ENGINE_VERSION}"
        env_key = json.dumps(
            {
                "engine": ENGINE_VERSION,
                "dagctl": options.get("dagctl_version", ""),
                "python": sys.version,
                "executable": sys.executable,
                "versions": versions,
                "safe_mode": safe_mode,
                "allow_network": allow_network,
                # Airflow settings and the import path change what a file's import does
                "airflow_env": sorted((k, v) for k, v in os.environ.items() if k.startswith("AIRFLOW__")),
                "sys_path": sys.path,
            },
            sort_keys=True,
        )
        self.env_digest = hashlib.sha256(env_key.encode()).hexdigest()
        self._hashes: dict[str, str | None] = {}

    def entry_path(self, path: str, content: bytes) -> Path:
        h = hashlib.sha256(self.env_digest.encode())
        h.update(b"\0" + path.encode() + b"\0")
        h.update(content)
        digest = h.hexdigest()
        return self.dir / digest[:2] / f"{digest}.json"

    def _hash_of(self, path: str) -> str | None:
        if path not in self._hashes:
            try:
                self._hashes[path] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
            except OSError:
                self._hashes[path] = None
        return self._hashes[path]

    def get(self, path: str, content: bytes) -> dict[str, Any] | None:
        try:
            entry = json.loads(self.entry_path(path, content).read_text())
        except (OSError, ValueError):
            return None
        if any(self._hash_of(dep) != digest for dep, digest in entry.get("deps", {}).items()):
            return None
        return entry

    @staticmethod
    def put(target: Path, result: dict[str, Any]) -> None:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            with os.fdopen(fd, "w") as out:
                json.dump({k: v for k, v in result.items() if k not in ("cached", "worker")}, out)
            os.replace(tmp, target)
        except OSError:
            pass  # a cache that cannot be written only costs speed


# --------------------------------------------------------------------------------------------
# the sandbox: temporary AIRFLOW_HOME, SQLite, stdout kept clean


class _AirflowSandbox:
    """Sets Airflow's environment before it is imported, and keeps Airflow's own output (its log
    handlers write to stdout) off this process's stdout, which carries the JSON response."""

    SETTINGS = {
        ("core", "load_examples"): "False",
        ("core", "dagbag_import_error_tracebacks"): "True",
        ("core", "dagbag_import_error_traceback_depth"): "50",
        ("core", "unit_test_mode"): "False",
        ("logging", "logging_level"): "ERROR",
    }

    def __init__(self, root: str, file_timeout: float):
        self.root = root
        self.file_timeout = file_timeout

    def __enter__(self) -> _AirflowSandbox:
        self.home = tempfile.mkdtemp(prefix="dagctl-airflow-home-")
        self.log_path = os.path.join(self.home, "engine.log")
        self._saved_env = dict(os.environ)
        settings = dict(self.SETTINGS)
        settings[("core", "dags_folder")] = self.root
        settings[("core", "dagbag_import_timeout")] = str(self.file_timeout)
        settings[("database", "sql_alchemy_conn")] = f"sqlite:///{os.path.join(self.home, 'airflow.db')}"
        os.environ["AIRFLOW_HOME"] = self.home
        for (section, key), value in settings.items():
            os.environ[f"AIRFLOW__{section.upper()}__{key.upper()}"] = value
        self.settings = settings
        sys.stdout.flush()
        sys.stderr.flush()
        self.saved_fds = (os.dup(1), os.dup(2))
        log_fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(log_fd)
        return self

    def apply_conf(self) -> None:
        """When Airflow was imported before the sandbox, its conf missed the variables: set them."""
        from airflow.configuration import conf

        for (section, key), value in self.settings.items():
            if section == "database":
                continue
            try:
                conf.set(section, key, value)
            except Exception:
                pass

    def __exit__(self, *exc: object) -> None:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            pass
        os.dup2(self.saved_fds[0], 1)
        os.dup2(self.saved_fds[1], 2)
        for fd in self.saved_fds:
            os.close(fd)
        if exc[0] is not None:
            sys.stderr.write(_tail(self.log_path, 40))
        os.environ.clear()
        os.environ.update(self._saved_env)
        shutil.rmtree(self.home, ignore_errors=True)


def _tail(path: str, lines: int) -> str:
    try:
        return "".join(Path(path).read_text(errors="replace").splitlines(keepends=True)[-lines:])
    except OSError:
        return ""


# --------------------------------------------------------------------------------------------
# the supervisor: fork after import, one file at a time per worker, timeouts, crashes


class _Worker:
    def __init__(self, pid: int, task_w: int, result_r: int, crash_path: str):
        self.pid = pid
        self.task_w = task_w
        self.result_r = result_r
        self.crash_path = crash_path
        self.buffer = b""
        # files sent and not answered yet, in the order the worker takes them: the first is the one
        # being imported, since `started`
        self.inflight: deque[str] = deque()
        self.started = 0.0


# Files handed to a worker ahead of time, so that it never waits for the supervisor between files
# (on a loaded machine that wait costs milliseconds per file).
_PIPELINE_DEPTH = 2


class _Supervisor:
    def __init__(self, sandbox: _AirflowSandbox, root: str, file_timeout: float, safe_mode: bool, allow_network: bool, workers: int):
        self.sandbox = sandbox
        self.root = root
        self.file_timeout = file_timeout
        self.hard_timeout = file_timeout + max(2.0, file_timeout / 2)
        self.safe_mode = safe_mode
        self.allow_network = allow_network
        self.n_workers = workers
        self.pid = os.getpid()
        self.workers: list[_Worker] = []
        self._spawned = 0
        airflow_was_imported = "airflow" in sys.modules
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import airflow  # noqa: F401  (settings, ORM engine, providers manager: once, before forking)

            self.DagBag = _dagbag_class()
            from airflow.utils.file import might_contain_dag

            self.might_contain_dag = might_contain_dag
        if airflow_was_imported:
            sandbox.apply_conf()
        # DAG files import their folder's helpers: Airflow 2 appends DAGS_FOLDER to sys.path, Airflow 3's
        # dag processor its bundle's path.
        if root not in sys.path:
            sys.path.append(root)
        self.bag = _new_dagbag(self.DagBag, root)

    def _warm_up(self, with_assets: bool) -> None:
        """Airflow initialises some things lazily on the first file it processes (~0.2 s on Airflow 2):
        process a stub DAG here, once, so every forked worker starts past it."""
        import warnings

        stub = os.path.join(self.sandbox.home, "dagctl_warm_up_dag.py")
        Path(stub).write_text(_WARM_UP_DAG + (_WARM_UP_ASSETS if with_assets else ""))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                self.bag.process_file(stub, only_if_updated=False, safe_mode=False)
            except BaseException:  # noqa: BLE001  a failed warm-up only costs speed
                pass
        self.bag.import_errors.clear()
        self.bag.dags.clear()

    def preimport(self, sources: list[bytes]) -> None:
        """Imports the airflow.* modules the files import, once, so every forked worker has them."""
        names: set[str] = set()
        for src in sources:
            for a, b in _AIRFLOW_IMPORT_RE.findall(src.decode("utf-8", "replace")):
                names.add(a or b)
        own = _package_of(self.root)
        import importlib
        import warnings

        for name in sorted(names):
            if own and (name == own or name.startswith(own + ".")):
                continue  # modules of the folder under validation are user code: only workers run it
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    importlib.import_module(name)
                except BaseException:  # noqa: BLE001  a missing module is the file's import error, found later
                    pass
        self._warm_up(with_assets=any(_ASSET_RE.search(src) for src in sources))

    def run(self, files: list[str], cache_entries: dict[str, str]) -> dict[str, dict[str, Any]]:
        import gc

        gc.collect()
        gc.freeze()  # keeps the imported objects' pages shared between the forked workers
        queue = deque(files)
        results: dict[str, dict[str, Any]] = {}
        try:
            while queue or any(w.inflight for w in self.workers):
                while queue and len(self.workers) < self.n_workers:
                    self.workers.append(self._spawn())
                for w in self.workers:
                    while queue and len(w.inflight) < _PIPELINE_DEPTH:
                        if not w.inflight:
                            w.started = time.monotonic()
                        w.inflight.append(queue.popleft())
                        task = {"file": w.inflight[-1], "cache_entry": cache_entries.get(w.inflight[-1])}
                        os.write(w.task_w, (json.dumps(task) + "\n").encode())
                busy = [w for w in self.workers if w.inflight]
                if not busy:
                    break
                wait = max(0.0, min(w.started + self.hard_timeout for w in busy) - time.monotonic())
                readable, _, _ = select.select([w.result_r for w in busy], [], [], wait)
                for w in busy:
                    if w.result_r in readable:
                        self._read(w, results, queue)
                now = time.monotonic()
                for w in [w for w in self.workers if w.inflight and now >= w.started + self.hard_timeout]:
                    stack = self._stack_of(w)
                    path = w.inflight.popleft()
                    results[path] = _fatal(path, now - w.started, "import-timeout", f"importing the file did not finish within {self.file_timeout:g}s (it ignored Airflow's import timeout); the worker was killed", crash=stack)
                    queue.extendleft(reversed(w.inflight))
                    self._retire(w, kill=True)
        except BaseException:
            for w in list(self.workers):  # interrupted: a worker stuck in a file would never end by itself
                self._retire(w, kill=True)
            raise
        finally:
            for w in list(self.workers):
                self._retire(w, kill=False)
            gc.unfreeze()
        return results

    def _read(self, w: _Worker, results: dict[str, dict[str, Any]], queue: deque[str]) -> None:
        chunk = os.read(w.result_r, 1 << 20)
        if not chunk:  # the worker died while importing the first of its files
            elapsed = time.monotonic() - w.started
            crash = _tail(w.crash_path, 60)
            status = self._retire(w, kill=False)
            if w.inflight:
                path = w.inflight.popleft()
                results[path] = _fatal(path, elapsed, "import-crash", _describe_exit(status), crash=crash)
                queue.extendleft(reversed(w.inflight))
            return
        w.buffer += chunk
        while b"\n" in w.buffer:
            line, w.buffer = w.buffer.split(b"\n", 1)
            result = json.loads(line)
            results[result["file"]] = result
            if w.inflight and w.inflight[0] == result["file"]:
                w.inflight.popleft()
            w.started = time.monotonic()

    def _stack_of(self, w: _Worker) -> str:
        """Asks a stuck worker for its Python stack (faulthandler on SIGUSR1 answers even in a C loop)."""
        try:
            os.kill(w.pid, signal.SIGUSR1)
        except ProcessLookupError:
            return ""
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            text = _tail(w.crash_path, 60)
            if "File " in text:
                time.sleep(0.05)  # let the dump finish
                return _tail(w.crash_path, 60)
            time.sleep(0.02)
        return ""

    def _retire(self, w: _Worker, kill: bool) -> int:
        if kill:
            try:
                os.kill(w.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for fd in (w.task_w, w.result_r):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            _, status = os.waitpid(w.pid, 0)
        except ChildProcessError:
            status = 0
        try:
            os.unlink(w.crash_path)
        except OSError:
            pass
        self.workers.remove(w)
        return status

    def _spawn(self) -> _Worker:
        task_r, task_w = os.pipe()
        result_r, result_w = os.pipe()
        self._spawned += 1
        crash_path = os.path.join(self.sandbox.home, f"worker-{self._spawned}.crash")
        pid = os.fork()
        if pid == 0:  # the worker
            code = 0
            try:
                os.close(task_w)
                os.close(result_r)
                for other in self.workers:  # or a dead worker's pipe would never reach EOF
                    os.close(other.task_w)
                    os.close(other.result_r)
                for fd in self.sandbox.saved_fds:  # the caller's stdout/stderr: its EOF must not wait for us
                    os.close(fd)
                self._worker_loop(task_r, result_w, crash_path)
            except BaseException:  # noqa: BLE001
                code = 70
            finally:
                os._exit(code)
        os.close(task_r)
        os.close(result_w)
        return _Worker(pid, task_w, result_r, crash_path)

    # ---- inside a worker process

    def _worker_loop(self, task_r: int, result_w: int, crash_path: str) -> None:
        import faulthandler

        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the supervisor's to handle
        _die_with_parent(self.pid)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        crash = open(crash_path, "w")  # noqa: SIM115  lives as long as the worker
        _keep_fatal_signals_fatal()
        faulthandler.enable(file=crash)
        faulthandler.register(signal.SIGUSR1, file=crash, all_threads=False)
        if not self.allow_network:
            _block_network()
        self.opened = _record_opened_files(self.root)
        self.imported = _record_new_imports()
        bag = self.bag
        out = os.fdopen(result_w, "w", buffering=1)
        for line in os.fdopen(task_r):
            task = json.loads(line)
            result = self._process(bag, task["file"])
            out.write(json.dumps(result) + "\n")
            out.flush()
            if task.get("cache_entry") and result["cacheable"]:
                _ResultCache.put(Path(task["cache_entry"]), result)

    def _process(self, bag: Any, path: str) -> dict[str, Any]:
        import traceback

        bag.import_errors.clear()
        bag.dags.clear()
        self.opened.clear()
        self.imported.clear()
        errors: list[str] = []
        started = time.perf_counter()
        found: list[Any] = []
        try:
            found = bag.process_file(path, only_if_updated=False, safe_mode=self.safe_mode) or []
        except BaseException:  # noqa: BLE001  sys.exit() escapes Airflow 2's DagBag
            errors.append(traceback.format_exc())
        seconds = time.perf_counter() - started
        errors.extend(bag.import_errors.values())
        # a DAG id defined twice in one file is one DAG to Airflow (the last definition wins)
        dags = list({d.dag_id: {"dag_id": d.dag_id, "tasks": len(d.tasks)} for d in found}.values())
        deps: dict[str, str] = {}
        for name in self.imported:
            module_file = getattr(sys.modules.get(name), "__file__", None) or ""
            if module_file and _is_under(module_file, self.root):
                del sys.modules[name]  # the next file imports the folder's helpers afresh
                if os.path.abspath(module_file) != path:
                    try:
                        deps[os.path.abspath(module_file)] = hashlib.sha256(Path(module_file).read_bytes()).hexdigest()
                    except OSError:
                        pass
        for opened in self.opened - {path}:  # e.g. the YAML a DAG factory reads: part of the result
            try:
                deps[opened] = hashlib.sha256(Path(opened).read_bytes()).hexdigest()
            except OSError:
                pass
        bag.dags.clear()
        # whether a file beats the timeout depends on the machine's load: never cache a timeout
        timed_out = any("AirflowTaskTimeout" in e for e in errors)
        return {"file": path, "seconds": round(seconds, 4), "dags": dags, "errors": errors, "skipped": not errors and not dags and not self.might_contain_dag(path, self.safe_mode), "deps": deps, "cacheable": not timed_out, "worker": os.getpid()}


_WARM_UP_DAG = '''# airflow dag used by dagctl to warm up Airflow before forking workers
try:
    from airflow.sdk import DAG
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:
    from airflow import DAG
    from airflow.operators.empty import EmptyOperator
from datetime import datetime, timedelta

with DAG(
    dag_id="dagctl_warm_up",
    schedule="@daily",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    default_args={"owner": "dagctl", "retries": 1, "retry_delay": timedelta(seconds=60)},
) as dag:
    EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
'''

# Asset (Dataset) URIs are normalised by handlers the providers register: discovering them imports
# e.g. the amazon provider's S3 assets (boto), about a second. Done once here when a file uses assets.
_WARM_UP_ASSETS = '''
try:
    from airflow.sdk import Asset as _Asset
except ImportError:
    from airflow.datasets import Dataset as _Asset
_Asset("s3://dagctl-warm-up/key")
'''
_ASSET_RE = re.compile(rb"\b(?:Asset|Dataset)\w*\(")


def _dagbag_class() -> Any:
    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow 3

        return DagBag
    except ImportError:
        from airflow.models.dagbag import DagBag  # Airflow 2

        return DagBag


def _new_dagbag(cls: Any, root: str) -> Any:
    try:
        return cls(dag_folder=root, include_examples=False, collect_dags=False)  # Airflow 2
    except TypeError:
        return cls(dag_folder=root, collect_dags=False)  # Airflow 3 has no include_examples


def _die_with_parent(parent: int) -> None:
    """Linux: a worker gets SIGKILL when the supervisor dies (even by SIGKILL), so that a file stuck
    in a loop never outlives dagctl."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the supervisor died before prctl took effect
        os._exit(0)


def _keep_fatal_signals_fatal() -> None:
    """Airflow 3 installs a Python SIGSEGV handler; after a real segfault it returns to the faulting
    instruction and the worker spins. Keep faulthandler's (dump the stack, then die) instead."""
    original = signal.signal
    fatal = {signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL, signal.SIGABRT}
    for signum in fatal:  # the warm-up in the parent may have installed Airflow's already
        original(signum, signal.SIG_DFL)

    def guarded(signum: int, handler: Any) -> Any:
        if signum in fatal:
            return signal.getsignal(signum)
        return original(signum, handler)

    signal.signal = guarded  # type: ignore[assignment]


def _record_new_imports() -> list[str]:
    """Names of the modules imported for the first time (the import system asks the finders only
    about modules not in sys.modules): cheaper than comparing sys.modules before and after each file."""
    imported: list[str] = []

    class Recorder:
        @staticmethod
        def find_spec(name: str, *_args: Any, **_kwargs: Any) -> None:
            imported.append(name)
            return None  # the real finders after this one do the work

    sys.meta_path.insert(0, Recorder)  # type: ignore[arg-type]
    return imported


def _record_opened_files(root: str) -> set[str]:
    """Files of the validated folder that a DAG file reads while it is imported (a DAG factory's
    YAML, a SQL file): the cache entry depends on them as on the helper modules."""
    import builtins
    import io

    opened: set[str] = set()
    real_open = io.open

    def recording_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, (str, os.PathLike)):
            full = os.path.abspath(os.fspath(file))
            if _is_under(full, root):
                opened.add(full)
        return real_open(file, *args, **kwargs)

    builtins.open = recording_open
    io.open = recording_open
    return opened


def _block_network() -> None:
    import socket

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise OSError("dagctl: network access while importing a DAG file is blocked (options.allow_network)")

    local_hosts = {None, "localhost", "127.0.0.1", "::1", ""}
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in local_hosts:
            raise socket.gaierror(socket.EAI_NONAME, f"dagctl: name resolution of {host!r} while importing a DAG file is blocked")
        return real_getaddrinfo(host, *args, **kwargs)

    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family == getattr(socket, "AF_UNIX", None):
            return real_connect(self, address)
        return refuse()

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect  # type: ignore[method-assign]
    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]


def _is_under(path: str, root: str) -> bool:
    path = os.path.abspath(path)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _package_of(root: str) -> str | None:
    """`airflow.example_dags` when root is site-packages/airflow/example_dags: the dotted name of a
    folder that is importable from sys.path, else None."""
    for entry in sys.path:
        entry = os.path.abspath(entry or ".")
        if _is_under(root, entry) and root != entry:
            return ".".join(Path(os.path.relpath(root, entry)).parts)
    return None


def _describe_exit(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return f"the Python process importing the file died with {name}"
    return f"the Python process importing the file exited with status {os.WEXITSTATUS(status)} (os._exit or a C extension)"


def _fatal(path: str, seconds: float, rule: str, message: str, crash: str = "") -> dict[str, Any]:
    return {"file": path, "seconds": round(seconds, 4), "dags": [], "errors": [], "fatal": message, "rule": rule, "crash": crash, "cacheable": False}


# --------------------------------------------------------------------------------------------
# from per-file results to the validate report


def _report(root: str, files: list[str], results: dict[str, dict[str, Any]], sources: dict[str, bytes], ast_result: dict[str, Any], versions: dict[str, str], tb_lines: int) -> dict[str, Any]:
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
            findings.append(_error_finding(rel, path, error, tb_lines, dag_line))
        if result.get("skipped") and (any(f == rel for f, _ in ast_lines) or _DAG_DEFINITION_RE.search(text)):
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
    merged = list(ast_result.get("findings", [])) + [f for f in findings if (f["file"], f["line"], f["rule"]) not in seen]
    return {"engine": "airflow", "airflow_version": versions.get("apache-airflow", ""), "dags": dags_out, "findings": merged, "files": files_out}


def _rel(path: str, root: str) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


def _finding(file: str, line: int, rule: str, message: str, hint: str = "", severity: str = "error") -> dict[str, Any]:
    return {"file": file, "line": line, "column": 0, "rule": rule, "severity": severity, "message": message, "hint": hint}


def _error_finding(rel: str, path: str, error: str, tb_lines: int, dag_line: Any) -> dict[str, Any]:
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
    return _finding(rel, _deepest_line(text, path), "import-error", message, "Fix the error at the line shown; `python <file>` in the same environment reproduces it.")


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


def main() -> int:
    request = json.load(sys.stdin)
    response = run_airflow_engine(request, None)
    sys.stdout.write(json.dumps(response) + "\n")
    return 0


if __name__ == "__main__":
    code = main()
    # Tearing down an interpreter that imported Airflow takes a second or more (every module and
    # object is finalised); the answer is written, nothing is left to clean up.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
