"""Closing an offering, and reopening one to correct it.

Closing carries out the plan `lms.offerings.closing_plan.preview_closing` worked out (the one
that the confirmation page showed): in one transaction everyone holding a place reads
attended or absent, a completion is recorded for those who attended (with the CE hours
earned), and a completion the offering's own attendance made for someone who no longer
attended is revoked with the reason given. Completions go through lms.progress's
`record_completion` and `revoke_completion`, as a mark and a revocation by hand do, so
unlocks, standings and certificates follow exactly as they would for those.

An administrator reopens a closed offering, with a reason: its attendance (the grid, or the
retreat's roster) can change again, and closing it again corrects the completions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms import dates, validation
from lms.audit.api import REASON_MAX, AuditEvent, clean_reason
from lms.auth.api import Role, User
from lms.clock import today as programme_today
from lms.db import utcnow
from lms.errors import AlreadyDecided, Conflict, DomainError, Forbidden, InvalidInput
from lms.i18n import translate
from lms.offerings import places
from lms.offerings.attendance import policy
from lms.offerings.attendance_policy import AttendancePolicy
from lms.offerings.closing_plan import (
    REVOKING,
    ClosingPlan,
    Outcome,
    PlanLine,
    may_close,
    preview_closing,
    record_attendance_completion,
)
from lms.offerings.models import Enrolment, Offering, OfferingStatus
from lms.offerings.schedule import get_offering
from lms.progress.services import revoke_completion, watch_many

CLOSED_ACTION = "offering.closed"
REOPENED_ACTION = "offering.reopened"


@dataclass(frozen=True)
class ClosingLine:
    """One person as closing left them."""

    enrolment_id: int
    user_id: int
    name: str
    attended: bool
    ce_hours: Decimal | None = None  # the CE hours earned (attended only)
    completion_id: int | None = None  # the completion recorded or kept
    missed: tuple[str, ...] = ()  # each day not attended
    note: str = ""  # e.g. why no completion was recorded for someone who attended
    outcome: str = ""  # an Outcome's value ("" in closings recorded before outcomes were)
    revoked_id: int | None = None  # the completion revoked (replaced, or no longer earned)


@dataclass(frozen=True)
class ClosingResult:
    """What closing an offering did: who attended (and earned what), who did not (and why)."""

    offering_id: int
    closed_on: date
    attended: list[ClosingLine]
    absent: list[ClosingLine]
    reason: str = ""  # why completions were revoked, when some were


class AlreadyClosed(AlreadyDecided):
    """The offering is closed already (a second click, someone else closed it)."""


class NotClosable(Conflict):
    """The offering cannot be closed now (cancelled, or its last day is still to come)."""


# Refusals of closing as such (not of one confirmation): no plan page to show again.
CLOSING_REFUSED = (AlreadyClosed, NotClosable)


def _noun(offering: Offering) -> str:
    """What an offering's enrolment is called in audit actions."""
    return "application" if offering.item.is_retreat else "enrolment"


def closing_problem(offering: Offering, actor: User, today: date) -> str | None:
    """Why this person cannot close the offering today (None: they can)."""
    if offering.status == OfferingStatus.CLOSED:
        return "This offering is already closed."
    if offering.status == OfferingStatus.CANCELLED:
        return translate("This offering is cancelled: it has no attendance to close.")
    if not offering.attendance_open(today):
        return f"The offering can be closed from its last day, {dates.day(offering.ends_on)}."
    if not may_close(actor, offering):
        if offering.item.is_retreat:
            return "Instructors and administrators close a retreat session."
        return "Only this offering's facilitators and administrators close it."
    return None


def _check_closable(offering: Offering, actor: User, today: date) -> None:
    """Refuse a closing that may not happen, with the error that fits."""
    problem = closing_problem(offering, actor, today)
    if problem is None:
        return
    if offering.status == OfferingStatus.CLOSED:
        raise AlreadyClosed(problem)
    if not offering.attendance_open(today):
        raise NotClosable(problem)
    raise Forbidden(problem)


def plan_closing(
    session: Session, offering_id: int, *, actor: User, today: date | None = None
) -> ClosingPlan:
    """What closing the offering would do now (the confirmation page), refused as closing
    itself would be."""
    offering = get_offering(session, offering_id)
    _check_closable(offering, actor, today or programme_today(session))
    return preview_closing(session, offering)


