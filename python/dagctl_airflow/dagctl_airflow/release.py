"""Releases of a dagctl store, read and refused by the same rules as src/release/manifest.ts.

A release is materialised into a folder of its own, written once: every blob is fetched into a
temp folder next to the target, checked against the manifest's sha256, and only then is the temp
folder renamed to the target. A folder that exists is therefore complete and verified, and every
process on the machine can share it. Refusals (test/fixtures/store-conformance/ and its README) use
the reason strings every dagctl reader uses:

    manifest-invalid       the manifest (or HEAD.json) does not parse or fails the schema
    path-outside-package   a path is absolute, has `..`, or is not normalised
    sha256-mismatch        a blob's content does not hash to the manifest's sha256
    blob-missing           a blob the manifest names is not in the store

A format-2 entry may name a pack (`pack: {id, offset}`): its content is `size` bytes at `offset`
of `blobs/pack-<id>`, read with a ranged GET (a read at offset on a local store), neighbours in
one request, and checked against the sha256 like a blob; a missing or short pack is blob-missing.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

from dagctl_airflow.store import NOT_MODIFIED, PackageLayout

REASONS = ("manifest-invalid", "path-outside-package", "sha256-mismatch", "blob-missing")
#: manifest formats read here: 1 (every content its own blob), 2 (entries may name a pack: docs/store.md)
FORMATS = (1, 2)
#: two ranges of one pack closer than this are read with one request
MERGE_GAP = 1024 * 1024
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_DRIVE_RE = re.compile(r"^[A-Za-z]:")


class ReleaseRefused(Exception):
    """A release dagctl will not materialise. Nothing of it was written."""

    def __init__(self, reason: str, package: str, release: Optional[int], file: Optional[str], detail: str) -> None:
        assert reason in REASONS
        self.reason = reason
        self.package = package
        self.release = release
        self.file = file
        self.detail = detail
        where = f"release {release}" if release is not None else "HEAD"
        named = f", file {file!r}" if file is not None else ""
        super().__init__(
            f"dagctl: refusing {where} of package {package!r} ({reason}{named}): {detail}. "
            "Nothing of it was materialised; the last good release stays in use. "
            "Run `dagctl fsck` on the store and publish or roll back to a good release."
        )


def is_safe_relative_path(p: Any) -> bool:
    """isSafeRelativePath of src/release/layout.ts: relative, `/`-separated, normalised, no `.`/`..`/empty segment."""
    # 1,024 UTF-16 code units, as JavaScript's `length` counts (an emoji is 2)
    if not isinstance(p, str) or p == "" or len(p.encode("utf-16-le", "surrogatepass")) > 2048:
        return False
    if p.startswith("/") or "\\" in p or "\0" in p or _DRIVE_RE.match(p):
        return False
    return all(s not in ("", ".", "..") for s in p.split("/"))


def _int(v: Any, positive: bool) -> bool:
    # JSON numbers as zod sees them: 3 and 3.0 are the same integer; true is not a number.
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    if isinstance(v, float) and not v.is_integer():
        return False
    return v > 0 if positive else v >= 0


def _check_schema(raw: Any) -> Optional[Tuple[str, Optional[str]]]:
    """First schema problem as (message, offending path or None), or None. Mirrors ManifestSchema."""
    if not isinstance(raw, dict):
        return ("not an object", None)

    def s(key: str, optional: bool = False) -> bool:
        return (optional and key not in raw) or isinstance(raw.get(key), str)

    fmt = raw.get("format")
    if isinstance(fmt, bool) or fmt not in FORMATS:
        if _int(fmt, True) and fmt > max(FORMATS):
            return (f"manifest format {int(fmt)} was written by a newer dagctl (this reader reads formats 1 and 2): upgrade dagctl_airflow", None)
        return ("format: expected 1 or 2", None)
    for key in ("package", "env", "createdAt", "author", "dagctlVersion", "nonce"):
        if not s(key):
            return (f"{key}: expected a string", None)
    for key in ("image", "message"):
        if not s(key, optional=True):
            return (f"{key}: expected a string", None)
    if not _int(raw.get("id"), True):
        return ("id: expected a positive integer", None)
    if raw.get("parent") is not None and not _int(raw.get("parent"), True):
        return ("parent: expected a positive integer or null", None)
    if "parent" not in raw:
        return ("parent: required", None)
    git = raw.get("git", {})
    if not isinstance(git, dict) or any(k in git and not isinstance(git[k], str) for k in ("sha", "branch")):
        return ("git: expected {sha?, branch?}", None)
    ci = raw.get("ci")
    if ci is not None and (
        not isinstance(ci, dict) or not isinstance(ci.get("provider"), str) or ("jobUrl" in ci and not isinstance(ci["jobUrl"], str))
    ):
        return ("ci: expected {provider, jobUrl?}", None)
    if "ci" in raw and ci is None:
        return ("ci: expected an object", None)
    validation = raw.get("validation")
    if not isinstance(validation, dict) or not isinstance(validation.get("skipped"), bool):
        return ("validation.skipped: expected a boolean", None)
    if "engine" in validation and not isinstance(validation["engine"], str):
        return ("validation.engine: expected a string", None)
    summary = validation.get("summary")
    if "summary" in validation and (
        not isinstance(summary, dict)
        or any(isinstance(summary.get(k), bool) or not isinstance(summary.get(k), (int, float)) for k in ("files", "dags", "errors", "warnings", "infos"))
    ):
        return ("validation.summary: expected {files, dags, errors, warnings, infos}", None)
    files = raw.get("files")
    if not isinstance(files, dict):
        return ("files: expected an object", None)
    for path, f in files.items():
        if not isinstance(f, dict) or not isinstance(f.get("sha256"), str) or not SHA256_RE.match(f["sha256"]):
            return (f"files.{path}.sha256: expected 64 lower-case hex digits", None)
        if not _int(f.get("size"), False):
            return (f"files.{path}.size: expected a non-negative integer", None)
        if not _int(f.get("since"), True):
            return (f"files.{path}.since: expected a positive integer", None)
        if "pack" in f:
            pack = f["pack"]
            if (
                not isinstance(pack, dict)
                or set(pack) != {"id", "offset"}
                or not isinstance(pack.get("id"), str)
                or not SHA256_RE.match(pack["id"])
                or not _int(pack.get("offset"), False)
            ):
                return (f"files.{path}.pack: expected {{id: 64 lower-case hex digits, offset: a non-negative integer}}", None)
            if fmt == 1:
                return (f"files.{path}.pack: format 1 has no packs", None)
    dags = raw.get("dags", [])
    if not isinstance(dags, list):
        return ("dags: expected an array", None)
    for i, d in enumerate(dags):
        if not isinstance(d, dict) or not isinstance(d.get("dagId"), str):
            return (f"dags.{i}.dagId: expected a string", None)
        if not is_safe_relative_path(d.get("file")):
            return (f"dags.{i}.file: not a relative, normalised path inside the package", d.get("file") if isinstance(d.get("file"), str) else None)
    changes = raw.get("changes")
    if not isinstance(changes, dict):
        return ("changes: expected an object", None)
    for key in ("added", "changed", "removed"):
        lst = changes.get(key)
        if not isinstance(lst, list):
            return (f"changes.{key}: expected an array", None)
        for i, p in enumerate(lst):
            if not is_safe_relative_path(p):
                return (f"changes.{key}.{i}: not a relative, normalised path inside the package", p if isinstance(p, str) else None)
    rb = raw.get("rollback")
    if "rollback" in raw and (
        not isinstance(rb, dict) or not _int(rb.get("from"), True) or not _int(rb.get("to"), True) or ("dag" in rb and not isinstance(rb["dag"], str))
    ):
        return ("rollback: expected {from, to, dag?}", None)
    return None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _loads(body: bytes) -> Any:
    """JSON as src/release/manifest.ts reads it (JSON.parse): NaN and Infinity are not JSON."""
    # invalid UTF-8 becomes U+FFFD, as Buffer.toString("utf8") does
    return json.loads(body.decode("utf-8", "replace"), parse_constant=_no_constant)


def parse_manifest(body: bytes, package: str, release_id: int) -> Dict[str, Any]:
    """The manifest of `release_id`, or ReleaseRefused. Paths are checked before anything else."""
    try:
        raw = _loads(body)
    except (UnicodeDecodeError, ValueError) as error:
        raise ReleaseRefused("manifest-invalid", package, release_id, None, f"the manifest is not JSON ({error})")
    if isinstance(raw, dict) and isinstance(raw.get("files"), dict):
        for p in raw["files"]:  # in document order, as Object.keys gives them (an unsafe key is never integer-like)
            if not is_safe_relative_path(p):
                raise ReleaseRefused("path-outside-package", package, release_id, p, f"path {p!r} is not inside the package")
    problem = _check_schema(raw)
    if problem is not None:
        message, offending = problem
        if offending is not None:
            raise ReleaseRefused("path-outside-package", package, release_id, offending, message)
        raise ReleaseRefused("manifest-invalid", package, release_id, None, message)
    if raw["package"] != package:
        raise ReleaseRefused("manifest-invalid", package, release_id, None, f"the manifest belongs to package {raw['package']!r}")
    if int(raw["id"]) != release_id:
        raise ReleaseRefused("manifest-invalid", package, release_id, None, f"the manifest says it is release {int(raw['id'])}")
    return raw


@dataclass
class Head:
    release: int
    etag: str


def read_head(reader, layout: PackageLayout, if_none_match: Optional[str] = None):
    """HEAD's release (Head), None when the package has no release yet, or NOT_MODIFIED."""
    got = reader.get(layout.head, if_none_match=if_none_match)
    if got is None or got is NOT_MODIFIED:
        return got
    try:
        raw = _loads(got.body)
    except (UnicodeDecodeError, ValueError) as error:
        raise ReleaseRefused("manifest-invalid", layout.package, None, None, f"{layout.head} is not JSON ({error})")
    if not isinstance(raw, dict) or not _int(raw.get("release"), True) or not isinstance(raw.get("nonce"), str):
        raise ReleaseRefused("manifest-invalid", layout.package, None, None, f"{layout.head} is damaged: release: expected a positive integer")
    return Head(int(raw["release"]), got.etag)


