"""Versions of Airflow and its providers, and the per-file result cache of the Airflow engine."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

ENGINE_VERSION = "1"

_DIST_INFO_RE = re.compile(r"^(apache[-_.]airflow(?:[-_.][\w.-]*?)?)-(\d[^-]*)\.dist-info$", re.IGNORECASE)


def environment_versions() -> dict[str, str]:
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


class ResultCache:
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
                "import_as": options.get("import_as"),
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
