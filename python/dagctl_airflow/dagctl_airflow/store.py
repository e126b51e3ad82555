"""Read-only access to a dagctl store (docs/store.md): `file://DIR` or `s3://bucket[/prefix]`.

The layout is the one src/release/layout.ts writes:

    <root>/_dagctl/<env>/<package>/blobs/<sha256>       immutable contents
    <root>/_dagctl/<env>/<package>/blobs/pack-<sha256>  immutable packs of contents (manifest format 2)
    <root>/_dagctl/<env>/<package>/releases/<id>.json   immutable manifests (id zero-padded to 10)
    <root>/_dagctl/<env>/<package>/HEAD.json            {release, nonce, updatedAt}

This module imports neither Airflow nor boto3 at import time: the conformance test and the
`python -m dagctl_airflow.check` tool run it anywhere.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional
from urllib.parse import unquote

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_BUCKET_RE = re.compile(r"^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(.*))?$")


class StoreConfigError(ValueError):
    """A bundle option that cannot name a store (bad URL, env or package)."""


@dataclass(frozen=True)
class Stored:
    body: bytes
    #: opaque version token: compare for equality only
    etag: str


@dataclass(frozen=True)
class PackageLayout:
    env: str
    package: str

    def __post_init__(self) -> None:
        for what, value in (("env", self.env), ("package", self.package)):
            if not isinstance(value, str) or not _NAME_RE.match(value) or value in (".", ".."):
                raise StoreConfigError(f"dagctl bundle: {what} {value!r} is not a dagctl {what} name")

    @property
    def meta(self) -> str:
        return f"_dagctl/{self.env}/{self.package}"

    @property
    def head(self) -> str:
        return f"{self.meta}/HEAD.json"

    def release(self, release_id: int) -> str:
        return f"{self.meta}/releases/{release_id:010d}.json"

    def blob(self, sha256: str) -> str:
        return f"{self.meta}/blobs/{sha256}"

    def pack(self, pack_id: str) -> str:
        return f"{self.meta}/blobs/pack-{pack_id}"


class LocalReader:
    """`file://DIR`: the local store of src/store/local.ts (writes land by rename or link: a read sees whole files)."""

    def __init__(self, url: str, root: Path) -> None:
        self.url = url
        self.root = root

    def _file(self, key: str) -> Path:
        parts = key.split("/")
        if any(p in ("", ".", "..") for p in parts) or "\\" in key or "\0" in key:
            raise ValueError(f"unsafe store key {key!r}")
        return self.root.joinpath(*parts)

    def get(self, key: str, if_none_match: Optional[str] = None) -> Optional[Stored]:
        """The object, or None when missing. With `if_none_match` equal to its etag, NOT_MODIFIED."""
        try:
            body = self._file(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        etag = hashlib.sha256(body).hexdigest()[:32]
        if if_none_match is not None and if_none_match == etag:
            return NOT_MODIFIED
        return Stored(body, etag)

    def get_range(self, key: str, offset: int, length: int) -> Optional[bytes]:
        """`length` bytes from `offset` (fewer when the file is shorter), or None when missing: a read at offset."""
        try:
            with open(self._file(key), "rb") as f:
                f.seek(offset)
                return f.read(length)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def folders(self, prefix: str) -> List[str]:
        """The immediate sub-folders under `prefix` (a key prefix ending in `/`), sorted."""
        try:
            return sorted(e.name for e in self._file(prefix.rstrip("/")).iterdir() if e.is_dir())
        except FileNotFoundError:
            return []


class S3Reader:
    """`s3://bucket[/prefix]` through boto3: its default credential chain, standard retries (6 attempts)."""

    def __init__(
        self,
        url: str,
        bucket: str,
        prefix: str,
        *,
        endpoint_url: Optional[str] = None,
        region: Optional[str] = None,
        path_style: Optional[bool] = None,
        client=None,
    ) -> None:
        self.url = url
        self.bucket = bucket
        self.prefix = prefix
        if client is None:
            import boto3
            from botocore.config import Config

            # Same rule as the CLI: a custom endpoint (MinIO, LocalStack, moto) means path-style.
            style = path_style if path_style is not None else bool(endpoint_url)
            config = Config(
                retries={"mode": "standard", "max_attempts": 6},
                connect_timeout=5,
                read_timeout=30,
                max_pool_connections=16,
                s3={"addressing_style": "path" if style else "auto"},
            )
            region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
            if not region and endpoint_url:
                region = "us-east-1"
            client = boto3.session.Session().client("s3", endpoint_url=endpoint_url, region_name=region, config=config)
        self.client = client

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def get(self, key: str, if_none_match: Optional[str] = None) -> Optional[Stored]:
        from botocore.exceptions import ClientError

        args = {"Bucket": self.bucket, "Key": self._key(key)}
        if if_none_match is not None:
            args["IfNoneMatch"] = if_none_match
        try:
            res = self.client.get_object(**args)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("304", "NotModified") or status == 304:
                return NOT_MODIFIED
            if code in ("NoSuchKey", "404", "NotFound") or status == 404:
                return None
            raise
        body = res["Body"].read()
        return Stored(body, str(res.get("ETag", "")))

    def get_range(self, key: str, offset: int, length: int) -> Optional[bytes]:
        """`length` bytes from `offset` (a ranged GET; fewer when the object is shorter), or None when missing."""
        from botocore.exceptions import ClientError

        if length <= 0:
            return b""
        try:
            res = self.client.get_object(Bucket=self.bucket, Key=self._key(key), Range=f"bytes={offset}-{offset + length - 1}")
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("NoSuchKey", "404", "NotFound") or status == 404:
                return None
            if code == "InvalidRange" or status == 416:
                return b""  # the object ends before the range starts
            raise
        body = res["Body"].read()
        if "ContentRange" not in res and res.get("ResponseMetadata", {}).get("HTTPStatusCode") != 206:
            body = body[offset : offset + length]  # a server that ignored Range sent the whole object
        return body

    def folders(self, prefix: str) -> List[str]:
        out: List[str] = []
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self._key(prefix), Delimiter="/")
        for page in pages:
            for cp in page.get("CommonPrefixes", []):
                out.append(cp["Prefix"][len(self._key(prefix)):].rstrip("/"))
        return sorted(out)


#: what `get(..., if_none_match=etag)` answers when the object still has that etag
NOT_MODIFIED = Stored(b"", "\0not-modified")


def parse_store_url(url: str):
    """("file", Path) or ("s3", bucket, prefix) for a store URL; StoreConfigError for anything else. No I/O."""
    if not isinstance(url, str):
        raise StoreConfigError(f"dagctl bundle: store {url!r} is not a store URL")
    if url.startswith("file://"):
        rest = unquote(url[len("file://"):])
        if not rest or not os.path.isabs(rest):
            raise StoreConfigError(
                f"dagctl bundle: store {url!r}: a file:// store must be an absolute folder (file:///srv/dags-store)"
            )
        return ("file", Path(rest))
    m = _BUCKET_RE.match(url)
    if not m:
        raise StoreConfigError(f"dagctl bundle: store {url!r} is not s3://bucket[/prefix] or file:///dir")
    prefix = (m.group(2) or "").strip("/")
    if any(s in (".", "..") for s in prefix.split("/")):
        raise StoreConfigError(f"dagctl bundle: store {url!r} has . or .. in its prefix")
    return ("s3", m.group(1), prefix)


def open_reader(
    url: str,
    *,
    endpoint_url: Optional[str] = None,
    region: Optional[str] = None,
    path_style: Optional[bool] = None,
):
    """A reader for `file:///abs/dir` or `s3://bucket[/prefix]` (boto3 is imported only for s3://)."""
    parsed = parse_store_url(url)
    if parsed[0] == "file":
        return LocalReader(url, parsed[1])
    endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
    return S3Reader(url, parsed[1], parsed[2], endpoint_url=endpoint_url, region=region, path_style=path_style)
