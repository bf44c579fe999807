"""The staff's Certificate of Training queues: consultations awaiting their consultant (oldest
first, with their age), candidates ready to award (met, not awarded) and candidates whose
window closes within WARNING_DAYS (not met, not awarded), each paged, with their counts for
the staff home. Indexed reads of the kept standings (lms.training.standing) and of the
consultation log, judged against the programme's day in SQL; never a session-log row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import url_for
from sqlalchemy import func, literal, or_, select, true
from sqlalchemy.orm import Session, aliased

from lms.auth.api import User
from lms.clock import local_date, today
from lms.paging import Page
from lms.progress.api import HomePart, Waiting
from lms.training.models import (
    Consultant,
    Consultation,
    ConsultationKind,
    ConsultationState,
    Credential,
    TrainingStanding,
)
from lms.training.records_models import DocumentStatus, TrainingDocument
from lms.training.requirement import CERTIFICATE_OF_TRAINING, stored_credential
from lms.training.standing import met_today, sync

PER_PAGE = 50
# Counts stop at this many: counting every row of a long queue grows with the programme, and
# "more than 1,000" says all a reader needs (the pages still walk on past it).
COUNT_CAP = 1000
WARNING_DAYS = 60  # the window's end is shown as a warning from this many days before it


@dataclass(frozen=True)
class AwaitingRow:
    """A consultation awaiting its consultant's answer."""

    entry_id: int
    user_id: int
    clinician: str
    consultant: str
    held_on: date
    kind: ConsultationKind
    hours: Decimal
    logged_on: date
    age_days: int


@dataclass(frozen=True)
class CandidateRow:
    """A candidate in the ready-to-award or window-closing queue."""

    user_id: int
    name: str
    email: str
    parts_met: int
    parts_total: int
    first_event_on: date | None
    window_closes_on: date | None
    days_left: int | None


@dataclass(frozen=True)
class QueueCounts:
    """How much waits in each queue (for the staff home and the queues' own page)."""

    awaiting: int
    awaiting_since: datetime | None
    documents: int
    documents_since: datetime | None
    ready: int
    closing: int
    closing_first: date | None
    # Since when every candidate's standing has been waiting to be judged again (after a change
    # to the requirement or the catalogue): "ready" and "closing" may be out of date meanwhile.
    due_since: datetime | None = None


def _capped(where: list[Any], *, model: Any = None) -> Any:
    """SQL: how many rows match, counted up to COUNT_CAP + 1 (a scalar subquery)."""
    rows = select(literal(1)).select_from(model or TrainingStanding).where(*where)
    return select(func.count()).select_from(rows.limit(COUNT_CAP + 1).subquery()).scalar_subquery()


def said(count: int) -> str:
    """A capped count in words: "37", or "more than 1,000"."""
    return f"more than {COUNT_CAP:,}" if count > COUNT_CAP else f"{count:,}"


def _offset(page: int) -> int:
    """The first row of a page."""
    return (max(page, 1) - 1) * PER_PAGE


# --- awaiting confirmation -------------------------------------------------------------------

_AWAITING = Consultation.state == ConsultationState.AWAITING


def awaiting_page(session: Session, page: int = 1) -> Page[AwaitingRow]:
    """Consultations awaiting their consultant, oldest logged first (two queries)."""
    day = today(session)
    total = session.scalar(select(_capped([_AWAITING], model=Consultation)))
    rows = session.execute(
        select(
            Consultation.id,
            Consultation.user_id,
            User.name,
            Consultant.name,
            Consultation.held_on,
            Consultation.kind,
            Consultation.hours,
            Consultation.created_at,
        )
        .join(User, User.id == Consultation.user_id)
        .join(Consultant, Consultant.id == Consultation.consultant_id)
        .where(_AWAITING)
        .order_by(Consultation.created_at, Consultation.id)
        .limit(PER_PAGE)
        .offset(_offset(page))
    )
    items = []
    for entry_id, user_id, clinician, consultant, held_on, kind, hours, created_at in rows:
        logged_on = local_date(created_at, session)
        items.append(
            AwaitingRow(
                entry_id,
                user_id,
                clinician,
                consultant,
                held_on,
                kind,
                hours,
                logged_on,
                (day - logged_on).days,
            )
        )
    return Page(items, page, PER_PAGE, total)


# --- ready to award, window closing ----------------------------------------------------------


def _ready(credential_id: Any, day: date) -> list[Any]:
    """The rows of candidates ready to award on the day."""
    return [
        TrainingStanding.credential_id == credential_id,
        TrainingStanding.waiting == true(),  # "= true": the index's second column (IS is not)
        met_today(day),
    ]


