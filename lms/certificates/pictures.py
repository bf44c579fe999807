"""A certificate's first page as a picture, and the "REVOKED on <date>" stamp of a download.

The picture (JPEG) is drawn with PDFium when the render job stores the PDF, and kept in the
private `certificate_pictures` store beside it: its key is made from the PDF's own SHA-256, so
no column records it and a certificate issued before pictures existed gets its own on first
need (the verify page, `flask lms certificates pictures`). The public picture never shows the
licence number: the text objects that carry it are left out of the drawing (the stored PDF is
untouched).

A revoked certificate is marked: its download and its picture carry "REVOKED on <date>"
across every page. The stamp is drawn on a copy when asked for; the stored bytes stay exactly
as issued, for the audit trail and for the upload check, which still answers "revoked".

Only PDFs this app rendered are drawn here (never an upload, which lms.equivalency draws in a
bounded child process), in this process, one at a time (lms.pdf_pages: PDFium is not
thread-safe).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import io
import logging
import math
from collections.abc import Iterable
from datetime import date

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

from lms.pdf_pages import LOCK as PDFIUM
from lms.pdf_pages import first_page_image
from lms.storage import Storage, StorageUnavailable, StoredFileMissing

log = logging.getLogger(__name__)

AREA = "certificate_pictures"
MEDIA_TYPE = "image/jpeg"
SUFFIX = ".jpg"
# Pictures kept as PNG before 7 Dec 2026, under the same stem: erasure removes them too.
LEGACY_SUFFIXES = (".png",)
# Pixels across: sharp on the page and in link previews, and cheap enough to draw at every
# issue (the picture counts in the time budget, lms.certificates.issuing).
WIDTH = 1000
# JPEG, not PNG: a certificate's tinted paper, watermark and ornaments are photo-like, so a
# JPEG at this quality is smaller (about 105 KB against 150 KB) and, with no deflate pass,
# drawn in three fifths of the time (14 ms against 23); its text stays sharp at WIDTH.
QUALITY = 85
STAMP_FONT = b"Helvetica-Bold"  # one of PDF's standard fonts: nothing to embed
STAMP_RGBA = (176, 24, 24, 210)


def stamp_text(revoked_on_text: str) -> str:
    """The words stamped on a revoked certificate."""
    return f"REVOKED on {revoked_on_text}"


def picture_key(sha256: str, revoked_on: date | None = None, *, suffix: str = SUFFIX) -> str:
    """The storage key of a certificate's picture: from its PDF's digest, and for a revoked
    one from the date stamped on it too (so the unstamped picture is never served for it)."""
    if len(sha256) != 64:
        raise ValueError("a certificate without a stored PDF has no picture")
    stem = sha256 if revoked_on is None else f"{sha256}:revoked:{revoked_on.isoformat()}"
    return hashlib.sha256(stem.encode()).hexdigest()[:32] + suffix


def picture_keys(sha256: str, revoked_on: date | None = None) -> list[str]:
    """Every key the picture may be kept under: today's and the legacy formats' (erasure)."""
    return [picture_key(sha256, revoked_on, suffix=s) for s in (SUFFIX, *LEGACY_SUFFIXES)]


def legacy_keys(sha256: str, revoked_on: date | None = None) -> list[str]:
    """Where a certificate's pictures in older formats may be kept: the plain one and, once
    revoked, the stamped one (the backfill removes them)."""
    days = [None] if revoked_on is None else [None, revoked_on]
    return [picture_key(sha256, day, suffix=s) for day in days for s in LEGACY_SUFFIXES]


def _text_of(text_object: pdfium_c.FPDF_PAGEOBJECT, text_page: pdfium.PdfTextPage) -> str:
    """The characters a text object shows."""
    size = pdfium_c.FPDFTextObj_GetText(text_object, text_page.raw, None, 0)
    if size <= 0:
        return ""
    buffer = ctypes.create_string_buffer(size * 2)
    pdfium_c.FPDFTextObj_GetText(
        text_object, text_page.raw, ctypes.cast(buffer, ctypes.POINTER(ctypes.c_ushort)), size
    )
    return buffer.raw.decode("utf-16-le", errors="replace").rstrip("\x00")


def _squeezed(text: str) -> str:
    """Text without any white space (a wrapped line breaks anywhere, even inside a word)."""
    return "".join(text.split())


def _text_objects(page: pdfium.PdfPage) -> list[tuple[pdfium.PdfObject, str]]:
    """The page's text objects in drawing order (reading order for our designs), each with
    the characters it shows."""
    text_page = page.get_textpage()
    try:
        return [
            (obj, _text_of(obj.raw, text_page))
            for obj in page.get_objects(max_depth=1)
            if obj.type == pdfium_c.FPDF_PAGEOBJ_TEXT
        ]
    finally:
        text_page.close()


def _showing(objects: list[tuple[pdfium.PdfObject, str]], hidden: list[str]) -> set[int]:
    """Indexes of the text objects that, read one after another, show one of the strings.

    White space is ignored on both sides, so a string the layout wrapped over two lines (two
    text objects: "... no. PSY" and "12345 678 (CA)") is found and both objects are hidden.
    """
    starts, joined = [], []
    position = 0
    for _, text in objects:
        squeezed = _squeezed(text)
        starts.append(position)
        joined.append(squeezed)
        position += len(squeezed)
    whole = "".join(joined)
    found: set[int] = set()
    for word in filter(None, map(_squeezed, hidden)):
        at = whole.find(word)
        while at != -1:
            end = at + len(word)
            found.update(
                index
                for index, start in enumerate(starts)
                if start < end and start + len(joined[index]) > at
            )
            at = whole.find(word, at + 1)
    return found


def _hide_text(page: pdfium.PdfPage, hidden: list[str]) -> None:
    """Take out of the page (in memory) every text object showing part of one of the strings."""
    objects = _text_objects(page)
    for index in sorted(_showing(objects, hidden)):
        obj = objects[index][0]
        page.remove_obj(obj)
        obj.close()


def shown_text(pdf: bytes, *, hidden: Iterable[str] = ()) -> str:
    """The first page's text as the picture shows it (the hidden strings taken out), one text
    object per line: what the public sees, for checking."""
    with PDFIUM:
        document = pdfium.PdfDocument(pdf)
        try:
            page = document[0]
            try:
                objects = _text_objects(page)
                gone = _showing(objects, [word for word in hidden if word])
                return "\n".join(text for i, (_, text) in enumerate(objects) if i not in gone)
            finally:
                page.close()
        finally:
            document.close()


def _stamp_page(document: pdfium.PdfDocument, page: pdfium.PdfPage, text: str) -> None:
    """Draw the text across the page's diagonal, in red, above everything on it."""
    width, height = page.get_size()
    size = max(12.0, min(width, height) / 12)
    text_object = pdfium_c.FPDFPageObj_NewTextObj(document.raw, STAMP_FONT, ctypes.c_float(size))
    wide = ctypes.create_string_buffer((text + "\x00").encode("utf-16-le"))
    pdfium_c.FPDFText_SetText(text_object, ctypes.cast(wide, pdfium_c.FPDF_WIDESTRING))
    pdfium_c.FPDFPageObj_SetFillColor(text_object, *STAMP_RGBA)
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    pdfium_c.FPDFPageObj_GetBounds(text_object, left, bottom, right, top)
    across, tall = right.value - left.value, top.value - bottom.value
    angle = math.atan2(height, width)
    shrink = min(1.0, 0.85 * math.hypot(width, height) / max(across, 1.0))
    cos, sin = math.cos(angle) * shrink, math.sin(angle) * shrink
    pdfium_c.FPDFPageObj_Transform(text_object, 1, 0, 0, 1, -across / 2, -tall / 2)
    pdfium_c.FPDFPageObj_Transform(text_object, cos, sin, -sin, cos, width / 2, height / 2)
    pdfium_c.FPDFPage_InsertObject(page.raw, text_object)
    if not pdfium_c.FPDFPage_GenerateContent(page.raw):
        raise RuntimeError("PDFium could not write the stamped page")


