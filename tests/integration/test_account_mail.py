"""Account mail reaches the outbox through a signal, and never vanishes without a receiver."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lms import signals
from lms.auth.models import Role
from lms.auth.services import send_account_mail
from lms.mail.models import OutboxMessage
from lms.mail.subscriptions import on_account_mail


def _send(session, user) -> None:
    send_account_mail(
        session,
        user,
        kind="email_confirmation",
        subject="Confirm your e-mail address",
        template="email_confirmation",
        context={"email": user.email, "link": "http://lms.test/confirm-email#code"},
        optional=False,
    )


def test_account_mail_is_an_outbox_row_in_the_same_unit_of_work(app, session, make_user):
    person = make_user(Role.CLINICIAN)
    with app.test_request_context():
        _send(session, person)
        session.flush()
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.user_id == person.id)).one()
    assert row.kind == "email_confirmation" and row.to_address == person.email


def test_account_mail_with_no_receiver_is_an_error_not_a_silent_loss(app, session, make_user):
    person = make_user(Role.CLINICIAN)
    signals.account_mail.disconnect(on_account_mail)
    try:
        with app.test_request_context(), pytest.raises(RuntimeError, match="No receiver"):
            _send(session, person)
    finally:
        signals.account_mail.connect(on_account_mail, weak=False)
