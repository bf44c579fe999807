"""The consultant's letter of recommendation through their link: uploaded for the clinician of
the entry the link opens (and no one else), checked like the clinician's upload, shown as
uploaded by the consultant, audited; refused for a declined entry or a broken link."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from clock_support import programme_today
from sqlalchemy import select
from training_records_support import ONE_PAGE_PDF, docx_bytes
from werkzeug.test import EnvironBuilder

from lms.audit.models import AuditEvent
from lms.auth.models import Role
from lms.training import consultants as approved_list
from lms.training import consultations as log
from lms.training.documents_files import MAX_DOCUMENT_BYTES
from lms.training.records_models import DocumentKind, TrainingDocument, Uploader


@pytest.fixture
def consultant(session, make_user):
    """An approved consultant."""
    admin = make_user(Role.ADMIN)
    found = approved_list.add_consultant(
        session,
        approved_list.ConsultantInput(
            "Lee Park", "LMFT", "lee@consult.test", programme_today() - timedelta(days=30)
        ),
        actor_id=admin.id,
    )
    session.commit()
    return found


def _opened(app, client, session, user, consultant, *, confirmed=True):
    """An entry logged by `user` with the consultant (confirmed by them unless said), its
    link opened in `client`."""
    with app.test_request_context():
        entry = log.log_consultation(
            session,
            user,
            log.ConsultationInput(programme_today(), consultant.id, "individual_consultation", "1"),
        )
        session.commit()
        code = log.response_code(entry)
        if confirmed:
            log.confirm_by_code(session, code)
            session.commit()
    client.post("/training/respond/open", data={"code": code})
    return entry


def test_a_link_takes_no_letter_before_its_consultant_confirms(
    app, client, make_user, consultant, session
):
    _opened(app, client, session, make_user(name="Robin Hale"), consultant, confirmed=False)
    page = client.get("/training/respond").text
    assert "Once you confirm this consultation" in page and 'id="consultant-letter"' not in page
    refused = _upload(client)
    assert refused.status_code == 403 and "only once you have confirmed" in refused.text
    assert _letters(session) == []


def _letters(session) -> list[TrainingDocument]:
    """Every stored letter version."""
    session.expire_all()
    return list(
        session.scalars(
            select(TrainingDocument).where(
                TrainingDocument.kind == DocumentKind.RECOMMENDATION_LETTER
            )
        )
    )


def _upload(client, content=ONE_PAGE_PDF, name="letter.pdf"):
    """Post the letter form as a browser does (built by hand, so the spooled temporary body
    of a large file is closed rather than left for the interpreter to warn about)."""
    builder = EnvironBuilder(
        path="/training/respond/letter",
        method="POST",
        data={"letter": (io.BytesIO(content), name)},
    )
    environ = builder.get_environ()
    try:
        return client.open(environ)
    finally:
        environ["wsgi.input"].close()
        builder.close()


def test_the_consultant_uploads_the_letter_for_the_entrys_clinician(
    app, client, login, make_user, consultant, session
):
    clinician = make_user(name="Robin Hale")
    entry = _opened(app, client, session, clinician, consultant)
    page = client.get("/training/respond").text
    assert "Letter of recommendation for Robin Hale" in page
    done = _upload(client)
    assert done.status_code == 303 and done.headers["Location"].endswith("#consultant-letter")
    (letter,) = _letters(session)
    assert letter.user_id == clinician.id and letter.uploaded_by == Uploader.CONSULTANT
    assert letter.uploaded_by_id is None
    event = session.scalar(
        select(AuditEvent).where(AuditEvent.action == "training.document_uploaded")
    )
    assert event.facts["uploaded_by"] == "consultant"
    assert event.facts["consultant_id"] == entry.consultant_id
    assert event.person_id == clinician.id and event.actor_id is None
    # The clinician's documents page says who uploaded it.
    mine = login(app.test_client(), clinician).get("/training/documents/").text
    assert "uploaded by the consultant" in mine


def test_a_word_document_is_taken_and_a_second_upload_replaces_the_waiting_one(
    app, client, make_user, consultant, session
):
    _opened(app, client, session, make_user(), consultant)
    assert _upload(client, docx_bytes("A fine clinician."), "letter.docx").status_code == 303
    assert _upload(client).status_code == 303
    statuses = sorted((d.version, d.status.value) for d in _letters(session))
    assert statuses == [(1, "replaced"), (2, "submitted")]


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"<html><script>alert(1)</script></html>", "letter.pdf", "PDF"),
        (b"MZ\x90\x00 not a document", "letter.docx", "PDF"),
        (ONE_PAGE_PDF + b"0" * MAX_DOCUMENT_BYTES, "letter.pdf", "5 MB"),
    ],
    ids=["html", "exe", "too-large"],
)
def test_a_letter_of_the_wrong_type_or_too_large_is_refused_and_stores_nothing(
    app, client, make_user, consultant, session, content, name, message
):
    _opened(app, client, session, make_user(), consultant)
    refused = _upload(client, content, name)
    assert refused.status_code in (413, 422)
    assert message in refused.text
    assert _letters(session) == []


def test_without_an_opened_link_no_letter_is_taken(client, make_user, consultant, session):
    refused = _upload(client)
    assert "Open the link from the e-mail again" in refused.text
    assert _letters(session) == []


def test_a_declined_entry_takes_no_letter(app, client, make_user, consultant, session):
    _opened(app, client, session, make_user(), consultant, confirmed=False)
    client.post("/training/respond", data={"answer": "decline", "comment": "Not my client"})
    assert "Letter of recommendation for" not in client.get("/training/respond").text
    refused = _upload(client)
    assert refused.status_code == 403 and "only once you have confirmed" in refused.text
    assert _letters(session) == []


def test_the_link_names_one_clinician_the_letter_goes_to_no_other(
    app, client, make_user, consultant, session
):
    first, second = make_user(name="First Person"), make_user(name="Second Person")
    _opened(app, client, session, first, consultant)
    other_client = app.test_client()
    _opened(app, other_client, session, second, consultant)
    _upload(client)
    (letter,) = _letters(session)
    assert letter.user_id == first.id
    # A tampered code in the browser's session opens nothing and stores nothing.
    with client.session_transaction() as kept:
        code, at = kept["lms_consultation_link"]
        kept["lms_consultation_link"] = [code[:-2] + "xx", at]
    assert "not valid" in _upload(client).text
    assert len(_letters(session)) == 1


def test_an_approved_letter_takes_no_new_version(app, client, make_user, consultant, session):
    from lms.training.documents import review_document

    clinician = make_user()
    _opened(app, client, session, clinician, consultant)
    _upload(client)
    (letter,) = _letters(session)
    review_document(
        session, letter.id, reviewer=make_user(Role.INSTRUCTOR), approve=True, comment=""
    )
    session.commit()
    refused = _upload(client)
    assert refused.status_code == 409 and "already approved" in refused.text
    assert len(_letters(session)) == 1
