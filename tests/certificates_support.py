"""Helpers for the certificate tests: record completions, read PDFs, decode QR codes."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.certificates.models import Certificate
from lms.db import db
from lms.progress.models import Completion, CompletionSource
from lms.progress.services import record_completion

COMPLETED_ON = date(2025, 3, 14)


def record(
    session: Session,
    user_id: int,
    code: str = "M1",
    *,
    on: date = COMPLETED_ON,
    bulk: bool = False,
    actor_id: int | None = None,
) -> Completion:
    """Record a completion through the progress service (which sends completion_recorded)."""
    source = (
        CompletionSource.ATTENDANCE if code.startswith("RETREAT") else CompletionSource.INSTRUCTOR
    )
    return record_completion(
        session,
        user_id=user_id,
        item_code=code,
        completed_on=on,
        source=source,
        actor_id=actor_id,
        bulk=bulk,
    )


def issued(
    session: Session,
    user_id: int,
    code: str = "M1",
    *,
    on: date = COMPLETED_ON,
    actor_id: int | None = None,
) -> Completion:
    """Record a completion and commit, so the render job (immediate in tests) stores its PDF."""
    completion = record(session, user_id, code, on=on, actor_id=actor_id)
    db.commit()
    return completion


def certificates_for(session: Session, completion_id: int) -> list[Certificate]:
    """Every certificate row of a completion, oldest first, as the database has them now."""
    return list(
        session.scalars(
            select(Certificate)
            .where(Certificate.completion_id == completion_id)
            .order_by(Certificate.id)
            .execution_options(populate_existing=True)
        )
    )


def pdf_text(data: bytes) -> str:
    """All extractable text of a PDF, whitespace collapsed to single spaces."""
    reader = PdfReader(BytesIO(data))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def page_count(data: bytes) -> int:
    """Number of pages of a PDF."""
    return len(PdfReader(BytesIO(data)).pages)


def attachments_of(data: bytes) -> list[str]:
    """Names of embedded files and file-attachment annotations in a PDF (should be none)."""
    reader = PdfReader(BytesIO(data))
    found: list[str] = []
    names = reader.trailer["/Root"].get("/Names")
    if names is not None and "/EmbeddedFiles" in names.get_object():
        found.append("/EmbeddedFiles")
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            if annotation.get_object().get("/Subtype") == "/FileAttachment":
                found.append("/FileAttachment")
    return found


def decode_qr(data: bytes, workdir: Path) -> list[str]:
    """Rasterise the PDF's first page and return what zbarimg reads from its QR codes."""
    if shutil.which("zbarimg") is None or shutil.which("pdftoppm") is None:
        pytest.skip(
            "zbarimg (Debian zbar-tools) or pdftoppm (poppler-utils) is not installed; "
            "`make test` installs them"
        )
    pdf = workdir / "certificate.pdf"
    pdf.write_bytes(data)
    subprocess.run(
        ["pdftoppm", "-r", "200", "-png", "-singlefile", str(pdf), str(workdir / "page")],
        check=True,
        timeout=60,
    )
    result = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(workdir / "page.png")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return [line for line in result.stdout.splitlines() if line]
