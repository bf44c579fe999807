"""Evidence files: type checked by their bytes, stored under a random key in the evidence
store (lms.storage: a folder outside the web root, or private S3 objects)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from lms.bounds import UPLOAD_MAX_BYTES, UPLOAD_MAX_TEXT
from lms.errors import InvalidInput
from lms.orphan_files import discard
from lms.storage import Storage, new_key
from lms.uploads import display_name, read_within

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
    return display_name(filename, "evidence")


def store_evidence(store: Storage, stream: BinaryIO, filename: str | None) -> StoredEvidence:
    """Check an upload's size and content type, then store it under a fresh random key.

    Nothing is stored when a check fails; a store that is down raises StorageUnavailable.
    """
    data = read_within(
        stream,
        MAX_EVIDENCE_BYTES,
        empty="The evidence file is empty. Choose a PDF, PNG or JPEG file.",
        too_large=TOO_LARGE,
    )
    media_type = sniff_type(data[:16])
    if media_type is None:
        raise InvalidInput(
            "The evidence file is not a PDF, PNG or JPEG (its content was checked, "
            "not its name). Upload a certificate or transcript in one of those formats."
        )
    key = new_key(EXTENSIONS[media_type])
    store.put(key, data, media_type)
    return StoredEvidence(
        key=key, media_type=media_type, size=len(data), original_name=clean_name(filename)
    )


def discard_evidence(store: Storage, key: str) -> None:
    """Remove a stored file no request refers to (any more); a store that is down leaves it
    for the hourly sweep (lms.equivalency.sweep)."""
    discard(store, key, "evidence")
