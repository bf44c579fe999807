"""Bulk-insert a realistic population of clinicians for the benchmark (SQLAlchemy Core).

Going through the services for 2,000 people would take minutes (every completion issues a
certificate); the benchmark needs the rows the pages read, with the shapes real use gives
them: completions with real dates and sources, revocations with a re-mark, approved,
pending and declined equivalencies, and applications in every status.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from lms.audit.models import AuditEvent
from lms.auth.models import Role, User, UserRole
from lms.catalog.models import CatalogItem, RetreatSession
from lms.equivalency.models import EquivalencyRequest, EquivalencyStatus
from lms.progress.models import Completion, CompletionSource
from lms.retreats.models import Application, ApplicationStatus

FIRST_NAMES = (
    "Amara",
    "Ben",
    "Carmen",
    "Dev",
    "Elena",
    "Farah",
    "Gabriel",
    "Hana",
    "Ibrahim",
    "Jules",
    "Keiko",
    "Luis",
    "Maya",
    "Noor",
    "Oscar",
    "Priya",
    "Quinn",
    "Rosa",
    "Samuel",
    "Tamsin",
    "Uma",
    "Victor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
    "Aaron",
    "Beatriz",
    "Chidi",
    "Dana",
    "Emeka",
    "Fiona",
    "Graham",
    "Helena",
    "Isaac",
    "Jasmine",
    "Kofi",
    "Leah",
    "Marcus",
    "Nadia",
    "Owen",
    "Paloma",
    "Rafael",
    "Sienna",
)
LAST_NAMES = (
    "Abara",
    "Bergstrom",
    "Castillo",
    "Delgado",
    "Eriksen",
    "Fontaine",
    "Goldberg",
    "Haddad",
    "Ishikawa",
    "Jovanovic",
    "Kowalski",
    "Lindqvist",
    "Mbeki",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quintero",
    "Rahman",
    "Sandoval",
    "Takahashi",
    "Underwood",
    "Varga",
    "Whitfield",
    "Xu",
    "Yilmaz",
    "Zielinski",
    "Ansah",
    "Brennan",
    "Choudhury",
    "Dubois",
    "Esposito",
)
CREDENTIALS = (
    ("PMHNP", "APRN"),
    ("LCSW", "LCSW"),
    ("MD", "Physician"),
    ("PsyD", "Psychologist"),
    ("PhD", "Psychologist"),
    ("LMFT", "LMFT"),
    ("RN", "RN"),
    ("LPCC", "LPCC"),
    ("DO", "Physician"),
    ("MDiv, BCC", "Chaplain"),
)
STATES = ("CA", "OR", "WA", "NY", "CO", "TX", "MA", "IL")
OUTSIDE_PROGRAMMES = ("KTC", "KRIYA", "PRATI", "SAGE")
CORE = ("M1", "M2", "M3", "M4", "M5")
ADVANCED = ("M6", "M7")
SPECIALTY = ("HTH", "MUSIC", "MEDICAL", "INTEGRATION", "ETHICS", "ACT")
LATEST = date(2026, 11, 20)  # every training date is one that has already happened


@dataclass(frozen=True)
class Population:
    """What was inserted, for the report."""

    clinicians: int
    completions: int
    equivalencies: int
    applications: int


def _at(day: date, hour: int = 17) -> datetime:
    """A UTC timestamp on that day (when an instructor recorded something)."""
    return datetime.combine(day, time(hour), tzinfo=UTC)


def _after(rng: random.Random, day: date, low: int, high: int) -> date:
    """A date low..high days after `day`, never later than LATEST."""
    return min(day + timedelta(days=rng.randint(low, high)), LATEST)


def insert_population(
    session: Session,
    *,
    count: int,
    password_hash: str,
    instructor_id: int,
    seed: int = 20240904,
) -> Population:
    """Insert `count` clinicians with histories; returns how many rows of each kind."""
    rng = random.Random(seed)
    items: dict[str, int] = dict(session.execute(select(CatalogItem.code, CatalogItem.id)).all())
    sessions_by_item: dict[int, list[tuple[int, date]]] = {}
    for sid, item_id, ends_on in session.execute(
        select(RetreatSession.id, RetreatSession.item_id, RetreatSession.ends_on)
    ):
        sessions_by_item.setdefault(item_id, []).append((sid, ends_on))
    created = _at(date(2024, 1, 5))

    users = []
    for n in range(count):
        credentials, licence_type = rng.choice(CREDENTIALS)
        pre_licensed = rng.random() < 0.08
        users.append(
            {
                "email": f"clinician{n:04d}@population.example",
                "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                "credentials": "" if pre_licensed else credentials,
                "password_hash": password_hash,
                "auth_token": secrets.token_urlsafe(24),
                "active": True,
                "pre_licensed": pre_licensed,
                "licence_type": None if pre_licensed else licence_type,
                "licence_number": None if pre_licensed else f"{licence_type[:3].upper()}{n:06d}",
                "licence_state": None if pre_licensed else rng.choice(STATES),
                "licence_expires_on": None if pre_licensed else date(2027 + n % 3, 1 + n % 12, 1),
                "licence_verified_at": None if pre_licensed else created,
                "email_confirmed_at": created,
                "notify_optional": True,
                "created_at": created,
            }
        )
    session.execute(insert(User.__table__), users)
    ids = {
        email: uid
        for uid, email in session.execute(
            select(User.id, User.email).where(User.email.like("%@population.example"))
        )
    }
    session.execute(
        insert(UserRole.__table__),
        [{"user_id": uid, "role": Role.CLINICIAN.value} for uid in ids.values()],
    )

    completions: list[dict] = []
    equivalencies: list[dict] = []
    applications: list[dict] = []

    def complete(uid: int, code: str, on: date, source: CompletionSource, **extra: object) -> None:
        """Queue one completion row."""
        completions.append(
            {
                "user_id": uid,
                "item_id": items[code],
                "completed_on": on,
                "source": source.value,
                "recorded_by_id": instructor_id,
                "recorded_at": _at(on),
                "note": "",
                "revoked_at": None,
                "revoked_by_id": None,
                "revoke_reason": None,
                **extra,
            }
        )

    pre_licensed = {row["email"] for row in users if row["pre_licensed"]}
    for email, uid in sorted(ids.items()):
        stage = rng.random()
        # Those who went on to a 2024 retreat started their modules early in 2024.
        spread = 150 if stage > 0.7 else 700
        start = date(2024, 1, 8) + timedelta(days=rng.randint(0, spread))
        source = CompletionSource.IMPORT if start.year == 2024 else CompletionSource.INSTRUCTOR
        waived = rng.random() < 0.08
        if stage < 0.12:
            continue  # registered, nothing done yet
        if waived:
            equivalencies.append(
                _equivalency(
                    rng, uid, items["M1"], EquivalencyStatus.APPROVED, start, instructor_id
                )
            )
        else:
            complete(uid, "M1", start, source)
        done_core = 1 if stage < 0.35 else 3 if stage < 0.55 else 5
        day = start
        for code in CORE[1:done_core]:
            day = _after(rng, day, 14, 75)
            complete(uid, code, day, source)
        for code in rng.sample(SPECIALTY, k=rng.choice((0, 0, 1, 2, 3))):
            complete(uid, code, _after(rng, start, 5, 400), source)
        if stage > 0.7 and email not in pre_licensed:
            level1 = _retreat(rng, sessions_by_item, items["RETREAT-L1"])
            if level1 is not None:
                complete(uid, "RETREAT-L1", level1[1], CompletionSource.ATTENDANCE)
                applications.append(
                    _application(uid, level1[0], ApplicationStatus.ATTENDED, level1[1])
                )
                if stage > 0.9:
                    for code in ADVANCED:
                        day = _after(rng, day, 20, 90)
                        complete(uid, code, day, source)
                    advanced = _retreat(rng, sessions_by_item, items["RETREAT-ADV"])
                    if advanced is not None and rng.random() < 0.5:
                        applications.append(
                            _application(uid, advanced[0], ApplicationStatus.ACCEPTED, advanced[1])
                        )
        elif 0.55 <= stage <= 0.7:
            level1 = _retreat(rng, sessions_by_item, items["RETREAT-L1"])
            if level1 is not None:
                status = rng.choice(
                    (
                        ApplicationStatus.MEDICAL_REVIEW,
                        ApplicationStatus.ACCEPTED,
                        ApplicationStatus.WAITLISTED,
                        ApplicationStatus.NOT_CLEARED,
                        ApplicationStatus.WITHDRAWN,
                    )
                )
                applications.append(_application(uid, level1[0], status, level1[1]))
        if rng.random() < 0.04:
            equivalencies.append(
                _equivalency(
                    rng, uid, items["RETREAT-ADV"], EquivalencyStatus.PENDING, LATEST, instructor_id
                )
            )
        if rng.random() < 0.03 and completions and completions[-1]["user_id"] == uid:
            # An instructor's mistake, revoked with a reason, then the right date re-marked.
            wrong = dict(completions[-1])
            wrong.update(
                completed_on=wrong["completed_on"] - timedelta(days=7),
                revoked_at=_at(wrong["completed_on"], 18),
                revoked_by_id=instructor_id,
                revoke_reason="Marked with the wrong date",
            )
            completions.append(wrong)

    for chunk in _chunks(completions, 2000):
        session.execute(insert(Completion.__table__), chunk)
    if equivalencies:
        session.execute(insert(EquivalencyRequest.__table__), equivalencies)
    if applications:
        session.execute(insert(Application.__table__), applications)
    audit = [
        {
            "at": row["recorded_at"],
            "actor_id": instructor_id,
            "action": "completion.recorded",
            "subject_type": "completion",
            "subject_id": None,
            "person_id": row["user_id"],
            "facts": {"item_id": row["item_id"], "completed_on": row["completed_on"].isoformat()},
        }
        for row in completions
    ]
    for chunk in _chunks(audit, 2000):
        session.execute(insert(AuditEvent.__table__), chunk)
    return Population(
        clinicians=len(ids),
        completions=len(completions),
        equivalencies=len(equivalencies),
        applications=len(applications),
    )


def _chunks(rows: list[dict], size: int) -> list[list[dict]]:
    """Split rows into executemany batches."""
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def _retreat(
    rng: random.Random, sessions_by_item: dict[int, list[tuple[int, date]]], item_id: int
) -> tuple[int, date] | None:
    """A session of the retreat (id, last day), if the catalogue has any."""
    options = sessions_by_item.get(item_id) or []
    return rng.choice(options) if options else None


def _application(uid: int, session_id: int, status: ApplicationStatus, ends_on: date) -> dict:
    """One application row in the given status."""
    applied = _at(ends_on - timedelta(days=60), 10)
    decided = None if status == ApplicationStatus.MEDICAL_REVIEW else applied + timedelta(days=9)
    return {
        "user_id": uid,
        "session_id": session_id,
        "status": status.value,
        "low_risk": True,
        "applied_at": applied,
        "reviewed_at": decided,
        "decided_at": decided,
        "withdrawn_at": decided if status == ApplicationStatus.WITHDRAWN else None,
        "attendance_marked_at": _at(ends_on, 19) if status == ApplicationStatus.ATTENDED else None,
    }


def _equivalency(
    rng: random.Random,
    uid: int,
    item_id: int,
    status: EquivalencyStatus,
    on: date,
    reviewer_id: int,
) -> dict:
    """One equivalency request row; decided ones carry reviewer, date and reason."""
    decided = status != EquivalencyStatus.PENDING
    attended_to = on - timedelta(days=rng.randint(30, 300))
    return {
        "user_id": uid,
        "item_id": item_id,
        "outside_programme": rng.choice(OUTSIDE_PROGRAMMES),
        "attended_from": attended_to - timedelta(days=2),
        "attended_to": attended_to,
        "hours": 16,
        "description": "Introductory ketamine-assisted psychotherapy training, live online.",
        "status": status.value,
        "created_at": _at(on - timedelta(days=10)),
        "reviewer_id": reviewer_id if decided else None,
        "decided_at": _at(on - timedelta(days=3)) if decided else None,
        "decision_reason": "Certificate and syllabus match Module 1." if decided else None,
    }
