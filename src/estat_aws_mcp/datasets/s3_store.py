"""The dataset store in S3: ``ESTAT_MCP_STORAGE_URI=s3://bucket/prefix``.

Same contract as the local folder (see :mod:`estat_aws_mcp.datasets.store`):

- Keys live under ``prefix/``; :meth:`S3ObjectStore.key_from_uri` refuses other buckets, keys
  outside the prefix (including prefix siblings such as ``prefix-other/``) and any traversal.
- Writes stream through an explicit multipart upload once they outgrow one part, so memory stays
  bounded by the part size. S3 shows an object only when ``PutObject`` or
  ``CompleteMultipartUpload`` succeeds, so readers never see a partial object; on any error the
  multipart upload is aborted (no orphaned parts billed).
- Reads are ranged ``GetObject`` calls behind a buffered, seekable file object, pinned to the
  ETag seen when the file was opened so that a concurrent overwrite fails loudly instead of
  mixing two versions.

boto3 is imported lazily (through :mod:`estat_aws_mcp.aws.clients`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from estat_aws_mcp.datasets.store import ObjectStore, validate_key
from estat_aws_mcp.errors import InputError, UpstreamError

log = logging.getLogger(__name__)

# S3's floor for every part but the last is 5 MiB; 8 MiB matches the AWS CLI default.
DEFAULT_PART_SIZE = 8 * 1024 * 1024
MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PARTS = 10_000
# Ranged reads are fetched in blocks of this size (also the memory held per open reader).
DEFAULT_READ_BLOCK = 4 * 1024 * 1024

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
OUTSIDE_STORE = "URI is outside the dataset store"


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/key`` → ``("bucket", "some/key")`` (key may be empty)."""
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        raise InputError("expected an s3://bucket/prefix URI")
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def _not_found(exc: Exception) -> bool:
    response = getattr(exc, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in ("404", "NoSuchKey", "NotFound") or status == 404


def _upstream(action: str, exc: Exception) -> UpstreamError:
    """A message safe to show: the S3 error code, never credentials or signed headers."""
    response = getattr(exc, "response", None) or {}
    code = response.get("Error", {}).get("Code") or type(exc).__name__
    return UpstreamError(f"S3 {action} failed: {code}")


class S3ObjectStore(ObjectStore):
    """Objects under ``s3://bucket/prefix``; see the module docstring for the guarantees."""

    def __init__(
        self,
        uri: str,
        *,
        client: Any = None,
        part_size: int = DEFAULT_PART_SIZE,
        read_block: int = DEFAULT_READ_BLOCK,
    ) -> None:
        bucket, prefix = parse_s3_uri(uri.strip())
        if not _BUCKET.match(bucket) or ".." in bucket:
            raise InputError(f"invalid S3 bucket name in storage URI: {bucket!r}")
        prefix = prefix.strip("/")
        if prefix:
            try:
                validate_key(prefix)
            except InputError as exc:
                raise InputError(f"invalid S3 prefix in storage URI: {exc}") from None
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes (S3's minimum part size)")
        self.bucket = bucket
        self.prefix = prefix
        self.root_uri = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"
        self.part_size = part_size
        self.read_block = read_block
        self._client = client

    # -- plumbing -------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        if self._client is None:
            from estat_aws_mcp.aws.clients import aws_client

            # SigV4 everywhere, also for presigned URLs (botocore's legacy default for presigning is SigV2).
            self._client = aws_client("s3", read_timeout=60.0, max_attempts=5, signature_version="s3v4")
        return self._client

    def _s3_key(self, key: str) -> str:
        key = validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _key_prefix(self, prefix: str) -> str:
        """The S3 ``Prefix`` for listing/deleting a folder-like key prefix ('' = the whole store)."""
        if not prefix:
            return f"{self.prefix}/" if self.prefix else ""
        return self._s3_key(prefix.rstrip("/")) + "/"

    def _head(self, key: str) -> dict[str, Any]:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._s3_key(key))
        except Exception as exc:
            if _not_found(exc):
                raise FileNotFoundError(key) from None
            raise _upstream("HeadObject", exc) from None

    # -- ObjectStore -------------------------------------------------------------------------

    def key_from_uri(self, uri: str) -> str:
        raw = uri.strip() if isinstance(uri, str) else ""
        if not raw.startswith("s3://"):
            if "://" in raw or raw.startswith("/"):
                raise InputError(OUTSIDE_STORE)
            return validate_key(raw)  # a key relative to the store root
        bucket, rest = parse_s3_uri(raw)
        if bucket != self.bucket:
            raise InputError(OUTSIDE_STORE)
        if self.prefix:
            # "prefix/" exactly: "prefix-other/x" and "prefix" itself are outside.
            if not rest.startswith(self.prefix + "/"):
                raise InputError(OUTSIDE_STORE)
            rest = rest[len(self.prefix) + 1 :]
        return validate_key(rest)

    @contextlib.contextmanager
    def open_write(self, key: str) -> Iterator[BinaryIO]:
        writer = _MultipartWriter(self.client, self.bucket, self._s3_key(key), self.part_size)
        try:
            yield writer  # type: ignore[misc]
            writer.finish()
        except BaseException:
            writer.abort()
            raise

    def open_read(self, key: str) -> BinaryIO:
        head = self._head(key)
        raw = _RangedReader(self.client, self.bucket, self._s3_key(key), head["ContentLength"], head.get("ETag"))
        return io.BufferedReader(raw, buffer_size=self.read_block)  # type: ignore[return-value]

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        try:
            response = self.client.get_object(
                Bucket=self.bucket, Key=self._s3_key(key), Range=f"bytes={offset}-{offset + length - 1}"
            )
        except Exception as exc:
            if _not_found(exc):
                raise FileNotFoundError(key) from None
            code = (getattr(exc, "response", None) or {}).get("Error", {}).get("Code")
            if code == "InvalidRange":  # offset at or past the end
                return b""
            raise _upstream("GetObject", exc) from None
        with contextlib.closing(response["Body"]) as body:
            return body.read()

    def exists(self, key: str) -> bool:
        try:
            self._head(key)
        except FileNotFoundError:
            return False
        return True

    def size(self, key: str) -> int:
        return int(self._head(key)["ContentLength"])

    def _iter_s3_keys(self, s3_prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=s3_prefix):
                for item in page.get("Contents", []):
                    yield item["Key"]
        except Exception as exc:
            raise _upstream("ListObjectsV2", exc) from None

    def list_keys(self, prefix: str = "") -> list[str]:
        strip = len(self.prefix) + 1 if self.prefix else 0
        keys = []
        for s3_key in self._iter_s3_keys(self._key_prefix(prefix)):
            key = s3_key[strip:]
            with contextlib.suppress(InputError):  # objects someone else put there with odd names
                keys.append(validate_key(key))
        return sorted(keys)

    def list_sizes(self, prefix: str = "") -> dict[str, int]:
        """One ListObjectsV2 pass (sizes come with the listing; no HeadObject per key)."""
        strip = len(self.prefix) + 1 if self.prefix else 0
        paginator = self.client.get_paginator("list_objects_v2")
        sizes: dict[str, int] = {}
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key_prefix(prefix)):
                for item in page.get("Contents", []):
                    with contextlib.suppress(InputError):
                        sizes[validate_key(item["Key"][strip:])] = int(item["Size"])
        except Exception as exc:
            raise _upstream("ListObjectsV2", exc) from None
        return dict(sorted(sizes.items()))

    def delete_prefix(self, prefix: str) -> None:
        targets = list(self._iter_s3_keys(self._key_prefix(prefix)))
        exact = self._s3_key(prefix.rstrip("/"))
        if self.exists(prefix.rstrip("/")):
            targets.append(exact)
        for start in range(0, len(targets), 1000):  # DeleteObjects takes up to 1000 keys
            batch = [{"Key": k} for k in targets[start : start + 1000]]
            try:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            except Exception as exc:
                raise _upstream("DeleteObjects", exc) from None

    def presign(self, key: str, expires_s: int) -> str | None:
        """A GET URL signed with the server's credentials: a bearer link until it expires."""
        try:
            return self.client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": self._s3_key(key)},
                ExpiresIn=int(expires_s),
            )
        except Exception as exc:
            raise _upstream("presign", exc) from None


