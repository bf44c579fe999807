"""What an issued certificate carries from its offering and the programme settings, frozen at
issue: days, place, facilitators, activity ID, numbered statements, signatories with their
signature image in the PDF; a later settings change reaches only a reissue."""

from __future__ import annotations

import struct
import zlib
from datetime import time, timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from certificates_support import certificates_for, page_count, pdf_text
from pypdf import PdfReader

from lms.auth.models import Role
from lms.certificates import base, services
from lms.certificates.context import printable
from lms.clock import today
from lms.db import db
from lms.image_checks import check_image
from lms.offerings.days import DaySpec
from lms.offerings.models import OfferingFormat
from lms.offerings.schedule import OfferingInput, create_offering
from lms.programme import ProgrammeSetting
from lms.programme_images import store_image
from lms.progress.models import CompletionSource
from lms.progress.services import record_completion


def png(width: int = 60, height: int = 20) -> bytes:
    """A small grey PNG."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x40" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def set_setting(session, key: str, value) -> None:
    """Write one programme setting and commit."""
    session.merge(ProgrammeSetting(key=key, value=value))
    session.commit()


@pytest.fixture
def people(make_user, catalog, session):  # noqa: ANN001, ANN201
    """A clinician, an instructor who facilitates, an admin; M1 certificates wait for nothing."""
    catalog["M1"].evaluation_required = False
    session.commit()
    return {
        "clinician": make_user(Role.CLINICIAN, name="Ada Lovelace", credentials="PhD"),
        "facilitator": make_user(Role.INSTRUCTOR, name="Ines Instructor"),
        "admin": make_user(Role.ADMIN),
    }


@pytest.fixture
def signature(session) -> str:
    """A stored PNG signature and two signatories, one of them with it."""
    digest = store_image(session, check_image(png(), "sig.png"))
    set_setting(
        session,
        "signatories",
        [
            {
                "name": "Dr Sam Signer",
                "credentials": "PhD",
                "title": "Director of Training",
                "signature": digest,
            },
            {
                "name": "Dr Rae Reyes",
                "credentials": "MD",
                "title": "Medical Director",
                "signature": "",
            },
        ],
    )
    return digest


def offering_completion(session, people):
    """M1 completed through a two-day live online offering that Ines facilitated."""
    first = today(session) - timedelta(days=10)
    offering = create_offering(
        session,
        item_code="M1",
        data=OfferingInput(
            days=(
                DaySpec(first, time(9), time(14), Decimal("4.5")),
                DaySpec(first + timedelta(days=1), time(9), time(14), Decimal("4.5")),
            ),
            format=OfferingFormat.LIVE_ONLINE,
            capacity=10,
            facilitator_ids=(people["facilitator"].id,),
        ),
        actor_id=people["admin"].id,
    )
    completion = record_completion(
        session,
        user_id=people["clinician"].id,
        item_code="M1",
        completed_on=first + timedelta(days=1),
        source=CompletionSource.ATTENDANCE,
        actor_id=people["facilitator"].id,
        offering_id=offering.id,
    )
    db.commit()  # the render job runs now (immediate in tests)
    return completion, first


def test_a_certificate_from_an_offering_carries_its_days_place_people_and_numbers(
    session, people, signature
):
    """Every day, the location, facilitators, activity ID, approval numbers marked as examples,
    both signatories, and the PNG signature drawn in the one-page PDF."""
    completion, first = offering_completion(session, people)
    (certificate,) = certificates_for(session, completion.id)
    content = certificate.content
    assert content["activity_dates"] == [first.isoformat(), (first + timedelta(1)).isoformat()]
    assert content["location"] == "Live online (video)"
    assert content["facilitators"] == ["Ines Instructor"]
    assert content["activity_id"] == "PIC-KAP-M1"
    assert content["signatories"][0]["signature"] == signature
    numbers = [(a["number"], a["example"]) for a in content["accreditations"]]
    assert numbers == [("EXAMPLE-APA-0000", True), ("EXAMPLE-BBS-0000", True)]
    text = pdf_text(certificate.pdf)
    for expected in (
        content["activity_dates_text"],
        "Live online (video)",
        "PIC-KAP-M1",
        "Facilitated by Ines Instructor",
        "APA sponsor number: EXAMPLE-APA-0000 (example)",
        "Dr Sam Signer, PhD",
        "Director of Training",
        "Dr Rae Reyes, MD",
    ):
        assert expected in text, expected
    page = PdfReader(BytesIO(certificate.pdf)).pages[0]
    kinds = [x.get_object().get("/Subtype") for x in page["/Resources"]["/XObject"].values()]
    assert "/Image" in kinds, "the uploaded signature is drawn on the certificate"
    assert page_count(certificate.pdf) == 1


def test_issued_certificates_keep_what_they_said_and_a_reissue_says_the_new(
    session, people, signature
):
    """Changing the signatories changes neither the frozen content nor the stored PDF; the
    reissue prints the new signatory."""
    completion, _ = offering_completion(session, people)
    (old,) = certificates_for(session, completion.id)
    frozen, pdf = dict(old.content), old.pdf
    set_setting(
        session,
        "signatories",
        [{"name": "Dr New Person", "credentials": "PsyD", "title": "Director", "signature": ""}],
    )
    (again,) = certificates_for(session, completion.id)
    assert again.content == frozen and again.pdf == pdf
    new = services.reissue_certificate(session, old.id, actor_id=people["admin"].id)
    db.commit()
    (_, new) = certificates_for(session, completion.id)
    assert [p["name"] for p in new.content["signatories"]] == ["Dr New Person"]
    assert "Dr New Person, PsyD" in pdf_text(new.pdf)
    assert "Dr Sam Signer" not in pdf_text(new.pdf)


def test_a_content_frozen_before_these_keys_still_renders_what_it_said():
    """An older certificate's content (no dates list, credits or signatories) renders on one
    page with its own hours and statement, and no nameless signature line."""
    old = {
        "design": "module",
        "holder_name": "Ada Lovelace",
        "credentials": "PhD",
        "licence_number": "",
        "licence_line": "",
        "item_code": "M1",
        "title": "Module 1",
        "format": "Live online",
        "completed_on": "2025-03-14",
        "completed_on_text": "March 14, 2025",
        "ce_hours": "9",
        "ce_type": "CE contact hours",
        "statements": ["An older statement."],
        "provider_name": "Polaris Insight Center",
        "provider_address": ["San Francisco, CA"],
        "signatory_name": "Director of Training",
        "signatory_title": "Director of Training, Polaris Insight Center",
        "page_size": "Letter",
        "serial": "KAP-2025-000001",
        "code": "2345-6789-ABCD-EFGH-JKMN",
        "verify_url": "http://lms.test/verify/2345-6789-ABCD-EFGH-JKMN",
        "issued_on": "2025-03-14",
        "issued_on_text": "March 14, 2025",
        "expires_on": "",
        "expires_on_text": "",
    }
    pdf = base.render_pdf("module", old)
    text = pdf_text(pdf)
    assert "March 14, 2025" in text and "9 CE contact hours" in text
    assert "An older statement." in text
    assert "Director of Training" not in text
    assert page_count(pdf) == 1
    assert printable(old)["signatories"] == []


def test_a_bulk_issue_draws_the_signatures_and_keeps_the_pictures_its_workers_drew(
    app, session, people, signature
):
    """`issue --missing` renders with the programme's images like the render job, and each
    worker draws the public picture (without the licence line) beside the PDF."""
    from certificates_support import record

    from lms.certificates import pictures
    from lms.storage import store

    completion = record(session, people["clinician"].id, "M1", bulk=True)
    session.commit()
    report = services.issue_missing(session, commit=session.commit, jobs=2, batch_size=2)
    assert report.issued == 1
    (certificate,) = certificates_for(session, completion.id)
    page = PdfReader(BytesIO(certificate.pdf)).pages[0]
    kinds = [x.get_object().get("/Subtype") for x in page["/Resources"]["/XObject"].values()]
    assert "/Image" in kinds, "the uploaded signature is drawn on a bulk-issued certificate"
    with app.app_context():
        kept = store(pictures.AREA).read(pictures.picture_key(certificate.sha256))
    assert kept == pictures.draw_first_page(
        certificate.pdf, hidden=pictures.private_words(certificate.content)
    )
