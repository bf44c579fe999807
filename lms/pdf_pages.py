"""A PDF's first page drawn as an image with PDFium, one drawing at a time per process.

PDFium is not thread-safe, so every use of it in a process holds the one LOCK here (the
certificates' pictures, stamps and text checks; the evidence previews draw an upload in a child
process of their own, where the lock is theirs alone). What the page looks like is the
caller's: it may change the page in memory before it is drawn (`prepare`), and it encodes the
image (`encode`).
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
# The drawn page's image written out (JPEG, PNG...).
Encode = Callable[[Image.Image], bytes]


def first_page_image(
    pdf: bytes, scale: Scale, encode: Encode, prepare: Prepare | None = None
) -> bytes | None:
    """The first page drawn at `scale(width, height)` after `prepare`, as `encode` writes it;
    None when the bytes are no PDF PDFium can read or hold no page with an area.

    `encode` gets an RGBX image (the fourth byte unused: JPEG takes it as it is, a PNG wants
    `.convert("RGB")`) that shares PDFium's memory, so it runs here, while that memory lives:
    four bytes a pixel in Pillow's own order, drawn a little faster than three and read with
    no conversion or copy (for a 1,000-pixel certificate the same JPEG about 1 ms sooner).
    """
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
                bitmap = page.render(
                    scale=scale(width, height), rev_byteorder=True, prefer_bgrx=True
                )
                try:
                    return encode(bitmap.to_pil())
                finally:
                    bitmap.close()
            finally:
                page.close()
        except pdfium.PdfiumError:
            return None
        finally:
            document.close()
