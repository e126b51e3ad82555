"""The sandbox: a temporary AIRFLOW_HOME and SQLite, Airflow's output kept off stdout."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

class AirflowSandbox:
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

    def __enter__(self) -> AirflowSandbox:
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
            sys.stderr.write(tail(self.log_path, 40))
        os.environ.clear()
        os.environ.update(self._saved_env)
        shutil.rmtree(self.home, ignore_errors=True)


def tail(path: str, lines: int) -> str:
    try:
        return "".join(Path(path).read_text(errors="replace").splitlines(keepends=True)[-lines:])
    except OSError:
        return ""
