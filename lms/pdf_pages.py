"""A PDF's first page drawn as an image with PDFium, one drawing at a time per process.

PDFium is not thread-safe, so every use of it in a process holds the one LOCK here (the
certificates' pictures, stamps and text checks; the evidence previews draw an upload in a child
process of their own, where the lock is theirs alone). What the page looks like is the
caller's: it may change the page in memory before it is drawn (`prepare`), and it encodes the
image it gets back.
Core module: it imports no feature.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pypdfium2 as pdfium
from PIL import Image

LOCK = threading.Lock()

# How much to scale a page of (width, height) points to draw it.
Scale = Callable[[float, float], float]
# Changes made to the page in memory before it is drawn (the stored PDF is untouched).
Prepare = Callable[[pdfium.PdfDocument, pdfium.PdfPage], None]


def first_page_image(
    pdf: bytes, scale: Scale, prepare: Prepare | None = None
) -> Image.Image | None:
    """The first page as an RGB image at `scale(width, height)`, after `prepare`; None when the
    bytes are no PDF PDFium can read or hold no page with an area."""
    with LOCK:
        try:
            document = pdfium.PdfDocument(pdf)
        except pdfium.PdfiumError:
            return None
        try:
            if len(document) == 0:
                return None
            page = document[0]
            try:
                width, height = page.get_size()
                if width <= 0 or height <= 0:
                    return None
                if prepare is not None:
                    prepare(document, page)
                # PDFium draws an opaque page as BGR, which Pillow reads as RGB in one pass.
                image = page.render(scale=scale(width, height)).to_pil()
            finally:
                page.close()
        except pdfium.PdfiumError:
            return None
        finally:
            document.close()
    return image if image.mode == "RGB" else image.convert("RGB")
