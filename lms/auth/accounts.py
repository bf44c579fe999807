"""Self-service account flows: password reset, e-mail confirmation, invitations, profile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from lms import signals, validation
from lms.auth.links import link_url
from lms.auth.models import User
from lms.auth.passwords import hash_password, password_problem, verify_password
from lms.auth.services import (
    CREDENTIALS_MAX,
    NAME_MAX,
    Licence,
    clean_licence,
    create_user,
    find_user_by_email,
    normalise_email,
    record_account_event,
    send_account_mail,
    set_password,
)
from lms.auth.tokens import (
    EMAIL_CONFIRMATION,
    INVALID_LINK,
    INVITATION,
    PASSWORD_RESET,
    USED_LINK,
    Purpose,
    account_token,
    fingerprint_matches,
    make_token,
    read_token,
)
from lms.db import utcnow
from lms.errors import Conflict, InvalidInput
from lms.i18n import translate
from lms.urls import public_url

WRONG_CURRENT_PASSWORD = "Your current password is not right."  # noqa: S105 - a message


# --------------------------------------------------------------------------- password reset


def request_password_reset(email: str) -> None:
    """Ask for a reset link for an address; the lookup and the mail happen in a job.

    The request does the same work whether or not the address has an account (it queues one
    job once the request commits, and touches no table), so neither its answer nor its
    timing tells the two apart.
    """
    from lms.jobs import enqueue_after_commit

    enqueue_after_commit("send_password_reset", normalise_email(email)[:320])


def send_password_reset(session: Session, email: str) -> None:
    """The job: e-mail a reset link when the address belongs to an active account."""
    user = find_user_by_email(session, email)
    if user is None or not user.is_active:
        return
    token = account_token(PASSWORD_RESET, user)
    send_account_mail(
        session,
        user,
        kind="password_reset",
        subject="Reset your KAP Training password",
        template="password_reset",
        context={"link": link_url("reset", token)},
        optional=False,
    )
    record_account_event(session, user, "user.password_reset_requested")


# --------------------------------------------------------------------------- registration


@dataclass(frozen=True)
class Registration:
    """What a person typed on the registration form, with the password already hashed."""

    email: str
    name: str
    password_hash: str
    credentials: str
    licence: Licence


def request_registration(
    *, email: str, name: str, password: str, credentials: str, licence: Licence
) -> None:
    """Check the password, hash it, and leave the rest to a job run after the request.

    Whether the address already has an account is decided in the job, never in the request:
    a new address gets an account and a confirmation link, a known one a "you already have
    an account" message, and both requests do identical work (one argon2 hash, one job) and
    give the same answer.
    """
    from lms.jobs import enqueue_after_commit

    email = normalise_email(email)
    if problem := password_problem(password, email):
        raise InvalidInput(problem)
    registration = Registration(
        email=email,
        name=name.strip(),
        password_hash=hash_password(password),
        credentials=credentials.strip(),
        licence=licence,
    )
    enqueue_after_commit("register_account", registration)


def complete_registration(session: Session, registration: Registration) -> User | None:
    """The job: create the account and send its confirmation link, or tell the owner.

    Returns the new account, or None when the address already had one (its owner is told
    by e-mail, with links to sign in and to reset the password).
    """
    existing = find_user_by_email(session, registration.email)
    if existing is None:
        try:
            user = create_user(
                session,
                email=registration.email,
                name=registration.name,
                password=None,
                password_hash=registration.password_hash,
                credentials=registration.credentials,
                licence=registration.licence,
            )
        except Conflict:  # registered a moment ago by a twin request
            session.rollback()
            existing = find_user_by_email(session, registration.email)
        else:
            send_email_confirmation(session, user)
            return user
    if existing is not None:
        send_account_mail(
            session,
            existing,
            kind="account_exists",
            subject="You already have a KAP Training account",
            template="account_exists",
            context={
                "login_link": public_url("auth.login", fallback=None),
                "reset_link": public_url("auth.forgot_password", fallback=None),
            },
            optional=False,
        )
    return None


def _user_for_link(session: Session, purpose: Purpose, token: str, now: datetime | None) -> User:
    """The live account a link made with `account_token` names, or InvalidInput (a bad,
    expired, used or dead link)."""
    payload = read_token(purpose, token, now=now)
    user_id = payload.get("u")
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.is_active:
        raise InvalidInput(INVALID_LINK)
    if not fingerprint_matches(user, payload.get("f")):
        raise InvalidInput(USED_LINK)
    return user


def check_reset_link(session: Session, token: str, *, now: datetime | None = None) -> User:
    """The account a reset link is for, if the link is still good (the form is shown then)."""
    return _user_for_link(session, PASSWORD_RESET, token, now)


def reset_password(
    session: Session, token: str, new_password: str, *, now: datetime | None = None
) -> User:
    """Set a new password through a reset link; every other session of the account ends."""
    now = now or utcnow()
    user = check_reset_link(session, token, now=now)
    _set_password_by_link(session, user, new_password, now, "user.password_reset")
    return user


def _set_password_by_link(
    session: Session, user: User, new_password: str, now: datetime, action: str
) -> None:
    """Set the password a link's page was given: it rotates auth_token, so the link and every
    other session of the account die; the link reached the inbox, so the address is theirs."""
    set_password(session, user, new_password)
    user.email_confirmed_at = user.email_confirmed_at or now
    record_account_event(session, user, action)
    session.flush()


# --------------------------------------------------------------------------- e-mail confirmation


def send_email_confirmation(session: Session, user: User) -> None:
    """E-mail a link that confirms the account's current address."""
    token = make_token(EMAIL_CONFIRMATION, {"u": user.id, "e": user.email})
    send_account_mail(
        session,
        user,
        kind="email_confirmation",
        subject="Confirm your e-mail address",
        template="email_confirmation",
        context={
            "email": user.email,
            "link": link_url("confirm", token),
        },
        optional=False,
    )


