"""The consultation log: clinicians log consultations with approved consultants, who confirm
or decline them by a signed, expiring e-mailed link or in their account; staff may void one
with a reason. Also the confirmed counts the requirement
reads (registered as the CONSULTATIONS provider of lms.training.facts)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from lms import signals
from lms.audit.services import record_event_of
from lms.auth.api import User, normalise_email
from lms.clock import today, utcnow
from lms.dates import day
from lms.db import row_or_not_found
from lms.errors import AlreadyDecided, Conflict, Forbidden, InvalidInput, NotFound
from lms.mail.services import notify, queue_message
from lms.training.models import (
    COMMENT_MAX,
    MAX_HOURS,
    TOPIC_MAX,
    Consultant,
    Consultation,
    ConsultationKind,
    ConsultationState,
)
from lms.training.requirement import ensure_credential, start_candidate
from lms.urls import public_url

LINK_SALT = "lms.training.consultation"
LINK_DAYS = 30
LINK_EXPIRED = (
    f"This link has expired (links last {LINK_DAYS} days). Ask the clinician to send it again "
    "from their consultation log."
)
LINK_INVALID = "This link is not valid. Check that you copied all of it, or ask for a new one."


# --- logging -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsultationInput:
    """What the clinician typed for a consultation."""

    held_on: date | None
    consultant_id: int | None
    kind: str
    hours: Any
    topic: str = ""


def _hours(value: Any) -> Decimal:
    """The hours as a Decimal, or InvalidInput."""
    try:
        hours = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInput("Give the hours as a number, like 2 or 1.5.") from None
    if not hours.is_finite() or hours <= 0:
        raise InvalidInput("Give the hours as a number above 0.")
    if hours > MAX_HOURS:
        raise InvalidInput(f"One entry can hold at most {MAX_HOURS} hours (a day).")
    if hours != hours.quantize(Decimal("0.25")):
        raise InvalidInput("Give the hours in quarter hours (like 1.25 or 1.5).")
    return hours


def _record(
    session: Session, entry: Consultation, action: str, *, actor_id: int | None, **facts: Any
) -> None:
    """Audit an event of a logged consultation: it is the subject, its clinician the person."""
    record_event_of(session, "training_consultation", entry, action, actor_id=actor_id, **facts)


def log_consultation(session: Session, user: User, data: ConsultationInput) -> Consultation:
    """Log a consultation and e-mail its consultant the link to confirm it.

    Refused, storing nothing: a future date, hours outside (0, 24], a consultant not on the
    approved list, or the same consultation logged already (same consultant, day and kind,
    not declined or voided).
    """
    on = today(session)
    if data.held_on is None:
        raise InvalidInput("Give the date of the consultation.")
    if data.held_on > on:
        raise InvalidInput("The consultation's date is in the future; log it once it has happened.")
    try:
        kind = ConsultationKind(data.kind)
    except ValueError:
        raise InvalidInput("Choose group or individual consultation.") from None
    hours = _hours(data.hours)
    topic = " ".join((data.topic or "").split())
    if len(topic) > TOPIC_MAX:
        raise InvalidInput(f"The topic may be at most {TOPIC_MAX} characters.")
    consultant = session.get(Consultant, data.consultant_id) if data.consultant_id else None
    if consultant is None or (consultant.retired_on is not None and on >= consultant.retired_on):
        raise InvalidInput("Choose a consultant from the approved list.")
    if same_person(consultant.email, user.email):
        raise InvalidInput(
            "You are this consultant: a consultation is confirmed by someone else. "
            "Choose the consultant who held it."
        )
    duplicate = session.scalar(
        select(Consultation.id).where(
            Consultation.user_id == user.id,
            Consultation.consultant_id == consultant.id,
            Consultation.held_on == data.held_on,
            Consultation.kind == kind,
            Consultation.state.in_([ConsultationState.AWAITING, ConsultationState.CONFIRMED]),
        )
    )
    if duplicate is not None:
        raise Conflict(
            f"You have already logged a {kind.label.lower()} with {consultant.name} on "
            f"{day(data.held_on)}."
        )
    entry = Consultation(
        user_id=user.id,
        consultant_id=consultant.id,
        held_on=data.held_on,
        kind=kind,
        hours=hours,
        topic=topic,
        consultant_was_approved=consultant.approved_at(data.held_on),
        state=ConsultationState.AWAITING,
    )
    session.add(entry)
    session.flush()
    start_candidate(session, user.id, ensure_credential(session))
    _record(
        session,
        entry,
        "consultation.logged",
        actor_id=user.id,
        kind=kind.value,
        hours=hours,
        held_on=data.held_on,
        approved=entry.consultant_was_approved,
    )
    _ask_consultant(session, entry, user)
    return entry


def _ask_consultant(session: Session, entry: Consultation, user: User) -> None:
    """E-mail the consultant the link that confirms or declines the entry."""
    consultant = entry.consultant
    queue_message(
        session,
        user=user,
        to_address=consultant.email,
        kind="consultation_confirmation",
        subject=f"Please confirm a consultation with {user.name}",
        template="consultation_request",
        context={
            "name": consultant.name,
            "clinician": user.name,
            "held_on": day(entry.held_on),
            "kind": entry.kind.label.lower(),
            "hours": format(entry.hours.normalize(), "f"),
            "topic": entry.topic,
            "link": response_link(entry),
            "days": LINK_DAYS,
        },
        optional=False,
    )


def send_link_again(session: Session, entry_id: int, user: User) -> Consultation:
    """Send the consultant a fresh link for an entry still awaiting them (audited)."""
    entry = _own_entry(session, entry_id, user)
    if entry.state != ConsultationState.AWAITING:
        raise AlreadyDecided("This consultation is no longer awaiting the consultant.")
    _record(session, entry, "consultation.link_resent", actor_id=user.id)
    _ask_consultant(session, entry, user)
    return entry


def _own_entry(session: Session, entry_id: int, user: User) -> Consultation:
    """The person's own entry; another's reads as missing."""
    entry = session.get(Consultation, entry_id)
    if entry is None or entry.user_id != user.id:
        raise NotFound("No such consultation in your log.")
    return entry


def own_consultations(session: Session, user_id: int) -> list[Consultation]:
    """The person's log, newest first, with each entry's consultant: one query."""
    return list(
        session.scalars(
            select(Consultation)
            .options(joinedload(Consultation.consultant))
            .where(Consultation.user_id == user_id)
            .order_by(Consultation.held_on.desc(), Consultation.id.desc())
        )
    )


# --- the consultant's link -----------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    """Signs links with the app's secret and this purpose's own salt."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=LINK_SALT)


