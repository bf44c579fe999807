"""A retreat as one clinician sees it: their applications and their standing with each retreat.

Read-only, for the clinician's own pages (the dashboard's retreat cards, the retreats page);
applying, medical review and rosters are in lms.retreats.services.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from lms.auth.api import User
from lms.catalog.api import CatalogItem, ItemKind
from lms.clock import today as programme_today
from lms.db import read
from lms.offerings import places
from lms.offerings.api import (
    Enrolment,
    EnrolmentStatus,
    Offering,
    OfferingSummary,
    holds_live_place,
    upcoming_offerings,
)
from lms.progress.api import ItemState
from lms.retreats.models import ReviewState
from lms.retreats.review_thread import OPEN_QUESTION, review_state
from lms.retreats.services import credit_may_help
from lms.retreats.standing_facts import APPLICATION_RANK, RetreatState

if TYPE_CHECKING:
    from lms.progress.services import ClinicianSnapshot

# Built once, as plain columns: the dashboard reads a clinician's applications on every view
# where they hold one, and three joined entities per row would cost more than the query.
_OWN_APPLICATIONS = (
    select(
        Enrolment.id,
        Enrolment.offering_id,
        Enrolment.status,
        Enrolment.applied_at,
        Offering.status.label("offering_status"),
        Offering.item_id,
        Offering.starts_on,
        Offering.ends_on,
        Offering.location,
        CatalogItem.title,
        OPEN_QUESTION.label("question_open"),
    )
    .join(Offering, Offering.id == Enrolment.offering_id)
    .join(CatalogItem, CatalogItem.id == Offering.item_id)
    .where(Enrolment.user_id == bindparam("user_id"), CatalogItem.kind == ItemKind.RETREAT)
    .order_by(Enrolment.applied_at.desc(), Enrolment.id.desc())
)


@dataclass(frozen=True)
class AppliedItem:
    """The retreat an application is for, as the clinician's pages name it."""

    title: str


@dataclass(frozen=True)
class AppliedSession:
    """The session (offering) an application is for: what the clinician's pages show."""

    id: int
    item_id: int
    starts_on: date
    ends_on: date
    location: str
    item: AppliedItem


@dataclass(frozen=True)
class ApplicationView:
    """One application as plain values (no screening answers, no ORM object)."""

    id: int
    offering_id: int
    status: EnrolmentStatus
    applied_at: datetime
    offering: AppliedSession
    live: bool  # the person's live place (lms.offerings' holds_live_place)


@dataclass(frozen=True)
class OwnApplication:
    """A clinician's application as they see it, with its place on a waitlist."""

    application: ApplicationView
    waitlist_position: int | None
    review_state: ReviewState | None = None  # while in medical review: who it waits for

    @property
    def question_waiting(self) -> bool:
        """The medical reviewer asked a question that waits for this person's answer."""
        return self.review_state == ReviewState.MORE_INFORMATION


def own_applications(session: Session, user_id: int) -> list[OwnApplication]:
    """A clinician's applications, newest first, with waitlist positions (on the waitlists of
    live places: a session closed or cancelled holds nobody's place) and whether a medical
    reviewer's question waits for them (two queries)."""
    rows = list(read(session, _OWN_APPLICATIONS, {"user_id": user_id}))
    applications = [
        ApplicationView(
            id=r.id,
            offering_id=r.offering_id,
            status=r.status,
            applied_at=r.applied_at,
            offering=AppliedSession(
                r.offering_id, r.item_id, r.starts_on, r.ends_on, r.location, AppliedItem(r.title)
            ),
            live=holds_live_place(r.status, r.offering_status),
        )
        for r in rows
    ]
    states = {r.id: review_state(EnrolmentStatus(r.status), bool(r.question_open)) for r in rows}
    positions = places.waitlist_positions(
        session,
        [a.id for a in applications if a.status == EnrolmentStatus.WAITLISTED and a.live],
    )
    return [OwnApplication(a, positions.get(a.id), states[a.id]) for a in applications]


@dataclass(frozen=True)
class RetreatStanding:
    """One retreat as one clinician sees it: state, why, sessions and their application."""

    code: str
    title: str
    description: str
    state: RetreatState
    explanation: str
    steps: tuple[str, ...]
    sessions: list[OfferingSummary]
    application: OwnApplication | None
    applied_session_ids: frozenset[int]
    can_apply: bool
    credit_may_help: bool = False  # locked for want of training credit could stand for
    outline: Mapping[str, Any] | None = None  # the explanation as a list (Outline's JSON form)


def retreat_standings(
    session: Session,
    user: User,
    *,
    today: date | None = None,
    snapshot: ClinicianSnapshot | None = None,
    every_session: bool = True,
) -> list[RetreatStanding]:
    """Every active retreat with the clinician's standing, in a constant number of queries.

    The state comes from the person's standing rows (the one evaluation); the dashboard
    passes the snapshot its page was built from, used when judged on the same day. The rows
    also say whether the person holds any application, so one who holds none costs no query
    for them; with `every_session` false (the dashboard, which lists sessions only where the
    person may apply) the upcoming sessions are read only when some retreat is open to them.
    """
    from lms.progress.services import clinician_snapshot

    day = today or programme_today()
    if snapshot is None or snapshot.on != day or snapshot.user.id != user.id:
        snapshot = clinician_snapshot(session, user, with_history=False)
    judged = []
    for item in snapshot.catalogue.retreats:
        status = snapshot.items.get(item.code)
        place = status.place if status is not None else None
        state = RetreatState(place) if place is not None else RetreatState.LOCKED
        locked = state == RetreatState.LOCKED
        eligible = status is not None and status.state != ItemState.LOCKED and not locked
        can_apply = eligible and state in (RetreatState.OPEN, RetreatState.NOT_CLEARED)
        judged.append((item, status, state, locked, can_apply))
    holds_any = any(status is not None and status.applied for _, status, *_ in judged)
    mine = own_applications(session, user.id) if holds_any else []
    wanted = every_session or any(can_apply for *_, can_apply in judged)
    upcoming = upcoming_offerings(session, today=day) if wanted else []
    applied = frozenset(
        own.application.offering_id
        for own in mine
        if own.application.status != EnrolmentStatus.WITHDRAWN
    )
    result = []
    for item, status, state, locked, can_apply in judged:
        live = [
            own
            for own in mine
            if own.application.offering.item_id == item.id
            and own.application.live
            and own.application.status in APPLICATION_RANK
        ]
        live.sort(key=lambda own: APPLICATION_RANK[own.application.status])
        result.append(
            RetreatStanding(
                code=item.code,
                title=item.title,
                description=item.description,
                state=state,
                explanation=status.explanation if locked and status else "",
                steps=status.steps if locked and status else (),
                outline=status.outline if locked and status else None,
                sessions=[s for s in upcoming if s.session.item_id == item.id],
                application=live[0] if live else None,
                applied_session_ids=applied,
                can_apply=can_apply,
                credit_may_help=locked and credit_may_help(status.steps if status else ()),
            )
        )
    return result
