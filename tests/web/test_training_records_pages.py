"""Session-log and document pages: a tampered or future entry is refused with a message and
stores nothing; the log is the clinician's alone (staff read counts); documents go through
upload, the staff queue and review, and another clinician reaches none of them."""

from __future__ import annotations

import io
import re

import pytest
from clock_support import programme_today
from retreats_support import PNG_BYTES
from sqlalchemy import func, select
from training_records_support import ONE_PAGE_PDF, docx_bytes

from lms.auth.models import Role
from lms.mail.models import OutboxMessage
from lms.training.records_models import SessionEntry, TrainingDocument


@pytest.fixture
def clinician(make_user):
    """A clinician keeping a log."""
    return make_user(Role.CLINICIAN, name="Cleo Clinician")


@pytest.fixture
def as_clinician(app, login, clinician):
    """A client signed in as the clinician."""
    return login(app.test_client(), clinician)


def _entry(client="new", **over):
    """The session form as a browser posts it, for last month."""
    first = programme_today().replace(day=1)
    last_month = (
        first.replace(year=first.year - 1, month=12)
        if first.month == 1
        else first.replace(month=first.month - 1)
    )
    data = {
        "year": str(last_month.year),
        "month": str(last_month.month),
        "role": "therapist",
        "setting": "in_person",
        "client": client,
    }
    data.update(over)
    return data


def _count(session, model):
    """Rows of a table."""
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def test_the_clinician_logs_sessions_and_reads_the_counts(as_clinician, session):
    page = as_clinician.post("/training/sessions/", data=_entry(), follow_redirects=True)
    assert "The session is in your log." in page.text
    code = re.search(r"C-[2-9A-Z]{4}", page.text).group(0)
    assert f'<option value="{code}">{code}</option>' in page.text
    page = as_clinician.post("/training/sessions/", data=_entry(code), follow_redirects=True)
    assert "2 sessions, 1 client" in page.text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"client": "Jane Doe"}, "never stored in the session log"),
        ({"client": "jane@example.org"}, "never stored in the session log"),
        ({"year": str(programme_today().year + 1)}, "has not come yet"),
    ],
)
def test_a_typed_client_or_a_future_month_is_refused_and_nothing_is_stored(
    as_clinician, session, change, message
):
    response = as_clinician.post("/training/sessions/", data=_entry(**change))
    assert response.status_code == 422
    assert message in response.text
    assert _count(session, SessionEntry) == 0


def test_another_clinicians_code_is_refused(app, login, make_user, as_clinician, session):
    as_clinician.post("/training/sessions/", data=_entry())
    code = session.scalar(select(SessionEntry)).client.code
    other = login(app.test_client(), make_user())
    response = other.post("/training/sessions/", data=_entry(code))
    assert response.status_code == 422
    assert _count(session, SessionEntry) == 1


def test_staff_read_counts_never_the_log(app, login, make_user, as_clinician, session):
    as_clinician.post("/training/sessions/", data=_entry())
    code = session.scalar(select(SessionEntry)).client.code
    as_clinician.post(
        "/training/documents/upload",
        data={"kind": "reflection_paper", "file": (io.BytesIO(ONE_PAGE_PDF), "paper.pdf")},
        content_type="multipart/form-data",
    )
    document = session.scalar(select(TrainingDocument))
    staff = login(app.test_client(), make_user(Role.INSTRUCTOR))
    page = staff.get(f"/training/documents/{document.id}")
    assert "1 session, 1 client" in page.text
    for url in ("/training/documents/review", f"/training/documents/{document.id}"):
        assert code not in staff.get(url).text
    # Staff have no page of someone else's log: theirs is their own (empty).
    assert code not in staff.get("/training/sessions/").text
    assert all(code not in m.text_body for m in session.scalars(select(OutboxMessage)))


def test_a_picture_is_refused_as_a_document(as_clinician, session):
    response = as_clinician.post(
        "/training/documents/upload",
        data={"kind": "reflection_paper", "file": (io.BytesIO(PNG_BYTES), "paper.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "not a PDF or a Word document" in response.text
    assert _count(session, TrainingDocument) == 0


def test_upload_queue_review_and_resubmit(app, login, make_user, as_clinician, clinician, session):
    as_clinician.post(
        "/training/documents/upload",
        data={
            "kind": "reflection_paper",
            "file": (io.BytesIO(docx_bytes("My year of KAP")), "p.docx"),
        },
        content_type="multipart/form-data",
    )
    document = session.scalar(select(TrainingDocument))
    staff = login(app.test_client(), make_user(Role.INSTRUCTOR))
    queue = staff.get("/training/documents/review").text
    assert "Documents to review" in queue and "Cleo Clinician" in queue
    assert "My year of KAP" in staff.get(f"/training/documents/{document.id}").text
    response = staff.post(
        f"/training/documents/{document.id}/review", data={"decision": "changes", "comment": ""}
    )
    assert response.status_code == 422
    staff.post(
        f"/training/documents/{document.id}/review",
        data={"decision": "changes", "comment": "Three pages at least."},
    )
    mine = as_clinician.get("/training/documents/").text
    assert "Changes asked for" in mine and "Three pages at least." in mine
    as_clinician.post(
        "/training/documents/upload",
        data={"kind": "reflection_paper", "file": (io.BytesIO(ONE_PAGE_PDF), "p2.pdf")},
        content_type="multipart/form-data",
    )
    assert "Awaiting review" in as_clinician.get("/training/documents/").text
    assert _count(session, TrainingDocument) == 2


def test_another_clinician_reaches_no_document(app, login, make_user, as_clinician, session):
    as_clinician.post(
        "/training/documents/upload",
        data={"kind": "reflection_paper", "file": (io.BytesIO(ONE_PAGE_PDF), "paper.pdf")},
        content_type="multipart/form-data",
    )
    document = session.scalar(select(TrainingDocument))
    other = login(app.test_client(), make_user())
    for suffix in ("", "/file", "/page"):
        assert other.get(f"/training/documents/{document.id}{suffix}").status_code == 404
    assert other.get("/training/documents/review").status_code == 403
