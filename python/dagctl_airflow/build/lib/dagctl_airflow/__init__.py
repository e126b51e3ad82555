"""dagctl releases as Airflow 3 DAG bundle versions (`dagctl_airflow.DagctlBundle`)."""

from __future__ import annotations

__version__ = "0.1.0"


def __getattr__(name: str):
    # DagctlBundle imports Airflow; the store reader and `python -m dagctl_airflow.check` do not need it.
    if name == "DagctlBundle":
        from dagctl_airflow.bundle import DagctlBundle

        return DagctlBundle
    if name == "ReleaseRefused":
        from dagctl_airflow.release import ReleaseRefused

        return ReleaseRefused
    raise AttributeError(name)


__all__ = ["DagctlBundle", "ReleaseRefused", "__version__"]
