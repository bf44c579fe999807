"""Evidence files: type checked by their bytes, stored under a random key outside the web root."""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from lms.bounds import UPLOAD_MAX_BYTES, UPLOAD_MAX_TEXT
from lms.errors import InvalidInput

MAX_EVIDENCE_BYTES = UPLOAD_MAX_BYTES
TOO_LARGE = f"The evidence file is larger than {UPLOAD_MAX_TEXT}. Upload a smaller PDF or image."

# (magic prefix, media type, extension): the only kinds of evidence accepted. The client's
# declared type and file name are ignored; only the content decides.
_KINDS: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
)
EXTENSIONS = {media_type: ext for _magic, media_type, ext in _KINDS}


@dataclass(frozen=True)
class StoredEvidence:
    """Where an accepted evidence file went and what it is."""

    key: str
    media_type: str
    size: int
    original_name: str


def sniff_type(head: bytes) -> str | None:
    """The media type the first bytes of a file prove, or None when it is none we accept."""
    for magic, media_type, _ext in _KINDS:
        if head.startswith(magic):
            return media_type
    return None


def clean_name(filename: str | None) -> str:
    """A display-only version of the uploaded name (never used on disk)."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable() and c not in '"<>')
    return name.strip()[:200] or "evidence"


def store_evidence(folder: str | Path, stream: BinaryIO, filename: str | None) -> StoredEvidence:
    """Check an upload's size and content type, then write it under a fresh random key."""
    data = stream.read(MAX_EVIDENCE_BYTES + 1)
    if not data:
        raise InvalidInput("The evidence file is empty. Choose a PDF, PNG or JPEG file.")
    if len(data) > MAX_EVIDENCE_BYTES:
        raise InvalidInput(TOO_LARGE)
    media_type = sniff_type(data[:16])
    if media_type is None:
        raise InvalidInput(
            "The evidence file is not a PDF, PNG or JPEG (its content was checked, "
            "not its name). Upload a certificate or transcript in one of those formats."
        )
    key = f"{secrets.token_hex(16)}.{EXTENSIONS[media_type]}"
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    # O_EXCL: a key is never reused, even in the astronomically unlikely event of a clash.
    fd = os.open(target / key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return StoredEvidence(
        key=key, media_type=media_type, size=len(data), original_name=clean_name(filename)
    )


def evidence_path(folder: str | Path, key: str) -> Path:
    """The file of a stored key; refuses anything that is not one of our own key names."""
    stem, _, ext = key.partition(".")
    if len(stem) != 32 or not all(c in "0123456789abcdef" for c in stem):
        raise InvalidInput("Unknown evidence file.")
    if ext not in EXTENSIONS.values():
        raise InvalidInput("Unknown evidence file.")
    return Path(folder) / key


def discard_evidence(folder: str | Path, key: str) -> None:
    """Remove a stored file whose request was never recorded."""
    with contextlib.suppress(InvalidInput, OSError):
        evidence_path(folder, key).unlink(missing_ok=True)
