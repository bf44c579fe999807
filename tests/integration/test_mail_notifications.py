"""Notifications: each event a clinician hears about, through the real services that cause it."""

from __future__ import annotations

import io
from datetime import date, timedelta

from clock_support import programme_today
from mail_support import html_of, outbox, smtp_server_fixture, text_of  # noqa: F401
from retreats_support import PDF_BYTES, add_session, complete, screening
from sqlalchemy import select

from lms.auth.models import Role, User
from lms.certificates.services import revoke_certificate
from lms.db import db
from lms.equivalency import services as equivalency
from lms.mail.models import Notification
from lms.progress.services import record_completion
from lms.retreats import services as retreats
from lms.storage import store

KEY = "mJ3cX6d0cQk2i3oR9o6wq0zZ2bq3x8nC5m4Wv1yJt5U="
HEALTH_MARKER = "HEALTH-DETAIL-MARKER"


def _notices(session, user) -> list[Notification]:
    """The person's notices, oldest first."""
    session.expire_all()
    rows = list(
        session.scalars(
            select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    )
    session.commit()
    return rows


def _request(app, session, user, code="M1"):
    """A pending equivalency request of the user for an item."""
    return equivalency.submit_request(
        session,
        user_id=user.id,
        data=equivalency.RequestInput(
            item_code=code,
            outside_programme="KRIYA Institute",
            attended_from=date(2023, 1, 1),
            attended_to=date(2023, 1, 3),
            hours=None,
            description="Introductory KAP training",
        ),
        evidence_store=store("evidence", app),
        evidence_stream=io.BytesIO(PDF_BYTES),
        evidence_filename="certificate.pdf",
    )


def test_approved_equivalency_tells_the_decision_and_the_unlocked_retreat(
    smtp_server, app, session, make_user, catalog
):
    clinician = make_user()
    instructor = make_user(Role.INSTRUCTOR)
    complete(session, clinician.id, "HTH")  # with an M1 equivalent, this opens Level 1
    request = _request(app, session, clinician)
    db.commit()
    equivalency.decide_request(
        session, request.id, reviewer_id=instructor.id, approve=True, reason=""
    )
    db.commit()
    subjects = sorted(m["Subject"] for m in smtp_server.inbox.to(clinician.email))
    assert any(s.startswith("Credit request approved") for s in subjects)
    assert [s for s in subjects if s.endswith("is open to you")] == [
        f"{catalog['RETREAT-L1'].title} is open to you"
    ]
    kinds = {n.kind for n in _notices(session, clinician)}
    assert {"equivalency_decided", "item_unlocked"} <= kinds


def test_decision_is_sent_even_when_optional_mail_is_off(
    smtp_server, app, session, make_user, catalog
):
    clinician = make_user(notify_optional=False)
    instructor = make_user(Role.INSTRUCTOR)
    complete(session, clinician.id, "HTH")
    request = _request(app, session, clinician)
    db.commit()
    equivalency.decide_request(
        session, request.id, reviewer_id=instructor.id, approve=True, reason=""
    )
    db.commit()
    subjects = [m["Subject"] for m in smtp_server.inbox.to(clinician.email)]
    assert len(subjects) == 1 and subjects[0].startswith("Credit request approved")
    # The optional news still shows on the dashboard, only the e-mail is suppressed.
    assert "item_unlocked" in {n.kind for n in _notices(session, clinician)}


def test_screening_decision_says_only_the_decision(smtp_server, session, make_user, catalog):
    clinician = make_user()
    reviewer = make_user(Role.MEDICAL_REVIEWER)
    complete(session, clinician.id, "M1")
    retreat_session = add_session(session)
    application = retreats.apply(
        session,
        user_id=clinician.id,
        session_id=retreat_session.id,
        screening=screening(yes=("sleep_apnea",), detail=HEALTH_MARKER),
        screening_key=KEY,
    )
    db.commit()
    assert smtp_server.inbox.to(clinician.email) == []  # submitting is not news
    retreats.decide_screening(session, application.id, reviewer_id=reviewer.id, clear=True)
    db.commit()
    [message] = smtp_server.inbox.to(clinician.email)
    body = text_of(message) + html_of(message) + message["Subject"]
    assert "Your screening is cleared: you are enrolled in" in body
    # The subject names the retreat and the place's state in the word every page uses.
    assert message["Subject"] == f"{retreat_session.item.title}: Enrolled"
    assert HEALTH_MARKER not in body and "apnea" not in body.lower()
    assert [n.kind for n in _notices(session, clinician)] == ["application_enrolled"]


def test_not_cleared_is_always_sent(smtp_server, session, make_user, catalog):
    clinician = make_user(notify_optional=False)
    reviewer = make_user(Role.MEDICAL_REVIEWER)
    complete(session, clinician.id, "M1")
    retreat_session = add_session(session)
    application = retreats.apply(
        session,
        user_id=clinician.id,
        session_id=retreat_session.id,
        screening=screening(yes=("sleep_apnea",), detail=HEALTH_MARKER),
        screening_key=KEY,
    )
    db.commit()
    retreats.decide_screening(session, application.id, reviewer_id=reviewer.id, clear=False)
    db.commit()
    [message] = smtp_server.inbox.to(clinician.email)
    assert "not cleared" in text_of(message) and HEALTH_MARKER not in text_of(message)


def test_certificate_issue_is_optional_and_revocation_always_goes(
    smtp_server, session, make_user, catalog
):
    clinician = make_user(notify_optional=False)
    instructor = make_user(Role.INSTRUCTOR)
    admin = make_user(Role.ADMIN)
    record_completion(
        session,
        user_id=clinician.id,
        item_code="HTH",
        completed_on=programme_today() - timedelta(days=3),
        source="instructor",
        actor_id=instructor.id,
    )
    db.commit()
    assert smtp_server.inbox.to(clinician.email) == []  # issue is optional: turned off
    issued = [n for n in _notices(session, clinician) if n.kind == "certificate_issued"]
    assert len(issued) == 1
    from lms.certificates.models import Certificate

    certificate = session.scalar(select(Certificate).where(Certificate.user_id == clinician.id))
    revoke_certificate(session, certificate.id, actor_id=admin.id, reason="Recorded in error")
    db.commit()
    [message] = smtp_server.inbox.to(clinician.email)
    assert message["Subject"].startswith("Certificate revoked")
    assert "Recorded in error" in text_of(message)


def test_rolled_back_decision_leaves_no_notice_and_no_mail(
    smtp_server, app, session, make_user, catalog
):
    clinician = make_user()
    instructor = make_user(Role.INSTRUCTOR)
    request = _request(app, session, clinician)
    db.commit()
    equivalency.decide_request(
        session, request.id, reviewer_id=instructor.id, approve=False, reason="Not equivalent"
    )
    db.rollback()
    db.commit()
    assert _notices(session, clinician) == []
    assert outbox(session) == [] and smtp_server.inbox.messages == []


def test_dashboard_lists_unread_notices_and_marks_them_read(
    client, session, make_user, login, catalog
):
    clinician = make_user()
    other = make_user()
    session.add_all(
        [
            Notification(user_id=clinician.id, kind="t", message="Your news", link="/account"),
            Notification(user_id=other.id, kind="t", message="Their news", link="/"),
        ]
    )
    session.commit()
    mine, theirs = _notices(session, clinician)[0], _notices(session, other)[0]
    login(client, clinician)
    page = client.get("/").get_data(as_text=True)
    assert "Your news" in page and "Their news" not in page
    assert client.post(f"/notices/{theirs.id}/read").status_code == 404  # not mine
    assert client.post(f"/notices/{mine.id}/read", data={"next": "/"}).status_code == 302
    assert "Your news" not in client.get("/").get_data(as_text=True)
    assert _notices(session, other)[0].read_at is None
    assert session.get(User, clinician.id) is not None
