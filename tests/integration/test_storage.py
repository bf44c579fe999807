"""The file stores behind one interface: the local folder and S3 (moto's server, a real S3
API) keep, return and delete files alike; a missing file and a store that is down are
errors that say so, fast."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from storage_support import BUCKET, closed_port

from lms.clock import utcnow
from lms.storage import (
    FileStores,
    LocalStorage,
    S3Storage,
    Storage,
    StorageUnavailable,
    StoredFileMissing,
    new_key,
)

PDF = b"%PDF-1.4\n% stored\n"


@pytest.fixture(params=["local", "s3"])
def evidence_store(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """The evidence store of a fresh folder, or of a fresh prefix of the test bucket."""
    config: dict = {"LMS_EVIDENCE_DIR": str(tmp_path / "evidence")}
    if request.param == "s3":
        moto = request.getfixturevalue("moto_s3")
        config |= {"LMS_STORAGE_URL": moto.url(), "LMS_STORAGE_ENDPOINT_URL": moto.endpoint}
    return FileStores(config, tmp_path)["evidence"]


def test_a_stored_file_is_read_back_listed_and_deleted(evidence_store):
    key = new_key("pdf")
    assert not evidence_store.exists(key)
    evidence_store.put(key, PDF, "application/pdf")
    assert evidence_store.exists(key)
    assert evidence_store.read(key) == PDF
    (listed,) = evidence_store.listing()
    assert listed.key == key and abs((utcnow() - listed.modified_at).total_seconds()) < 60
    evidence_store.delete(key)
    assert not evidence_store.exists(key) and list(evidence_store.listing()) == []
    evidence_store.delete(key)  # gone already: nothing to do


def test_a_missing_file_is_an_error_that_says_so(evidence_store):
    with pytest.raises(StoredFileMissing, match="missing from storage"):
        evidence_store.read(new_key("pdf"))


@pytest.mark.parametrize(
    "key", ["../../etc/passwd", "certificate.pdf", "a" * 32 + ".pdf/../../x", "/abs.pdf"]
)
def test_a_name_the_app_did_not_make_is_never_a_file(evidence_store, key):
    for call in (
        lambda: evidence_store.put(key, PDF, "application/pdf"),
        lambda: evidence_store.read(key),
        lambda: evidence_store.exists(key),
        lambda: evidence_store.delete(key),
    ):
        with pytest.raises(ValueError, match="not a storage key"):
            call()
    assert list(evidence_store.listing()) == []


def test_local_files_are_owner_only_whole_and_never_replaced(tmp_path):
    store = LocalStorage(tmp_path / "evidence", "evidence")
    key = new_key("pdf")
    old_umask = os.umask(0o022)
    try:
        store.put(key, PDF, "application/pdf")
    finally:
        os.umask(old_umask)
    assert oct((tmp_path / "evidence").stat().st_mode & 0o777) == "0o700"
    assert oct(store.path(key).stat().st_mode & 0o777) == "0o600"
    with pytest.raises(ValueError, match="is taken"):
        store.put(key, b"%PDF-other", "application/pdf")
    assert store.read(key) == PDF
    assert sorted(p.name for p in (tmp_path / "evidence").iterdir()) == [key]  # no partial


def test_a_local_folder_that_cannot_be_written_is_unavailable_not_a_crash(tmp_path):
    (tmp_path / "taken").write_bytes(b"a file where the folder should be")
    store = LocalStorage(tmp_path / "taken", "evidence")
    with pytest.raises(StorageUnavailable, match="nothing was recorded"):
        store.put(new_key("pdf"), PDF, "application/pdf")


def test_s3_objects_are_private_encrypted_and_under_the_prefix(moto_s3, tmp_path):
    url = moto_s3.url("deploy/one")
    config = {"LMS_STORAGE_URL": url, "LMS_STORAGE_ENDPOINT_URL": moto_s3.endpoint}
    store = FileStores(config, tmp_path)["evidence"]
    assert isinstance(store, S3Storage)
    key = new_key("pdf")
    store.put(key, PDF, "application/pdf")
    name = f"deploy/one/evidence/{key}"
    head = moto_s3.client.head_object(Bucket=BUCKET, Key=name)
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentType"] == "application/pdf"
    grants = moto_s3.client.get_object_acl(Bucket=BUCKET, Key=name)["Grants"]
    assert [(g["Grantee"]["Type"], g["Permission"]) for g in grants] == [
        ("CanonicalUser", "FULL_CONTROL")
    ]  # the owner alone: no AllUsers or AuthenticatedUsers grant
    moto_s3.client.delete_object(Bucket=BUCKET, Key=name)


def test_sse_none_sends_no_encryption_header(moto_s3, tmp_path):
    config = {
        "LMS_STORAGE_URL": moto_s3.url() + "?sse=none",
        "LMS_STORAGE_ENDPOINT_URL": moto_s3.endpoint,
    }
    store = FileStores(config, tmp_path)["evidence"]
    key = new_key("png")
    store.put(key, b"\x89PNG\r\n\x1a\n", "image/png")
    head = moto_s3.client.head_object(Bucket=BUCKET, Key=store.name(key))
    assert "ServerSideEncryption" not in head
    store.delete(key)


def test_a_store_that_is_down_fails_within_two_seconds_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    config = {
        "LMS_STORAGE_URL": f"s3://{BUCKET}/down",
        "LMS_STORAGE_ENDPOINT_URL": f"http://127.0.0.1:{closed_port()}",
    }
    store = FileStores(config, tmp_path)["evidence"]
    key = new_key("pdf")
    calls = {
        "put": (lambda: store.put(key, PDF, "application/pdf"), "nothing was recorded"),
        "read": (lambda: store.read(key), "cannot be downloaded just now"),
        "exists": (lambda: store.exists(key), "did not answer"),
        "delete": (lambda: store.delete(key), "was not deleted"),
        "listing": (lambda: list(store.listing()), "did not answer"),
    }
    for name, (call, says) in calls.items():
        started = time.monotonic()
        with pytest.raises(StorageUnavailable, match=says):
            call()
        assert time.monotonic() - started < 2, name
