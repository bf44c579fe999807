"""Closing a module offering: in one transaction, a completion for everyone its attendance
earned one (with the CE hours earned), everyone else marked absent with what they missed.

Completions go through lms.progress's `record_completion`, as an instructor's mark does, so
unlocks, standings and certificates follow exactly as they would for a mark.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms import dates
from lms.audit.api import AuditEvent
from lms.auth.api import User
from lms.clock import today as programme_today
from lms.db import utcnow
from lms.errors import AlreadyDecided, Conflict, DomainError
from lms.offerings import places
from lms.offerings.attendance import (
    check_editable,
    day_records,
    enrolled,
    policy,
    recorded,
    require_module,
)
from lms.offerings.attendance_policy import judge
from lms.offerings.models import Enrolment, EnrolmentStatus, OfferingStatus
from lms.progress.api import Completion, CompletionSource
from lms.progress.services import record_completion, watch_many

NOUN = "enrolment"
CLOSED_ACTION = "offering.closed"


@dataclass(frozen=True)
class ClosingLine:
    """One person as closing left them."""

    enrolment_id: int
    user_id: int
    name: str
    attended: bool
    ce_hours: Decimal | None = None  # the CE hours earned (attended only)
    completion_id: int | None = None
    missed: tuple[str, ...] = ()  # each day not attended
    note: str = ""  # e.g. why no completion was recorded for someone who attended


@dataclass(frozen=True)
class ClosingResult:
    """What closing an offering did: who attended (and earned what), who did not (and why)."""

    offering_id: int
    closed_on: date
    attended: list[ClosingLine]
    absent: list[ClosingLine]


def _dates(days: list) -> str:
    """`12–13 Jan 2027` style text of an offering's first and last day."""
    first, last = days[0].held_on, days[-1].held_on
    return dates.day(first, last)


def close_offering(
    session: Session, offering_id: int, *, actor: User, today: date | None = None
) -> ClosingResult:
    """Close a module offering from its last day: everyone holding a place who met the
    attendance policy gets the item's completion (source attendance, dated the last day,
    with the CE hours earned) and reads "attended"; everyone else reads "absent"."""
    offering = places.lock_offering(session, offering_id)
    require_module(offering)
    if offering.status == OfferingStatus.CLOSED:
        raise AlreadyDecided("This offering is already closed.")
    check_editable(offering, actor)
    today = today or programme_today(session)
    if today < offering.ends_on:
        raise Conflict(
            f"The offering can be closed from its last day, {dates.day(offering.ends_on)}."
        )
    days = list(offering.days)
    people = [e for e in enrolled(session, offering_id) if e.status == EnrolmentStatus.ENROLLED]
    marks = recorded(session, [d.id for d in days])
    rules = policy(session)
    item = offering.item
    already = dict(
        session.execute(
            select(Completion.user_id, Completion.completed_on).where(
                Completion.user_id.in_([e.user_id for e in people] or [0]),
                Completion.item_id == item.id,
                Completion.is_live,
            )
        ).all()
    )
    attended: list[ClosingLine] = []
    absent: list[ClosingLine] = []
    with watch_many(session, [e.user_id for e in people]):
        for enrolment in people:
            verdict = judge(day_records(days, enrolment.id, marks), rules)
            status = EnrolmentStatus.ATTENDED if verdict.met else EnrolmentStatus.ABSENT
            if not places.set_status(
                session,
                enrolment,
                EnrolmentStatus.ENROLLED,
                status=status,
                attendance_marked_at=utcnow(),
                attendance_marked_by_id=actor.id,
            ):
                raise AlreadyDecided("An enrolment changed meanwhile; reload the page.")
            places.record_change(
                session,
                enrolment,
                EnrolmentStatus.ENROLLED,
                actor_id=actor.id,
                action=f"{NOUN}.{status.value}",
                noun=NOUN,
                ce_hours=verdict.ce_hours,
                missed=list(verdict.missed),
            )
            line = ClosingLine(
                enrolment_id=enrolment.id,
                user_id=enrolment.user_id,
                name=enrolment.user.name,
                attended=verdict.met,
                ce_hours=verdict.ce_hours,
                missed=verdict.missed,
            )
            if not verdict.met:
                absent.append(line)
                continue
            if enrolment.user_id in already:
                # The item is completed already (an earlier run, a mark): that record stays.
                note = f"Already completed on {dates.day(already[enrolment.user_id])}; kept."
                attended.append(_with(line, note=note))
                continue
            attended_days = len(verdict.attended)
            try:
                completion = record_completion(
                    session,
                    user_id=enrolment.user_id,
                    item_code=item.code,
                    completed_on=offering.ends_on,
                    source=CompletionSource.ATTENDANCE,
                    actor_id=actor.id,
                    note=f"Attended {attended_days} of {len(days)} days ({_dates(days)})",
                    offering_id=offering.id,
                    ce_hours=verdict.ce_hours,
                )
            except DomainError as error:  # e.g. no longer a clinician: attended, not recorded
                attended.append(_with(line, note=f"No completion recorded: {error.message}"))
                continue
            attended.append(_with(line, completion_id=completion.id))
    offering.status = OfferingStatus.CLOSED
    offering.closed_at = utcnow()
    offering.closed_by_id = actor.id
    session.flush()
    places.record_offering_event(
        session,
        offering.id,
        CLOSED_ACTION,
        actor_id=actor.id,
        item=item.code,
        closed_on=today,
        share=rules.share,
        partial_credit=rules.partial_credit,
        attended=[[x.enrolment_id, x.completion_id, x.ce_hours, x.note] for x in attended],
        absent=[[x.enrolment_id, list(x.missed)] for x in absent],
    )
    session.flush()
    return ClosingResult(offering.id, today, attended, absent)


def _with(line: ClosingLine, **changes: object) -> ClosingLine:
    """The line with some fields changed."""
    return replace(line, **changes)


def closing_result(session: Session, offering_id: int) -> ClosingResult | None:
    """What the offering's closing recorded, rebuilt from its audit event (two queries; None
    before it closes)."""
    event = session.scalar(
        select(AuditEvent)
        .where(
            AuditEvent.action == CLOSED_ACTION,
            AuditEvent.subject_type == "offering",
            AuditEvent.subject_id == offering_id,
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
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

    return ClosingResult(
        offering_id=offering_id,
        closed_on=date.fromisoformat(facts["closed_on"]),
        attended=sorted(
            (
                line(
                    eid,
                    attended=True,
                    ce_hours=Decimal(hours) if hours is not None else None,
                    completion_id=cid,
                    note=note or "",
                )
                for eid, cid, hours, note in facts["attended"]
            ),
            key=lambda x: x.name.lower(),
        ),
        absent=sorted(
            (line(eid, attended=False, missed=tuple(missed)) for eid, missed in facts["absent"]),
            key=lambda x: x.name.lower(),
        ),
    )