def load_manifest(reader, layout: PackageLayout, release_id: int) -> Dict[str, Any]:
    got = reader.get(layout.release(release_id))
    if got is None:
        raise ReleaseRefused("manifest-invalid", layout.package, release_id, None, f"{layout.release(release_id)} does not exist")
    return parse_manifest(got.body, layout.package, release_id)


def _local_copy(sources: Sequence[Path], path: str, sha256: str, size: Any) -> Optional[bytes]:
    """The content from an earlier release folder on this machine, when it hashes to `sha256`."""
    for src in sources:
        f = src.joinpath(*path.split("/"))
        try:
            if f.is_symlink() or not f.is_file() or f.stat().st_size != size:
                continue
            body = f.read_bytes()
        except OSError:
            continue
        if hashlib.sha256(body).hexdigest() == sha256:
            return body
    return None


def _fetch_verified(reader, layout: PackageLayout, release_id: int, path: str, sha256: str, size: Any = None, sources: Sequence[Path] = ()) -> bytes:
    if sources:
        local = _local_copy(sources, path, sha256, size)
        if local is not None:
            return local
    got = reader.get(layout.blob(sha256))
    if got is None:
        raise ReleaseRefused("blob-missing", layout.package, release_id, path, f"blob {sha256} is not in the store")
    actual = hashlib.sha256(got.body).hexdigest()
    if actual != sha256:
        raise ReleaseRefused("sha256-mismatch", layout.package, release_id, path, f"blob {sha256} hashes to {actual}")
    return got.body


