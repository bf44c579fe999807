"""The programme settings page: admins only, CSRF, refused uploads store nothing, a saved
signature is served by its digest, the sample is a PDF marked SAMPLE, changes are audited."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder

from lms.audit.models import AuditEvent
from lms.auth.models import Role, User
from lms.programme import ProgrammeSetting, programme_setting
from lms.programme_images import ProgrammeImage

SIGNATURE = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 60">'
    b'<path d="M10 40 C 40 5, 70 55, 190 20" fill="none" stroke="#123" stroke-width="3"/></svg>'
)
HOSTILE = (
    b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
    b'viewBox="0 0 10 10" onload="alert(1)"><script>alert(2)</script>'
    b"<foreignObject><p>hi</p></foreignObject>"
    b'<image xlink:href="http://evil.test/x.png"/>'
    b'<path d="M0 0 L10 10" stroke="url(http://evil.test/#x)" fill="url(#ok)"/></svg>'
)


def png(width: int = 4, height: int = 2) -> bytes:
    """A small, valid PNG."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def admin(make_user, client, login) -> User:
    """A signed-in administrator."""
    user = make_user(Role.ADMIN, name="Ada Admin", email="ada@admin.test")
    login(client, user)
    return user


def form(**changes: object) -> dict:
    """A complete settings form: one signatory, one accreditation."""
    data: dict = {
        "provider_name": "Polaris Insight Center",
        "provider_address": "1 Example Way\nSan Francisco, CA 94110",
        "locale": "en-US",
        "signatories-0-name": "Dr Sam Signer",
        "signatories-0-credentials": "PhD",
        "signatories-0-title": "Director of Training",
        "signatories-1-name": "",
        "accreditations-0-body": "American Medical Association",
        "accreditations-0-statement": "EXAMPLE: designates this activity for credit.",
        "accreditations-0-number_label": "Provider number",
        "accreditations-0-number": "EX-0001",
        "accreditations-0-example": "y",
        "accreditations-0-credit_type": "AMA PRA Category 1 Credits™",
        "accreditations-0-credit_step": "",
        "accreditations-0-rounding": "nearest",
    }
    data.update(changes)
    return data


def post(client, path: str, data: dict):
    """Post a multipart form built by hand (so its spooled temporary body is closed)."""
    builder = EnvironBuilder(path=path, method="POST", data=data)
    environ = builder.get_environ()
    try:
        return client.open(environ)
    finally:
        environ["wsgi.input"].close()
        builder.close()


def images(session) -> int:
    """How many programme images are stored."""
    return session.scalar(select(func.count()).select_from(ProgrammeImage))


def test_the_settings_page_is_for_admins_only(app, make_user, login):
    """Guests are sent to sign in; clinicians, instructors and reviewers are refused."""
    assert app.test_client().get("/admin/programme").status_code == 302
    for role in (Role.CLINICIAN, Role.INSTRUCTOR, Role.MEDICAL_REVIEWER):
        other = login(app.test_client(), make_user(role))
        assert other.get("/admin/programme").status_code == 403
        assert other.post("/admin/programme", data=form()).status_code == 403


def test_saving_stores_signatories_logo_accreditations_locale_and_audits_once(
    client, admin, session
):
    """The settings are written, the signature stored by its digest and served publicly with
    immutable caching, and one audit event names what changed."""
    data = form(
        **{
            "signatories-0-signature": (io.BytesIO(SIGNATURE), "sig.svg"),
            "logo": (io.BytesIO(png()), "logo.png"),
            "locale": "en-GB",
        }
    )
    answer = client.post("/admin/programme", data=data, content_type="multipart/form-data")
    assert answer.status_code == 302
    session.expire_all()
    (person,) = programme_setting(session, "signatories")
    assert person["name"] == "Dr Sam Signer" and person["credentials"] == "PhD"
    assert len(person["signature"]) == 64
    assert programme_setting(session, "locale") == "en-GB"
    logo = programme_setting(session, "provider_logo")
    assert client.get(f"/programme/images/{logo}").mimetype == "image/png"
    logo = programme_setting(session, "provider_logo")
    assert client.get(f"/programme/images/{logo}").mimetype == "image/png"
    (entry,) = programme_setting(session, "accreditation_statements")
    assert entry["number"] == "EX-0001" and entry["example"] is True
    served = client.get(f"/programme/images/{person['signature']}")
    assert served.status_code == 200 and served.mimetype == "image/svg+xml"
    assert "immutable" in served.headers["Cache-Control"]
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "programme.settings_changed")
    ).one()
    assert "signatories" in event.facts["settings"] and event.actor_id == admin.id
    page = client.get("/admin/programme").get_data(as_text=True)
    assert f"/programme/images/{person['signature']}" in page and "Dr Sam Signer" in page


def test_a_png_signature_is_accepted_and_a_second_save_changes_nothing(client, admin, session):
    """A well-formed PNG is stored; saving the same form again writes and audits nothing."""
    upload = {"signatories-0-signature": (io.BytesIO(png()), "sig.png")}
    assert client.post("/admin/programme", data=form(**upload)).status_code == 302
    assert client.post("/admin/programme", data=form()).status_code == 302
    session.expire_all()
    assert images(session) == 1
    (person,) = programme_setting(session, "signatories")
    assert person["signature"], "saving without a new upload keeps the signature"
    count = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "programme.settings_changed")
    )
    assert count == 1


