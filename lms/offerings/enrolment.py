"""Enrolling in module offerings: by the clinician, by staff (one, many, or a shop's CSV).

Retreat offerings are applied to (lms.retreats, with the medical screening); everything
else is enrolled in here. Both take places through lms.offerings.places.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from lms import csv_reader, dates, validation
from lms.auth.api import User
from lms.auth.services import normalise_email, require_confirmed_email
from lms.clock import programme_zone
from lms.clock import today as programme_today
from lms.db import utcnow
from lms.errors import Conflict, InvalidInput, NotFound, PrerequisiteNotMet
from lms.i18n import translate
from lms.offerings import places
from lms.offerings.models import Enrolment, EnrolmentSource, EnrolmentStatus, JoinRefusal, Offering

NOUN = "enrolment"
MAX_BULK = 500  # e-mail addresses pasted at once, rows in one import
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _fmt(value: date) -> str:
    """A date as people read it in messages (the one date style)."""
    return dates.day(value)


def live_enrolment(session: Session, user_id: int, offering_id: int) -> Enrolment | None:
    """The person's enrolment (or retreat application) in the offering that is not withdrawn,
    if any: at most one (uq_enrolments_live), the one a second enrolment or application would
    repeat. Whether it is still their place with the item, once the offering is closed or
    cancelled, is `lms.offerings.models.holds_live_place`."""
    return session.scalar(
        select(Enrolment).where(
            Enrolment.user_id == user_id,
            Enrolment.offering_id == offering_id,
            Enrolment.status != EnrolmentStatus.WITHDRAWN,
        )
    )


def enrolment_problem(
    session: Session, user: User, offering: Offering, *, today: date, by_staff: bool = False
) -> str | None:
    """Why this person cannot enrol in this offering now, or None when they can.

    Staff may enrol people after the enrolment deadline and on the days themselves (a late
    registration from the shop, a walk-in) until the offering is closed, never past the
    item's prerequisite.
    """
    from lms.progress.services import evaluate_item

    if offering.item.is_retreat:
        return "Retreats are applied to, with the medical screening, from the retreats page."
    refusal = offering.refusal_to_join(today, by_staff=by_staff)
    if refusal is JoinRefusal.CANCELLED:
        return translate("This offering is cancelled.")
    if refusal is JoinRefusal.CLOSED:
        return "This offering is closed."
    if refusal is JoinRefusal.STARTED:
        return translate("This offering started on {day}; enrolment is closed.").format(
            day=_fmt(offering.starts_on)
        )
    if refusal is JoinRefusal.DEADLINE_PASSED:
        return translate("Enrolment closed on {day}.").format(day=_fmt(offering.deadline()))
    evaluation = evaluate_item(session, user, offering.item.code)
    if not evaluation.met:
        return evaluation.explanation or "The prerequisite for this module is not met yet."
    return None


def already_have(session: Session, offering: Offering, user_ids: list[int]) -> dict[int, str]:
    """Of these people, those who already have the offering's item (completed or credited),
    with how they stand with it ("Completed on 5 Dec 2026"): staff are warned before enrolling
    them again."""
    from lms.progress.api import standing_words

    said = standing_words(session, offering.item, list(user_ids))
    return {uid: words for uid, (words, _, done) in said.items() if done}


def _enrol_locked(
    session: Session,
    user: User,
    offering: Offering,
    *,
    actor_id: int | None,
    source: EnrolmentSource,
    today: date,
    made_at: datetime | None = None,
) -> Enrolment:
    """Enrol one person in an offering whose lock the caller holds (every guard re-runs)."""
    problem = enrolment_problem(
        session, user, offering, today=today, by_staff=source != EnrolmentSource.SELF
    )
    if problem is not None:
        raise PrerequisiteNotMet(problem)
    existing = live_enrolment(session, user.id, offering.id)
    if existing is not None:
        raise Conflict(f"{user.name} is already {existing.status.label.lower()} in this offering.")
    enrolment = Enrolment(
        user_id=user.id,
        offering_id=offering.id,
        status=places.place_or_queue(session, offering),
        source=source,
        enrolled_by_id=actor_id if source != EnrolmentSource.SELF else None,
        applied_at=made_at or utcnow(),
        decided_at=utcnow(),
    )
    session.add(enrolment)
    session.flush()
    action = (
        "enrolment.waitlisted"
        if enrolment.status == EnrolmentStatus.WAITLISTED
        else ("enrolment.created")
    )
    places.record_change(
        session, enrolment, None, actor_id=actor_id, action=action, source=source.value, noun=NOUN
    )
    return enrolment


def enrol(
    session: Session, *, user_id: int, offering_id: int, today: date | None = None
) -> Enrolment:
    """The clinician enrols themselves: a place when one is free, else the waitlist."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such person.")
    require_confirmed_email(user)
    return _enrol_one(
        session, user, offering_id, actor_id=user_id, source=EnrolmentSource.SELF, today=today
    )


