"""The public verify page people already trust, the certificate's picture, and revoked means
marked: the stamp on every page of a revoked download, the original bytes kept."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from certificates_support import certificates_for, record
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import update

from lms.auth.models import Role
from lms.certificates import pictures, services
from lms.certificates.context import format_date
from lms.certificates.models import Certificate
from lms.clock import local_date
from lms.db import db, utcnow
from lms.storage import store


class Head(HTMLParser):
    """The page's <meta property> tags and its links."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.links: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        values = dict(attrs)
        if tag == "meta" and "property" in values:
            self.meta[values["property"]] = values.get("content") or ""
        elif tag == "a" and values.get("href"):
            self.links.append(values["href"])
        elif tag == "img" and values.get("src"):
            self.images.append(values["src"])


def parsed(html: str) -> Head:
    head = Head()
    head.feed(html)
    return head


@pytest.fixture
def holder(make_user):  # noqa: ANN001, ANN201
    return make_user(Role.CLINICIAN, name="Ada Lovelace", credentials="PhD")


@pytest.fixture
def issued(session, holder, catalog):  # noqa: ANN001, ANN201
    """A committed certificate for Module 1 (its PDF and picture made by the render job)."""
    completion = record(session, holder.id, "M1")
    db.commit()
    return certificates_for(session, completion.id)[0]


def page(client, certificate) -> str:  # noqa: ANN001
    response = client.get(f"/verify/{certificate.code}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_valid_certificate_page_names_issuer_what_hours_dates_and_no_private_detail(
    client, issued, holder
) -> None:
    html = page(client, issued)
    content = issued.content
    assert "Certificate valid" in html
    assert content["provider_name"] in html and content["title"] in html
    for credit in content["credits"]:
        assert f"<dt>{credit['type']}</dt><dd>{credit['amount_text']}</dd>" in html
    assert "Ada Lovelace" in html and "March 14, 2025" in html
    assert holder.email not in html and holder.licence_number not in html
    assert "PhD" not in html
    head = parsed(html)
    assert f"/verify/{issued.code}/picture.jpg" in head.images
    assert "Download the PDF" not in html  # a stranger gets no PDF: it prints the licence


def test_open_graph_tags_describe_the_certificate_with_its_picture(client, issued) -> None:
    meta = parsed(page(client, issued)).meta
    assert meta["og:url"] == f"http://lms.test/verify/{issued.code}"
    assert meta["og:image"] == f"http://lms.test/verify/{issued.code}/picture.jpg"
    assert meta["og:image:type"] == "image/jpeg" and meta["og:image:width"] == "1000"
    image = Image.open(io.BytesIO(client.get(f"/verify/{issued.code}/picture.jpg").data))
    assert meta["og:image:height"] == str(image.height)
    assert issued.content["title"] in meta["og:title"] and "Ada Lovelace" in meta["og:title"]
    description = meta["og:description"]
    assert issued.content["provider_name"] in description and "Status: Valid." in description
    assert issued.content["ce_hours"] in description


def test_linkedin_add_to_profile_link_is_filled_in(client, session, issued) -> None:
    session.execute(
        update(Certificate)
        .where(Certificate.id == issued.id)
        .values(expires_at=utcnow() + timedelta(days=400))
    )
    db.commit()
    links = [h for h in parsed(page(client, issued)).links if "linkedin.com" in h]
    assert len(links) == 1
    url = urlsplit(links[0])
    assert (url.scheme, url.netloc, url.path) == ("https", "www.linkedin.com", "/profile/add")
    params = {k: v[0] for k, v in parse_qs(url.query).items()}
    issued_on = local_date(issued.issued_at)
    expires_on = local_date(utcnow() + timedelta(days=400))
    assert params == {
        "startTask": "CERTIFICATION_NAME",
        "name": issued.content["title"],
        "organizationName": issued.content["provider_name"],
        "issueYear": str(issued_on.year),
        "issueMonth": str(issued_on.month),
        "expirationYear": str(expires_on.year),
        "expirationMonth": str(expires_on.month),
        "certUrl": f"http://lms.test/verify/{issued.code}",
        "certId": issued.serial,
    }


