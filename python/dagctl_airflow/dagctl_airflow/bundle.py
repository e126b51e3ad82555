"""DagctlBundle: a dagctl package's releases as versions of an Airflow 3 DAG bundle.

Configure one bundle per package in `[dag_processor] dag_bundle_config_list`:

    [{"name": "acme", "classpath": "dagctl_airflow.DagctlBundle",
      "kwargs": {"store": "s3://company-dags/airflow", "env": "prod", "package": "acme"}}]

A bundle's version is a release id ("7"). Release N is materialised once per machine, verified,
into `<dag_bundle_storage_path>/<bundle name>/versions/N/<package>/`; the bundle's path is
`versions/N/`, the folder Airflow's stale bundle cleanup (`[dag_processor] stale_bundle_cleanup_*`)
removes when no task uses it any more. Airflow puts a bundle's path on sys.path, so a DAG file
imports its package's own modules as `<package>.<module>`, exactly as from the DAG folder that
`dagctl sync` writes (`DIR/<package>/`, with DIR on sys.path): one package's files work the same
under both, and two packages' modules of the same name never collide.
"""

from __future__ import annotations

import inspect
import logging
import re
import time
from pathlib import Path
from typing import Any, Optional

from airflow.dag_processing.bundles.base import BaseDagBundle

from dagctl_airflow.release import NOT_MODIFIED, ReleaseRefused, load_manifest, materialise, read_head
from dagctl_airflow.store import PackageLayout, StoreConfigError, open_reader, parse_store_url

try:  # Airflow 3.2+: a version and its structured data, returned together
    from airflow.dag_processing.bundles.base import BundleVersion
except ImportError:  # pragma: no cover - older Airflow 3
    BundleVersion = None  # type: ignore[assignment,misc]

try:  # keeps the release this processor parses from out of Airflow's stale-version cleanup
    from airflow.dag_processing.bundles.base import BundleVersionLock
except ImportError:  # pragma: no cover
    BundleVersionLock = None  # type: ignore[assignment,misc]

log = logging.getLogger(__name__)

_VERSION_RE = re.compile(r"^[1-9][0-9]{0,9}$")
_BASE_TAKES_TEMPLATE = "view_url_template" in inspect.signature(BaseDagBundle.__init__).parameters


def _flag(value: Any) -> Optional[bool]:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
        return value.lower() in ("true", "1", "yes")
    raise StoreConfigError(f"dagctl bundle: s3_path_style must be true or false, not {value!r}")