def _enrol_one(
    session: Session,
    user: User,
    offering_id: int,
    *,
    actor_id: int,
    source: EnrolmentSource,
    today: date | None,
) -> Enrolment:
    """Lock the offering, then give the person a place, or one on the waitlist."""
    offering = places.lock_offering(session, offering_id)
    return _enrol_locked(
        session,
        user,
        offering,
        actor_id=actor_id,
        source=source,
        today=today or programme_today(session),
    )


def _own_enrolment(session: Session, enrolment_id: int) -> Enrolment:
    """An enrolment with its person and offering, or NotFound."""
    enrolment = session.scalar(
        select(Enrolment)
        .options(
            joinedload(Enrolment.user), joinedload(Enrolment.offering).joinedload(Offering.item)
        )
        .where(Enrolment.id == enrolment_id)
    )
    if enrolment is None or enrolment.offering.item.is_retreat:
        raise NotFound("No such enrolment.")
    return enrolment


def withdraw(
    session: Session, enrolment_id: int, *, user_id: int, today: date | None = None
) -> Enrolment:
    """The clinician gives up their place (or waitlist place) before the offering starts."""
    enrolment = _own_enrolment(session, enrolment_id)
    if enrolment.user_id != user_id:
        raise NotFound("No such enrolment.")
    return places.withdraw(
        session, enrolment, actor_id=user_id, today=today or programme_today(session), noun=NOUN
    )


def remove(
    session: Session, enrolment_id: int, *, actor_id: int, today: date | None = None
) -> Enrolment:
    """Staff withdraw someone (a refund, a mistake) before the offering starts."""
    enrolment = _own_enrolment(session, enrolment_id)
    return places.withdraw(
        session, enrolment, actor_id=actor_id, today=today or programme_today(session), noun=NOUN
    )


# --------------------------------------------------------------------------- staff, in bulk


@dataclass
class BulkReport:
    """What enrolling several people did, or (when `refused` or `unknown`) why nothing was."""

    enrolled: list[str] = field(default_factory=list)
    waitlisted: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # e-mails with no account: never created
    refused: list[str] = field(default_factory=list)  # "line 3: a@b.c: why"
    # People who already have the item ("a@b.c: Completed on 5 Dec 2026"): enrolled from the
    # shop regardless (they bought a place), refused from a paste unless staff said "anyway".
    repeating: list[str] = field(default_factory=list)
    repeats_refused: bool = False

    @property
    def ok(self) -> bool:
        """Nothing stood in the way (so the enrolments were made)."""
        return not self.unknown and not self.refused and not self.repeats_refused


@dataclass(frozen=True)
class _Wanted:
    """One person to enrol, where they came from, and when they bought their place."""

    line: int
    email: str
    made_at: datetime | None = None


def _enrol_all(
    session: Session,
    offering_id: int,
    wanted: Sequence[_Wanted],
    *,
    actor_id: int | None,
    source: EnrolmentSource,
    today: date | None,
    repeats_allowed: bool = True,
) -> BulkReport:
    """All or nothing: every person is enrolled (or waitlisted, or already in), or, when any
    address is unknown or refused, nothing is changed and the report says which and why.

    People who already have the item are listed as repeating; unless `repeats_allowed`,
    their presence refuses the whole list (staff confirm and send it again)."""
    today = today or programme_today(session)
    report = BulkReport()
    if len(wanted) > MAX_BULK:
        raise InvalidInput(f"At most {MAX_BULK} people at once; split the list.")
    offering = places.lock_offering(session, offering_id)
    emails = sorted({w.email for w in wanted})
    users = {
        u.email: u
        for u in session.scalars(
            select(User).where(User.email.in_(bindparam("emails", expanding=True))),
            {"emails": emails},
        )
    }
    seen: set[str] = set()
    ready: list[tuple[_Wanted, User]] = []
    for item in wanted:
        if item.email in seen:
            continue
        seen.add(item.email)
        user = users.get(item.email)
        if user is None or not user.active:
            report.unknown.append(f"line {item.line}: {item.email}")
            continue
        if live_enrolment(session, user.id, offering.id) is not None:
            report.already.append(item.email)
            continue
        problem = enrolment_problem(session, user, offering, today=today, by_staff=True)
        if problem is not None:
            report.refused.append(f"line {item.line}: {item.email}: {problem}")
            continue
        ready.append((item, user))
    repeating = already_have(session, offering, [user.id for _, user in ready])
    report.repeating = [f"{w.email}: {repeating[u.id]}" for w, u in ready if u.id in repeating]
    report.repeats_refused = bool(report.repeating) and not repeats_allowed
    if not report.ok:
        return report
    # Earlier purchases first, so the waitlist keeps the shop's order.
    ready.sort(
        key=lambda pair: (pair[0].made_at or datetime.max.replace(tzinfo=None), pair[0].line)
    )
    for item, user in ready:
        enrolment = _enrol_locked(
            session,
            user,
            offering,
            actor_id=actor_id,
            source=source,
            today=today,
            made_at=item.made_at,
        )
        target = (
            report.waitlisted if enrolment.status == EnrolmentStatus.WAITLISTED else report.enrolled
        )
        target.append(item.email)
    return report


