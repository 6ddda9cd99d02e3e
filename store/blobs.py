"""Blob storage for uploaded bytes: a narrow interface (put, get, delete by key) and backends.

The database keeps each upload's metadata and its storage key; the bytes live here. The local
backend writes under the data directory; another backend (an S3-compatible bucket, say) only
has to implement `BlobStore` and be picked by the URL scheme in `create_blob_store`.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
from abc import ABC, abstractmethod
from pathlib import Path

KEY = re.compile(r"^[a-z0-9][a-z0-9/_-]{0,199}$")


class BlobNotFound(KeyError):
    """No blob is stored under that key."""


def check_key(key: str) -> str:
    """`key` if it is a plain relative key (no `..`, no absolute path); ValueError otherwise."""
    if not KEY.match(key) or "//" in key or key.endswith("/"):
        raise ValueError(f"blob key {key!r} is not allowed; expected lower-case [a-z0-9/_-]")
    return key


class BlobStore(ABC):
    """Where uploaded bytes are kept. Keys are chosen by the caller (`new_key`)."""

    @abstractmethod
    async def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key`, replacing nothing: keys are never reused."""

    @abstractmethod
    async def get(self, key: str) -> bytes:
        """The bytes under `key`; BlobNotFound when there are none."""

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Forget `key` (no error if it is already gone)."""

    async def close(self) -> None:
        """Release connections, if the backend holds any."""
        return None


def new_key(prefix: str) -> str:
    """A fresh, unguessable key under `prefix` (`attachments`, `avatars`)."""
    token = secrets.token_hex(16)
    return check_key(f"{prefix}/{token[:2]}/{token}")


class LocalBlobStore(BlobStore):
    """Files under a directory, written to a temporary name and renamed, so a reader never
    sees half a file and a crash leaves no file under a real key."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._write, self._path(key), data)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_bytes(data)
        os.replace(partial, path)

    async def get(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)


def create_blob_store(url: str, data_dir: Path) -> BlobStore:
    """The backend for `url`: empty means `<data_dir>/uploads`; `file:///path` a directory.

    Other schemes (s3://...) need a backend registered here; asking for one that is not
    installed is a configuration error naming the scheme.
    """
    if not url:
        return LocalBlobStore(data_dir / "uploads")
    scheme, _, rest = url.partition("://")
    if scheme == "file" and rest:
        return LocalBlobStore(Path(rest))
    raise ValueError(f"ELEVATE_STORAGE_URL {url!r}: no storage backend for {scheme!r}; use file://")
