"""The daily digest: one message per reviewer or instructor with what waits for them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lms import dates
from lms.auth.api import Role, User, UserRole
from lms.clock import local_date
from lms.db import utcnow
from lms.equivalency.api import EquivalencyRequest, EquivalencyStatus
from lms.mail.models import OutboxMessage
from lms.mail.services import public_url, queue_message
from lms.offerings.api import Enrolment, EnrolmentStatus, Offering, Shown
from lms.retreats.api import AWAITING_REVIEWER

# A second run the same day (a retried cron job) must not send everyone a second digest.
ONE_PER = timedelta(hours=20)


@dataclass(frozen=True)
class Waiting:
    """Counts of what waits for staff (counts only: never health data)."""

    screenings: int
    equivalency_requests: int
    sessions_needing_attendance: int
    # {applicant: their applications among `screenings`}: a reviewer never screens their own.
    own_screenings: dict[int, int] = field(default_factory=dict)

    def screenings_for(self, reviewer_id: int) -> int:
        """The screenings this reviewer may take: every one waiting but their own."""
        return self.screenings - self.own_screenings.get(reviewer_id, 0)


@dataclass(frozen=True)
class DigestReport:
    """What a digest run did."""

    queued: int
    nothing_waiting: int
    already_sent: int


def waiting_work(session: Session, *, today: date) -> Waiting:
    """What waits for reviewers and instructors today (three count queries)."""
    # A screening waiting for the applicant's answer to a question is not the reviewers' work.
    by_applicant = dict(
        session.execute(
            select(Enrolment.user_id, func.count())
            .where(AWAITING_REVIEWER)
            .group_by(Enrolment.user_id)
        ).all()
    )
    requests = session.scalar(
        select(func.count())
        .select_from(EquivalencyRequest)
        .where(EquivalencyRequest.status == EquivalencyStatus.PENDING)
    )
    sessions = session.scalar(
        select(func.count(func.distinct(Offering.id)))
        .select_from(Offering)
        .join(Enrolment, Enrolment.offering_id == Offering.id)
        .where(Offering.to_close(today), Enrolment.status == EnrolmentStatus.ENROLLED)
    )
    return Waiting(sum(by_applicant.values()), requests or 0, sessions or 0, by_applicant)


def _plural(n: int, one: str, many: str) -> str:
    """'1 thing' / '3 things'."""
    return f"{n} {one if n == 1 else many}"


def _lines(person: User, waiting: Waiting) -> list[dict[str, str]]:
    """The digest lines for a person, by the roles they hold."""
    lines = []
    roles = person.roles
    screenings = waiting.screenings_for(person.id)
    if Role.MEDICAL_REVIEWER in roles and screenings:
        lines.append(
            {
                "text": _plural(
                    screenings,
                    "medical screening waits for review",
                    "medical screenings wait for review",
                ),
                "link": public_url("retreats.review_queue"),
            }
        )
    if Role.INSTRUCTOR in roles and waiting.equivalency_requests:
        lines.append(
            {
                "text": _plural(
                    waiting.equivalency_requests,
                    "credit request waits for a decision",
                    "credit requests wait for a decision",
                ),
                "link": public_url("equivalency.review"),
            }
        )
    if Role.INSTRUCTOR in roles and waiting.sessions_needing_attendance:
        lines.append(
            {
                "text": _plural(
                    waiting.sessions_needing_attendance,
                    "offering has ended and needs its attendance recorded",
                    "offerings have ended and need their attendance recorded",
                ),
                # The staff's list of offerings to close: where these are.
                "link": public_url("offerings.manage", shown=Shown.TO_CLOSE.value),
            }
        )
    return lines


def send_digests(
    session: Session, *, today: date | None = None, now: datetime | None = None
) -> DigestReport:
    """Queue one digest per active reviewer/instructor who has something waiting."""
    now = now or utcnow()
    today = today or local_date(now, session)
    waiting = waiting_work(session, today=today)
    staff = session.scalars(
        select(User)
        .join(UserRole)
        .where(
            UserRole.role.in_([Role.MEDICAL_REVIEWER, Role.INSTRUCTOR]),
            User.active.is_(True),
            User.anonymised_at.is_(None),
        )
        .distinct()
        .order_by(User.id)
    ).all()
    recent = set(
        session.scalars(
            select(OutboxMessage.user_id).where(
                OutboxMessage.kind == "digest", OutboxMessage.created_at > now - ONE_PER
            )
        )
    )
    queued = nothing = already = 0
    for person in staff:
        if person.id in recent:
            already += 1
            continue
        lines = _lines(person, waiting)
        if not lines:
            nothing += 1
            continue
        message = queue_message(
            session,
            user=person,
            kind="digest",
            subject=f"What waits for you today ({dates.day(today)})",
            template="digest",
            context={"lines": lines},
            optional=True,
        )
        if message is not None:
            queued += 1
    return DigestReport(queued=queued, nothing_waiting=nothing, already_sent=already)