def test_a_certificate_that_never_expires_sends_no_expiration_to_linkedin(client, issued) -> None:
    link = next(h for h in parsed(page(client, issued)).links if "linkedin.com" in h)
    assert "expiration" not in link


def test_the_holder_and_staff_get_the_pdf_link(app, client, login, issued, holder) -> None:
    login(client, holder)
    html = page(client, issued)
    assert f"/certificates/{issued.id}.pdf" in html and "Download the PDF" in html


def test_revoked_page_says_when_and_why_and_offers_no_linkedin(client, session, issued) -> None:
    services.revoke_certificate(session, issued.id, actor_id=None, reason="Attendance not met")
    db.commit()
    html = page(client, issued)
    assert "Certificate revoked" in html and "Attendance not met" in html
    assert "linkedin.com" not in html
    assert "Status: Revoked." in parsed(html).meta["og:description"]


def test_expired_page_says_so(client, session, issued) -> None:
    session.execute(
        update(Certificate)
        .where(Certificate.id == issued.id)
        .values(expires_at=utcnow() - timedelta(days=1))
    )
    db.commit()
    html = page(client, issued)
    assert "Certificate expired" in html and "has <strong>expired</strong>" in html
    assert "linkedin.com" not in html


def test_superseded_page_links_to_the_newer_certificate(client, session, issued) -> None:
    new = services.reissue_certificate(session, issued.id, actor_id=None)
    db.commit()
    html = page(client, issued)
    assert "superseded by a newer certificate" in html
    assert f"/verify/{new.code}" in parsed(html).links
    assert "Certificate valid" in page(client, new)


def test_content_from_the_new_keys_is_shown_with_approval_numbers(client, session, issued) -> None:
    content = dict(issued.content)
    content.update(
        activity_id="KAP-M1-2025",
        activity_dates=["2025-03-13", "2025-03-14"],
        activity_dates_text="March 13–14, 2025",
        location="Portland, OR",
        credits=[{"type": "AMA PRA Category 1 Credits™", "amount": "7.25", "amount_text": "7.25"}],
        accreditations=[
            {
                "body": "APA",
                "statement": "The programme is approved by the APA to sponsor CE.",
                "number_label": "Provider number",
                "number": "1234",
                "example": True,
            }
        ],
    )
    session.execute(update(Certificate).where(Certificate.id == issued.id).values(content=content))
    db.commit()
    html = page(client, issued)
    for text in (
        "KAP-M1-2025",
        "March 13–14, 2025",
        "Portland, OR",
        "AMA PRA Category 1 Credits™",
        "7.25",
        "approved by the APA",
        "Provider number: 1234 (example)",
    ):
        assert text in html, text


def test_the_verify_page_runs_the_same_queries_for_any_certificate(
    client, session, issued, count_queries, make_user
) -> None:
    client.get(f"/verify/{issued.code}")  # warm-up
    with count_queries() as plain:
        assert client.get(f"/verify/{issued.code}").status_code == 200
    other = make_user(Role.CLINICIAN)
    completion = record(session, other.id, "M2")
    db.commit()
    fuller = certificates_for(session, completion.id)[0]
    old = services.reissue_certificate(session, fuller.id, actor_id=None)
    services.revoke_certificate(session, old.id, actor_id=None, reason="Wrong module")
    db.commit()
    content = dict(fuller.content)
    content["accreditations"] = [
        {"body": f"Body {n}", "statement": "Approved.", "number_label": "No.", "number": str(n)}
        for n in range(12)
    ]
    session.execute(update(Certificate).where(Certificate.id == fuller.id).values(content=content))
    db.commit()
    with count_queries() as fuller_statements:
        assert client.get(f"/verify/{fuller.code}").status_code == 200
    # The certificate (with its newer one) and the programme's time zone and locale, which
    # every request reads once.
    assert len(plain) == len(fuller_statements) == 2, "\n".join(fuller_statements)


# ---------------------------------------------------------------------------------------
# The picture