def enrol_emails(
    session: Session,
    offering_id: int,
    text: str,
    *,
    actor_id: int,
    today: date | None = None,
    repeats_allowed: bool = False,
) -> BulkReport:
    """Staff paste e-mail addresses (one per line, or separated by commas or spaces); people
    who already have the item refuse the list unless `repeats_allowed`."""
    wanted = []
    for number, line in enumerate(text.splitlines(), start=1):
        for part in line.replace(",", " ").replace(";", " ").split():
            wanted.append(_Wanted(number, normalise_email(part)))
    if not wanted:
        raise InvalidInput("Paste at least one e-mail address.")
    return _enrol_all(
        session,
        offering_id,
        wanted,
        actor_id=actor_id,
        source=EnrolmentSource.STAFF,
        today=today,
        repeats_allowed=repeats_allowed,
    )


def enrol_user(
    session: Session,
    offering_id: int,
    user_id: int,
    *,
    actor_id: int,
    today: date | None = None,
    repeat_allowed: bool = False,
) -> Enrolment:
    """Staff enrol one person found by search (one who already has the item only when staff
    confirm they are repeating it: `repeat_allowed`)."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise NotFound("No such person.")
    if not repeat_allowed:
        offering = places.lock_offering(session, offering_id)
        has = already_have(session, offering, [user.id]).get(user.id)
        if has is not None:
            raise RepeatNeedsConfirming(
                f"{user.name} already has {offering.item.title} ({has}). Enrol them anyway "
                "only if they are repeating it."
            )
    return _enrol_one(
        session, user, offering_id, actor_id=actor_id, source=EnrolmentSource.STAFF, today=today
    )


class RepeatNeedsConfirming(Conflict):
    """Enrolling someone who already has the item waits for staff to confirm it."""


class ShopImportError(InvalidInput):
    """A shop export that cannot be imported; `problems` name the lines."""

    def __init__(self, problems: list[str]) -> None:
        """Keep every problem; the message shows the first few."""
        self.problems = problems
        shown = "; ".join(problems[:5]) + ("; ..." if len(problems) > 5 else "")
        super().__init__(f"Nothing was imported. {shown}")


def _shown(cell: str) -> str:
    """A cell quoted in a problem, cut short: a refused cell may be thousands of characters."""
    text = cell.strip()
    return repr(text if len(text) <= 60 else text[:60] + "…")


def parse_shop_csv(data: bytes | str) -> list[_Wanted]:
    """Rows of a shop's export (its bytes, or text): columns `email,enrolled_on` (a header row,
    any order, any case; other columns ignored). Problems name their line; any problem refuses
    the file. The file is read by lms.csv_reader, like every import."""
    try:
        records = csv_reader.read_records(data)
    except csv_reader.UnreadableCsv as error:
        raise ShopImportError(error.problems) from None
    if not records:
        raise ShopImportError(["the file is empty"])
    header = records[0]
    names = [h.strip().lower() for h in header.cells]
    missing = [c for c in ("email", "enrolled_on") if c not in names]
    if missing:
        raise ShopImportError(
            [f"line {header.line}: the header needs the column(s) {', '.join(missing)}"]
        )
    at_email, at_date = names.index("email"), names.index("enrolled_on")
    problems: list[str] = []
    wanted: list[_Wanted] = []
    zone = programme_zone()
    for number, row in records[1:]:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(at_email, at_date):
            problems.append(f"line {number}: expected {len(names)} columns, got {len(row)}")
            continue
        email = normalise_email(row[at_email])
        if "@" not in email or len(email) > 254 or validation.line_problem(email):
            problems.append(f"line {number}: {_shown(row[at_email])} is not an e-mail address")
            continue
        try:
            on = date.fromisoformat(row[at_date].strip()[:10])
        except ValueError:
            on = None
        if on is None:
            problems.append(
                f"line {number}: enrolled_on {_shown(row[at_date])} is not a date like 2027-01-05"
            )
            continue
        if problem := validation.date_problem(on):
            problems.append(f"line {number}: enrolled_on: {problem[:1].lower()}{problem[1:]}")
            continue
        wanted.append(_Wanted(number, email, datetime.combine(on, time(0), tzinfo=zone)))
    if problems:
        raise ShopImportError(problems)
    if not wanted:
        raise ShopImportError(["the file has a header but no rows"])
    return wanted


def import_shop_csv(
    session: Session,
    offering_id: int,
    data: bytes | str,
    *,
    actor_id: int | None,
    today: date | None = None,
) -> BulkReport:
    """Import a shop's enrolments into an offering (the file's bytes, or its text): all or
    nothing (see `_enrol_all`)."""
    wanted = parse_shop_csv(data)
    report = _enrol_all(
        session, offering_id, wanted, actor_id=actor_id, source=EnrolmentSource.IMPORT, today=today
    )
    if not report.ok:
        raise ShopImportError(
            [f"{entry}: no account with this e-mail" for entry in report.unknown] + report.refused
        )
    return report
