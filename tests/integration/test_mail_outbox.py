"""The outbox: rows written with the change, delivered after commit, retried when SMTP fails."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask
from mail_support import free_port, outbox, smtp_server_fixture, text_of  # noqa: F401
from sqlalchemy import select

from lms.audit.services import record_event
from lms.auth.models import User
from lms.db import db, utcnow
from lms.mail.models import OutboxStatus
from lms.mail.services import deliver, queue_message


def _queue(session, user, *, optional=False, kind="test", subject="Hello"):
    """Queue a generic notice to the user."""
    return queue_message(
        session,
        user=user,
        kind=kind,
        subject=subject,
        template="notice",
        context={"message": "Something happened <b>to you</b>.", "link": "http://lms.test/x"},
        optional=optional,
    )


def test_message_is_delivered_by_smtp_only_after_commit(smtp_server, session, make_user):
    user = make_user(name="Ada <Lovelace>")
    _queue(session, user)
    session.flush()
    assert smtp_server.inbox.messages == []  # nothing leaves before the commit
    db.commit()
    [received] = smtp_server.inbox.to(user.email)
    assert received["Subject"] == "Hello"
    assert "Something happened <b>to you</b>." in text_of(received)
    html = [p for p in received.walk() if p.get_content_type() == "text/html"][0]
    body = html.get_payload(decode=True).decode()
    assert "&lt;b&gt;to you&lt;/b&gt;" in body and "Ada &lt;Lovelace&gt;" in body
    [row] = outbox(session)
    assert row.status == OutboxStatus.SENT and row.sent_at is not None and row.attempts == 1


def test_rolled_back_change_sends_no_message(smtp_server, session, make_user):
    user = make_user()
    record_event(session, actor_id=user.id, action="test.change", subject_type="user")
    _queue(session, user)
    db.rollback()
    db.commit()  # a later, unrelated commit must not deliver the rolled-back row either
    assert smtp_server.inbox.messages == []
    assert outbox(session) == []


def test_server_down_keeps_change_and_send_pending_delivers_later(
    app: Flask, app_config, session, make_user
):
    # app_config was read when `app` was built; point the live app at a closed port.
    port = free_port()
    app.config["LMS_SMTP_URL"] = f"smtp://127.0.0.1:{port}?timeout=2"
    user = make_user()
    record_event(session, actor_id=user.id, action="test.change", subject_type="user")
    _queue(session, user)
    db.commit()  # must not raise although the server is down
    [row] = outbox(session)
    assert row.status == OutboxStatus.FAILED and row.attempts == 1
    assert "Connection" in (row.last_error or "") or "refused" in (row.last_error or "").lower()
    assert session.scalar(select(User).where(User.id == user.id)) is not None
    session.commit()

    from aiosmtpd.controller import Controller
    from mail_support import Inbox

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        report = deliver()
    finally:
        controller.stop()
    assert (report.sent, report.failed, report.waiting) == (1, 0, 0)
    assert len(inbox.to(user.email)) == 1
    [row] = outbox(session)
    assert row.status == OutboxStatus.SENT and row.attempts == 2 and row.last_error is None


def test_optional_message_is_suppressed_for_people_who_turned_it_off(
    smtp_server, session, make_user
):
    quiet = make_user(notify_optional=False)
    assert _queue(session, quiet, optional=True) is None
    assert _queue(session, quiet, optional=False) is not None  # decisions always go
    db.commit()
    assert len(smtp_server.inbox.to(quiet.email)) == 1


def test_deactivated_and_anonymised_people_get_nothing(smtp_server, session, make_user):
    gone = make_user(active=False)
    erased = make_user(anonymised_at=utcnow())
    assert _queue(session, gone) is None
    assert _queue(session, erased) is None
    db.commit()
    assert smtp_server.inbox.messages == [] and outbox(session) == []


def test_without_smtp_url_messages_are_written_as_eml_files(app: Flask, session, make_user):
    user = make_user()
    message = _queue(session, user)
    db.commit()
    folder = Path(app.config["LMS_OUTBOX_DIR"])
    [path] = folder.glob("*.eml")
    assert path.name == f"{message.id:06d}.eml"
    assert b"Subject: Hello" in path.read_bytes()
    assert outbox(session)[0].status == OutboxStatus.SENT


def test_a_message_claimed_by_another_sender_is_not_sent_twice(smtp_server, session, make_user):
    user = make_user()
    message = _queue(session, user)
    message.status = OutboxStatus.SENDING  # as if another worker were sending it right now
    message.last_attempt_at = utcnow()
    db.session.commit()  # plain commit: no after-commit delivery of our own
    assert deliver().sent == 0
    assert smtp_server.inbox.messages == []
    # A claim older than the stale limit belongs to a sender that died: it is retried.
    report = deliver(now=utcnow() + timedelta(minutes=11))
    assert report.sent == 1 and len(smtp_server.inbox.messages) == 1


def test_send_pending_command_prints_counts(smtp_server, app: Flask, session, make_user):
    user = make_user()
    message = _queue(session, user)
    db.session.commit()  # bypass the after-commit sender: the row stays pending
    assert message.status == OutboxStatus.PENDING
    result = app.test_cli_runner().invoke(args=["lms", "mail", "send-pending"])
    assert result.exit_code == 0, result.output
    assert "Sent 1, failed 0, still waiting 0." in result.output
    assert len(smtp_server.inbox.messages) == 1
