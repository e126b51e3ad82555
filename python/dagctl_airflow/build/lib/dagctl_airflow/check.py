"""Reads every package of a store environment the way DagctlBundle does, and reports as JSON.

    python -m dagctl_airflow.check file:///srv/store --env dev [--into DIR] [--package P ...]

Per package: {"ok": true, "release": N, "files": {path: sha256}} with the sha256 of the files as
materialised on disk, or {"ok": false, "release": N, "reason": R, "file": F}. This is the shape of
test/fixtures/store-conformance/expected.json. Exit 0 when every package reads, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from dagctl_airflow.release import ReleaseRefused, file_hashes, load_manifest, materialise, read_head
from dagctl_airflow.store import PackageLayout, open_reader


def check(reader, env: str, package: str, into: Path) -> dict:
    layout = PackageLayout(env, package)
    release = None
    try:
        head = read_head(reader, layout)
        if head is None:
            return {"ok": False, "release": None, "reason": "manifest-invalid", "file": None, "message": "no HEAD.json"}
        release = head.release
        target = into / package / str(release)
        materialise(reader, layout, release, target, load_manifest(reader, layout, release))
        return {"ok": True, "release": release, "files": file_hashes(target)}
    except ReleaseRefused as refused:
        left = into / package / str(release) if release is not None else None
        return {
            "ok": False,
            "release": refused.release,
            "reason": refused.reason,
            "file": refused.file,
            "message": str(refused),
            "materialised": bool(left and left.exists()),
        }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dagctl_airflow.check", description=__doc__.splitlines()[0])
    ap.add_argument("store")
    ap.add_argument("--env", required=True)
    ap.add_argument("--package", action="append", help="only these packages (default: every package of the environment)")
    ap.add_argument("--into", help="where to materialise (default: a temp folder, removed)")
    ap.add_argument("--s3-endpoint")
    ap.add_argument("--s3-region")
    args = ap.parse_args(argv)
    reader = open_reader(args.store, endpoint_url=args.s3_endpoint, region=args.s3_region)
    packages = args.package or reader.folders(f"_dagctl/{args.env}/")
    with tempfile.TemporaryDirectory(prefix="dagctl-check-") as tmp:
        into = Path(args.into) if args.into else Path(tmp)
        report = {"env": args.env, "packages": {p: check(reader, args.env, p, into) for p in packages}}
    json.dump(report, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0 if all(r["ok"] for r in report["packages"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