def close_offering(
    session: Session,
    offering_id: int,
    *,
    actor: User,
    today: date | None = None,
    reason: str = "",
    expected: str | None = None,
) -> ClosingResult:
    """Close an offering from its last day as `preview_closing` says: everyone holding a place
    reads attended or absent; completions are recorded, kept, replaced or revoked.

    `expected` is the plan's fingerprint as the confirmation page showed it: when attendance
    changed since, nothing is done (Conflict). `reason` is required when a completion is
    revoked, and goes with each revocation."""
    offering = places.lock_offering(session, offering_id)
    today = today or programme_today(session)
    _check_closable(offering, actor, today)
    plan = preview_closing(session, offering)
    if expected is not None and expected != plan.fingerprint:
        raise Conflict(
            "The attendance changed since this list was drawn; nothing was closed. "
            "Check the new list and confirm again."
        )
    if plan.needs_reason:
        reason = clean_reason(reason, "completions this offering's attendance no longer earns")
    else:
        reason = ""
    attended: list[ClosingLine] = []
    absent: list[ClosingLine] = []
    with watch_many(session, [x.user_id for x in plan.lines]):
        for line in plan.lines:
            enrolment = session.get(Enrolment, line.enrolment_id)
            _settle_status(session, offering, enrolment, line, actor)
            done = _carry_out(session, offering, enrolment, line, actor, reason)
            (attended if line.attended else absent).append(done)
    previous = offering.status
    offering.status = OfferingStatus.CLOSED
    offering.closed_at = utcnow()
    offering.closed_by_id = actor.id
    session.flush()
    places.status_changed(session, offering, previous)
    places.record_offering_event(
        session,
        offering.id,
        CLOSED_ACTION,
        actor_id=actor.id,
        item=offering.item.code,
        closed_on=today,
        reason=reason or None,
        **(plan.policy.facts() if plan.policy is not None else {}),
        attended=[
            [x.enrolment_id, x.completion_id, x.ce_hours, x.note, x.outcome, x.revoked_id]
            for x in attended
        ],
        absent=[[x.enrolment_id, list(x.missed), x.outcome, x.revoked_id] for x in absent],
    )
    session.flush()
    return ClosingResult(offering.id, today, attended, absent, reason)


def _settle_status(
    session: Session, offering: Offering, enrolment: Enrolment, line: PlanLine, actor: User
) -> None:
    """Make the enrolment read attended or absent as the plan says (audited when it changes)."""
    previous = enrolment.status
    if previous == line.status:
        return
    if not places.set_status(
        session,
        enrolment,
        previous,
        status=line.status,
        attendance_marked_at=utcnow(),
        attendance_marked_by_id=actor.id,
    ):
        raise AlreadyDecided(translate("An enrolment changed meanwhile; reload the page."))
    noun = _noun(offering)
    places.record_change(
        session,
        enrolment,
        previous,
        actor_id=actor.id,
        action=f"{noun}.{line.status.value}",
        noun=noun,
        ce_hours=line.ce_hours,
        missed=list(line.missed),
    )


def _carry_out(
    session: Session,
    offering: Offering,
    enrolment: Enrolment,
    line: PlanLine,
    actor: User,
    reason: str,
) -> ClosingLine:
    """Record, replace or revoke the person's completion as the plan says."""
    done = ClosingLine(
        enrolment_id=line.enrolment_id,
        user_id=line.user_id,
        name=line.name,
        attended=line.attended,
        ce_hours=line.ce_hours,
        missed=line.missed,
        note=line.note,
        outcome=line.outcome.value,
        completion_id=line.completion_id if line.outcome is Outcome.KEEP else None,
    )
    revoked = None
    if line.outcome in REVOKING and line.completion_id is not None:
        revoke_completion(session, line.completion_id, actor_id=actor.id, reason=reason)
        revoked = line.completion_id
    if line.outcome not in (Outcome.RECORD, Outcome.REPLACE):
        return _replace(done, revoked_id=revoked)
    try:
        completion = record_attendance_completion(
            session,
            enrolment,
            offering,
            actor_id=actor.id,
            days_attended=line.days_attended,
            ce_hours=line.ce_hours,
        )
    except DomainError as error:  # e.g. no longer a clinician: attended, not recorded
        note = f"No completion recorded: {error.message}"
        return _replace(done, note=note, outcome=Outcome.BLOCKED.value, revoked_id=revoked)
    return _replace(done, completion_id=completion.id, revoked_id=revoked)


def _replace(line: ClosingLine, **changes: object) -> ClosingLine:
    """The line with some fields changed."""
    return replace(line, **changes)


# --------------------------------------------------------------------------- reopening


@dataclass(frozen=True)
class Reopening:
    """An administrator reopened the offering after it was last closed: when, who, why."""

    at: datetime
    by: str
    reason: str


def clean_reopen_reason(reason: str | None) -> str:
    """A required reason for reopening, at most REASON_MAX characters."""
    text = validation.multi_line((reason or "").strip(), "Reason", max_length=REASON_MAX)
    if not text:
        raise InvalidInput("Give a reason for reopening the offering (what is to be corrected).")
    return text