class _MultipartWriter(io.RawIOBase):
    """Buffers one part in memory; uploads parts as they fill; one ``PutObject`` for small files.

    Nothing becomes visible until :meth:`finish`; :meth:`abort` discards whatever was uploaded.
    """

    def __init__(self, client: Any, bucket: str, s3_key: str, part_size: int) -> None:
        super().__init__()
        self._client = client
        self._bucket = bucket
        self._key = s3_key
        self._part_size = part_size
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._position = 0
        self._done = False

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def write(self, data: Any) -> int:
        if self._done:
            raise ValueError("write to a finished or aborted S3 upload")
        view = memoryview(data).cast("B")
        self._buffer += view
        self._position += len(view)
        while len(self._buffer) >= self._current_part_size():
            size = self._current_part_size()
            chunk = bytes(self._buffer[:size])
            del self._buffer[:size]
            self._upload_part(chunk)
        return len(view)

    def _current_part_size(self) -> int:
        # Grow parts as the upload grows so that 10,000 parts are never exceeded.
        return self._part_size * (1 + len(self._parts) // 1000)

    def _upload_part(self, chunk: bytes) -> None:
        try:
            if self._upload_id is None:
                response = self._client.create_multipart_upload(Bucket=self._bucket, Key=self._key)
                self._upload_id = response["UploadId"]
            number = len(self._parts) + 1
            if number > MAX_PARTS:
                raise InputError("object too large for one S3 multipart upload")
            response = self._client.upload_part(
                Bucket=self._bucket, Key=self._key, UploadId=self._upload_id, PartNumber=number, Body=chunk
            )
        except InputError:
            raise
        except Exception as exc:
            raise _upstream("UploadPart", exc) from None
        self._parts.append({"PartNumber": number, "ETag": response["ETag"]})

    def finish(self) -> None:
        if self._done:
            return
        try:
            if self._upload_id is None:
                self._client.put_object(Bucket=self._bucket, Key=self._key, Body=bytes(self._buffer))
            else:
                if self._buffer:
                    self._upload_part(bytes(self._buffer))
                self._client.complete_multipart_upload(
                    Bucket=self._bucket,
                    Key=self._key,
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts},
                )
        except UpstreamError:
            raise
        except Exception as exc:
            raise _upstream("upload", exc) from None
        finally:
            self._buffer = bytearray()
        self._done = True

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self._buffer = bytearray()
        if self._upload_id is not None:
            try:
                self._client.abort_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id)
            except Exception as exc:
                # The bucket's AbortIncompleteMultipartUpload lifecycle rule is the backstop.
                log.warning("could not abort multipart upload of %s: %s", self._key, _upstream("Abort", exc))


class _RangedReader(io.RawIOBase):
    """Seekable raw reader over one S3 object version (ranged GETs with ``IfMatch``)."""

    def __init__(self, client: Any, bucket: str, s3_key: str, size: int, etag: str | None) -> None:
        super().__init__()
        self._client = client
        self._bucket = bucket
        self._key = s3_key
        self._size = int(size)
        self._etag = etag
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            position = offset
        elif whence == io.SEEK_CUR:
            position = self._position + offset
        elif whence == io.SEEK_END:
            position = self._size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if position < 0:
            raise ValueError("negative seek position")
        self._position = position
        return position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._position >= self._size or not len(view):
            return 0
        end = min(self._position + len(view), self._size) - 1
        params: dict[str, Any] = {"Bucket": self._bucket, "Key": self._key, "Range": f"bytes={self._position}-{end}"}
        if self._etag:
            params["IfMatch"] = self._etag
        try:
            response = self._client.get_object(**params)
            with contextlib.closing(response["Body"]) as body:
                data = body.read()
        except Exception as exc:
            if _not_found(exc):
                raise FileNotFoundError(self._key) from None
            raise _upstream("GetObject", exc) from None
        view[: len(data)] = data
        self._position += len(data)
        return len(data)
