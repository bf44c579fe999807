"""The KAP session log: log a session, take one back, read one's own log, and count it.

De-identified by design: a row is a month and year, a role, a setting and a client code that
the tracker made at random. Codes are chosen from the clinician's own list, never typed, so a
value that is not one of their codes (a name, initials, an e-mail) is refused and nothing is
stored. The rows are shown to their clinician only; staff and the award's rules see counts.
Audit events name the row and nothing of what it says.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, distinct, func, select
from sqlalchemy.orm import Session, joinedload

from lms import signals
from lms.audit.services import record_event
from lms.clock import today as programme_today
from lms.db import IN_CHUNK
from lms.errors import InvalidInput, NotFound
from lms.training.facts import SESSION_COUNTS, provide
from lms.training.records_models import ClientCode, SessionEntry, SessionRole, SessionSetting

NEW_CLIENT = "new"
# No 0/O, 1/I/L, U: a code is read and written down by people, and spells no word.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 4
EARLIEST_YEAR = 2000  # sessions before this are not training for this programme
MAX_ENTRIES_PER_CLIENT_MONTH = 31  # at most one a day: more is a slip, not a month of work

CLIENT_NOT_YOURS = (
    "Choose one of your client codes or “New client”. Codes are made by the tracker; "
    "a name, initials or an e-mail address is never stored in the session log."
)


@dataclass(frozen=True)
class SessionInput:
    """What the form sent, as text: nothing here is trusted until `log_session` checks it."""

    year: str
    month: str
    role: str
    setting: str
    client: str


@dataclass(frozen=True)
class Counts:
    """A clinician's log in numbers: what staff and the award's rules see."""

    therapist_sessions: int
    co_therapist_sessions: int
    clients: int  # distinct clients of the sessions as therapist
    first_month: date | None  # of the first session as therapist

    def __str__(self) -> str:
        """ "19 sessions, 4 clients" (sessions as therapist)."""
        sessions = "session" if self.therapist_sessions == 1 else "sessions"
        clients = "client" if self.clients == 1 else "clients"
        return f"{self.therapist_sessions} {sessions}, {self.clients} {clients}"


def _whole(value: str, what: str) -> int:
    """A whole number from a form's text, or a clear error."""
    text = (value or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 4:
        raise InvalidInput(f"Choose the {what} from the list.")
    return int(text)


def _checked(session: Session, data: SessionInput) -> tuple[int, int, SessionRole, SessionSetting]:
    """Year, month, role and setting, or InvalidInput saying what is wrong (a future month...)."""
    year, month = _whole(data.year, "year"), _whole(data.month, "month")
    if not 1 <= month <= 12:
        raise InvalidInput("Choose the month from the list.")
    today = programme_today(session)
    if year < EARLIEST_YEAR:
        raise InvalidInput(f"Log sessions from {EARLIEST_YEAR} on.")
    if (year, month) > (today.year, today.month):
        raise InvalidInput("That month has not come yet: log sessions that have taken place.")
    try:
        role = SessionRole(data.role)
    except ValueError as error:
        raise InvalidInput("Choose your role in the session: therapist or co-therapist.") from error
    try:
        setting = SessionSetting(data.setting)
    except ValueError as error:
        raise InvalidInput("Choose the setting from the list.") from error
    return year, month, role, setting


def client_codes(session: Session, user_id: int) -> list[ClientCode]:
    """The clinician's client codes, oldest first (one query)."""
    return list(
        session.scalars(
            select(ClientCode).where(ClientCode.user_id == user_id).order_by(ClientCode.id)
        )
    )


def _new_code(session: Session, user_id: int) -> ClientCode:
    """A fresh random code, unlike any of the clinician's (30**4: 810,000 to draw from)."""
    taken = set(session.scalars(select(ClientCode.code).where(ClientCode.user_id == user_id)))
    while True:
        code = "C-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if code not in taken:
            break
    client = ClientCode(user_id=user_id, code=code)
    session.add(client)
    session.flush()
    return client


def _own_client(session: Session, user_id: int, chosen: str) -> ClientCode:
    """The clinician's code that was chosen; anything else (typed, another's) is refused."""
    client = session.scalar(
        select(ClientCode).where(ClientCode.user_id == user_id, ClientCode.code == chosen)
    )
    if client is None:
        raise InvalidInput(CLIENT_NOT_YOURS)
    return client


def _changed(session: Session, action: str, entry_id: int, *, user_id: int) -> None:
    """Audit that the clinician added or removed a row of their log, and say the log changed.
    What the row says stays out of the audit trail: only that a row came or went."""
    record_event(
        session,
        actor_id=user_id,
        action=action,
        subject_type="training_session",
        subject_id=entry_id,
        person_id=user_id,
    )
    signals.training_session_changed.send(user_id, session=session)


def log_session(session: Session, *, user_id: int, data: SessionInput) -> SessionEntry:
    """Record one session in the clinician's log; every check runs before anything is stored."""
    year, month, role, setting = _checked(session, data)
    chosen = (data.client or "").strip()
    if not chosen:
        raise InvalidInput("Choose the client: one of your codes, or “New client”.")
    if chosen == NEW_CLIENT:
        client = _new_code(session, user_id)
    else:
        client = _own_client(session, user_id, chosen)
        same_month = session.scalar(
            select(func.count(SessionEntry.id)).where(
                SessionEntry.client_code_id == client.id,
                SessionEntry.year == year,
                SessionEntry.month == month,
            )
        )
        if same_month >= MAX_ENTRIES_PER_CLIENT_MONTH:
            raise InvalidInput(
                f"{client.code} already has {same_month} sessions in that month; "
                "check the month you chose."
            )
    entry = SessionEntry(
        user_id=user_id,
        client_code_id=client.id,
        year=year,
        month=month,
        role=role,
        setting=setting,
    )
    session.add(entry)
    session.flush()
    # A first step of any kind makes a candidate, held to the requirement's newest version
    # (imported here: the requirement reads progress, whose models need every feature's).
    from lms.training.requirement import ensure_credential, start_candidate

    start_candidate(session, user_id, ensure_credential(session))
    _changed(session, "training.session_logged", entry.id, user_id=user_id)
    return entry


def remove_session(session: Session, entry_id: int, *, user_id: int) -> None:
    """The clinician takes back a row of their own log (logged by mistake)."""
    entry = session.get(SessionEntry, entry_id)
    if entry is None or entry.user_id != user_id:
        raise NotFound("No such session in your log.")
    session.delete(entry)
    session.flush()
    _changed(session, "training.session_removed", entry_id, user_id=user_id)


def own_log(session: Session, user_id: int) -> list[SessionEntry]:
    """The clinician's log, newest month first, with its codes (one query)."""
    return list(
        session.scalars(
            select(SessionEntry)
            .options(joinedload(SessionEntry.client))
            .where(SessionEntry.user_id == user_id)
            .order_by(SessionEntry.year.desc(), SessionEntry.month.desc(), SessionEntry.id.desc())
        )
    )


def session_counts(
    session: Session, user_ids: Iterable[int]
) -> dict[int, tuple[int, int, date | None]]:
    """{user_id: (sessions as therapist, distinct clients of those, first month of those)} for
    each user asked about (zeros and None when they logged nothing): one grouped query per
    IN_CHUNK people, on the index of the log's user ids."""
    wanted = sorted(set(user_ids))
    result: dict[int, tuple[int, int, date | None]] = dict.fromkeys(wanted, (0, 0, None))
    query = (
        select(
            SessionEntry.user_id,
            func.count(SessionEntry.id),
            func.count(distinct(SessionEntry.client_code_id)),
            func.min(SessionEntry.year * 12 + (SessionEntry.month - 1)),
        )
        .where(SessionEntry.role == SessionRole.THERAPIST)
        .group_by(SessionEntry.user_id)
    )
    for start in range(0, len(wanted), IN_CHUNK):
        chunk = wanted[start : start + IN_CHUNK]
        for user_id, sessions, clients, first in session.execute(
            query.where(SessionEntry.user_id.in_(chunk))
        ):
            result[user_id] = (sessions, clients, _month_of(first))
    return result


def _month_of(number: int | None) -> date | None:
    """The first day of the month a month number stands for (None stays None)."""
    return date(number // 12, number % 12 + 1, 1) if number is not None else None


def counts_for(session: Session, user_id: int) -> Counts:
    """One clinician's log in numbers, co-therapist sessions included (one query)."""
    therapist = SessionEntry.role == SessionRole.THERAPIST
    row = session.execute(
        select(
            func.count(case((therapist, SessionEntry.id))),
            func.count(case((~therapist, SessionEntry.id))),
            func.count(distinct(case((therapist, SessionEntry.client_code_id)))),
            func.min(case((therapist, SessionEntry.year * 12 + (SessionEntry.month - 1)))),
        ).where(SessionEntry.user_id == user_id)
    ).one()
    return Counts(
        therapist_sessions=row[0],
        co_therapist_sessions=row[1],
        clients=row[2],
        first_month=_month_of(row[3]),
    )


provide(SESSION_COUNTS, session_counts)