def _fetch_packed(reader, layout: PackageLayout, release_id: int, wants) -> Dict[str, bytes]:
    """`[(path, entry)]` of packed entries -> {sha256: bytes}: one ranged read per run of neighbours in a pack, each content checked."""
    runs = []  # (key, start, end, [(path, entry)])
    by_pack: Dict[str, list] = {}
    for path, f in wants:
        by_pack.setdefault(f["pack"]["id"], []).append((path, f))
    for pack_id, items in by_pack.items():
        items.sort(key=lambda pf: (int(pf[1]["pack"]["offset"]), pf[0]))
        key = layout.pack(pack_id)
        for path, f in items:
            start = int(f["pack"]["offset"])
            end = start + int(f["size"])
            if runs and runs[-1][0] == key and start - runs[-1][2] <= MERGE_GAP:
                runs[-1][2] = max(runs[-1][2], end)
                runs[-1][3].append((path, f))
            else:
                runs.append([key, start, end, [(path, f)]])

    def fetch(run):
        key, start, end, items = run
        body = reader.get_range(key, start, end - start) if end > start else b""
        out = {}
        for path, f in sorted(items, key=lambda pf: pf[0]):
            sha, size, offset = f["sha256"], int(f["size"]), int(f["pack"]["offset"])
            if body is None:
                return ("blob-missing", path, f"pack {f['pack']['id']} is not in the store")
            part = body[offset - start : offset - start + size]
            if len(part) < size:
                return ("blob-missing", path, f"pack {f['pack']['id']} is short: it ends at byte {start + len(body)}, the content needs bytes {offset}-{offset + size}")
            actual = hashlib.sha256(part).hexdigest()
            if actual != sha:
                return ("sha256-mismatch", path, f"the bytes at offset {offset} of pack {f['pack']['id']} hash to {actual}, not {sha}")
            out[sha] = part
        return out

    bodies: Dict[str, bytes] = {}
    failures = []
    with ThreadPoolExecutor(max_workers=16) as pool:
        for got in pool.map(fetch, runs):
            if isinstance(got, tuple):
                failures.append(got)
            else:
                bodies.update(got)
    if failures:
        reason, path, detail = min(failures, key=lambda r: r[1])
        raise ReleaseRefused(reason, layout.package, release_id, path, detail)
    return bodies