def resend_email_confirmation(session: Session, user: User) -> None:
    """Send the confirmation link again (Conflict when the address is already confirmed)."""
    if user.email_confirmed_at is not None:
        raise Conflict("Your e-mail address is already confirmed.")
    send_email_confirmation(session, user)
    record_account_event(session, user, "user.email_confirmation_resent")


@dataclass(frozen=True)
class Confirmation:
    """The result of opening a confirmation link."""

    user: User
    already: bool


def confirm_email(session: Session, token: str, *, now: datetime | None = None) -> Confirmation:
    """Mark the address confirmed; a link for an address the account no longer has is refused."""
    now = now or utcnow()
    payload = read_token(EMAIL_CONFIRMATION, token, now=now)
    user_id = payload.get("u")
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.is_active:
        raise InvalidInput(INVALID_LINK)
    if payload.get("e") != user.email:
        raise InvalidInput(
            "This link was sent to an address this account no longer uses. "
            "Ask for a new link on your account page."
        )
    if user.email_confirmed_at is not None:
        return Confirmation(user=user, already=True)
    user.email_confirmed_at = now
    record_account_event(session, user, "user.email_confirmed")
    session.flush()
    return Confirmation(user=user, already=False)


# --------------------------------------------------------------------------- invitations


def check_invitation(session: Session, token: str, *, now: datetime | None = None) -> User:
    """The invited account, if the invitation is still good (the form is shown then)."""
    return _user_for_link(session, INVITATION, token, now)


def accept_invitation(
    session: Session, token: str, new_password: str, *, now: datetime | None = None
) -> User:
    """The invitee sets their own password; the address counts as confirmed."""
    now = now or utcnow()
    user = check_invitation(session, token, now=now)
    if user.password_hash is not None:
        raise InvalidInput(USED_LINK)
    _set_password_by_link(session, user, new_password, now, "user.invitation_accepted")
    return user


# --------------------------------------------------------------------------- profile


def update_profile(
    session: Session, user: User, *, name: str, credentials: str, licence: Licence
) -> list[str]:
    """Change name, credentials and licence; a licence change waits for a new verification.

    Returns the names of the fields that changed (audit facts hold names, never values).
    """
    if not validation.trim(name):
        raise InvalidInput("Enter your name.")
    name = validation.single_line(name, "Name", max_length=NAME_MAX)
    credentials = validation.single_line(credentials, "Credentials", max_length=CREDENTIALS_MAX)
    licence = clean_licence(licence)
    if not licence.pre_licensed and not (licence.type and licence.number):
        raise InvalidInput(translate("Enter your licence type and number, or tick “pre-licensed”."))
    changed = []
    if name != user.name:
        user.name, changed = name, [*changed, "name"]
    if credentials != user.credentials:
        user.credentials, changed = credentials, [*changed, "credentials"]
    new_licence = (
        (True, None, None, None, None)
        if licence.pre_licensed
        else (False, licence.type, licence.number, licence.state, licence.expires_on)
    )
    old_licence = (
        user.pre_licensed,
        user.licence_type,
        user.licence_number,
        user.licence_state,
        user.licence_expires_on,
    )
    if new_licence != old_licence:
        (
            user.pre_licensed,
            user.licence_type,
            user.licence_number,
            user.licence_state,
            user.licence_expires_on,
        ) = new_licence
        was_verified = user.licence_verified_at is not None
        user.licence_verified_at = None
        user.licence_verified_by_id = None
        changed.append("licence")
        record_account_event(
            session,
            user,
            "user.licence_changed",
            was_verified=was_verified,
            pre_licensed=licence.pre_licensed,
        )
    if changed:
        record_account_event(session, user, "user.profile_updated", fields=changed)
    session.flush()
    if "name" in changed or "licence" in changed:
        signals.account_changed.send(user, session=session)
    return changed


def change_own_password(session: Session, user: User, *, current: str, new: str) -> None:
    """Change the password after checking the current one; every other session ends."""
    if not verify_password(user.password_hash, current):
        raise InvalidInput(WRONG_CURRENT_PASSWORD)
    set_password(session, user, new)
    session.flush()


def set_notification_choice(session: Session, user: User, *, optional: bool) -> None:
    """Turn optional e-mails on or off (decisions and revocations always go)."""
    if user.notify_optional == optional:
        return
    user.notify_optional = optional
    record_account_event(session, user, "user.notifications_changed", optional=optional)
    session.flush()