def reopen_offering(session: Session, offering_id: int, *, actor: User, reason: str) -> Offering:
    """Reopen a closed offering (administrators only, with a reason, audited): its
    attendance can change again, and closing it again corrects the completions it made."""
    if not actor.has_role(Role.ADMIN):
        raise Forbidden("Only administrators reopen a closed offering.")
    reason = clean_reopen_reason(reason)
    offering = places.lock_offering(session, offering_id)
    if offering.status != OfferingStatus.CLOSED:
        raise AlreadyDecided("This offering is not closed, so there is nothing to reopen.")
    closed_at = offering.closed_at
    offering.status = OfferingStatus.SCHEDULED
    offering.closed_at = None
    offering.closed_by_id = None
    session.flush()
    places.status_changed(session, offering, OfferingStatus.CLOSED)
    places.record_offering_event(
        session,
        offering.id,
        REOPENED_ACTION,
        actor_id=actor.id,
        item=offering.item.code,
        reason=reason,
        closed_at=closed_at.isoformat(timespec="seconds") if closed_at else None,
    )
    session.flush()
    return offering


def _latest(session: Session, offering_id: int, *actions: str) -> AuditEvent | None:
    """The offering's latest audit event of these actions (one query)."""
    return session.scalar(
        select(AuditEvent)
        .where(
            AuditEvent.action.in_(actions),
            AuditEvent.subject_type == "offering",
            AuditEvent.subject_id == offering_id,
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )


def last_reopening(session: Session, offering_id: int) -> Reopening | None:
    """The reopening since the offering was last closed, if it was reopened (two queries)."""
    event = _latest(session, offering_id, CLOSED_ACTION, REOPENED_ACTION)
    if event is None or event.action != REOPENED_ACTION:
        return None
    actor = session.get(User, event.actor_id) if event.actor_id else None
    return Reopening(event.at, actor.name if actor else "someone", event.facts.get("reason", ""))


# --------------------------------------------------------------------------- the record


def judging_policy(session: Session, offering: Offering) -> AttendancePolicy:
    """The attendance policy a module offering is judged by: while it is open, the
    programme's as the catalogue sets it now; once closed, the one its closing judged by
    (kept in the closing's audit event), so that its grid, the grid's sentence and its
    printed record still say what closing did after the catalogue's policy changes (one
    query when closed). A closing recorded before closings kept their policy leaves
    nothing to go by but the programme's."""
    if offering.status == OfferingStatus.CLOSED:
        event = _latest(session, offering.id, CLOSED_ACTION)
        kept = AttendancePolicy.from_facts(event.facts) if event is not None else None
        if kept is not None:
            return kept
    return policy(session)


def closing_result(session: Session, offering_id: int) -> ClosingResult | None:
    """What the offering's last closing did, rebuilt from its audit event (two queries; None
    before it closes)."""
    event = _latest(session, offering_id, CLOSED_ACTION)
    if event is None:
        return None
    facts = event.facts
    ids = [row[0] for row in facts["attended"]] + [row[0] for row in facts["absent"]]
    people = {
        enrolment_id: (user_id, name)
        for enrolment_id, user_id, name in session.execute(
            select(Enrolment.id, Enrolment.user_id, User.name)
            .join(User, User.id == Enrolment.user_id)
            .where(Enrolment.id.in_(ids or [0]))
        )
    }

    def line(enrolment_id: int, **values: object) -> ClosingLine:
        user_id, name = people.get(enrolment_id, (0, f"#{enrolment_id}"))
        return ClosingLine(enrolment_id=enrolment_id, user_id=user_id, name=name, **values)

    def attended(row: list) -> ClosingLine:
        eid, cid, hours, note, *more = row  # closings before reopening kept four values
        outcome, revoked = (more + ["", None])[:2]
        return line(
            eid,
            attended=True,
            ce_hours=Decimal(hours) if hours is not None else None,
            completion_id=cid,
            note=note or "",
            outcome=outcome or "",
            revoked_id=revoked,
        )

    def absent(row: list) -> ClosingLine:
        eid, missed, *more = row
        outcome, revoked = (more + ["", None])[:2]
        return line(
            eid, attended=False, missed=tuple(missed), outcome=outcome or "", revoked_id=revoked
        )

    return ClosingResult(
        offering_id=offering_id,
        closed_on=date.fromisoformat(facts["closed_on"]),
        attended=sorted((attended(r) for r in facts["attended"]), key=lambda x: x.name.lower()),
        absent=sorted((absent(r) for r in facts["absent"]), key=lambda x: x.name.lower()),
        reason=facts.get("reason") or "",
    )