def stamped_pdf(pdf: bytes, text: str) -> bytes:
    """A copy of the PDF with the text stamped across every page (the bytes given are kept)."""
    with PDFIUM:
        document = pdfium.PdfDocument(pdf)
        try:
            for index in range(len(document)):
                page = document[index]
                try:
                    _stamp_page(document, page, text)
                finally:
                    page.close()
            out = io.BytesIO()
            document.save(out)
            return out.getvalue()
        finally:
            document.close()


def draw_first_page(pdf: bytes, *, hidden: Iterable[str] = (), stamp: str = "") -> bytes | None:
    """The PDF's first page as JPEG bytes, WIDTH pixels across, without the text objects that
    show any of `hidden` and with `stamp` across it; None when there is no page to draw."""
    words = [word for word in hidden if word]

    def prepare(document: pdfium.PdfDocument, page: pdfium.PdfPage) -> None:
        """The public's page: the private words taken out, the stamp put on."""
        if words:
            _hide_text(page, words)
        if stamp:
            _stamp_page(document, page, stamp)

    return first_page_image(pdf, lambda width, _height: WIDTH / width, _jpeg, prepare)


def _jpeg(image: Image.Image) -> bytes:
    """The picture's bytes."""
    out = io.BytesIO()
    image.save(out, "JPEG", quality=QUALITY)
    return out.getvalue()


def private_words(content: dict) -> list[str]:
    """What a certificate prints that the public may not see in its picture: the licence
    line (type, number and state) and the number on its own."""
    return [
        str(content.get(key) or "").strip()
        for key in ("licence_line", "licence_number", "license_number")
        if str(content.get(key) or "").strip()
    ]


def keep_picture(
    store: Storage,
    pdf: bytes,
    sha256: str,
    content: dict,
    *,
    revoked_on: date | None = None,
    revoked_on_text: str = "",
) -> bytes | None:
    """The certificate's picture: read from the store, or drawn now and kept there."""
    key = picture_key(sha256, revoked_on)
    try:
        return store.read(key)
    except StoredFileMissing:
        pass
    stamp = stamp_text(revoked_on_text) if revoked_on is not None else ""
    picture = draw_first_page(pdf, hidden=private_words(content), stamp=stamp)
    if picture is None:
        log.warning("certificate picture: its PDF has no page to draw")
        return None
    put_picture(store, key, picture)
    return picture


def put_picture(store: Storage, key: str, picture: bytes) -> None:
    """Keep a picture; one drawn at the same moment by another process is as good."""
    with contextlib.suppress(ValueError):  # the local store's "key taken": already there
        store.put(key, picture, MEDIA_TYPE)


def stored_picture(store: Storage, sha256: str, revoked_on: date | None = None) -> bytes | None:
    """The kept picture, or None when it was never drawn."""
    try:
        return store.read(picture_key(sha256, revoked_on))
    except StoredFileMissing:
        return None


def discard_picture(store: Storage, key: str) -> None:
    """Remove a kept picture (a person's data erased); a store that is down leaves it, never
    served again since its certificate has no PDF any more."""
    try:
        store.delete(key)
    except StorageUnavailable:
        log.warning("certificate picture %s left in %s", key, store.describe())