def _inbox_mark(address: str) -> str:
    """A short digest of the consultant's address as the link was mailed: a link sent before
    the address was corrected (a typo reached someone else's inbox) stops working."""
    return hashlib.sha256(normalise_email(address).encode()).hexdigest()[:16]


def response_code(entry: Consultation) -> str:
    """The signed code naming the entry, its consultant and the address it was mailed to."""
    return _serializer().dumps(
        {"e": entry.id, "c": entry.consultant_id, "m": _inbox_mark(entry.consultant.email)}
    )


def response_link(entry: Consultation) -> str:
    """The address to e-mail: the code after '#', which browsers never send to a server."""
    return public_url("training.respond", fallback=None) + "#" + response_code(entry)


def entry_for_code(session: Session, code: str) -> Consultation:
    """The entry a consultant's code opens: only theirs, only within LINK_DAYS."""
    try:
        payload = _serializer().loads(code, max_age=LINK_DAYS * 24 * 3600)
    except SignatureExpired:
        raise InvalidInput(LINK_EXPIRED) from None
    except BadData:
        raise InvalidInput(LINK_INVALID) from None
    if not isinstance(payload, dict):
        raise InvalidInput(LINK_INVALID)
    entry = session.get(Consultation, payload.get("e"))
    if entry is None:
        raise InvalidInput(LINK_INVALID)
    if entry.consultant_id != payload.get("c"):
        raise Forbidden("This link is for another consultant's entry.")
    if payload.get("m") != _inbox_mark(entry.consultant.email):
        raise InvalidInput(LINK_INVALID)
    return entry


def same_person(one: str, other: str) -> bool:
    """Whether two addresses are one inbox (compared in the accounts' normal form)."""
    return normalise_email(one) == normalise_email(other)


def _awaiting(entry: Consultation) -> None:
    """Refuse a second answer, and an answer about one's own consultation (a clinician who is
    also on the approved list never confirms their own hours)."""
    if entry.state != ConsultationState.AWAITING:
        raise AlreadyDecided(
            f"This consultation is already answered: {entry.state.label}. Nothing was changed."
        )
    if same_person(entry.consultant.email, entry.user.email):
        raise Forbidden("Nobody answers for a consultation they logged themselves.")


def confirm_by_code(session: Session, code: str) -> Consultation:
    """The consultant confirms the entry their link names: it counts, and it is locked."""
    return _confirm(session, entry_for_code(session, code), actor_id=None)


def decline_by_code(session: Session, code: str, comment: str) -> Consultation:
    """The consultant declines the entry their link names, with a comment for the clinician."""
    return _decline(session, entry_for_code(session, code), comment, actor_id=None)


def _confirm(session: Session, entry: Consultation, *, actor_id: int | None) -> Consultation:
    """Confirm an entry awaiting its consultant (audited)."""
    _awaiting(entry)
    _answer(session, entry, ConsultationState.CONFIRMED, "consultation.confirmed", actor_id)
    return entry


