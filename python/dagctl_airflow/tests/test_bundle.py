"""DagctlBundle on Airflow 3, directly (no scheduler): run from test/contract/bundle-conformance.test.ts.

    PYTHONPATH=python/dagctl_airflow AIRFLOW_HOME=$(mktemp -d) \
      AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH=$(mktemp -d) \
      <airflow-3 venv>/bin/python -m unittest discover -s python/dagctl_airflow/tests -v
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import unittest
from pathlib import Path

from dagctl_airflow.bundle import DagctlBundle
from dagctl_airflow.release import ReleaseRefused, file_hashes, materialise
from dagctl_airflow.store import LocalReader, PackageLayout

REPO = Path(__file__).resolve().parents[3]
FIXTURE = REPO / "test" / "fixtures" / "store-conformance"
EXPECTED = json.loads((FIXTURE / "expected.json").read_text())


class CountingReader(LocalReader):
    def __init__(self, url: str, root: Path) -> None:
        super().__init__(url, root)
        self.keys: list = []

    def get(self, key, if_none_match=None):
        self.keys.append((key, if_none_match is not None))
        return super().get(key, if_none_match)

    def get_range(self, key, offset, length):
        self.keys.append((key, "range"))
        return super().get_range(key, offset, length)


_seq = [0]


def bundle(store: Path, package: str, **kwargs) -> DagctlBundle:
    # a bundle name of its own per test: releases are shared by name on the machine
    _seq[0] += 1
    return DagctlBundle(name=f"t{os.getpid()}_{_seq[0]}_{package}", store=f"file://{store}", env="dev", package=package, **kwargs)


def files_of(b: DagctlBundle) -> Path:
    """The package's files: `<path>/<package>/` (Airflow puts the bundle path on sys.path, so they import as `<package>.x`)."""
    return b.path / b.layout.package


def leftovers(b: DagctlBundle) -> list:
    return sorted(p.name for p in b.versions_dir.iterdir()) if b.versions_dir.exists() else []


def set_head(store: Path, package: str, release: int) -> None:
    head = store / "_dagctl" / "dev" / package / "HEAD.json"
    head.write_text(json.dumps({"release": release, "nonce": f"test-{release}", "updatedAt": "2026-01-01T00:00:00Z"}))


class Conformance(unittest.TestCase):
    """Every package of the shared fixture, through the bundle itself."""

    def test_every_package_reads_as_expected(self) -> None:
        store = FIXTURE / "store"
        for package, want in EXPECTED["packages"].items():
            with self.subTest(package=package):
                b = bundle(store, package)
                if want["ok"]:
                    b.initialize()
                    self.assertEqual(b.get_current_version().version, str(want["release"]))
                    self.assertEqual(b.path, b.versions_dir / str(want["release"]))
                    self.assertEqual(file_hashes(files_of(b)), want["files"])
                    self.assertEqual(leftovers(b), [str(want["release"])])
                else:
                    with self.assertRaises(ReleaseRefused) as caught:
                        b.initialize()
                    e = caught.exception
                    self.assertEqual((e.reason, e.release, e.file, e.package), (want["reason"], want["release"], want["file"], package))
                    msg = str(e)
                    for part in (package, f"release {want['release']}", want["reason"]):
                        self.assertIn(part, msg)
                    if want["file"]:
                        self.assertIn(want["file"], msg)
                    self.assertEqual(leftovers(b), [], "a refused release leaves nothing behind")
                    self.assertIsNone(b.get_current_version())

    def test_a_bundle_made_for_a_version_holds_exactly_that_release(self) -> None:
        store = FIXTURE / "store"
        for package in ("bad_blob", "bad_path", "bad_json", "gone_blob"):
            with self.subTest(package=package):
                b = bundle(store, package, version="1")
                b.initialize()
                self.assertEqual(b.get_current_version().version, "1")
                self.assertEqual(sorted(file_hashes(files_of(b))), [f"{package}_a.py", f"{package}_b.py"])
                b.refresh()  # nothing to refresh: release 1 is immutable
                self.assertEqual(b.path, b.versions_dir / "1")
        b = bundle(store, "alpha", version="1")
        b.initialize()
        self.assertEqual(sorted(file_hashes(files_of(b))), ["alpha_one.py", "alpha_two.py"])


