"""Public verification: QR code to page, typed codes, statuses, unknown codes, PDF upload."""

from __future__ import annotations

from io import BytesIO
from urllib.parse import urlsplit

import pytest
from certificates_support import certificates_for, decode_qr, record

from lms.auth.models import Role
from lms.certificates import services
from lms.db import db
from lms.progress.services import revoke_completion


@pytest.fixture
def issued(session, make_user, catalog):  # noqa: ANN001, ANN201
    """A committed certificate for Module 1 of a clinician named Ada Lovelace."""
    person = make_user(Role.CLINICIAN, name="Ada Lovelace", credentials="PhD")
    completion = record(session, person.id, "M1")
    db.commit()
    return certificates_for(session, completion.id)[0]


def test_qr_code_decodes_to_the_verification_url_which_shows_valid_then_revoked(
    client, session, issued, tmp_path
) -> None:
    """Qr code decodes to the verification url which shows valid then revoked."""
    urls = decode_qr(issued.pdf, tmp_path)
    assert urls == [f"http://lms.test/verify/{issued.code}"]
    path = urlsplit(urls[0]).path
    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Valid" in html and "Ada Lovelace" in html and "March 14, 2025" in html
    assert issued.content["title"] in html
    assert page.headers["X-Robots-Tag"].startswith("noindex")

    revoke_completion(session, issued.completion_id, actor_id=None, reason="Recorded in error")
    db.commit()
    html = client.get(path).get_data(as_text=True)
    assert "Revoked" in html and "Recorded in error" in html
    assert "Valid</span>" not in html


def test_verification_shows_nothing_else_about_the_holder(client, session, issued) -> None:
    """Verification shows nothing else about the holder."""
    html = client.get(f"/verify/{issued.code}").get_data(as_text=True)
    person = issued.user
    assert person.email not in html
    assert person.licence_number not in html
    assert "PhD" not in html  # credentials are not needed to say who holds it


def test_reissued_certificate_old_code_shows_superseded(client, session, issued) -> None:
    """Reissued certificate old code shows superseded."""
    new = services.reissue_certificate(session, issued.id, actor_id=None)
    db.commit()
    old_page = client.get(f"/verify/{issued.code}").get_data(as_text=True)
    assert "Superseded by a newer certificate" in old_page
    assert f'href="/verify/{new.code}"' in old_page  # the page links the newer one
    assert "Valid" in client.get(f"/verify/{new.code}").get_data(as_text=True)


def test_typed_code_is_read_forgivingly_and_redirected_to_its_page(client, issued) -> None:
    """Typed code is read forgivingly and redirected to its page."""
    typed = issued.code.lower().replace("-", " ")
    response = client.get("/verify", query_string={"code": f"  {typed} "})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/verify/{issued.code}")
    messy = client.get(f"/verify/{issued.code.replace('-', '').lower()}")
    assert messy.status_code == 302 and messy.headers["Location"].endswith(issued.code)


def test_unknown_and_malformed_codes_get_a_plain_404_page(client, issued) -> None:
    """Unknown and malformed codes get a plain 404 page."""
    for code in ("2222-2222-2222-2222-2222", "not-a-code", "<script>alert(1)<script>"):
        response = client.get(f"/verify/{code}")
        assert response.status_code == 404
        html = response.get_data(as_text=True)
        assert "Certificate not found" in html and "<script>alert" not in html
    form = client.get("/verify", query_string={"code": "hello"})
    assert form.status_code == 422 and "not a verification code" in form.get_data(as_text=True)


def test_verification_form_is_public_and_linked_from_every_footer(client) -> None:
    """Verification form is public and linked from every footer."""
    page = client.get("/verify")
    assert page.status_code == 200
    assert 'href="/verify"' in client.get("/login").get_data(as_text=True)
    assert "Verify a certificate" in page.get_data(as_text=True)


def test_uploaded_original_pdf_is_recognised_with_its_status(client, issued) -> None:
    """Uploaded original pdf is recognised with its status."""
    response = client.post(
        "/verify/upload",
        data={"pdf": (BytesIO(issued.pdf), "certificate.pdf")},
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Unaltered certificate" in html and "Valid" in html and "Ada Lovelace" in html


def test_tampered_pdf_fails_the_upload_check(client, issued) -> None:
    """Tampered pdf fails the upload check."""
    tampered = issued.pdf.replace(b"Ada Lovelace", b"Eve Lovelace", 1)
    if tampered == issued.pdf:  # text is in compressed streams: flip one byte instead
        middle = len(issued.pdf) // 2
        tampered = issued.pdf[:middle] + bytes([issued.pdf[middle] ^ 1]) + issued.pdf[middle + 1 :]
    response = client.post(
        "/verify/upload",
        data={"pdf": (BytesIO(tampered), "certificate.pdf")},
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "not an unaltered certificate issued here" in html
    assert "Ada Lovelace" not in html


def test_upload_without_a_file_is_refused_with_a_message(client) -> None:
    """Upload without a file is refused with a message."""
    response = client.post("/verify/upload", data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Choose the PDF file to check." in response.get_data(as_text=True)


@pytest.fixture
def guarded_app_config(app_config):  # noqa: ANN001, ANN201
    """CSRF and rate limits on, as in production."""
    app_config["WTF_CSRF_ENABLED"] = True
    app_config["RATELIMIT_ENABLED"] = True
    return app_config


def test_verification_is_rate_limited(guarded_app_config, client) -> None:
    """Verification is rate limited."""
    statuses = [client.get("/verify/2222-2222-2222-2222-2222").status_code for _ in range(61)]
    assert statuses[:60] == [404] * 60
    assert statuses[60] == 429


def test_upload_needs_the_csrf_token(guarded_app_config, client) -> None:
    """Upload needs the csrf token."""
    response = client.post(
        "/verify/upload",
        data={"pdf": (BytesIO(b"%PDF-1.7"), "x.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
