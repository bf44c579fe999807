"""Mail delivery is idempotent and robust: a stable Message-ID per row, each result committed
as the server answers (so a sender killed mid-batch resends nothing it handed over), a row
taken back from a dead sender is resent with the same Message-ID and says so, and header
values made from catalogue text can neither break a message nor inject a header.
"""

from __future__ import annotations

import email
import os
import signal
import subprocess
import sys
from datetime import timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller
from certificates_support import record
from mail_support import free_port, outbox, smtp_server_fixture, text_of  # noqa: F401
from sqlalchemy import update

from lms.catalog.models import CatalogItem
from lms.config import PROJECT_ROOT
from lms.db import db, utcnow
from lms.mail.models import OutboxMessage, OutboxStatus
from lms.mail.services import INTERRUPTED, deliver, queue_message
from lms.mail.transport import Envelope, build_email, header_text


def _queue(session, user, subject="Hello", n=1):
    """Queue n notices to the user without sending them (rows only, committed)."""
    rows = [
        queue_message(
            session,
            user=user,
            kind="test",
            subject=f"{subject} {i}",
            template="notice",
            context={"message": "Something happened.", "link": "http://lms.test/x"},
            optional=False,
        )
        for i in range(n)
    ]
    session.commit()  # a plain commit: no after-commit delivery job
    return rows


class KillsTheSender:
    """An SMTP handler that accepts the first message and kill -9s the sender on the second."""

    def __init__(self) -> None:
        """No sender yet."""
        self.accepted: list[email.message.Message] = []
        self.sender: subprocess.Popen | None = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        """Keep the first message; on the second, the sending process dies before an answer."""
        if self.accepted:
            assert self.sender is not None
            os.kill(self.sender.pid, signal.SIGKILL)
            self.sender.wait(timeout=30)
            return "451 the sender died"
        self.accepted.append(email.message_from_bytes(envelope.content))
        return "250 2.0.0 Ok: queued as FIRST"


def test_a_sender_killed_mid_batch_resends_nothing_the_server_already_accepted(
    app, app_config, session, make_user
):
    user = make_user()
    first, second, third = _queue(session, user, n=3)
    handler = KillsTheSender()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    env = {
        **os.environ,
        "LMS_ENV": "development",
        "LMS_SECRET_KEY": app_config["SECRET_KEY"],
        "LMS_SCREENING_KEY": app_config["LMS_SCREENING_KEY"],
        "LMS_DATABASE_URL": app_config["LMS_DATABASE_URL"],
        "LMS_INSTANCE_PATH": app_config["LMS_INSTANCE_PATH"],
        "LMS_QUEUE_URL": "immediate",
        "LMS_SMTP_URL": f"smtp://127.0.0.1:{port}?timeout=10",
    }
    flask = os.path.join(os.path.dirname(sys.executable), "flask")
    try:
        handler.sender = subprocess.Popen(
            [flask, "--app", "wsgi", "lms", "mail", "send-pending"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert handler.sender.wait(timeout=60) == -signal.SIGKILL
    finally:
        if handler.sender is not None and handler.sender.poll() is None:
            handler.sender.kill()
        controller.stop()

    rows = {row.id: row for row in outbox(session)}
    assert rows[first.id].status == OutboxStatus.SENT  # committed the moment the server said 250
    assert rows[first.id].server_reply == "250 2.0.0 Ok: queued as FIRST"
    assert {rows[second.id].status, rows[third.id].status} == {OutboxStatus.SENDING}

    # The stale claims are taken back later (here: on a server that works).
    inbox: list[email.message.Message] = list(handler.accepted)

    class Accepts:
        async def handle_DATA(self, server, smtp_session, envelope):  # noqa: N802
            inbox.append(email.message_from_bytes(envelope.content))
            return "250 Ok"

    port = free_port()
    controller = Controller(Accepts(), hostname="127.0.0.1", port=port)
    controller.start()
    app.config["LMS_SMTP_URL"] = f"smtp://127.0.0.1:{port}?timeout=5"
    try:
        report = deliver(now=utcnow() + timedelta(minutes=11))
    finally:
        controller.stop()
    assert report.sent == 2
    ids = [m["Message-ID"] for m in inbox]
    assert sorted(ids) == sorted({first.message_id, second.message_id, third.message_id})
    rows = {row.id: row for row in outbox(session)}
    assert all(row.status == OutboxStatus.SENT for row in rows.values())
    assert rows[second.id].attempts == rows[third.id].attempts == 2
    assert rows[second.id].last_error == INTERRUPTED and rows[first.id].attempts == 1


def test_a_message_taken_back_from_a_dead_sender_goes_again_with_the_same_message_id(
    smtp_server, session, make_user
):
    user = make_user()
    [row] = _queue(session, user)
    deliver()
    [copy] = smtp_server.inbox.to(user.email)
    # As if the sender had died after the server's 250 and before recording it.
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row.id)
        .values(status=OutboxStatus.SENDING, last_attempt_at=utcnow() - timedelta(minutes=11))
    )
    session.commit()
    assert deliver().sent == 1
    first, second = smtp_server.inbox.to(user.email)
    assert first["Message-ID"] == second["Message-ID"] == copy["Message-ID"] == row.message_id
    [row] = outbox(session)
    assert row.attempts == 2 and row.last_error == INTERRUPTED
    assert row.server_reply.startswith("250")