def materialise(
    reader,
    layout: PackageLayout,
    release_id: int,
    target: Path,
    manifest: Optional[Dict[str, Any]] = None,
    reuse_from: Sequence[Path] = (),
    subdir: Optional[str] = None,
) -> Path:
    """
    Makes `target` hold exactly the files of the release (under `target/<subdir>/` when given),
    verified, written once. An existing
    `target` is a finished materialisation (rename is the last step) and is returned as it is.
    A file whose content is already in one of the `reuse_from` folders (earlier releases on this
    machine) at the same path is taken from there, after the same sha256 check, instead of being
    fetched: a release that changes 10 files of 1,000 costs 10 blob reads. Any refusal leaves
    nothing behind.
    """
    if target.is_dir():
        return target
    if manifest is None:
        manifest = load_manifest(reader, layout, release_id)
    files = manifest["files"]
    paths = sorted(files)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".incoming-{target.name}-", dir=target.parent))
    try:
        # Fetch and verify everything before writing anything: a refusal costs no disk.
        # Packed contents not on this machine yet: ranged reads of their packs, neighbours together.
        local = {}
        if reuse_from:
            for p in paths:
                if "pack" in files[p]:
                    body = _local_copy(reuse_from, p, files[p]["sha256"], files[p]["size"])
                    if body is not None:
                        local[p] = body
        packed = _fetch_packed(reader, layout, release_id, [(p, files[p]) for p in paths if "pack" in files[p] and p not in local])

        def one(p: str) -> bytes:
            f = files[p]
            if "pack" in f:
                return local[p] if p in local else packed[f["sha256"]]
            return _fetch_verified(reader, layout, release_id, p, f["sha256"], f["size"], reuse_from)

        with ThreadPoolExecutor(max_workers=16) as pool:
            bodies = list(pool.map(one, paths))
        files_dir = tmp / subdir if subdir else tmp
        files_dir.mkdir(exist_ok=True)
        root = files_dir.resolve()
        for path, body in zip(paths, bodies):
            dest = files_dir.joinpath(*path.split("/"))
            # the path was checked; this guards against a symlink or anything else odd all the same
            if root not in dest.parent.resolve().parents and dest.parent.resolve() != root:
                raise ReleaseRefused("path-outside-package", layout.package, release_id, path, "resolves outside the release folder")
            try:
                dest.parent.mkdir(parents=True, exist_ok=True)
                with open(dest, "xb") as f:
                    f.write(body)
            except (FileExistsError, NotADirectoryError, IsADirectoryError):
                # `a` and `a/b` both, or two names one file system takes for the same file
                raise ReleaseRefused("manifest-invalid", layout.package, release_id, path, "the path clashes with another path of the release")
            os.chmod(dest, 0o644)
        for dirpath, dirnames, _ in os.walk(tmp):
            for d in dirnames:
                os.chmod(os.path.join(dirpath, d), 0o755)
        os.chmod(tmp, 0o755)
        _fsync_all(tmp, [f"{subdir}/{p}" for p in paths] if subdir else paths)  # on disk before the folder has its name
        try:
            os.rename(tmp, target)
        except OSError as error:
            # another process materialised it first: theirs is as complete and verified as ours
            if error.errno in (errno.ENOTEMPTY, errno.EEXIST) and target.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
                return target
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _fsync_all(folder: Path, paths: Sequence[str]) -> None:
    """fsync every file, then every folder; in parallel, so the file system commits them together."""

    def sync(p: Path) -> None:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    dirs = {folder} | {folder.joinpath(*p.split("/")).parent for p in paths}
    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(sync, [folder.joinpath(*p.split("/")) for p in paths]))
        list(pool.map(sync, sorted(dirs)))


def file_hashes(folder: Path) -> Dict[str, str]:
    """`relative/path -> sha256` of every file under `folder` (for checks and tests)."""
    out: Dict[str, str] = {}
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            full = Path(dirpath, name)
            out[full.relative_to(folder).as_posix()] = hashlib.sha256(full.read_bytes()).hexdigest()
    return dict(sorted(out.items()))
