"""What keeps a worker from harming anything: death with its parent, fatal signals, no network;
and what it records for the cache (new imports, opened files)."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

def die_with_parent(parent: int) -> None:
    """Linux: a worker gets SIGKILL when the supervisor dies (even by SIGKILL), so that a file stuck
    in a loop never outlives dagctl."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the supervisor died before prctl took effect
        os._exit(0)


def keep_fatal_signals_fatal() -> None:
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


def record_new_imports() -> list[str]:
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


def record_opened_files(root: str) -> set[str]:
    """Files of the validated folder that a DAG file reads while it is imported (a DAG factory's
    YAML, a SQL file): the cache entry depends on them as on the helper modules."""
    import builtins
    import io

    opened: set[str] = set()
    real_open = io.open

    def recording_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, (str, os.PathLike)):
            full = os.path.abspath(os.fspath(file))
            if is_under(full, root):
                opened.add(full)
        return real_open(file, *args, **kwargs)

    builtins.open = recording_open
    io.open = recording_open
    return opened


def block_network() -> None:
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


def is_under(path: str, root: str) -> bool:
    path = os.path.abspath(path)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def package_of(root: str) -> str | None:
    """`airflow.example_dags` when root is site-packages/airflow/example_dags: the dotted name of a
    folder that is importable from sys.path, else None."""
    for entry in sys.path:
        entry = os.path.abspath(entry or ".")
        if is_under(root, entry) and root != entry:
            return ".".join(Path(os.path.relpath(root, entry)).parts)
    return None