def test_every_row_gets_its_own_message_id_from_the_sender_domain(session, make_user):
    user = make_user()
    rows = _queue(session, user, n=3)
    ids = {row.message_id for row in rows}
    assert len(ids) == 3
    assert all(i.startswith("<outbox.") and i.endswith("@example.org>") for i in ids)


def test_a_title_with_line_breaks_still_gives_a_deliverable_message_without_injection(
    smtp_server, session, make_user, catalog
):
    user = make_user(notify_optional=True)
    item = session.get(CatalogItem, catalog["M1"].id)
    item.title = "Module 1\r\nBcc: victim@evil.test\r\n\r\nInjected body"
    session.commit()
    record(session, user.id, "M1")
    db.commit()  # the certificate renders, then "Your certificate for ..." is sent
    [message] = [m for m in smtp_server.inbox.to(user.email) if "certificate" in m["Subject"]]
    assert message["Subject"] == "Your certificate for Module 1 Bcc: victim@evil.test Injected body"
    assert message["Bcc"] is None and "victim@evil.test" not in message["To"]
    [row] = [r for r in outbox(session) if r.kind == "certificate_issued"]
    assert row.status == OutboxStatus.SENT and "\n" not in row.subject


@pytest.mark.parametrize(
    "subject", ["a\r\nBcc: x@evil.test", "a\nb", "a\rb", "nul\x00byte", "line\u2028sep", "\t\x0b"]
)
def test_any_subject_builds_a_one_line_header(subject):
    envelope = Envelope(
        1, "<outbox.1@example.org>", "a@example.org", "b@example.org", subject, "x", ""
    )
    raw = bytes(build_email(envelope))
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert set(parsed.keys()) >= {"From", "To", "Subject", "Message-ID"}
    assert "Bcc" not in parsed and parsed["Subject"] == (header_text(subject) or "(no subject)")
    assert "\n" not in parsed["Subject"] and "\r" not in parsed["Subject"]


def test_a_recipient_with_a_line_break_is_refused_clearly(smtp_server, session, make_user):
    user = make_user()
    [row] = _queue(session, user)
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row.id)
        .values(to_address="b@example.org\r\nBcc: x@evil.test")
    )
    session.commit()
    report = deliver()
    assert report.failed == 1 and smtp_server.inbox.messages == []
    [row] = outbox(session)
    assert row.status == OutboxStatus.FAILED and "line break" in row.last_error