def _answer(
    session: Session,
    entry: Consultation,
    state: ConsultationState,
    action: str,
    actor_id: int | None,
) -> None:
    """Record the consultant's answer on an entry awaiting it (audited and announced: the
    requirement counts it, or no longer waits for it)."""
    entry.state = state
    entry.decided_at = utcnow()
    _record(session, entry, action, actor_id=actor_id, consultant_id=entry.consultant_id)
    signals.consultation_answered.send(entry, session=session)


def _decline(
    session: Session, entry: Consultation, comment: str, *, actor_id: int | None
) -> Consultation:
    """Decline an entry awaiting its consultant; the comment goes back to the clinician."""
    _awaiting(entry)
    comment = (comment or "").strip()
    if not comment:
        raise InvalidInput("Say why you decline, so the clinician can correct the entry.")
    if len(comment) > COMMENT_MAX:
        raise InvalidInput(f"The comment may be at most {COMMENT_MAX} characters.")
    entry.comment = comment
    _answer(session, entry, ConsultationState.DECLINED, "consultation.declined", actor_id)
    notify(
        session,
        user=entry.user,
        kind="consultation_declined",
        message=(
            f"{entry.consultant.name} declined your {entry.kind.label.lower()} of "
            f"{day(entry.held_on)}: {comment}"
        ),
        endpoint="training.log_page",
        subject="A consultant declined a consultation you logged",
        template="notice",
        optional=False,
    )
    return entry


# --- a consultant with an account --------------------------------------------------------------


def consultant_of(session: Session, account: User) -> Consultant | None:
    """The consultant an account with the consultant role is: the same e-mail address, once
    the account has proved that address is theirs (a confirmed address)."""
    if account.email_confirmed_at is None:
        return None
    return session.scalar(
        select(Consultant).where(Consultant.email == normalise_email(account.email))
    )


def awaiting_for(session: Session, account: User) -> list[Consultation]:
    """The entries awaiting this consultant's answer, oldest first: only their own."""
    consultant = consultant_of(session, account)
    if consultant is None:
        return []
    return list(
        session.scalars(
            select(Consultation)
            .options(joinedload(Consultation.user))
            .where(
                Consultation.consultant_id == consultant.id,
                Consultation.state == ConsultationState.AWAITING,
            )
            .order_by(Consultation.held_on, Consultation.id)
        )
    )


def _entry_of_consultant(session: Session, entry_id: int, account: User) -> Consultation:
    """An entry logged with this account's consultant; any other reads as missing."""
    consultant = consultant_of(session, account)
    entry = session.get(Consultation, entry_id)
    if consultant is None or entry is None or entry.consultant_id != consultant.id:
        raise NotFound("No such consultation awaits you.")
    return entry


def confirm_in_account(session: Session, entry_id: int, account: User) -> Consultation:
    """The signed-in consultant confirms one of their entries."""
    return _confirm(session, _entry_of_consultant(session, entry_id, account), actor_id=account.id)


def decline_in_account(
    session: Session, entry_id: int, account: User, comment: str
) -> Consultation:
    """The signed-in consultant declines one of their entries, with a comment."""
    entry = _entry_of_consultant(session, entry_id, account)
    return _decline(session, entry, comment, actor_id=account.id)


# --- staff ---------------------------------------------------------------------------------


def void_consultation(session: Session, entry_id: int, *, actor: User, reason: str) -> Consultation:
    """Staff void an entry (a confirmed one included) with a reason; it stops counting."""
    entry = row_or_not_found(session, Consultation, entry_id, missing="No such consultation.")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Give the reason for voiding the entry.")
    if len(reason) > COMMENT_MAX:
        raise InvalidInput(f"The reason may be at most {COMMENT_MAX} characters.")
    if entry.state in (ConsultationState.VOIDED, ConsultationState.DECLINED):
        raise AlreadyDecided(f"This consultation is already {entry.state.label.lower()}.")
    before = entry.state
    entry.state = ConsultationState.VOIDED
    entry.voided_by_id, entry.voided_at, entry.void_reason = actor.id, utcnow(), reason
    _record(
        session, entry, "consultation.voided", actor_id=actor.id, was=before.value, reason=reason
    )
    signals.consultation_voided.send(entry, session=session)
    return entry


# --- facts for the requirement ---------------------------------------------------------------


def confirmed_counts(session: Session, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Per person and kind: (count, hours, first date) of the confirmed consultations with a
    consultant approved on the day. One query."""
    rows = session.execute(
        select(
            Consultation.user_id,
            Consultation.kind,
            func.count(),
            func.coalesce(func.sum(Consultation.hours), 0),
            func.min(Consultation.held_on),
        )
        .where(
            Consultation.user_id.in_(list(ids)),
            Consultation.state == ConsultationState.CONFIRMED,
            Consultation.consultant_was_approved.is_(True),
        )
        .group_by(Consultation.user_id, Consultation.kind)
    )
    found: dict[int, dict[str, Any]] = defaultdict(dict)
    for user_id, kind, count, hours, first_on in rows:
        found[user_id][str(kind)] = (count, Decimal(str(hours)), first_on)
    return dict(found)
