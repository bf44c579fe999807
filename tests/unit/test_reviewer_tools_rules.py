"""The pure rules behind the reviewers' tools: hours compared, pictures of first pages,
where an application in medical review waits, and the review texts' encryption."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from PIL import Image

from lms.equivalency.models import HoursCheck, compare_hours
from lms.equivalency.preview import MAX_SIDE, has_picture, preview_key, render_first_page
from lms.offerings.models import EnrolmentStatus
from lms.retreats.models import ReviewState
from lms.retreats.review_thread import review_state
from lms.retreats.screening import ScreeningUnavailable, decrypt_text, encrypt_text

KEY = "mJ3cX6d0cQk2i3oR9o6wq0zZ2bq3x8nC5m4Wv1yJt5U="
OTHER_KEY = "q0W2bX8cU1eR4tY7uI9oP3aS6dF5gH2jK4lZ8xC1vB0="


@pytest.mark.parametrize(
    ("claimed", "required", "check"),
    [
        (Decimal("6"), Decimal("9"), HoursCheck.SHORT),
        (Decimal("8.75"), Decimal("9.00"), HoursCheck.SHORT),
        (Decimal("9"), Decimal("9.00"), HoursCheck.ENOUGH),
        (Decimal("16"), Decimal("9"), HoursCheck.ENOUGH),
        (None, Decimal("9"), HoursCheck.UNKNOWN),
        (Decimal("6"), None, HoursCheck.UNKNOWN),
    ],
)
def test_claimed_hours_are_short_only_below_the_catalogues(claimed, required, check):
    assert compare_hours(claimed, required) == check


def _one_page_pdf(width: int, height: int) -> bytes:
    """A hand-written PDF of one blank page of the given size in points."""
    page = f"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 {width} {height}]>>endobj\n"
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        + page.encode()
        + b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def test_a_pdfs_first_page_becomes_a_png_no_larger_than_the_limit():
    png = render_first_page(_one_page_pdf(14400, 7200))  # a 200-inch poster
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (MAX_SIDE, MAX_SIDE // 2)
    small = Image.open(io.BytesIO(render_first_page(_one_page_pdf(100, 50))))
    assert small.size == (200, 100)  # at most twice its size at 72 dpi


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\nnot really a pdf",
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
    ],
)
def test_a_pdf_without_a_readable_page_gives_no_picture(data):
    assert render_first_page(data) is None


def test_pictures_are_kept_under_the_evidence_files_own_stem_and_only_for_known_types():
    assert preview_key("0123456789abcdef0123456789abcdef.pdf") == (
        "0123456789abcdef0123456789abcdef.png"
    )
    with pytest.raises(ValueError):
        preview_key("../../etc/passwd")
    assert has_picture("application/pdf") and has_picture("image/jpeg")
    assert not has_picture("application/zip") and not has_picture(None)


def test_an_application_in_review_waits_on_the_applicant_only_while_a_question_is_open():
    assert review_state(EnrolmentStatus.MEDICAL_REVIEW, True) == ReviewState.MORE_INFORMATION
    assert review_state(EnrolmentStatus.MEDICAL_REVIEW, False) == ReviewState.AWAITING_REVIEWER
    assert review_state(EnrolmentStatus.ENROLLED, True) is None
    assert ReviewState.MORE_INFORMATION.label == "More information requested"


def test_review_texts_are_unreadable_without_the_key_that_wrote_them():
    token = encrypt_text(KEY, "  Last sleep study in March.  ")
    assert b"sleep" not in token
    assert decrypt_text(KEY, token) == "Last sleep study in March."
    with pytest.raises(ScreeningUnavailable, match="cannot be decrypted"):
        decrypt_text(OTHER_KEY, token)


def test_the_first_page_is_drawn_in_a_bounded_child_process_that_a_bad_pdf_cannot_hang(
    monkeypatch,
):
    """The web process never parses an upload: the child draws it, and one that takes too
    long is stopped (no picture, the download link stays)."""
    from lms.equivalency import preview

    drawn = preview.render_isolated(_one_page_pdf(100, 50))
    assert (
        Image.open(io.BytesIO(drawn)).size
        == Image.open(io.BytesIO(render_first_page(_one_page_pdf(100, 50)))).size
    )
    assert preview.render_isolated(b"%PDF-1.4 not really") is None
    monkeypatch.setattr(preview, "RENDER_SECONDS", 0.01)
    assert preview.render_isolated(_one_page_pdf(100, 50)) is None
