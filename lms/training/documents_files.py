"""A training document's file: its type proven by its bytes, and what a reviewer can read of it.

A PDF starts with `%PDF-`; a DOCX is a zip (`PK\\x03\\x04`) holding `word/document.xml` and
`[Content_Types].xml`. The declared type and the file's name decide nothing. A DOCX is read as
a zip with bounds (members, sizes): its text is pulled out of `word/document.xml` in one
pass over its tags, with no XML parser (so no entity or external reference is ever
expanded), for the reviewer to read without downloading it. A PDF's first page is drawn by
the credit evidence's bounded child process (lms.equivalency.preview).
"""

from __future__ import annotations

import html
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from lms.bounds import UPLOAD_MAX_BYTES, UPLOAD_MAX_TEXT
from lms.errors import InvalidInput
from lms.uploads import display_name, read_within

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
EXTENSIONS = {PDF: "pdf", DOCX: "docx"}
MAX_DOCUMENT_BYTES = UPLOAD_MAX_BYTES
TOO_LARGE = f"The file is larger than {UPLOAD_MAX_TEXT}. Upload a smaller PDF or Word (DOCX) file."
NOT_A_DOCUMENT = (
    "The file is not a PDF or a Word document (DOCX): its content was checked, not its name. "
    "Save it as PDF or DOCX and upload it again."
)
# A zip within these bounds is read; past them it is refused (a zip bomb is not a paper).
MAX_MEMBERS = 2000
MAX_BODY_BYTES = 20 * 1024 * 1024  # word/document.xml unpacked
MAX_TEXT_CHARACTERS = 60_000  # shown to the reviewer; a 3-5 page paper is far below


def _paragraphs(body: bytes) -> Iterator[str]:
    """Each paragraph's text, in one pass over the tags (every `<` and `>` found once, so the
    time grows with the body's length whatever it holds: no pattern that backtracks)."""
    parts: list[str] = []
    in_text = False
    position = 0
    while (start := body.find(b"<", position)) != -1:
        if in_text and start > position:
            parts.append(html.unescape(body[position:start].decode("utf-8", "replace")))
        end = body.find(b">", start)
        if end == -1:
            break
        tag = body[start + 1 : end]
        position = end + 1
        closing_itself = tag.endswith(b"/")
        words = tag.rstrip(b"/").split(None, 1)
        name = words[0] if words else b""
        if name == b"w:t":
            in_text = not closing_itself
        elif name == b"/w:t":
            in_text = False
        elif name == b"w:tab":
            parts.append("\t")
        elif name == b"w:br":
            parts.append("\n")
        elif name == b"w:p" and not closing_itself:
            parts, in_text = [], False
        elif name == b"/w:p" or name == b"w:p":
            yield "".join(parts)
            parts, in_text = [], False


@dataclass(frozen=True)
class CheckedFile:
    """An upload that passed the checks: its bytes, proven type and a display-only name."""

    data: bytes
    media_type: str
    name: str


def _is_docx(data: bytes) -> bool:
    """Whether the bytes are a readable zip with a Word document's body and content types."""
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > MAX_MEMBERS:
                return False
            names = {member.filename: member for member in members}
            body = names.get("word/document.xml")
            if body is None or "[Content_Types].xml" not in names:
                return False
            return body.file_size <= MAX_BODY_BYTES
    except (zipfile.BadZipFile, ValueError, OSError):
        return False


def sniff_type(data: bytes) -> str | None:
    """The media type the bytes prove (PDF or DOCX), or None."""
    if data.startswith(b"%PDF-"):
        return PDF
    if _is_docx(data):
        return DOCX
    return None


def check_upload(stream: BinaryIO, filename: str | None) -> CheckedFile:
    """Read an upload within the size cap and prove its type, or InvalidInput (nothing kept)."""
    data = read_within(
        stream,
        MAX_DOCUMENT_BYTES,
        empty="The file is empty. Choose a PDF or Word (DOCX) file.",
        too_large=TOO_LARGE,
    )
    media_type = sniff_type(data)
    if media_type is None:
        raise InvalidInput(NOT_A_DOCUMENT)
    return CheckedFile(data=data, media_type=media_type, name=display_name(filename, "document"))


def docx_paragraphs(data: bytes) -> list[str] | None:
    """The text of a DOCX, paragraph by paragraph (at most MAX_TEXT_CHARACTERS), or None when
    it cannot be read within the bounds."""
    if not _is_docx(data):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open("word/document.xml") as f:
            body = f.read(MAX_BODY_BYTES + 1)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, RuntimeError):
        return None
    if len(body) > MAX_BODY_BYTES:
        return None
    paragraphs: list[str] = []
    used = 0
    for paragraph in _paragraphs(body):
        text = paragraph.strip()
        if not text:
            continue
        paragraphs.append(text[: MAX_TEXT_CHARACTERS - used])
        used += len(paragraphs[-1])
        if used >= MAX_TEXT_CHARACTERS:
            break
    return paragraphs
