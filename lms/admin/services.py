"""Read models for the admin pages: searching people and browsing the audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from lms.audit.api import AuditEvent
from lms.auth.api import LicenceStanding, Role, User, UserRole, licence_standing
from lms.clock import start_of_day, today
from lms.paging import Page, contains_text
from lms.status import word_for

T = TypeVar("T")

USERS_PER_PAGE = 25
EVENTS_PER_PAGE = 50

# Audit facts never hold health data by contract; this is a second line of defence so that a
# mistaken caller cannot leak screening answers through the audit browser.
_REDACTED_FACT_WORDS = ("answer", "health", "diagnos", "symptom", "medication")


@dataclass(frozen=True)
class UserRow:
    """What the users list shows about one person."""

    id: int
    name: str
    email: str
    credentials: str
    licence: str
    licence_status: str
    roles: tuple[str, ...]
    active: bool
    last_login_at: datetime | None


@dataclass(frozen=True)
class AuditRow:
    """One audit event as the audit browser shows it."""

    id: int
    at: datetime
    action: str
    subject_type: str
    subject_id: int | None
    actor_id: int | None
    actor_name: str
    person_id: int | None
    person_name: str
    facts: tuple[tuple[str, str], ...]


def licence_status(user: User, on: date | None = None) -> str:
    """A person's licence in a word on a programme day (today when not given): pre-licensed,
    unverified, expired, verified, or none (staff, who hold no licence here)."""
    standing = licence_standing(user, on or today())
    if standing is LicenceStanding.UNLICENSED and Role.CLINICIAN not in user.roles:
        return "none"  # "pre-licensed" is a clinician's state, not a staff account's
    return standing.value


def _licence_text(user: User) -> str:
    """Licence type, number and state as one short string."""
    if user.pre_licensed or not user.licence_number:
        return ""
    parts = [user.licence_type or "", user.licence_number, user.licence_state or ""]
    return " ".join(p for p in parts if p)


def _page_of(session: Session, query: Select[Any], page: int, per_page: int) -> tuple[int, int]:
    """Count the query's rows and clamp the asked page into range; returns (total, page)."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    last = max(1, -(-total // per_page))
    return total, min(max(1, page), last)


def search_users(
    session: Session,
    *,
    text: str = "",
    role: Role | None = None,
    active: bool | None = None,
    licence_unverified: bool = False,
    page: int = 1,
    per_page: int = USERS_PER_PAGE,
) -> Page[UserRow]:
    """People matching the filters, by name, in three queries whatever the page size."""
    query = select(User)
    if text := text.strip():
        query = query.where(contains_text(text, User.name, User.email, User.licence_number))
    if role is not None:
        query = query.where(
            select(UserRole.user_id)
            .where(UserRole.user_id == User.id, UserRole.role == role)
            .exists()
        )
    if active is not None:
        query = query.where(User.active.is_(active))
    if licence_unverified:
        query = query.where(
            User.pre_licensed.is_(False),
            User.licence_number.is_not(None),
            User.licence_number != "",
            User.licence_verified_at.is_(None),
        )
    total, page = _page_of(session, query, page, per_page)
    # role_rows load with one extra "selectin" query for the whole page.
    users = session.scalars(
        query.order_by(func.lower(User.name), User.id).limit(per_page).offset((page - 1) * per_page)
    ).all()
    on = today(session)
    rows = [
        UserRow(
            id=u.id,
            name=u.name,
            email=u.email,
            credentials=u.credentials,
            licence=_licence_text(u),
            licence_status=licence_status(u, on),
            roles=tuple(Role(r).label for r in sorted(u.roles)),
            active=u.active,
            last_login_at=u.last_login_at,
        )
        for u in users
    ]
    return Page(items=rows, page=page, per_page=per_page, total=total)


def audit_actions(session: Session) -> list[str]:
    """Every action name that occurs in the audit trail, sorted (for the filter menu)."""
    return list(session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))


def _plain_facts(facts: dict[str, Any] | None) -> tuple[tuple[str, str], ...]:
    """Facts as sorted (name, text) pairs, dropping anything that looks like health data."""
    pairs = []
    for key, value in sorted((facts or {}).items()):
        if any(word in key.lower() for word in _REDACTED_FACT_WORDS):
            continue
        if isinstance(value, list | tuple):
            shown = ", ".join(word_for(str(v)) for v in value) or "(none)"
        elif isinstance(value, dict):
            shown = ", ".join(f"{k}: {v}" for k, v in sorted(value.items()))
        elif value is None:
            shown = "(none)"
        else:
            shown = word_for(str(value))  # a stored status code reads as its word
        pairs.append((key.replace("_", " "), shown))
    return tuple(pairs)


def _person_matches(person: Any, text: str) -> Any:
    """A condition: the aliased user's name or e-mail contains the text."""
    return contains_text(text, person.name, person.email)


def browse_audit(
    session: Session,
    *,
    action: str = "",
    actor: str = "",
    person: str = "",
    actor_id: int | None = None,
    person_id: int | None = None,
    on_or_after: date | None = None,
    on_or_before: date | None = None,
    page: int = 1,
    per_page: int = EVENTS_PER_PAGE,
) -> Page[AuditRow]:
    """Audit events matching the filters, newest first, in two queries whatever the page size."""
    actor_user = aliased(User)
    person_user = aliased(User)
    query = (
        select(AuditEvent, actor_user.name, person_user.name)
        .outerjoin(actor_user, AuditEvent.actor_id == actor_user.id)
        .outerjoin(person_user, AuditEvent.person_id == person_user.id)
    )
    if action:
        query = query.where(AuditEvent.action == action)
    if actor_id is not None:
        query = query.where(AuditEvent.actor_id == actor_id)
    if person_id is not None:
        query = query.where(AuditEvent.person_id == person_id)
    if actor := actor.strip():
        query = query.where(_person_matches(actor_user, actor))
    if person := person.strip():
        query = query.where(_person_matches(person_user, person))
    # The days are the programme's: an event at 17:00 Pacific on 5 Dec is on 5 Dec.
    if on_or_after is not None:
        query = query.where(AuditEvent.at >= start_of_day(on_or_after, session))
    if on_or_before is not None:
        query = query.where(AuditEvent.at < start_of_day(on_or_before + timedelta(days=1), session))
    total, page = _page_of(session, query, page, per_page)
    found: Sequence[Any] = session.execute(
        query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    rows = [
        AuditRow(
            id=event.id,
            at=event.at,
            action=event.action,
            subject_type=event.subject_type,
            subject_id=event.subject_id,
            actor_id=event.actor_id,
            actor_name=actor_name or "(system)",
            person_id=event.person_id,
            person_name=person_name or "",
            facts=_plain_facts(event.facts),
        )
        for event, actor_name, person_name in found
    ]
    return Page(items=rows, page=page, per_page=per_page, total=total)
