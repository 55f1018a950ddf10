"""Where uploaded files live: one small interface, a directory on the embedded default, S3 on a server.

Objects are content-addressed: `put_content` hashes the bytes (SHA-256) while spooling them and names
the object after the hash, so the same bytes uploaded twice are one object. Keys are chosen by Vitalis,
never by the uploader, and are checked before they touch a path or a bucket.

The store is picked from the environment (README, "Configuration"): `VITALIS_DOCUMENT_STORE=s3://bucket`
with `VITALIS_S3_ENDPOINT_URL` for MinIO or any S3-compatible service (credentials through the usual
`AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`), otherwise a directory under `VITALIS_HOME`.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from db.settings import load_settings

CHUNK = 1024 * 1024
# Files past this many bytes are spooled to disk while hashed, so a large upload never sits in memory.
SPOOL_BYTES = 8 * 1024 * 1024

_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


class StoreError(RuntimeError):
    """The store could not be reached or refused an operation; the message names the key, not the bytes."""


def check_key(key: str) -> str:
    if not _KEY_RE.match(key) or ".." in key.split("/"):
        raise ValueError(f"not a valid document key: {key!r}")
    return key


class DocumentStore(Protocol):
    def put(self, key: str, source: IO[bytes]) -> None: ...
    def open(self, key: str) -> IO[bytes]: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    size: int
    sha256: str


def put_content(store: DocumentStore, prefix: str, source: bytes | IO[bytes]) -> StoredObject:
    """Store bytes (or a readable stream) under `<prefix>/<sha256>`; bytes already there are not sent again."""
    digest = hashlib.sha256()
    size = 0
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        if isinstance(source, bytes | bytearray | memoryview):
            data = bytes(source)
            digest.update(data)
            spool.write(data)
            size = len(data)
        else:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                spool.write(chunk)
                size += len(chunk)
        key = check_key(f"{prefix.strip('/')}/{digest.hexdigest()}")
        if not store.exists(key):
            spool.seek(0)
            store.put(key, spool)
    return StoredObject(key=key, size=size, sha256=digest.hexdigest())


class LocalStore:
    """Objects as files under one directory; a write lands whole or not at all (rename into place)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, source: IO[bytes]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def open(self, key: str) -> IO[bytes]:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError:
            raise KeyError(f"no document stored under {key!r}") from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


class S3Store:
    """Objects in a bucket of any S3-compatible service (MinIO on the compose deployment)."""

    def __init__(self, bucket: str, *, endpoint_url: str | None = None, client: Any = None) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.client = client or boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            # Path-style addressing: MinIO and most self-hosted services have no per-bucket DNS names.
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"}),
        )

    def _error(self, exc: Exception, key: str) -> StoreError:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
        return StoreError(f"object store refused {key!r} in bucket {self.bucket!r}: {code}")

    def put(self, key: str, source: IO[bytes]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.upload_fileobj(source, self.bucket, check_key(key))
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, key) from exc

    def open(self, key: str) -> IO[bytes]:
        from botocore.exceptions import BotoCoreError, ClientError

        # Parsers seek (a PDF's cross-reference table is at its end), so the object is spooled locally.
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - the caller closes it
        try:
            self.client.download_fileobj(self.bucket, check_key(key), spool)
        except ClientError as exc:
            spool.close()
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey"}:
                raise KeyError(f"no document stored under {key!r}") from None
            raise self._error(exc, key) from exc
        except BotoCoreError as exc:
            spool.close()
            raise self._error(exc, key) from exc
        spool.seek(0)
        return spool

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.bucket, Key=check_key(key))
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, key) from exc

    def exists(self, key: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise self._error(exc, key) from exc
        except BotoCoreError as exc:
            raise self._error(exc, key) from exc
        return True


def document_store() -> DocumentStore:
    """The store the environment names: S3 when VITALIS_DOCUMENT_STORE=s3://bucket, else local files."""
    url = os.environ.get("VITALIS_DOCUMENT_STORE", "").strip()
    if url.startswith("s3://"):
        bucket = url.removeprefix("s3://").strip("/")
        if not bucket:
            raise ValueError("VITALIS_DOCUMENT_STORE=s3:// needs a bucket name (s3://BUCKET)")
        return S3Store(bucket, endpoint_url=os.environ.get("VITALIS_S3_ENDPOINT_URL") or None)
    if url:
        raise ValueError(f"VITALIS_DOCUMENT_STORE must be s3://BUCKET or unset, not {url!r}")
    return LocalStore(load_settings().home / "documents")
