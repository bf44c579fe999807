"""The programme's images (signatures, the provider's logo): stored once by their SHA-256 and
served publicly under it, so a certificate that names a digest always shows the same picture.

A core module, like lms.programme: certificates and the settings page store and read images
here. An image is never changed or deleted while the app runs: a certificate issued with a
signature keeps naming its digest, and a new upload is a new digest. Uploads are checked by
lms.image_checks before they are stored.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from datetime import datetime

from flask import Blueprint, Response, abort, url_for
from sqlalchemy import LargeBinary, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from lms.db import Base, db, utcnow
from lms.image_checks import CheckedImage

DIGEST = re.compile(r"^[0-9a-f]{64}$")


class ProgrammeImage(Base):
    """One image, content-addressed: its SHA-256 (hex) is its key."""

    __tablename__ = "programme_images"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(40))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def digest_of(data: bytes) -> str:
    """The key an image is stored under."""
    return hashlib.sha256(data).hexdigest()


def store_image(session: Session, image: CheckedImage) -> str:
    """Store a checked image (once: the same bytes twice are one row); return its digest."""
    digest = digest_of(image.data)
    if session.get(ProgrammeImage, digest) is None:
        session.add(ProgrammeImage(digest=digest, media_type=image.media_type, data=image.data))
        session.flush()
    return digest


def load_images(session: Session, digests: Iterable[str]) -> dict[str, ProgrammeImage]:
    """The stored images among the digests, by digest (one query; none for no digests)."""
    wanted = sorted({d for d in digests if d and DIGEST.match(d)})
    if not wanted:
        return {}
    rows = session.scalars(select(ProgrammeImage).where(ProgrammeImage.digest.in_(wanted)))
    return {row.digest: row for row in rows}


def data_url(image: ProgrammeImage | CheckedImage) -> str:
    """The image as a `data:` URL (what a certificate design may load)."""
    return f"data:{image.media_type};base64,{base64.b64encode(image.data).decode('ascii')}"


def image_url(digest: str | None) -> str | None:
    """The public address of a stored image (None for no digest)."""
    if not digest or not DIGEST.match(digest):
        return None
    return url_for("programme_images.show", digest=digest)


bp = Blueprint("programme_images", __name__)


@bp.get("/programme/images/<digest>")
def show(digest: str) -> Response:
    """An image by its digest, for anyone (it is printed on public certificates); its bytes
    never change, so browsers keep it for a year."""
    if not DIGEST.match(digest):
        abort(404)
    image = db.session.get(ProgrammeImage, digest)
    if image is None:
        abort(404)
    response = Response(image.data, mimetype=image.media_type)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers["ETag"] = f'"{digest}"'
    # An SVG opened on its own is a document: it may draw, never run or fetch anything.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
