"""What closing an offering would do, worked out once: the confirmation page shows it and
`close_offering` carries it out, so what people are asked to confirm is what happens.

A module offering is judged by its attendance grid under the programme's attendance policy;
a retreat session by its roster (an accepted applicant marked attended attended; one marked
absent, or not marked, did not). Each person's outcome then follows from the completions of
the item they hold: one the offering's own attendance made (an earlier close, a retreat's
roster mark) is kept, replaced when the CE hours earned changed, or revoked when the person
no longer attended; any other completion (an instructor's mark, earlier training) is never
touched.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms import dates
from lms.auth.api import Role, User
from lms.certificates.api import format_hours
from lms.errors import DomainError
from lms.offerings.attendance import day_records, enrolled, policy, recorded
from lms.offerings.attendance_policy import AttendancePolicy, Verdict, judge
from lms.offerings.models import Enrolment, EnrolmentStatus, Offering, OfferingDay
from lms.progress.api import Completion, CompletionSource
from lms.progress.services import check_recordable, record_completion


class Outcome(StrEnum):
    """What closing does for one person."""

    RECORD = "record"  # attended: a completion is recorded
    KEEP = "keep"  # attended: the completion they hold stays
    REPLACE = "replace"  # attended, other CE hours: this offering's completion is recorded anew
    BLOCKED = "blocked"  # attended, but the account cannot hold a completion
    REVOKE = "revoke"  # did not attend: the completion this offering made is revoked
    ABSENT = "absent"  # did not attend: nothing to record


# The outcomes that take back a completion, so the person closing gives a reason.
REVOKING = (Outcome.REPLACE, Outcome.REVOKE)


@dataclass(frozen=True)
class PlanLine:
    """One person holding a place, as closing will leave them."""

    enrolment_id: int
    user_id: int
    name: str
    attended: bool
    outcome: Outcome
    ce_hours: Decimal | None = None  # the CE hours earned (attended only)
    missed: tuple[str, ...] = ()  # each day (or the session) not attended
    completion_id: int | None = None  # the live completion kept, replaced or revoked
    note: str = ""
    days_attended: int = 0

    @property
    def status(self) -> EnrolmentStatus:
        """The enrolment's status after closing."""
        return EnrolmentStatus.ATTENDED if self.attended else EnrolmentStatus.ABSENT


@dataclass(frozen=True)
class ClosingPlan:
    """Everyone holding a place and what closing the offering will do for each."""

    offering: Offering
    lines: list[PlanLine]
    days: int  # how many days the offering has
    # The attendance policy the lines were judged by (None for a retreat: its roster decides);
    # closing records it, and the closed offering is judged by it from then on.
    policy: AttendancePolicy | None = None

    @property
    def attended(self) -> list[PlanLine]:
        """Those who attended (a completion recorded, kept or replaced)."""
        return [x for x in self.lines if x.attended]

    @property
    def absent(self) -> list[PlanLine]:
        """Those who did not attend."""
        return [x for x in self.lines if not x.attended]

    def having(self, *outcomes: Outcome) -> list[PlanLine]:
        """The lines with one of these outcomes."""
        return [x for x in self.lines if x.outcome in outcomes]

    @property
    def needs_reason(self) -> bool:
        """Closing revokes a completion, so it needs a reason."""
        return bool(self.having(*REVOKING))

    @property
    def fingerprint(self) -> str:
        """A digest of the plan: the confirmation form carries it, and closing refuses when the
        plan changed since the page was drawn (someone edited attendance meanwhile)."""
        text = "|".join(
            f"{x.enrolment_id}:{x.outcome.value}:{x.ce_hours}:{x.completion_id}"
            for x in sorted(self.lines, key=lambda x: x.enrolment_id)
        )
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def may_close(user: User, offering: Offering) -> bool:
    """Who closes an offering: a module's facilitators and administrators (those who take its
    attendance); for a retreat session, the staff who mark its roster."""
    from lms.offerings.attendance import may_edit

    if offering.item.is_retreat:
        return user.has_role(Role.INSTRUCTOR, Role.ADMIN)
    return may_edit(user, offering)


def _retreat_missed(enrolment: Enrolment) -> tuple[str, ...]:
    """Why an accepted applicant reads absent."""
    if enrolment.status == EnrolmentStatus.ABSENT:
        return ("marked absent on the roster",)
    return ("attendance not marked on the roster (counts as absent)",)


def _retreat_verdict(enrolment: Enrolment, days: list[OfferingDay]) -> Verdict:
    """A retreat session is attended whole or not at all, as its roster says; it carries no
    CE hours."""
    attended = enrolment.status == EnrolmentStatus.ATTENDED
    return Verdict(
        met=attended,
        full=attended,
        ce_hours=None,
        attended=tuple(day.held_on for day in days) if attended else (),
        missed=() if attended else _retreat_missed(enrolment),
    )


