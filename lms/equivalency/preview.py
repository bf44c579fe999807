"""A picture of an evidence file's first page, for the credit reviewer to read it inline.

A PDF's first page is rendered once with PDFium on first view, in a child process with bounded
memory, CPU and wall time (lms.equivalency.render_preview: an upload is untrusted input to a C
library), and kept, as a PNG, in the private `evidence_previews` store under the evidence
file's own key stem; a PNG or JPEG (whose bytes were checked when uploaded) is its own
picture. Nothing else is ever drawn: the reviewer downloads it. Previews go with their evidence
(erasure, the hourly sweep).
"""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import threading
from dataclasses import dataclass

from PIL import Image

from lms.pdf_pages import first_page_image
from lms.storage import Storage, StoredFileMissing, check_key

log = logging.getLogger(__name__)

PREVIEW_AREA = "evidence_previews"
PREVIEW_TYPE = "image/png"
MAX_SIDE = 1200  # pixels of the picture's longer side: readable, and a bounded render
MAX_SCALE = 2.0  # a small page is not blown up past twice its size at 72 dpi
IMAGE_TYPES = frozenset({"image/png", "image/jpeg"})  # shown as they are, never re-encoded
RENDERED_TYPES = frozenset({"application/pdf"})

# Child processes drawing at once from one web process, and how long one may take.
_CHILDREN = threading.BoundedSemaphore(2)
RENDER_SECONDS = 15


def preview_key(evidence_key: str) -> str:
    """Where the picture of an evidence file is kept (same random stem, `.png`)."""
    return check_key(evidence_key).split(".", 1)[0] + ".png"


def has_picture(media_type: str | None) -> bool:
    """Whether evidence of this type can be shown as a picture at all."""
    return media_type in IMAGE_TYPES or media_type in RENDERED_TYPES


def render_first_page(pdf: bytes) -> bytes | None:
    """The first page of a PDF as PNG bytes, or None when it has no page or cannot be read."""
    return first_page_image(
        pdf, lambda width, height: min(MAX_SIDE / max(width, height), MAX_SCALE), _png
    )


def _png(image: Image.Image) -> bytes:
    """A preview's bytes."""
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PNG", optimize=True)
    return out.getvalue()


def render_isolated(pdf: bytes) -> bytes | None:
    """`render_first_page` in a child process (bounded memory and CPU, no environment, killed
    after RENDER_SECONDS): None when it has no page, fails or takes too long."""
    with _CHILDREN:
        try:
            done = subprocess.run(
                [sys.executable, "-m", "lms.equivalency.render_preview"],
                input=pdf,
                capture_output=True,
                timeout=RENDER_SECONDS,
                env={},
                check=False,
            )
        except subprocess.TimeoutExpired:
            log.warning(
                "evidence preview: the render took over %s s and was stopped", RENDER_SECONDS
            )
            return None
    if done.returncode != 0:
        log.warning("evidence preview: the render process ended with %s", done.returncode)
        return None
    return done.stdout or None


@dataclass(frozen=True)
class Picture:
    """An image to serve: its bytes and media type."""

    data: bytes
    media_type: str


def evidence_picture(
    evidence: Storage, previews: Storage, key: str, media_type: str | None
) -> Picture | None:
    """The picture of an evidence file: the image itself, or its PDF's first page (rendered
    and kept on first use); None when there is none. The caller has checked access."""
    if media_type in IMAGE_TYPES:
        return Picture(evidence.read(key), media_type)
    if media_type not in RENDERED_TYPES:
        return None
    kept = preview_key(key)
    try:
        return Picture(previews.read(kept), PREVIEW_TYPE)
    except StoredFileMissing:
        pass
    png = render_isolated(evidence.read(key))
    if png is None:
        log.info("evidence %s: no first page to picture", key)
        return None
    previews.put(kept, png, PREVIEW_TYPE)
    return Picture(png, PREVIEW_TYPE)


def picture_ready(evidence: Storage, previews: Storage, key: str, media_type: str | None) -> bool:
    """Whether the evidence has a picture to show, rendering a PDF's first page now if it was
    never rendered (so the page that shows it knows before the image is asked for)."""
    if media_type in IMAGE_TYPES:
        return True
    if media_type not in RENDERED_TYPES:
        return False
    if previews.exists(preview_key(key)):
        return True
    return evidence_picture(evidence, previews, key, media_type) is not None