def _closing(credential_id: Any, day: date) -> list[Any]:
    """The rows of candidates whose window closes within WARNING_DAYS and who have not met
    the requirement (nor been awarded)."""
    return [
        TrainingStanding.credential_id == credential_id,
        TrainingStanding.waiting == true(),  # "= true": the index's second column (IS is not)
        TrainingStanding.window_closes_on >= day,
        TrainingStanding.window_closes_on <= day + timedelta(days=WARNING_DAYS),
        # Not met today (the window is still open here, so only the licence can end a verdict).
        or_(TrainingStanding.met.is_(False), TrainingStanding.lapses_on <= day),
    ]


def _candidates(
    session: Session, which: Callable[[Any, date], list[Any]], page: int
) -> Page[CandidateRow]:
    """One page of the candidates `which` picks on the programme's day, soonest window end
    first (two queries, once the kept standings are current); none while the credential is
    not stored yet."""
    sync(session)
    credential = stored_credential(session)
    if credential is None:
        return Page([], page, PER_PAGE, 0)
    day = today(session)
    where = which(credential.id, day)
    total = session.scalar(select(_capped(where)))
    person = aliased(User)
    rows = session.execute(
        select(
            TrainingStanding.user_id,
            person.name,
            person.email,
            TrainingStanding.parts_met,
            TrainingStanding.parts_total,
            TrainingStanding.first_event_on,
            TrainingStanding.window_closes_on,
        )
        .join(person, person.id == TrainingStanding.user_id)
        .where(*where)
        .order_by(TrainingStanding.window_closes_on.nulls_last(), TrainingStanding.user_id)
        .limit(PER_PAGE)
        .offset(_offset(page))
    )
    items = [
        CandidateRow(
            user_id,
            name,
            email,
            parts_met,
            parts_total,
            first,
            closes,
            (closes - day).days if closes is not None else None,
        )
        for user_id, name, email, parts_met, parts_total, first, closes in rows
    ]
    return Page(items, page, PER_PAGE, total or 0)


def ready_page(session: Session, page: int = 1) -> Page[CandidateRow]:
    """Candidates who meet the requirement today and are not awarded yet."""
    return _candidates(session, _ready, page)


def closing_page(session: Session, page: int = 1) -> Page[CandidateRow]:
    """Candidates whose window closes within WARNING_DAYS, not met, not awarded."""
    return _candidates(session, _closing, page)


# --- counts ----------------------------------------------------------------------------------


def queue_counts(session: Session) -> QueueCounts:
    """Every queue's count (up to COUNT_CAP + 1) in one query of indexed subqueries (the staff
    home's share)."""
    sync(session)
    day = today(session)
    credential = (
        select(Credential.id).where(Credential.code == CERTIFICATE_OF_TRAINING).scalar_subquery()
    )
    documents = [TrainingDocument.status == DocumentStatus.SUBMITTED]
    row = session.execute(
        select(
            _capped([_AWAITING], model=Consultation),
            select(func.min(Consultation.created_at)).where(_AWAITING).scalar_subquery(),
            _capped(documents, model=TrainingDocument),
            select(func.min(TrainingDocument.uploaded_at)).where(*documents).scalar_subquery(),
            _capped(_ready(credential, day)),
            _capped(_closing(credential, day)),
            select(func.min(TrainingStanding.window_closes_on))
            .where(*_closing(credential, day))
            .scalar_subquery(),
            select(func.min(Credential.standings_due_at)).scalar_subquery(),
        )
    ).one()
    return QueueCounts(*row)


def _line(count: int, label: str, one: str, href: str, **more: Any) -> Waiting:
    """One waiting line; past the cap it says "1000 or more ..."."""
    if count > COUNT_CAP:
        return Waiting(f"or more {label}", COUNT_CAP, href, **more)
    return Waiting(label, count, href, one=one, **more)


def staff_home_part(session: Session, user: User) -> HomePart | None:
    """The Certificate of Training's waiting work on the staff home (instructors, admins)."""
    if not user.is_staff:
        return None
    counts = queue_counts(session)
    closing = f"Certificate of Training windows closing within {WARNING_DAYS} days"
    lines = (
        (
            counts.awaiting,
            "consultations awaiting their consultant",
            "consultation awaiting its consultant",
            "training_progress.awaiting",
            {"since": counts.awaiting_since},
        ),
        (
            counts.documents,
            "Certificate of Training documents to review",
            "Certificate of Training document to review",
            "training_documents.review",
            {"since": counts.documents_since, "action": "Review"},
        ),
        (
            counts.ready,
            "candidates ready for the Certificate of Training",
            "candidate ready for the Certificate of Training",
            "training_progress.ready",
            {},
        ),
        (
            counts.closing,
            closing,
            closing.replace("windows", "window", 1),
            "training_progress.closing",
            {"since": counts.closing_first, "since_words": "first closes"},
        ),
    )
    waiting = tuple(
        _line(count, label, one, url_for(endpoint), **more)
        for count, label, one, endpoint, more in lines
        if count
    )
    return HomePart(waiting=waiting) if waiting else None
