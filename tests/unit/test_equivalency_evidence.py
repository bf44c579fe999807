"""Evidence files: the content decides the type, the size is capped, names are never used."""

from __future__ import annotations

import io

import pytest

from lms.equivalency.evidence import (
    MAX_EVIDENCE_BYTES,
    clean_name,
    sniff_type,
    store_evidence,
)
from lms.errors import InvalidInput
from lms.storage import LocalStorage


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"%PDF-1.7\n", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n\x00", "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"<svg xmlns=", None),
        (b"GIF89a", None),
        (b"PK\x03\x04", None),
    ],
)
def test_type_is_decided_by_magic_bytes(head, expected):
    assert sniff_type(head) == expected


def test_stored_file_gets_a_random_key_and_owner_only_permissions(tmp_path):
    store = LocalStorage(tmp_path, "evidence")
    stored = store_evidence(store, io.BytesIO(b"%PDF-1.4 body"), "../../Secret name.pdf")
    path = tmp_path / stored.key
    assert path.read_bytes() == b"%PDF-1.4 body"
    assert stored.key.endswith(".pdf") and "Secret" not in stored.key
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert stored.original_name == "Secret name.pdf"


def test_exactly_5_mb_is_accepted_and_one_byte_more_is_refused(tmp_path):
    body = b"%PDF-" + b"0" * (MAX_EVIDENCE_BYTES - 5)
    store = LocalStorage(tmp_path, "evidence")
    assert store_evidence(store, io.BytesIO(body), "a.pdf").size == MAX_EVIDENCE_BYTES
    other = LocalStorage(tmp_path / "other", "evidence")
    with pytest.raises(InvalidInput, match="larger than 5 MB"):
        store_evidence(other, io.BytesIO(body + b"0"), "a.pdf")
    assert not (tmp_path / "other").exists()


def test_display_names_lose_paths_and_quotes():
    assert clean_name('C:\\Users\\x\\"cert".pdf') == "cert.pdf"
    assert clean_name(None) == "evidence"