class DagctlBundle(BaseDagBundle):
    """
    The releases of one dagctl package in a store, as bundle versions.

    :param store: `s3://bucket[/prefix]` or `file:///absolute/dir` (what `publish --store` writes to)
    :param env: the dagctl environment (`--env`): dev, staging, prod...
    :param package: the package (the `package:` of its dagctl.yaml): the unit of ownership
    :param s3_endpoint: S3 endpoint URL (MinIO, LocalStack, moto); default AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL
    :param s3_region: AWS region; default AWS_REGION / AWS_DEFAULT_REGION (us-east-1 with an endpoint)
    :param s3_path_style: path-style addressing; default: on with an endpoint, else off
    :param view_url_template: an http(s) URL with `{version}` (the release id), shown in Airflow's UI
    """

    supports_versioning = True

    def __init__(
        self,
        *,
        store: str,
        env: str,
        package: str,
        s3_endpoint: Optional[str] = None,
        s3_region: Optional[str] = None,
        s3_path_style: Any = None,
        view_url_template: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        if _BASE_TAKES_TEMPLATE:
            kwargs["view_url_template"] = view_url_template
        super().__init__(**kwargs)
        self._template = view_url_template
        self.layout = PackageLayout(env, package)
        self.store_url = store
        self._reader_options = {"endpoint_url": s3_endpoint, "region": s3_region, "path_style": _flag(s3_path_style)}
        self._reader = None
        if self.version is not None and not _VERSION_RE.match(str(self.version)):
            raise ValueError(f"dagctl bundle {self.name}: version {self.version!r} is not a dagctl release id")
        #: the release materialised by the last successful refresh (processor) or the one asked for
        self._current: Optional[int] = int(self.version) if self.version is not None else None
        self._head_etag: Optional[str] = None
        self._in_use = None
        self._refused: Optional[tuple] = None
        # a wrong store fails when Airflow loads the bundle config (no I/O, no boto3 yet), not at first use
        parse_store_url(store)

    @property
    def reader(self):
        if self._reader is None:
            self._reader = open_reader(self.store_url, **self._reader_options)
        return self._reader

    def __repr__(self) -> str:
        return (
            f"<DagctlBundle(name={self.name!r}, store={self.store_url!r}, env={self.layout.env!r}, "
            f"package={self.layout.package!r}, version={self.version!r})>"
        )

    # -- where the files are -------------------------------------------------------------

    def _release_dir(self, release_id: int) -> Path:
        """The bundle path for a release: its files are in the `<package>/` folder inside."""
        return self.versions_dir / str(release_id)

    def _files_dir(self, release_id: int) -> Path:
        """Where the package's files of a release are: `<path>/<package>/`."""
        return self._release_dir(release_id) / self.layout.package

    @property
    def path(self) -> Path:
        if self._current is None:
            # nothing materialised yet (no release, or HEAD refused at start): an empty place
            return self.base_dir / "no-release"
        return self._release_dir(self._current)

    def get_current_version(self):
        """The release whose files `path` holds: HEAD's release as of the last refresh."""
        if self._current is None:
            return None
        version = str(self._current)
        return BundleVersion(version=version) if BundleVersion is not None else version

    # -- getting the files -----------------------------------------------------------------

    def initialize(self) -> None:
        if self.version is not None:
            self._materialise(int(self.version))
        else:
            self.refresh()
            if self._current is None:  # no release yet: Airflow scans an empty folder until there is one
                self.path.mkdir(parents=True, exist_ok=True)
        super().initialize()

    def refresh(self) -> None:
        """
        A bundle made for a version holds that release for ever: nothing to refresh. Otherwise
        HEAD is read (conditionally: an unchanged HEAD costs one 304) and its release is
        materialised; a refused release raises and leaves `path` on the last good one.
        """
        if self.version is not None:
            self._materialise(int(self.version))
            return
        with self.lock():
            head = read_head(self.reader, self.layout, if_none_match=self._head_etag if self._current is not None else None)
            if head is NOT_MODIFIED:
                if self._release_dir(self._current).is_dir():
                    return
                head = read_head(self.reader, self.layout)
            if head is not None and self._refused is not None and self._refused[0] == head.etag:
                # The same refused HEAD: reported (raised) once; now a one-line reminder a minute,
                # not a traceback every refresh, and nothing fetched again. The last good release stays.
                if time.monotonic() - self._refused[2] >= 60:
                    log.warning("dagctl bundle %s: still refusing: %s", self.name, self._refused[1])
                    self._refused = (self._refused[0], self._refused[1], time.monotonic())
                return
            if head is None:
                log.warning("dagctl bundle %s: package %s has no release in %s yet", self.name, self.layout.package, self.store_url)
                return
            try:
                self._materialise(head.release)
            except ReleaseRefused as refused:
                self._refused = (head.etag, refused, time.monotonic())
                log.error("dagctl bundle %s: %s", self.name, refused)
                raise
            self._refused = None
            self._head_etag = head.etag
            if head.release != self._current:
                log.info("dagctl bundle %s: release %s of package %s is current", self.name, head.release, self.layout.package)
                self._use(head.release)

    def _materialise(self, release_id: int) -> Path:
        target = self._release_dir(release_id)
        if target.is_dir():
            return target
        manifest = load_manifest(self.reader, self.layout, release_id)
        return materialise(self.reader, self.layout, release_id, target, manifest, reuse_from=self._reuse_candidates(release_id), subdir=self.layout.package)

    def _reuse_candidates(self, release_id: int) -> list:
        """Earlier release folders on this machine: the one in use first, then the newest two others."""
        found = []
        if self._current is not None and self._current != release_id:
            found.append(self._files_dir(self._current))
        try:
            others = sorted((int(p.name) for p in self.versions_dir.iterdir() if _VERSION_RE.match(p.name) and p.is_dir()), reverse=True)
        except OSError:
            others = []
        found += [self._files_dir(v) for v in others if v != release_id and v != self._current][:2]
        return found

    def _use(self, release_id: int) -> None:
        """
        Points `path` at the release, and holds Airflow's shared usage lock on it so that the stale
        version cleanup never removes the folder this processor parses from; the lock on the
        previous release is let go, so that one becomes removable once no task uses it.
        """
        previous = self._in_use
        self._current = release_id
        self._in_use = None
        if BundleVersionLock is not None:
            try:
                lock = BundleVersionLock(bundle_name=self.name, bundle_version=str(release_id))
                lock.acquire()
                self._in_use = lock
            except Exception:  # the lock only protects against cleanup; never fail a refresh for it
                log.exception("dagctl bundle %s: could not take the usage lock of release %s", self.name, release_id)
        if previous is not None:
            try:
                previous.release()
            except Exception:
                log.exception("dagctl bundle %s: could not release a usage lock", self.name)

    # -- for people ------------------------------------------------------------------------

    def view_url_template(self) -> Optional[str]:
        """The configured template (`{version}` is the release id), or None."""
        return self._template

    def view_url(self, version: Optional[str] = None) -> Optional[str]:
        """The template filled in with `version` (else this bundle's release), or None."""
        if not self._template:
            return None
        v = version if version is not None else (str(self._current) if self._current is not None else None)
        if v is None:
            return None
        try:
            return self._template.format(version=v)
        except (KeyError, IndexError, ValueError):
            log.warning("dagctl bundle %s: view_url_template %r has placeholders other than {version}", self.name, self._template)
            return None


__all__ = ["DagctlBundle", "ReleaseRefused"]