@pytest.mark.parametrize(
    ("payload", "name", "message"),
    [
        (b"GIF89a....", "sig.gif", "not a PNG or SVG"),
        (png()[:-6], "cut.png", "cut short"),
        (png(5000, 2), "wide.png", "at most 4000 pixels"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 2_000_000, "huge.png", "larger than"),
        (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "y">]><svg/>', "ent.svg", "DOCTYPE"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><path", "broken.svg", "cannot be read"),
        (b"<html xmlns='http://www.w3.org/1999/xhtml'/>", "page.svg", "not a PNG or SVG"),
    ],
)
def test_a_refused_upload_says_why_and_stores_nothing(
    client, admin, session, payload, name, message
):
    """The page comes back 422 with the reason on the field; no image, no setting, no event."""
    data = form(**{"signatories-0-signature": (io.BytesIO(payload), name)})
    answer = post(client, "/admin/programme", data)
    assert answer.status_code == 422
    assert message in answer.get_data(as_text=True)
    session.expire_all()
    assert images(session) == 0
    assert (
        session.scalar(
            select(func.count())
            .select_from(ProgrammeSetting)
            .where(ProgrammeSetting.key == "signatories")
        )
        == 0
    )
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_a_hostile_svg_is_stored_without_scripts_handlers_or_outside_references(
    client, admin, session
):
    """Scripts, on* handlers, foreignObject, images and outside url() refs are taken out."""
    data = form(**{"signatories-0-signature": (io.BytesIO(HOSTILE), "evil.svg")})
    assert client.post("/admin/programme", data=data).status_code == 302
    stored = session.scalars(select(ProgrammeImage)).one().data.decode()
    for gone in ("script", "onload", "foreignObject", "evil.test", "<image", "alert"):
        assert gone not in stored, gone
    assert 'fill="url(#ok)"' in stored and "<path" in stored


def test_a_title_without_a_name_is_refused(client, admin, session):
    """A signature line for nobody is not allowed: the name is asked for."""
    answer = client.post("/admin/programme", data=form(**{"signatories-0-name": ""}))
    assert answer.status_code == 422
    assert "Give the name of the person who signs." in answer.get_data(as_text=True)
    assert programme_setting(session, "signatories") is None


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"signatories-1-credentials": "PhD"},
            "signatories-1-name",
            "Give the name of the person who signs.",
        ),
        (
            {"signatories-0-name": "\u200b"},  # a zero-width space pasted is no name
            "signatories-0-name",
            "Give the name of the person who signs.",
        ),
        (
            {"accreditations-0-body": ""},
            "accreditations-0-body",
            "Name the accrediting body.",
        ),
        (
            {"accreditations-0-statement": " \ufeff"},
            "accreditations-0-statement",
            "Give the statement the accreditor approved.",
        ),
    ],
)
def test_a_slot_half_filled_is_refused_beside_the_field(
    client, admin, session, changes, field, message
):
    """A signatory with credentials but no name, an accreditor's statement without its body
    (or the other way round) is refused with the reason beside the field, nothing saved."""
    answer = client.post("/admin/programme", data=form(**changes))
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert message in page
    assert f'<p class="error" id="{field}-error-1" role="alert">{message}</p>' in page
    assert programme_setting(session, "signatories") is None


def test_empty_slots_are_fine_and_save(client, admin, session):
    """A second signatory and a second accreditation left wholly empty: saved without them."""
    data = form(**{f"accreditations-1-{key}": "" for key in ("body", "statement", "number")})
    assert client.post("/admin/programme", data=data).status_code == 302
    assert [person["name"] for person in programme_setting(session, "signatories")] == [
        "Dr Sam Signer"
    ]


def test_without_a_csrf_token_nothing_is_saved(app, make_user, login, session):
    """With CSRF checks on, a post without the token is refused and stores nothing."""
    app.config["WTF_CSRF_ENABLED"] = True
    client = login(app.test_client(), make_user(Role.ADMIN))
    data = form(**{"signatories-0-signature": (io.BytesIO(SIGNATURE), "sig.svg")})
    assert client.post("/admin/programme", data=data).status_code == 400
    assert client.post("/admin/programme/sample.pdf", data=form()).status_code == 400
    assert images(session) == 0
    assert programme_setting(session, "signatories") is None


def test_the_sample_is_a_pdf_marked_sample_made_from_the_form_and_saves_nothing(
    client, admin, session
):
    """The preview renders the unsaved form (its upload included) and stores nothing."""
    from pypdf import PdfReader

    data = form(**{"signatories-0-signature": (io.BytesIO(SIGNATURE), "sig.svg")})
    answer = client.post("/admin/programme/sample.pdf", data=data)
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.data)).pages)
    text = " ".join(text.split())
    for expected in ("SAMPLE", "Dr Sam Signer, PhD", "Provider number: EX-0001 (example)"):
        assert expected in text, expected
    assert "AMA PRA Category 1 Credits™" in text and "8.75" in text  # 8.8 h in 0.25 steps
    assert images(session) == 0
    assert programme_setting(session, "signatories") is None
