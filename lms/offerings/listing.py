"""Lists of offerings with their counts: the staff's list (upcoming, to close, past or all,
searched by item, a page at a time) and the upcoming offerings clinicians choose from."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlalchemy import ScalarSelect, bindparam, func, not_, select
from sqlalchemy.orm import Session, joinedload

from lms.catalog.api import CatalogItem, ItemKind
from lms.db import read
from lms.offerings.models import (
    PLACE_HOLDING,
    Enrolment,
    EnrolmentStatus,
    JoinRefusal,
    Offering,
    OfferingFormat,
    OfferingStatus,
    join_refusal,
    last_day_to_enrol,
)
from lms.paging import Page, contains_text

OFFERINGS_PER_PAGE = 25


class Shown(StrEnum):
    """Which offerings the staff's list shows."""

    UPCOMING = "upcoming"  # not yet ended (and not cancelled), soonest first
    TO_CLOSE = "to-close"  # an offering (module or retreat) whose days are over, not closed yet
    PAST = "past"  # days over (closed, cancelled or to close), latest first
    ALL = "all"  # everything, latest first


SHOWN_LABELS = {
    Shown.UPCOMING: "Upcoming and running",
    Shown.TO_CLOSE: "To close",
    Shown.PAST: "Past",
    Shown.ALL: "All",
}


_COUNTS = (
    select(Enrolment.offering_id, Enrolment.status, func.count(Enrolment.id))
    .where(Enrolment.offering_id.in_(bindparam("ids", expanding=True)))
    .group_by(Enrolment.offering_id, Enrolment.status)
)


# Upcoming offerings with their places taken in one statement: per offering, one count per
# place-holding status, each a correlated count over the (offering_id, status) index, so the
# work is bounded by the offerings' capacity, not by how many people applied or wait, and no
# plan can turn it into a scan of every enrolment (a join grouped by offering and status was
# planned as a hash join over all of them, 6-13 ms at 100,000 clinicians, until PostgreSQL
# switched to its generic plan on each connection's eleventh run).
def _taken_as(status: EnrolmentStatus) -> ScalarSelect[int]:
    """SQL: how many of the offering's enrolments are in this place-holding status."""
    # count(*), not of a column: the index alone answers it (an index-only scan).
    return (
        select(func.count())
        .select_from(Enrolment)
        .where(Enrolment.offering_id == Offering.id, Enrolment.status == status)
        .scalar_subquery()
    )


_UPCOMING = (
    select(
        Offering.id,
        Offering.item_id,
        Offering.starts_on,
        Offering.ends_on,
        Offering.location,
        Offering.capacity,
        Offering.enrolment_deadline,
        Offering.format,
        Offering.status,
        *(_taken_as(status) for status in PLACE_HOLDING),
    )
    .where(Offering.upcoming(bindparam("today")))
    .order_by(Offering.starts_on, Offering.id)
)


@dataclass(frozen=True)
class OfferingView:
    """What a list of upcoming offerings shows of one (plain values, no ORM object)."""

    id: int
    item_id: int
    starts_on: date
    ends_on: date
    location: str
    capacity: int
    enrolment_deadline: date | None
    format: OfferingFormat
    status: OfferingStatus

    def deadline(self) -> date:
        """The last day to enrol (the rule of Offering.deadline, on plain values)."""
        return last_day_to_enrol(self.starts_on, self.enrolment_deadline)

    def refusal_to_join(self, today: date) -> JoinRefusal | None:
        """Why a clinician may not join on `today` (the rule of Offering.refusal_to_join)."""
        return join_refusal(self.status, self.starts_on, self.deadline(), today)


@dataclass(frozen=True)
class OfferingSummary:
    """An offering with its counts, for lists."""

    offering: Offering | OfferingView
    counts: dict[str, int]
    taken: int
    # Why a clinician may not join it on the day the clinicians' upcoming list was read for
    # (Offering.refusal_to_join: a passed deadline shows as closed, never as something still
    # to do). Only that list asks; the staff's lists leave it None.
    refusal: JoinRefusal | None = None

    @property
    def session(self) -> Offering | OfferingView:
        """The retreat pages' word for an offering."""
        return self.offering

    @property
    def places_left(self) -> int:
        """Places still free."""
        return max(self.offering.capacity - self.taken, 0)


