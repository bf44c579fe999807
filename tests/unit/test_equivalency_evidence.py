"""Evidence files: the content decides the type, the size is capped, names are never used."""

from __future__ import annotations

import io

import pytest

from lms.equivalency.evidence import (
    MAX_EVIDENCE_BYTES,
    clean_name,
    evidence_path,
    sniff_type,
    store_evidence,
)
from lms.errors import InvalidInput


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
    stored = store_evidence(tmp_path, io.BytesIO(b"%PDF-1.4 body"), "../../Secret name.pdf")
    path = tmp_path / stored.key
    assert path.read_bytes() == b"%PDF-1.4 body"
    assert stored.key.endswith(".pdf") and "Secret" not in stored.key
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert stored.original_name == "Secret name.pdf"


def test_exactly_5_mb_is_accepted_and_one_byte_more_is_refused(tmp_path):
    body = b"%PDF-" + b"0" * (MAX_EVIDENCE_BYTES - 5)
    assert store_evidence(tmp_path, io.BytesIO(body), "a.pdf").size == MAX_EVIDENCE_BYTES
    with pytest.raises(InvalidInput, match="larger than 5 MB"):
        store_evidence(tmp_path / "other", io.BytesIO(body + b"0"), "a.pdf")
    assert not (tmp_path / "other").exists()


def test_only_our_own_key_names_resolve_to_files(tmp_path):
    with pytest.raises(InvalidInput):
        evidence_path(tmp_path, "../../etc/passwd")
    with pytest.raises(InvalidInput):
        evidence_path(tmp_path, "0" * 32 + ".html")
    assert evidence_path(tmp_path, "a" * 32 + ".png") == tmp_path / ("a" * 32 + ".png")


def test_display_names_lose_paths_and_quotes():
    assert clean_name('C:\\Users\\x\\"cert".pdf') == "cert.pdf"
    assert clean_name(None) == "evidence"
