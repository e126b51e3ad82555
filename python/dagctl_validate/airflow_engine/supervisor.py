"""The supervisor: import Airflow once, fork workers, one file at a time per worker, timeouts, crashes."""

from __future__ import annotations

import hashlib
import json
import os
import re
import select
import signal
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

from .cache import ResultCache
from .isolation import block_network, die_with_parent, is_under, keep_fatal_signals_fatal, package_of, record_new_imports, record_opened_files
from .sandbox import AirflowSandbox, tail

_AIRFLOW_IMPORT_RE = re.compile(r"^[ \t]*(?:from[ \t]+(airflow[\w.]*)[ \t]+import|import[ \t]+(airflow[\w.]*))", re.MULTILINE)


class Worker:
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


class Supervisor:
    def __init__(self, sandbox: AirflowSandbox, root: str, file_timeout: float, safe_mode: bool, allow_network: bool, workers: int, import_as: tuple[str, str] | None = None):
        self.sandbox = sandbox
        self.root = root
        self.file_timeout = file_timeout
        self.hard_timeout = file_timeout + max(2.0, file_timeout / 2)
        self.safe_mode = safe_mode
        self.allow_network = allow_network
        self.n_workers = workers
        self.pid = os.getpid()
        self.workers: list[Worker] = []
        self._spawned = 0
        airflow_was_imported = "airflow" in sys.modules
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import airflow  # noqa: F401  (settings, ORM engine, providers manager: once, before forking)

            self.DagBag = dagbag_class()
            from airflow.utils.file import might_contain_dag

            self.might_contain_dag = might_contain_dag
        if airflow_was_imported:
            sandbox.apply_conf()
        # DAG files import their folder's helpers: Airflow 2 appends DAGS_FOLDER to sys.path, Airflow 3's
        # dag processor its bundle's path. A dagctl package lands in that folder as <package>/ (sync's
        # DIR/<package>/, the bundle's <path>/<package>/), so its modules import as <package>.<module>:
        # the package is made a namespace package over its DAG folder, and nothing else is on sys.path.
        if import_as:
            register_package(*import_as)
        elif root not in sys.path:
            sys.path.append(root)
        self.bag = new_dagbag(self.DagBag, root)

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
        own = package_of(self.root)
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
                    results[path] = fatal(path, now - w.started, "import-timeout", f"importing the file did not finish within {self.file_timeout:g}s (it ignored Airflow's import timeout); the worker was killed", crash=stack)
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

    def _read(self, w: Worker, results: dict[str, dict[str, Any]], queue: deque[str]) -> None:
        chunk = os.read(w.result_r, 1 << 20)
        if not chunk:  # the worker died while importing the first of its files
            elapsed = time.monotonic() - w.started
            crash = tail(w.crash_path, 60)
            status = self._retire(w, kill=False)
            if w.inflight:
                path = w.inflight.popleft()
                results[path] = fatal(path, elapsed, "import-crash", describe_exit(status), crash=crash)
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

    def _stack_of(self, w: Worker) -> str:
        """Asks a stuck worker for its Python stack (faulthandler on SIGUSR1 answers even in a C loop)."""
        try:
            os.kill(w.pid, signal.SIGUSR1)
        except ProcessLookupError:
            return ""
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            text = tail(w.crash_path, 60)
            if "File " in text:
                time.sleep(0.05)  # let the dump finish
                return tail(w.crash_path, 60)
            time.sleep(0.02)
        return ""

    def _retire(self, w: Worker, kill: bool) -> int:
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

    def _spawn(self) -> Worker:
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
        return Worker(pid, task_w, result_r, crash_path)

    # ---- inside a worker process

    def _worker_loop(self, task_r: int, result_w: int, crash_path: str) -> None:
        import faulthandler

        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the supervisor's to handle
        die_with_parent(self.pid)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        crash = open(crash_path, "w")  # noqa: SIM115  lives as long as the worker
        keep_fatal_signals_fatal()
        faulthandler.enable(file=crash)
        faulthandler.register(signal.SIGUSR1, file=crash, all_threads=False)
        if not self.allow_network:
            block_network()
        self.opened = record_opened_files(self.root)
        self.imported = record_new_imports()
        bag = self.bag
        out = os.fdopen(result_w, "w", buffering=1)
        for line in os.fdopen(task_r):
            task = json.loads(line)
            result = self._process(bag, task["file"])
            out.write(json.dumps(result) + "\n")
            out.flush()
            if task.get("cache_entry") and result["cacheable"]:
                ResultCache.put(Path(task["cache_entry"]), result)

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
            if module_file and is_under(module_file, self.root):
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


def dagbag_class() -> Any:
    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow 3

        return DagBag
    except ImportError:
        from airflow.models.dagbag import DagBag  # Airflow 2

        return DagBag


def register_package(name: str, folder: str) -> None:
    """`import <name>.x` loads `<folder>/x.py`, as it will in Airflow's DAG folder."""
    import importlib.machinery
    import importlib.util

    spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
    spec.submodule_search_locations = [folder]
    sys.modules[name] = importlib.util.module_from_spec(spec)


def new_dagbag(cls: Any, root: str) -> Any:
    try:
        return cls(dag_folder=root, include_examples=False, collect_dags=False)  # Airflow 2
    except TypeError:
        return cls(dag_folder=root, collect_dags=False)  # Airflow 3 has no include_examples


def describe_exit(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return f"the Python process importing the file died with {name}"
    return f"the Python process importing the file exited with status {os.WEXITSTATUS(status)} (os._exit or a C extension)"


def fatal(path: str, seconds: float, rule: str, message: str, crash: str = "") -> dict[str, Any]:
    return {"file": path, "seconds": round(seconds, 4), "dags": [], "errors": [], "fatal": message, "rule": rule, "crash": crash, "cacheable": False}
