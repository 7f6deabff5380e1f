"""Object stores under ``ESTAT_MCP_STORAGE_URI``: a local folder (default) or ``s3://bucket/prefix``.

Everything the server writes lives under one root and is addressed by a *key*: a relative,
``/``-separated path. Keys are validated in one place (:func:`validate_key`) so that no caller can
reach outside the root (``..``, absolute paths, backslashes, percent-encoded traversal, control
characters); the local store additionally refuses symlinks that lead outside the root.

Writes are atomic from a reader's point of view: :meth:`ObjectStore.open_write` yields a file
object whose content becomes visible under the key only when the ``with`` block exits cleanly;
an exception discards it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
import threading
import time
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote

from estat_aws_mcp.errors import ConfigurationError, InputError

_KEY_SEGMENT = re.compile(r"^[A-Za-z0-9._\-=]+$")
MAX_KEY_LENGTH = 512


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe relative key inside the store, else raise :class:`InputError`."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise InputError("key must be a non-empty relative path of at most 512 characters")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in key):
        raise InputError("key must not contain control or format characters")
    if unquote(key) != key:
        raise InputError("key must not be percent-encoded")
    if key.startswith("/") or "\\" in key:
        raise InputError("key must be relative and use '/' separators")
    for segment in key.split("/"):
        if segment in ("", ".", "..") or not _KEY_SEGMENT.match(segment):
            raise InputError(f"invalid path segment {segment!r} in key")
    return key


class ObjectStore(ABC):
    """A flat key space under one root URI."""

    #: root URI, e.g. ``file:///abs/path`` or ``s3://bucket/prefix``
    root_uri: str

    def uri_for(self, key: str) -> str:
        """Full URI of ``key`` (for tool results and for engines that read by URI)."""
        return f"{self.root_uri.rstrip('/')}/{validate_key(key)}"

    @abstractmethod
    def key_from_uri(self, uri: str) -> str:
        """Inverse of :meth:`uri_for`; raises :class:`InputError` for any URI outside the root."""

    @abstractmethod
    def open_write(self, key: str) -> contextlib.AbstractContextManager[BinaryIO]:
        """Atomic write: visible under ``key`` only after the ``with`` block exits without error."""

    @abstractmethod
    def open_read(self, key: str) -> BinaryIO:
        """A binary, seekable file object; ``FileNotFoundError`` if absent."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def size(self, key: str) -> int: ...

    @abstractmethod
    def list_keys(self, prefix: str = "") -> list[str]:
        """Keys under ``prefix`` (a validated key prefix or ``""``), sorted."""

    @abstractmethod
    def delete_prefix(self, prefix: str) -> None: ...

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        with self.open_read(key) as fh:
            fh.seek(offset)
            return fh.read(length)

    def read_bytes(self, key: str) -> bytes:
        with self.open_read(key) as fh:
            return fh.read()

    def write_bytes(self, key: str, data: bytes) -> None:
        with self.open_write(key) as fh:
            fh.write(data)

    def presign(self, key: str, expires_s: int) -> str | None:
        """A short-lived bearer URL for ``key``, where the backend has such a thing."""
        return None

    def list_sizes(self, prefix: str = "") -> dict[str, int]:
        """``{key: size in bytes}`` of the keys under ``prefix`` (as :meth:`list_keys`)."""
        sizes = {}
        for key in self.list_keys(prefix):
            with contextlib.suppress(FileNotFoundError):  # deleted meanwhile
                sizes[key] = self.size(key)
        return sizes


#: Prefix of the temporary files of atomic writes (never listed as keys).
TEMP_PREFIX = ".tmp-"
#: A temporary file untouched for this long belongs to a writer that died (a SIGKILLed fetch): longer
#: than any fetch runs (a Lambda invocation lasts at most 15 minutes; the largest tables fetch in minutes
#: locally) and a live writer touches its file with every batch it writes.
STALE_TEMP_AGE_S = 6 * 3600.0

# Temporary files this process is writing right now (never swept, whatever their age).
_live_temporaries: set[str] = set()
_live_lock = threading.Lock()
# Store roots already swept at start-up in this process.
_swept_roots: set[Path] = set()


def _sweep_folder(folder: Path, cutoff: float, *, recursive: bool) -> list[Path]:
    removed = []
    candidates = folder.rglob(f"{TEMP_PREFIX}*") if recursive else folder.glob(f"{TEMP_PREFIX}*")
    for path in candidates:
        with _live_lock:
            live = str(path) in _live_temporaries
        if live or path.is_symlink() or not path.is_file():
            continue
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
        except FileNotFoundError:  # its writer finished (or another sweep took it) meanwhile
            continue
    return removed