def test_a_licence_line_the_layout_wraps_is_left_out_of_the_picture_whole(
    session, make_user, catalog
) -> None:
    """A long licence type pushes the number onto the next line (two text objects): both go."""
    person = make_user(Role.CLINICIAN, name="Grace Hopper")
    person.licence_type = (  # the longest the account keeps (100 characters)
        "Licensed Clinical Social Worker, Board of Behavioral Sciences, Department of Consumer "
        "Affairs, CA"
    )
    person.licence_number = "PSY 12345 678"
    person.licence_state = "CA"
    db.commit()
    completion = record(session, person.id, "M1")
    db.commit()
    certificate = certificates_for(session, completion.id)[0]
    assert "12345" in pictures.shown_text(certificate.pdf)  # printed on the PDF itself
    shown = pictures.shown_text(certificate.pdf, hidden=pictures.private_words(certificate.content))
    for part in ("PSY", "12345", "678", "Department of Consumer"):
        assert part not in shown, shown
    assert "Grace Hopper" in shown


def test_the_picture_is_made_at_issue_without_the_licence_and_served_with_caching(
    app, client, issued, holder
) -> None:
    with app.app_context():
        kept = store(pictures.AREA).read(pictures.picture_key(issued.sha256))
    assert kept[:3] == b"\xff\xd8\xff"  # a JPEG
    assert Image.open(io.BytesIO(kept)).width == pictures.WIDTH
    # The licence line's text is left out of the public picture (and only it).
    assert kept == pictures.draw_first_page(
        issued.pdf, hidden=pictures.private_words(issued.content)
    )
    assert kept != pictures.draw_first_page(issued.pdf)

    response = client.get(f"/verify/{issued.code}/picture.jpg")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.data == kept
    assert response.headers["Cache-Control"].startswith("public")
    etag = response.headers["ETag"]
    again = client.get(f"/verify/{issued.code}/picture.jpg", headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.data


def test_the_old_png_address_redirects_to_the_picture(client, issued) -> None:
    response = client.get(f"/verify/{issued.code}/picture.png")
    assert response.status_code == 301
    assert response.headers["Location"].endswith(f"/verify/{issued.code}/picture.jpg")
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
    typed = client.get(f"/verify/{issued.code.lower()}/picture.png")  # codes are read leniently
    assert typed.headers["Location"].endswith(f"/verify/{issued.code}/picture.jpg")
    assert client.get("/verify/not-a-code/picture.png").status_code == 404


def test_a_certificate_from_before_pictures_gets_one_on_first_need(app, client, issued) -> None:
    key = pictures.picture_key(issued.sha256)
    with app.app_context():
        store(pictures.AREA).delete(key)
        assert not store(pictures.AREA).exists(key)
    response = client.get(f"/verify/{issued.code}/picture.jpg")
    assert response.status_code == 200 and response.data[:3] == b"\xff\xd8\xff"
    with app.app_context():
        assert store(pictures.AREA).exists(key)


def test_the_backfill_command_draws_missing_pictures(app, issued) -> None:
    key = pictures.picture_key(issued.sha256)
    legacy = pictures.picture_key(issued.sha256, suffix=".png")  # as kept before JPEGs
    with app.app_context():
        store(pictures.AREA).delete(key)
        store(pictures.AREA).put(legacy, b"\x89PNG\r\n\x1a\n", "image/png")
    result = app.test_cli_runner().invoke(args=["lms", "certificates", "pictures"])
    assert result.exit_code == 0, result.output
    assert "1 picture(s) drawn" in result.output
    with app.app_context():
        assert store(pictures.AREA).exists(key)
        assert not store(pictures.AREA).exists(legacy)  # the old PNG is removed
    rerun = app.test_cli_runner().invoke(args=["lms", "certificates", "pictures"])
    assert "0 picture(s) drawn" in rerun.output


def test_unknown_and_unrendered_certificates_have_no_picture(client, session, holder) -> None:
    assert client.get("/verify/2222-2222-2222-2222-2222/picture.jpg").status_code == 404
    assert client.get("/verify/not-a-code/picture.jpg").status_code == 404


# ---------------------------------------------------------------------------------------
# Revoked means marked


def test_a_revoked_download_is_stamped_on_every_page_and_the_original_is_kept(
    app, client, login, session, issued, holder
) -> None:
    original = issued.pdf
    services.revoke_certificate(session, issued.id, actor_id=None, reason="Issued in error")
    db.commit()
    login(client, holder)
    response = client.get(f"/certificates/{issued.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    revoked_on = format_date(
        local_date(certificates_for(session, issued.completion_id)[0].revoked_at)
    )
    stamp = f"REVOKED on {revoked_on}"
    reader = PdfReader(io.BytesIO(response.data))
    assert all(stamp in (p.extract_text() or "") for p in reader.pages)
    assert "Ada Lovelace" in reader.pages[0].extract_text()
    stored = certificates_for(session, issued.completion_id)[0]
    assert stored.pdf == original and hashlib.sha256(original).hexdigest() == stored.sha256
    assert stamp not in " ".join(
        p.extract_text() or "" for p in PdfReader(io.BytesIO(original)).pages
    )

    upload = client.post(
        "/verify/upload",
        data={"pdf": (io.BytesIO(original), "certificate.pdf")},
        content_type="multipart/form-data",
    )
    html = upload.get_data(as_text=True)
    assert "Unaltered certificate" in html and "Revoked" in html and "Issued in error" in html


def test_the_stamp_marks_every_page_of_a_longer_pdf() -> None:
    from lms.certificates.render import html_to_pdf

    pdf = html_to_pdf(
        "<p>one</p><p style='break-before: page'>two</p><p style='break-before: page'>three</p>"
    )
    stamped = pictures.stamped_pdf(pdf, "REVOKED on March 2, 2026")
    pages = PdfReader(io.BytesIO(stamped)).pages
    assert len(pages) == 3
    for page_, word in zip(pages, ("one", "two", "three"), strict=True):
        text = page_.extract_text()
        assert word in text and "REVOKED on March 2, 2026" in text


def test_the_picture_of_a_revoked_certificate_shows_the_stamp(app, client, session, issued) -> None:
    before = client.get(f"/verify/{issued.code}/picture.jpg")
    services.revoke_certificate(session, issued.id, actor_id=None, reason="Issued in error")
    db.commit()
    after = client.get(
        f"/verify/{issued.code}/picture.jpg", headers={"If-None-Match": before.headers["ETag"]}
    )
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    assert after.data != before.data
    revoked = certificates_for(session, issued.completion_id)[0]
    revoked_on = local_date(revoked.revoked_at)
    expected = pictures.draw_first_page(
        issued.pdf,
        hidden=pictures.private_words(issued.content),
        stamp=f"REVOKED on {format_date(revoked_on)}",
    )
    assert after.data == expected
    with app.app_context():
        assert store(pictures.AREA).exists(pictures.picture_key(issued.sha256, revoked_on))
        assert store(pictures.AREA).exists(pictures.picture_key(issued.sha256))


def test_the_verify_page_links_the_open_badge(client, issued) -> None:
    html = page(client, issued)
    assert f'href="/verify/{issued.code}/open-badge.jwt"' in html
    assert "Open Badge" in html


def test_erasing_the_holder_removes_the_pictures_and_the_page_shows_none(
    app, client, login, session, issued, holder, make_user
) -> None:
    services.revoke_certificate(session, issued.id, actor_id=None, reason="Issued in error")
    db.commit()
    assert client.get(f"/verify/{issued.code}/picture.jpg").status_code == 200  # stamped one
    revoked_on = local_date(certificates_for(session, issued.completion_id)[0].revoked_at)
    keys = [pictures.picture_key(issued.sha256), pictures.picture_key(issued.sha256, revoked_on)]
    # A picture kept as a PNG, as they were before 7 Dec 2026, goes too.
    legacy = pictures.picture_key(issued.sha256, suffix=".png")
    keys.append(legacy)
    with app.app_context():
        store(pictures.AREA).put(legacy, b"\x89PNG\r\n\x1a\n", "image/png")
        assert all(store(pictures.AREA).exists(key) for key in keys)
    admin = make_user(Role.ADMIN)
    login(client, holder)
    assert client.post("/account/deletion").status_code == 302  # the holder asks
    login(client, admin)
    assert client.post(f"/admin/deletions/{holder.id}").status_code == 302
    with app.app_context():
        assert not any(store(pictures.AREA).exists(key) for key in keys)
    assert client.get(f"/verify/{issued.code}/picture.jpg").status_code == 404
    html = page(client, issued)
    assert "picture.jpg" not in html and "og:image" not in html
    assert "Certificate revoked" in html  # the record stays verifiable