def counts_by_offering(session: Session, offering_ids: Sequence[int]) -> dict[int, Counter]:
    """Enrolment counts per offering and status (one query)."""
    counts: dict[int, Counter] = defaultdict(Counter)
    if not offering_ids:
        return counts
    for offering_id, status, number in session.execute(_COUNTS, {"ids": list(offering_ids)}):
        counts[offering_id][EnrolmentStatus(status).value] = number
    return counts


def _summaries(session: Session, offerings: list[Offering]) -> list[OfferingSummary]:
    """Attach counts to offerings (one extra query)."""
    counts = counts_by_offering(session, [o.id for o in offerings])
    return [
        OfferingSummary(
            offering=o,
            counts=dict(counts[o.id]),
            taken=sum(counts[o.id][status.value] for status in PLACE_HOLDING),
        )
        for o in offerings
    ]


def all_offerings(session: Session, *, retreats: bool | None = None) -> list[OfferingSummary]:
    """Every offering (of retreats only, of modules only, or all), newest first, with counts
    (two queries)."""
    query = (
        select(Offering)
        .join(Offering.item)
        .options(joinedload(Offering.item))
        .order_by(Offering.starts_on.desc(), Offering.id)
    )
    if retreats is not None:
        is_retreat = CatalogItem.kind == ItemKind.RETREAT
        query = query.where(is_retreat if retreats else ~is_retreat)
    return _summaries(session, list(session.scalars(query)))


def upcoming_offerings(session: Session, *, today: date) -> list[OfferingSummary]:
    """The offerings still to come on `today` (Offering.upcoming), soonest first, with places
    taken and whether a clinician may still join (one query).

    Their `counts` hold the place-holding statuses only (what `taken` adds up).
    """
    found = []
    for *columns, enrolled, attended, absent in read(session, _UPCOMING, {"today": today}):
        columns[7] = OfferingFormat(columns[7])
        columns[8] = OfferingStatus(columns[8])
        view = OfferingView(*columns)
        counts = {
            status.value: number
            for status, number in zip(PLACE_HOLDING, (enrolled, attended, absent), strict=True)
            if number
        }
        found.append(
            OfferingSummary(view, counts, enrolled + attended + absent, view.refusal_to_join(today))
        )
    return found


def find_offerings(
    session: Session,
    *,
    shown: Shown,
    text: str = "",
    page: int = 1,
    today: date,
    per_page: int = OFFERINGS_PER_PAGE,
) -> Page[OfferingSummary]:
    """One page of the staff's list: the offerings `shown` asks for whose item's title, short
    title or code holds `text`, with their counts (three queries)."""
    query = select(Offering).join(Offering.item)
    if shown is Shown.UPCOMING:
        query = query.where(
            Offering.status != OfferingStatus.CANCELLED, not_(Offering.ended(today))
        ).order_by(Offering.starts_on, Offering.id)
    elif shown is Shown.TO_CLOSE:  # what Offering.state reads as ended, to be closed
        query = query.where(Offering.to_close(today)).order_by(Offering.ends_on, Offering.id)
    elif shown is Shown.PAST:
        query = query.where(Offering.ended(today)).order_by(Offering.starts_on.desc(), Offering.id)
    else:
        query = query.order_by(Offering.starts_on.desc(), Offering.id)
    if text := text.strip():
        query = query.where(
            contains_text(text, CatalogItem.title, CatalogItem.short_title, CatalogItem.code)
        )
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    pages = max(1, -(-(total or 0) // per_page))
    page = min(max(page, 1), pages)
    offerings = session.scalars(
        query.options(joinedload(Offering.item)).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page(_summaries(session, list(offerings)), page, per_page, total or 0)