class LocalObjectStore(ObjectStore):
    """A folder on the local disk. Atomic writes by temp file + ``os.replace`` in the same folder.

    Temporary files left by a writer that was killed (``.tmp-*``, untouched for
    :data:`STALE_TEMP_AGE_S`) are removed when a process first opens the store and from a folder
    before each write into it; files of writers still running in this process are never touched.
    """

    def __init__(self, root: str | os.PathLike[str], *, stale_temp_age_s: float = STALE_TEMP_AGE_S) -> None:
        self.root = Path(root).expanduser().resolve()
        self.stale_temp_age_s = stale_temp_age_s
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(
                f"the dataset store folder {str(self.root)[:300]} cannot be created ({exc.strerror or exc}); "
                "set ESTAT_MCP_STORAGE_URI to a writable folder or an s3:// URI"
            ) from None
        self.root_uri = self.root.as_uri()
        if self.root not in _swept_roots:  # start-up: once per process and store
            _swept_roots.add(self.root)
            self.sweep_temporaries()

    def sweep_temporaries(self, folder: Path | None = None) -> list[str]:
        """Remove stale temporary files under ``folder`` (default: the whole store); their keys-like paths."""
        cutoff = time.time() - self.stale_temp_age_s
        target = folder if folder is not None else self.root
        if not target.is_dir():
            return []
        removed = _sweep_folder(target, cutoff, recursive=folder is None)
        return [path.relative_to(self.root).as_posix() for path in removed]

    def _path(self, key: str) -> Path:
        path = self.root / validate_key(key)
        # Refuse symlinks anywhere on the way (a link could lead outside the root).
        probe = self.root
        for part in Path(key).parts:
            probe = probe / part
            if probe.is_symlink():
                raise InputError("key refers to a symbolic link, which the store does not follow")
        return path

    def key_from_uri(self, uri: str) -> str:
        raw = uri.strip()
        if raw.startswith("file://"):
            raw = unquote(raw[len("file://") :])
            candidate = Path(raw)
            if not candidate.is_absolute():
                raise InputError("file:// URI must be absolute")
            try:
                rel = candidate.relative_to(self.root)
            except ValueError:
                raise InputError("URI is outside the dataset store") from None
            if ".." in rel.parts:
                raise InputError("URI is outside the dataset store")
            return validate_key(rel.as_posix())
        if "://" in raw or raw.startswith("/"):
            raise InputError("URI is outside the dataset store")
        return validate_key(raw)

    @contextlib.contextmanager
    def open_write(self, key: str) -> Iterator[BinaryIO]:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.sweep_temporaries(path.parent)  # before a write: what a killed writer left in this folder
        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
        with _live_lock:
            _live_temporaries.add(tmp)
        try:
            with os.fdopen(fd, "wb") as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        finally:
            with _live_lock:
                _live_temporaries.discard(tmp)

    def open_read(self, key: str) -> BinaryIO:
        # O_NOFOLLOW closes the gap between the symlink check in _path and the open.
        try:
            fd = os.open(self._path(key), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise InputError("key refers to a symbolic link, which the store does not follow") from None
            raise
        return os.fdopen(fd, "rb")

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def list_keys(self, prefix: str = "") -> list[str]:
        base = self._path(prefix) if prefix else self.root
        if not base.exists():
            return []
        keys = []
        for path in base.rglob("*"):
            if path.is_file() and not path.is_symlink() and not path.name.startswith(TEMP_PREFIX):
                keys.append(path.relative_to(self.root).as_posix())
        return sorted(keys)

    def delete_prefix(self, prefix: str) -> None:
        path = self._path(prefix)
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def store_location(uri: str) -> str:
    """Where ``ESTAT_MCP_STORAGE_URI`` points (logged at start-up): the URI itself for S3, else the local
    folder's absolute path (a relative setting is relative to the server's working directory)."""
    if uri.startswith("file://"):
        uri = unquote(uri[len("file://") :])
    elif "://" in uri:
        return uri
    return str(Path(uri).expanduser().resolve())


def open_store(uri: str) -> ObjectStore:
    """The store for ``ESTAT_MCP_STORAGE_URI``: ``s3://bucket/prefix`` or a local folder."""
    if uri.startswith("s3://"):
        from estat_aws_mcp.datasets.s3_store import S3ObjectStore

        return S3ObjectStore(uri)
    if uri.startswith("file://"):
        uri = unquote(uri[len("file://") :])
    elif "://" in uri:
        raise InputError(f"unsupported storage URI scheme in {uri.split('://', 1)[0]!r}://")
    return LocalObjectStore(uri)