class Refresh(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="dagctl-bundle-test-"))
        self.store = self.tmp / "store"
        shutil.copytree(FIXTURE / "store", self.store)

    def tearDown(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_refused_head_keeps_the_last_good_release(self) -> None:
        set_head(self.store, "bad_blob", 1)
        b = bundle(self.store, "bad_blob")
        b.initialize()
        self.assertEqual(b.get_current_version().version, "1")
        good = file_hashes(files_of(b))
        set_head(self.store, "bad_blob", 2)
        with self.assertRaises(ReleaseRefused) as caught:
            b.refresh()
        self.assertEqual((caught.exception.reason, caught.exception.file), ("sha256-mismatch", "bad_blob_b.py"))
        self.assertEqual(b.get_current_version().version, "1")
        self.assertEqual(b.path, b.versions_dir / "1")
        self.assertEqual(file_hashes(files_of(b)), good)
        self.assertEqual(leftovers(b), ["1"])
        # the same refused HEAD again: reported once, not raised (and not fetched) at every refresh
        counting = CountingReader(b.store_url, self.store)
        b._reader = counting
        b.refresh()
        self.assertEqual([k for k, _ in counting.keys], ["_dagctl/dev/bad_blob/HEAD.json"])
        self.assertEqual(b.get_current_version().version, "1")

    def test_refresh_follows_head_and_an_unchanged_head_costs_one_conditional_read(self) -> None:
        set_head(self.store, "alpha", 1)
        b = bundle(self.store, "alpha")
        counting = CountingReader(b.store_url, self.store)
        b._reader = counting
        b.initialize()
        self.assertEqual(b.get_current_version().version, "1")
        counting.keys.clear()
        b.refresh()
        self.assertEqual(counting.keys, [("_dagctl/dev/alpha/HEAD.json", True)])
        set_head(self.store, "alpha", 3)
        b.refresh()
        self.assertEqual(b.get_current_version().version, "3")
        self.assertEqual(file_hashes(files_of(b)), EXPECTED["packages"]["alpha"]["files"])
        self.assertEqual(leftovers(b), ["1", "3"], "release 1 stays for runs that started on it")

    def test_unchanged_files_come_from_the_release_on_disk_after_the_same_check(self) -> None:
        set_head(self.store, "alpha", 2)
        b = bundle(self.store, "alpha")
        b.initialize()
        counting = CountingReader(b.store_url, self.store)
        b._reader = counting
        set_head(self.store, "alpha", 3)
        b.refresh()
        blobs = sorted(k.rsplit("/", 1)[1] for k, _ in counting.keys if "/blobs/" in k)
        m3 = json.loads((self.store / "_dagctl/dev/alpha/releases/0000000003.json").read_text())
        self.assertEqual(blobs, [m3["files"]["alpha_one.py"]["sha256"]], "only the file release 3 changed is fetched")
        self.assertEqual(file_hashes(files_of(b)), EXPECTED["packages"]["alpha"]["files"])
        # a local copy that no longer hashes right is not reused: the blob is fetched and checked
        v4 = self.store / "_dagctl/dev/alpha/releases/0000000004.json"
        m4 = dict(m3, id=4, parent=3)
        v4.write_text(json.dumps(m4))
        for copy in b.versions_dir.glob("*/alpha/sub/alpha_three.py"):
            copy.write_text("tampered on disk")
        counting.keys.clear()
        set_head(self.store, "alpha", 4)
        b.refresh()
        self.assertIn(f"_dagctl/dev/alpha/blobs/{m3['files']['sub/alpha_three.py']['sha256']}", [k for k, _ in counting.keys])
        self.assertEqual(file_hashes(files_of(b)), EXPECTED["packages"]["alpha"]["files"])

    def test_a_release_folder_is_written_once_and_shared(self) -> None:
        a = bundle(self.store, "beta")
        a.initialize()
        marker = files_of(a) / "beta_job.py"
        before = marker.stat().st_ino, marker.stat().st_mtime_ns
        # another process on the machine (same bundle name, a task runner asking for release 3)
        b = DagctlBundle(name=a.name, store=a.store_url, env="dev", package="beta", version="3")
        b._reader = CountingReader(a.store_url, self.store)
        b.initialize()
        self.assertEqual(b.path, a.path)
        self.assertEqual(b._reader.keys, [], "an existing release folder is used as it is: no request")
        self.assertEqual((marker.stat().st_ino, marker.stat().st_mtime_ns), before)

    def test_a_blob_changed_in_the_store_after_publish_is_refused_for_a_version_too(self) -> None:
        m = json.loads((self.store / "_dagctl/dev/beta/releases/0000000002.json").read_text())
        blob = self.store / "_dagctl/dev/beta/blobs" / m["files"]["beta_extra.py"]["sha256"]
        blob.write_text("import os; os.system('echo pwned')  # airflow dag\n")
        b = bundle(self.store, "beta", version="2")
        with self.assertRaises(ReleaseRefused) as caught:
            b.initialize()
        self.assertEqual((caught.exception.reason, caught.exception.release, caught.exception.file), ("sha256-mismatch", 2, "beta_extra.py"))
        self.assertEqual(leftovers(b), [])


    def test_airflows_stale_cleanup_removes_old_releases_but_not_the_one_being_parsed(self) -> None:
        from airflow.dag_processing.bundles.base import BundleUsageTrackingManager, BundleVersionLock

        set_head(self.store, "alpha", 1)
        processor = bundle(self.store, "alpha")
        processor.initialize()
        # a task ran on release 2 and is done (Airflow's own usage record)
        task = DagctlBundle(name=processor.name, store=processor.store_url, env="dev", package="alpha", version="2")
        task.initialize()
        with BundleVersionLock(bundle_name=processor.name, bundle_version="2"):
            pass
        set_head(self.store, "alpha", 3)
        processor.refresh()
        # a task on release 3 starts and ends (Airflow rewrites the tracking file, takes and drops its lock)
        with BundleVersionLock(bundle_name=processor.name, bundle_version="3"):
            pass
        processor.refresh()  # HEAD unchanged
        self.assertEqual(leftovers(processor), ["1", "2", "3"])
        saved = {k: os.environ.get(k) for k in ("AIRFLOW__DAG_PROCESSOR__STALE_BUNDLE_CLEANUP_MIN_VERSIONS", "AIRFLOW__DAG_PROCESSOR__STALE_BUNDLE_CLEANUP_AGE_THRESHOLD")}
        os.environ.update({k: "0" for k in saved})
        try:
            BundleUsageTrackingManager()._remove_stale_bundle_versions_for_bundle(bundle_name=processor.name)
        finally:
            for k, v in saved.items():
                os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
        self.assertEqual(leftovers(processor), ["3"], "1 (left by the processor) and 2 (used by a task) go; 3 is in use")
        self.assertEqual(file_hashes(files_of(processor)), EXPECTED["packages"]["alpha"]["files"])

    def test_a_package_without_a_release_yet_is_an_empty_folder_until_its_first_publish(self) -> None:
        b = bundle(self.store, "nobody_yet")
        b.initialize()
        self.assertIsNone(b.get_current_version())
        self.assertTrue(b.path.is_dir())
        self.assertEqual(list(b.path.iterdir()), [])  # no release yet: not even the package folder
        shutil.copytree(self.store / "_dagctl/dev/beta", self.store / "_dagctl/dev/nobody_yet")
        for m in (self.store / "_dagctl/dev/nobody_yet/releases").iterdir():
            m.write_text(m.read_text().replace('"package": "beta"', '"package": "nobody_yet"'))
        b.refresh()
        self.assertEqual(b.get_current_version().version, "3")
        self.assertEqual(file_hashes(files_of(b)), EXPECTED["packages"]["beta"]["files"])

    def test_clashing_paths_are_refused_and_leave_nothing(self) -> None:
        m = json.loads((self.store / "_dagctl/dev/beta/releases/0000000003.json").read_text())
        f = m["files"]["beta_job.py"]
        m["files"] = {"beta_job.py": f, "beta_job.py/inner.py": f}
        (self.store / "_dagctl/dev/beta/releases/0000000003.json").write_text(json.dumps(m))
        b = bundle(self.store, "beta")
        with self.assertRaises(ReleaseRefused) as caught:
            b.initialize()
        self.assertEqual((caught.exception.reason, caught.exception.file), ("manifest-invalid", "beta_job.py/inner.py"))
        self.assertEqual(leftovers(b), [])


def pack_release(store: Path, package: str, source: int, new_id: int) -> dict:
    """Release `new_id` = release `source` with every content in one pack (as a dagctl publish of many files writes it)."""
    meta = store / "_dagctl" / "dev" / package
    m = json.loads((meta / "releases" / f"{source:010d}.json").read_text())
    shas = sorted({f["sha256"] for f in m["files"].values()})
    bodies = {sha: (meta / "blobs" / sha).read_bytes() for sha in shas}
    offsets, at = {}, 0
    for sha in shas:
        offsets[sha] = at
        at += len(bodies[sha])
    pack = b"".join(bodies[sha] for sha in shas)
    pack_id = hashlib.sha256(pack).hexdigest()
    (meta / "blobs" / f"pack-{pack_id}").write_bytes(pack)
    files = {p: dict(f, pack={"id": pack_id, "offset": offsets[f["sha256"]]}) for p, f in m["files"].items()}
    m2 = dict(m, id=new_id, parent=source, format=2, files=files)
    (meta / "releases" / f"{new_id:010d}.json").write_text(json.dumps(m2))
    return {"id": pack_id, "key": f"_dagctl/dev/{package}/blobs/pack-{pack_id}", "path": meta / "blobs" / f"pack-{pack_id}", "manifest": m2}


class Packs(unittest.TestCase):
    """A release whose contents are in a pack (manifest format 2, docs/store.md#packs)."""

    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="dagctl-bundle-test-"))
        self.store = self.tmp / "store"
        shutil.copytree(FIXTURE / "store", self.store)

    def tearDown(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_a_packed_release_is_one_read_at_offset_and_checked(self) -> None:
        pack = pack_release(self.store, "alpha", 3, 4)
        set_head(self.store, "alpha", 4)
        b = bundle(self.store, "alpha")
        counting = CountingReader(b.store_url, self.store)
        b._reader = counting
        b.initialize()
        self.assertEqual(b.get_current_version().version, "4")
        self.assertEqual(file_hashes(files_of(b)), EXPECTED["packages"]["alpha"]["files"])
        self.assertEqual([k for k in counting.keys if "/blobs/" in k[0]], [(pack["key"], "range")], "one read of the pack, no blob")

    def test_a_truncated_pack_is_refused_as_blob_missing_and_nothing_is_materialised(self) -> None:
        pack = pack_release(self.store, "alpha", 3, 4)
        body = pack["path"].read_bytes()
        pack["path"].write_bytes(body[: len(body) // 2])
        lost = sorted(p for p, f in pack["manifest"]["files"].items() if f["pack"]["offset"] + f["size"] > len(body) // 2)
        set_head(self.store, "alpha", 4)
        b = bundle(self.store, "alpha")
        with self.assertRaises(ReleaseRefused) as caught:
            b.initialize()
        self.assertEqual((caught.exception.reason, caught.exception.file), ("blob-missing", lost[0]))
        self.assertIn("is short", caught.exception.detail)
        self.assertEqual(leftovers(b), [])
        # other bytes at an entry's place: sha256-mismatch
        pack["path"].write_bytes(bytes(len(body)))
        target = self.tmp / "zeros"
        with self.assertRaises(ReleaseRefused) as caught:
            materialise(LocalReader(f"file://{self.store}", self.store), PackageLayout("dev", "alpha"), 4, target)
        self.assertEqual((caught.exception.reason, caught.exception.file), ("sha256-mismatch", sorted(pack["manifest"]["files"])[0]))
        self.assertFalse(target.exists())


class Options(unittest.TestCase):
    def test_view_url_from_a_template_or_none(self) -> None:
        b = bundle(FIXTURE / "store", "beta", view_url_template="https://dags.example.com/acme/releases/{version}")
        self.assertEqual(b.view_url_template(), "https://dags.example.com/acme/releases/{version}")
        self.assertEqual(b.view_url("7"), "https://dags.example.com/acme/releases/7")
        self.assertIsNone(bundle(FIXTURE / "store", "beta").view_url("7"))
        self.assertIsNone(bundle(FIXTURE / "store", "beta").view_url_template())

    def test_bad_options_are_refused_when_the_bundle_is_made(self) -> None:
        for kwargs in (
            {"store": "ftp://x", "env": "dev", "package": "p"},
            {"store": "file://relative/dir", "env": "dev", "package": "p"},
            {"store": "s3://b/../x", "env": "dev", "package": "p"},
            {"store": "file:///x", "env": "dev", "package": "../p"},
            {"store": "file:///x", "env": "d/v", "package": "p"},
            {"store": "file:///x", "env": "dev", "package": "p", "version": "../1"},
        ):
            with self.subTest(kwargs=kwargs), self.assertRaises(ValueError):
                DagctlBundle(name="bad", **kwargs)

    def test_supports_versioning(self) -> None:
        self.assertTrue(DagctlBundle.supports_versioning)


if __name__ == "__main__":
    unittest.main()
