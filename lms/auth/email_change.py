"""Moving an account to a new e-mail address: asked for with the password, made by a link.

The request (authorised by the current password) only records the new address as waiting;
the account keeps its address until the link e-mailed to the new one is followed, by the
account's owner signed in, within 24 hours. Whether another account holds the new address
is decided in a job after the request, never in it: the request answers and works the same
either way, a free address gets the link and a taken one's holder gets a notice instead.
When the link is followed the address is checked again (it may have been taken since), the
change is made, the new address counts as confirmed, and the old one is told.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from lms.auth.accounts import WRONG_CURRENT_PASSWORD
from lms.auth.links import link_url
from lms.auth.models import EmailChange, User
from lms.auth.passwords import verify_password
from lms.auth.services import (
    EMAIL_MAX,
    find_user_by_email,
    normalise_email,
    record_account_event,
    send_account_mail,
)
from lms.auth.tokens import EMAIL_CHANGE, INVALID_LINK, make_token, read_token
from lms.db import flush_or_refuse, utcnow
from lms.errors import Conflict, InvalidInput

NOTHING_WAITING = "No change of your e-mail address is waiting."
OTHER_ACCOUNT = (
    "This link is for another account. Sign out, sign in to the account whose address is "
    "changing, and open the link again."
)
STALE_LINK = (
    "This link can no longer be used: the change of address it confirms was already made, "
    "cancelled, or replaced by a newer request. Your account page shows where things stand."
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _stamp(moment: datetime) -> int:
    """A request's time in whole microseconds: the link names its request exactly."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def pending_change(session: Session, user: User) -> EmailChange | None:
    """The change of address the account is waiting on, if any."""
    return session.get(EmailChange, user.id)


def _waiting_change(session: Session, user: User) -> EmailChange:
    """The change of address the account is waiting on; Conflict when none is."""
    change = pending_change(session, user)
    if change is None:
        raise Conflict(NOTHING_WAITING)
    return change


def request_email_change(
    session: Session,
    user: User,
    *,
    current_password: str,
    new_email: str,
    now: datetime | None = None,
) -> EmailChange:
    """Record a new address as waiting (after checking the password) and queue its link.

    Nothing here depends on whether another account holds the address: the same row is
    written and the same job queued, so neither the answer nor its timing tells.
    """
    if not verify_password(user.password_hash, current_password):
        raise InvalidInput(WRONG_CURRENT_PASSWORD)
    new_email = normalise_email(new_email)
    if not new_email or "@" not in new_email or len(new_email) > EMAIL_MAX:
        raise InvalidInput("Enter a valid e-mail address.")
    if new_email == user.email:
        raise InvalidInput("That is already your e-mail address.")
    change = pending_change(session, user)
    if change is None:
        change = EmailChange(user_id=user.id)
        session.add(change)
    change.new_email = new_email
    change.requested_at = now or utcnow()
    session.flush()
    record_account_event(session, user, "user.email_change_requested")
    _send_link_after_commit(change)
    return change


def resend_email_change(session: Session, user: User) -> EmailChange:
    """Send the waiting change's link again (Conflict when no change is waiting)."""
    change = _waiting_change(session, user)
    record_account_event(session, user, "user.email_change_resent")
    _send_link_after_commit(change)
    return change


def cancel_email_change(session: Session, user: User) -> None:
    """Forget the waiting change; its links stop working (Conflict when none waits)."""
    change = _waiting_change(session, user)
    session.delete(change)
    session.flush()
    record_account_event(session, user, "user.email_change_cancelled")


def _send_link_after_commit(change: EmailChange) -> None:
    """Queue the job that mails the link (or the holder's notice) once the request commits."""
    from lms.jobs import enqueue_after_commit

    enqueue_after_commit(
        "send_email_change_link", change.user_id, change.new_email, _stamp(change.requested_at)
    )


def _is_the_request(change: EmailChange | None, new_email: object, stamp: object) -> bool:
    """Whether a job or link is about the change now waiting (not a cancelled or older one)."""
    return (
        change is not None
        and change.new_email == new_email
        and isinstance(stamp, int)
        and _stamp(change.requested_at) == stamp
    )


def send_email_change_link(session: Session, user_id: int, new_email: str, stamp: int) -> None:
    """The job: mail the link to the new address, or, when another account holds that
    address, a notice to its holder (who learns nothing about the asking account)."""
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        return
    if not _is_the_request(pending_change(session, user), new_email, stamp):
        return  # cancelled or replaced before the job ran
    holder = find_user_by_email(session, new_email)
    if holder is not None:
        if holder.id != user.id:
            send_account_mail(
                session,
                holder,
                kind="email_change_address_taken",
                subject="Someone tried to use your address for another account",
                template="email_change_address_taken",
                context={},
                optional=False,
            )
        return
    token = make_token(EMAIL_CHANGE, {"u": user.id, "e": new_email, "r": stamp})
    send_account_mail(
        session,
        user,
        kind="email_change",
        subject="Confirm your new e-mail address",
        template="email_change",
        context={"new_email": new_email, "link": link_url("email_change", token)},
        optional=False,
        to_address=new_email,
    )


def check_email_change_link(
    session: Session, token: str, user: User, *, now: datetime | None = None
) -> EmailChange:
    """The change a link confirms, if the link is good and the signed-in `user` its account."""
    payload = read_token(EMAIL_CHANGE, token, now=now or utcnow())
    if not isinstance(payload.get("u"), int):
        raise InvalidInput(INVALID_LINK)
    if payload["u"] != user.id:
        raise InvalidInput(OTHER_ACCOUNT)
    change = pending_change(session, user)
    if change is None or not _is_the_request(change, payload.get("e"), payload.get("r")):
        raise InvalidInput(STALE_LINK)
    _still_free(session, change)
    return change


def _still_free(session: Session, change: EmailChange) -> None:
    """Conflict, naming the address, when another account took it after it was asked for."""
    if find_user_by_email(session, change.new_email) is not None:
        raise Conflict(
            f"Another account now uses {change.new_email}, so your address was not changed. "
            "Cancel this change on your account page, or ask to change to another address."
        )


def confirm_email_change(
    session: Session, token: str, user: User, *, now: datetime | None = None
) -> str:
    """Make the change a link confirms; returns the new address. The old one is told."""
    now = now or utcnow()
    change = check_email_change_link(session, token, user, now=now)
    old_email, new_email = user.email, change.new_email
    user.email = new_email
    user.email_confirmed_at = now  # the link reached the new inbox
    session.delete(change)
    # The address may have been taken between the check and the write, by a twin request.
    flush_or_refuse(
        session, Conflict(f"Another account now uses {new_email}, so your address was not changed.")
    )
    record_account_event(session, user, "user.email_changed")
    send_account_mail(
        session,
        user,
        kind="email_changed",
        subject="Your e-mail address was changed",
        template="email_changed",
        context={"new_email": new_email},
        optional=False,
        to_address=old_email,
    )
    return new_email