def _live_completions(
    session: Session, offering: Offering, user_ids: list[int]
) -> dict[int, Completion]:
    """The live completions of the offering's item these people hold (one query)."""
    return {
        c.user_id: c
        for c in session.scalars(
            select(Completion).where(
                Completion.user_id.in_(user_ids or [0]),
                Completion.item_id == offering.item_id,
                Completion.is_live,
            )
        )
    }


def _blocked(session: Session, enrolment: Enrolment, offering: Offering) -> str | None:
    """Why no completion can be recorded for this person (the recording rule itself)."""
    try:
        check_recordable(
            enrolment.user, offering.item, offering.ends_on, CompletionSource.ATTENDANCE, session
        )
    except DomainError as error:
        return f"No completion can be recorded: {error.message}"
    return None


def _line(
    session: Session,
    offering: Offering,
    enrolment: Enrolment,
    live: Completion | None,
    verdict: Verdict,
) -> PlanLine:
    """One person's outcome from what their attendance earned and the completion they hold."""
    ours = live is not None and live.offering_id == offering.id
    attended, ce_hours = verdict.met, verdict.ce_hours
    base = {
        "enrolment_id": enrolment.id,
        "user_id": enrolment.user_id,
        "name": enrolment.user.name,
        "attended": attended,
        "ce_hours": ce_hours if attended else None,
        "missed": verdict.missed,
        "days_attended": len(verdict.attended),
        "completion_id": live.id if live is not None else None,
    }
    if not attended:
        if ours:
            note = f"The completion this offering made ({dates.day(live.completed_on)}) is revoked."
            return PlanLine(**base, outcome=Outcome.REVOKE, note=note)
        return PlanLine(**base, outcome=Outcome.ABSENT)
    if live is None:
        blocked = _blocked(session, enrolment, offering)
        if blocked:
            return PlanLine(**base, outcome=Outcome.BLOCKED, note=blocked)
        return PlanLine(**base, outcome=Outcome.RECORD)
    if ours and not offering.item.is_retreat and live.ce_hours != ce_hours:
        was = "no" if live.ce_hours is None else format_hours(live.ce_hours)
        note = f"Recorded before with {was} CE hours; recorded anew with the hours earned now."
        return PlanLine(**base, outcome=Outcome.REPLACE, note=note)
    if ours:
        note = f"Recorded on {dates.day(live.completed_on)} from this offering's attendance; kept."
        return PlanLine(**base, outcome=Outcome.KEEP, note=note)
    note = f"Already completed on {dates.day(live.completed_on)}; kept."
    return PlanLine(**base, outcome=Outcome.KEEP, note=note)


def preview_closing(session: Session, offering: Offering) -> ClosingPlan:
    """What closing the offering would do now, for everyone holding a place (a constant
    number of queries however many people)."""
    people = enrolled(session, offering.id)
    live = _live_completions(session, offering, [e.user_id for e in people])
    days = list(offering.days)
    rules = None
    if offering.item.is_retreat:
        verdicts = {e.id: _retreat_verdict(e, days) for e in people}
    else:
        marks = recorded(session, [d.id for d in days])
        rules = policy(session)
        verdicts = {e.id: judge(day_records(days, e.id, marks), rules) for e in people}
    lines = [_line(session, offering, e, live.get(e.user_id), verdicts[e.id]) for e in people]
    return ClosingPlan(offering, lines, len(days), rules)


def completion_note(offering: Offering, days_attended: int) -> str:
    """The note on a completion an offering's attendance earned."""
    if offering.item.is_retreat:
        return f"Attended the {offering.location} session"
    count = len(offering.days)
    first, last = offering.days[0].held_on, offering.days[-1].held_on
    return f"Attended {days_attended} of {count} days ({dates.day(first, last)})"


def record_attendance_completion(
    session: Session,
    enrolment: Enrolment,
    offering: Offering,
    *,
    actor_id: int,
    days_attended: int,
    ce_hours: Decimal | None = None,
) -> Completion:
    """Record the completion an offering's attendance earned: dated its last day, naming the
    offering, with the CE hours earned (the one path of closing and a retreat's roster mark)."""
    return record_completion(
        session,
        user_id=enrolment.user_id,
        item_code=offering.item.code,
        completed_on=offering.ends_on,
        source=CompletionSource.ATTENDANCE,
        actor_id=actor_id,
        note=completion_note(offering, days_attended),
        offering_id=offering.id,
        ce_hours=ce_hours,
    )
