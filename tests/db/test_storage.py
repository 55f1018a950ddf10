"""The document store: content-addressed objects on local disk always, on S3 when an endpoint is configured."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import uuid

import pytest
from sqlalchemy import select

from db.documents import store_document
from db.engine import WORKER_ROLE, user_scope
from db.models import Document
from db.storage import LocalStore, S3Store, check_key, document_store, put_content

PDF = b"%PDF-1.4\n" + os.urandom(2048) + b"\n%%EOF\n"


def _s3_store() -> S3Store:
    endpoint = os.environ.get("VITALIS_TEST_S3_ENDPOINT_URL")
    if not endpoint:
        pytest.skip("no S3-compatible endpoint configured (set VITALIS_TEST_S3_ENDPOINT_URL and AWS credentials)")
    bucket = os.environ.get("VITALIS_TEST_S3_BUCKET", "vitalis-test")
    store = S3Store(bucket, endpoint_url=endpoint)
    with contextlib.suppress(store.client.exceptions.BucketAlreadyOwnedByYou):
        store.client.create_bucket(Bucket=bucket)
    return store


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    return LocalStore(tmp_path / "documents") if request.param == "local" else _s3_store()


def test_same_bytes_are_one_object_named_by_their_hash(store) -> None:
    prefix = f"users/{uuid.uuid4()}"
    first = put_content(store, prefix, PDF)
    again = put_content(store, prefix, io.BytesIO(PDF))  # a stream, in chunks, gives the same key
    assert first == again
    assert first.key == f"{prefix}/{hashlib.sha256(PDF).hexdigest()}"
    assert first.size == len(PDF)
    with store.open(first.key) as handle:
        assert handle.read() == PDF
    store.delete(first.key)
    assert not store.exists(first.key)
    with pytest.raises(KeyError):
        store.open(first.key)


def test_a_local_write_leaves_no_partial_file_when_the_source_fails(tmp_path) -> None:
    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            raise OSError("connection reset while reading the upload")

    store = LocalStore(tmp_path)
    with pytest.raises(OSError, match="connection reset"):
        store.put("users/x/abc", Broken())
    assert not store.exists("users/x/abc")
    assert [p.name for p in (tmp_path / "users" / "x").iterdir()] == []


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs/path", "users/../../x", "users//x", ""])
def test_keys_that_could_escape_the_store_are_refused(key, tmp_path) -> None:
    with pytest.raises(ValueError, match="not a valid document key"):
        check_key(key)
    with pytest.raises(ValueError):
        LocalStore(tmp_path).exists(key)


def test_the_environment_picks_the_store(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("VITALIS_HOME", str(tmp_path))
    monkeypatch.delenv("VITALIS_DOCUMENT_STORE", raising=False)
    local = document_store()
    assert isinstance(local, LocalStore) and local.root == tmp_path / "documents"
    monkeypatch.setenv("VITALIS_DOCUMENT_STORE", "ftp://nope")
    with pytest.raises(ValueError, match="s3://BUCKET"):
        document_store()


def test_uploading_the_same_pdf_twice_records_one_document(committed_users, tmp_path) -> None:
    user, other = committed_users
    store = LocalStore(tmp_path)
    with user_scope(user, role=WORKER_ROLE) as session:
        first = store_document(session, store, user, PDF, filename="quest.pdf")
    with user_scope(user, role=WORKER_ROLE) as session:
        second = store_document(session, store, user, io.BytesIO(PDF), filename="quest (1).pdf")
    # Another person's identical file is their own document (deleting one must not touch the other).
    with user_scope(other, role=WORKER_ROLE) as session:
        theirs = store_document(session, store, other, PDF)

    assert (first.created, second.created, theirs.created) == (True, False, True)
    assert first.document_id == second.document_id != theirs.document_id
    with user_scope(user) as session:
        rows = session.scalars(select(Document).where(Document.user_id == user)).all()
    assert [(r.s3_key, r.file_size_bytes, r.original_filename) for r in rows] == [
        (f"users/{user}/{hashlib.sha256(PDF).hexdigest()}", len(PDF), "quest.pdf")
    ]
    assert store.exists(first.key) and store.exists(theirs.key)
