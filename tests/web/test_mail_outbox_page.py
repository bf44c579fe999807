"""The administrators' outbox page, the start-up check of LMS_SMTP_URL, and the digest."""

from __future__ import annotations

from datetime import timedelta

import pytest
from mail_support import outbox, smtp_server_fixture, text_of  # noqa: F401
from retreats_support import add_session, complete, screening

from lms import create_app
from lms.auth.models import Role
from lms.config import ConfigError
from lms.db import db, utcnow
from lms.mail.digest import send_digests
from lms.mail.models import OutboxMessage, OutboxStatus
from lms.offerings.models import Enrolment, EnrolmentStatus, OfferingStatus
from lms.retreats import services as retreats

KEY = "mJ3cX6d0cQk2i3oR9o6wq0zZ2bq3x8nC5m4Wv1yJt5U="
HEALTH_MARKER = "HEALTH-DETAIL-MARKER"


def _messages(session, user, n):
    """n outbox rows to the user, committed without sending."""
    for i in range(n):
        session.add(
            OutboxMessage(
                user_id=user.id,
                to_address=user.email,
                subject=f"Message <{i}>",
                text_body=f"Body {i}",
                html_body=f"<p>Body {i}</p>",
                kind="test",
                status=OutboxStatus.FAILED if i == 0 else OutboxStatus.SENT,
                attempts=1,
                last_error="SMTPServerDisconnected: gone" if i == 0 else None,
            )
        )
    session.commit()


def test_app_refuses_to_start_with_a_nonsense_smtp_url(app_config):
    app_config["LMS_SMTP_URL"] = "smtp://host?starttls=perhaps"
    with pytest.raises(ConfigError, match="starttls must be 0 or 1"):
        create_app(app_config)


def test_outbox_page_is_for_admins_only(client, make_user, login):
    assert client.get("/admin/outbox").status_code == 302
    for role in (Role.CLINICIAN, Role.INSTRUCTOR, Role.MEDICAL_REVIEWER):
        login(client, make_user(role))
        assert client.get("/admin/outbox").status_code == 403
        assert client.get("/admin/outbox/1").status_code == 403


def test_outbox_page_lists_paginates_and_shows_a_body(app, client, session, make_user, login):
    admin = make_user(Role.ADMIN)
    _messages(session, admin, 60)
    login(client, admin)
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "Message &lt;59&gt;" in page and "Message &lt;0&gt;" not in page
    assert "Page 1 of 2" in page
    older = client.get("/admin/outbox?page=2").get_data(as_text=True)
    assert "Message &lt;0&gt;" in older and "SMTPServerDisconnected" in older
    failed = client.get("/admin/outbox?status=failed").get_data(as_text=True)
    assert "Message &lt;0&gt;" in failed and "Message &lt;1&gt;" not in failed
    first = outbox(session)[0]
    body = client.get(f"/admin/outbox/{first.id}").get_data(as_text=True)
    assert "Body 0" in body and "&lt;p&gt;Body 0&lt;/p&gt;" in body
    assert client.get("/admin/outbox/999999").status_code == 404
    assert client.get("/admin/outbox?page=zzz").status_code == 200


def test_outbox_page_runs_a_constant_number_of_queries(
    app, client, engine, session, make_user, login, count_queries
):
    admin = make_user(Role.ADMIN)
    login(client, admin)
    counts = []
    for batch in (3, 40):
        _messages(session, admin, batch)
        with count_queries() as statements:
            assert client.get("/admin/outbox").status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1]


def test_digest_tells_staff_counts_only_once_a_day(smtp_server, app, session, make_user, catalog):
    reviewer = make_user(Role.MEDICAL_REVIEWER)
    instructor = make_user(Role.INSTRUCTOR)
    both = make_user(Role.INSTRUCTOR, Role.MEDICAL_REVIEWER)
    quiet = make_user(Role.INSTRUCTOR, notify_optional=False)
    clinician = make_user()
    complete(session, clinician.id, "M1")
    upcoming = add_session(session)
    retreats.apply(
        session,
        user_id=clinician.id,
        session_id=upcoming.id,
        screening=screening(yes=("sleep_apnea",), detail=HEALTH_MARKER),
        screening_key=KEY,
    )
    ended = add_session(session, starts_in=-10, location="Past Retreat Centre")
    session.add(
        Enrolment(user_id=clinician.id, offering_id=ended.id, status=EnrolmentStatus.ENROLLED)
    )
    db.commit()
    smtp_server.inbox.messages.clear()

    report = send_digests(session)
    db.commit()
    assert report.queued == 3  # reviewer, instructor, both; quiet turned optional mail off
    [message] = smtp_server.inbox.to(reviewer.email)
    body = text_of(message)
    assert "1 medical screening waits for review" in body
    assert "attendance" not in body
    assert HEALTH_MARKER not in body and clinician.name not in body
    [message] = smtp_server.inbox.to(instructor.email)
    assert "1 offering has ended and needs its attendance recorded" in text_of(message)
    assert "/offerings/manage?shown=to-close" in text_of(message)  # the list that holds it
    assert "screening" not in text_of(message)
    [message] = smtp_server.inbox.to(both.email)
    assert "screening" in text_of(message) and "attendance" in text_of(message)
    assert quiet.email not in {m["To"] for m in smtp_server.inbox.messages}

    again = send_digests(session)
    db.commit()
    assert again.queued == 0 and again.already_sent == 3
    later = send_digests(session, now=utcnow() + timedelta(days=1))
    assert later.queued == 3
    db.rollback()


def test_digest_leaves_out_a_reviewers_own_screening_and_a_cancelled_sessions_places(
    smtp_server, app, session, make_user, catalog
):
    """What the digest counts is what the queue and the list it links to show: a reviewer who
    trains here is screened by another, and a cancelled session has no attendance to record."""
    applicant = make_user(Role.CLINICIAN, Role.MEDICAL_REVIEWER)
    colleague = make_user(Role.MEDICAL_REVIEWER)
    instructor = make_user(Role.INSTRUCTOR)
    complete(session, applicant.id, "M1")
    retreats.apply(
        session,
        user_id=applicant.id,
        session_id=add_session(session).id,
        screening=screening(),
        screening_key=KEY,
    )
    cancelled = add_session(session, starts_in=-10, location="Cancelled Retreat Centre")
    cancelled.status = OfferingStatus.CANCELLED
    session.add(
        Enrolment(user_id=applicant.id, offering_id=cancelled.id, status=EnrolmentStatus.ENROLLED)
    )
    db.commit()
    smtp_server.inbox.messages.clear()

    report = send_digests(session)
    db.commit()
    assert report.queued == 1 and report.nothing_waiting == 2
    [message] = smtp_server.inbox.to(colleague.email)
    assert "1 medical screening waits for review" in text_of(message)
    assert not smtp_server.inbox.to(applicant.email)
    assert not smtp_server.inbox.to(instructor.email)


def test_digest_command_prints_what_it_did(app, session, make_user):
    make_user(Role.INSTRUCTOR)
    result = app.test_cli_runner().invoke(args=["lms", "mail", "digest"])
    assert result.exit_code == 0, result.output
    assert "Digests queued: 0; nothing waiting for 1" in result.output
