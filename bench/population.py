"""Bulk-insert a realistic population of clinicians for the benchmark, in big batches.

Going through the services for 100,000 people would take hours (every completion renders a
certificate); the benchmark needs the rows the pages read, with the shapes real use gives
them: completions with real dates and sources, revocations with a re-mark, approved,
pending and declined equivalencies, applications in every status, one audit event per
recorded completion and per issued certificate, and ONE CERTIFICATE ROW PER LIVE COMPLETION
with its frozen content. Every certificate row stores the same small valid PDF (`BENCH_PDF`,
a few hundred bytes, with its real SHA-256) instead of a 30 KB render each: the pages never
open the bytes, and 460,000 real renders would be 14 GB and hours of CPU.

Rows go in per block of clinicians with their primary keys chosen here (no read-back):
executemany batches on SQLite, COPY on PostgreSQL; the PostgreSQL sequences are moved past
them at the end, so the app's own inserts carry on from there.
"""

from __future__ import annotations

import hashlib
import json
import random
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, Table, func, insert, select

from lms.audit.models import AuditEvent
from lms.auth.models import Role, User, UserRole
from lms.catalog.models import CatalogItem
from lms.certificates.codes import ALPHABET, CODE_LENGTH, format_serial, group
from lms.certificates.context import certificate_content
from lms.certificates.models import Certificate
from lms.certificates.services import design_for, expiry_for, holder_of, item_facts
from lms.clock import DEFAULT_TIME_ZONE, date_in, time_in, zone_named
from lms.equivalency.models import EquivalencyRequest, EquivalencyStatus
from lms.offerings.models import Enrolment, EnrolmentSource, EnrolmentStatus, Offering
from lms.progress.models import Completion, CompletionSource


def _minimal_pdf() -> bytes:
    """A tiny one-page PDF with a correct cross-reference table (stands in for a render)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 792 612] >>",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


BENCH_PDF = _minimal_pdf()
BENCH_PDF_SHA256 = hashlib.sha256(BENCH_PDF).hexdigest()
BLOCK = 5000  # clinicians per block: one batch of each table, then the next block
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
PUBLIC_URL = "http://127.0.0.1"


@dataclass
class Population:
    """What was inserted, for the report, and the clinicians with nothing recorded yet."""

    clinicians: int = 0
    completions: int = 0
    certificates: int = 0
    equivalencies: int = 0
    applications: int = 0
    audit_events: int = 0
    fresh_ids: list[int] = field(default_factory=list)

    def describe(self) -> str:
        """One line of counts."""
        return (
            f"{self.clinicians:,} clinicians, {self.completions:,} completions, "
            f"{self.certificates:,} certificates, {self.equivalencies:,} equivalency requests, "
            f"{self.applications:,} applications, {self.audit_events:,} audit events"
        )


@dataclass(frozen=True)
class _Catalogue:
    """The catalogue as the generator needs it: ids, certificate facts, retreat sessions."""

    ids: dict[str, int]
    items: dict[int, CatalogItem]
    sessions: dict[int, list[_Session]]
    settings: dict[str, Any]
    # Places held in each upcoming session so far (accepted applications), kept within its
    # capacity as real sign-ups are: the rest of those who applied wait on the list.
    taken: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Session:
    """A retreat session as the generator needs it."""

    id: int
    ends_on: date
    capacity: int

    @property
    def past(self) -> bool:
        """Over by the latest training date (attended, or not), not open to applications."""
        return self.ends_on <= LATEST


def _at(day: date, hour: int = 17) -> datetime:
    """A UTC timestamp on that day (when an instructor recorded something)."""
    return datetime.combine(day, time(hour), tzinfo=UTC)


def _after(rng: random.Random, day: date, low: int, high: int) -> date:
    """A date low..high days after `day`, never later than LATEST."""
    return min(day + timedelta(days=rng.randint(low, high)), LATEST)


def verification_code(rng: random.Random) -> str:
    """A printed-form verification code drawn from `rng` (fast; uniqueness by its 98 bits)."""
    number = rng.getrandbits(100)
    symbols = []
    for _ in range(CODE_LENGTH):
        number, digit = divmod(number, len(ALPHABET))
        symbols.append(ALPHABET[digit])
    return group("".join(symbols))


def _sql_value(value: object) -> object:
    """A Python value as COPY wants it (enums by value, JSON as text)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def bulk_insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows (all with the same keys): COPY on PostgreSQL, executemany batches elsewhere."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        for start in range(0, len(rows), 10_000):
            conn.execute(insert(table), rows[start : start + 10_000])
        return
    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([_sql_value(row[c]) for c in columns])


def _next_id(conn: Connection, table: Table) -> int:
    """One more than the table's largest id."""
    return (conn.scalar(select(func.max(table.c.id))) or 0) + 1


def move_sequences(conn: Connection, tables: Iterable[Table]) -> None:
    """On PostgreSQL, set each table's id sequence past the ids inserted by hand."""
    if conn.dialect.name != "postgresql":
        return  # SQLite's INTEGER PRIMARY KEY continues after the largest id by itself
    for table in tables:
        top = conn.scalar(select(func.coalesce(func.max(table.c.id), 0)))
        sequence = func.pg_get_serial_sequence(table.name, "id")
        conn.execute(select(func.setval(sequence, top + 1, False)))


def _catalogue(conn: Connection, settings: dict[str, Any]) -> _Catalogue:
    """Read the loaded catalogue once."""
    from sqlalchemy.orm import Session

    with Session(bind=conn) as session:
        items = {item.id: item for item in session.scalars(select(CatalogItem))}
        for item in items.values():
            session.expunge(item)
        sessions: dict[int, list[_Session]] = {}
        for sid, item_id, ends_on, capacity in session.execute(
            select(Offering.id, Offering.item_id, Offering.ends_on, Offering.capacity)
        ):
            sessions.setdefault(item_id, []).append(_Session(sid, ends_on, capacity))
    return _Catalogue({i.code: i.id for i in items.values()}, items, sessions, settings)


def insert_population(
    conn: Connection,
    *,
    count: int,
    password_hash: str,
    instructor_id: int,
    settings: dict[str, Any],
    seed: int = 20240904,
    progress: Callable[[int], None] | None = None,
) -> Population:
    """Insert `count` clinicians with histories and certificates, committing per block."""
    rng = random.Random(seed)
    catalogue = _catalogue(conn, settings)
    ids = {t.name: _next_id(conn, t) for t in (User.__table__, Completion.__table__)}
    ids["certificates"] = _next_id(conn, Certificate.__table__)
    report = Population()
    for start in range(0, count, BLOCK):
        block = _Block(rng, catalogue, instructor_id, ids, report)
        block.generate(range(start, min(start + BLOCK, count)), password_hash)
        block.insert(conn)
        conn.commit()
        if progress is not None:
            progress(min(start + BLOCK, count))
    move_sequences(
        conn,
        [
            User.__table__,
            Completion.__table__,
            Certificate.__table__,
            AuditEvent.__table__,
            EquivalencyRequest.__table__,
            Enrolment.__table__,
        ],
    )
    conn.commit()
    return report


class _Block:
    """The rows of one block of clinicians, generated in memory, then inserted."""

    def __init__(
        self,
        rng: random.Random,
        catalogue: _Catalogue,
        instructor_id: int,
        ids: dict[str, int],
        report: Population,
    ) -> None:
        """Start an empty block that takes its ids from `ids` (advanced as it goes)."""
        self.rng, self.catalogue, self.instructor_id = rng, catalogue, instructor_id
        self.ids, self.report = ids, report
        self.users: list[dict] = []
        self.roles: list[dict] = []
        self.completions: list[dict] = []
        self.certificates: list[dict] = []
        self.equivalencies: list[dict] = []
        self.applications: list[dict] = []
        self.audit: list[dict] = []
        self.holders: dict[int, SimpleNamespace] = {}

    def _take(self, kind: str) -> int:
        """The next primary key of that table."""
        value = self.ids[kind]
        self.ids[kind] = value + 1
        return value

    def generate(self, numbers: range, password_hash: str) -> None:
        """Generate the clinicians numbered `numbers` and everything they did."""
        rng = self.rng
        created = _at(date(2024, 1, 5))
        for n in numbers:
            credentials, licence_type = rng.choice(CREDENTIALS)
            pre_licensed = rng.random() < 0.08
            uid = self._take("users")
            row = {
                "id": uid,
                "email": f"clinician{n:06d}@population.example",
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
            self.users.append(row)
            self.roles.append({"user_id": uid, "role": Role.CLINICIAN.value})
            self.holders[uid] = SimpleNamespace(
                name=row["name"],
                credentials=row["credentials"],
                licence_type=row["licence_type"],
                licence_number=row["licence_number"],
                licence_state=row["licence_state"],
            )
            if not self._history(uid, pre_licensed) and not pre_licensed:
                self.report.fresh_ids.append(uid)
        self.report.clinicians += len(numbers)

    def _complete(self, uid: int, code: str, on: date, source: CompletionSource) -> None:
        """Queue one live completion, its certificate and their audit events."""
        rng, item_id = self.rng, self.catalogue.ids[code]
        completion_id = self._take("completions")
        recorded_at = _at(on)
        self.completions.append(
            {
                "id": completion_id,
                "user_id": uid,
                "item_id": item_id,
                "completed_on": on,
                "source": source.value,
                "recorded_by_id": self.instructor_id,
                "recorded_at": recorded_at,
                "note": "",
                "revoked_at": None,
                "revoked_by_id": None,
                "revoke_reason": None,
            }
        )
        self._event("completion.recorded", "completion", completion_id, uid, recorded_at)
        item = self.catalogue.items[item_id]
        certificate_id = self._take("certificates")
        issued_at = recorded_at + timedelta(seconds=rng.randint(1, 90))
        zone = zone_named(self.catalogue.settings.get("time_zone") or DEFAULT_TIME_ZONE)
        local_issue = time_in(issued_at, zone)
        expires_at = expiry_for(item, local_issue, self.catalogue.settings)
        code_text = verification_code(rng)
        serial = format_serial(local_issue.year, certificate_id)
        design = design_for(item)
        content = certificate_content(
            design=design,
            holder=holder_of(self.holders[uid]),
            item=item_facts(item),
            completed_on=on,
            issued_on=local_issue.date(),
            expires_on=date_in(expires_at, zone) if expires_at else None,
            serial=serial,
            code=code_text,
            verify_url=f"{PUBLIC_URL}/verify/{code_text}",
            programme=self.catalogue.settings,
        )
        self.certificates.append(
            {
                "id": certificate_id,
                "serial": serial,
                "code": code_text,
                "user_id": uid,
                "item_id": item_id,
                "completion_id": completion_id,
                "design": design,
                "content": content,
                "pdf": BENCH_PDF,
                "sha256": BENCH_PDF_SHA256,
                "issued_at": issued_at,
                "rendered_at": issued_at,
                "expires_at": expires_at,
                "revoked_at": None,
                "revoked_by_id": None,
                "revoke_reason": None,
                "superseded_by_id": None,
            }
        )
        self._event("certificate.issued", "certificate", certificate_id, uid, issued_at)

    def _event(self, action: str, kind: str, subject: int, uid: int, at: datetime) -> None:
        """Queue one audit event by the instructor about that person."""
        self.audit.append(
            {
                "at": at,
                "actor_id": self.instructor_id,
                "action": action,
                "subject_type": kind,
                "subject_id": subject,
                "person_id": uid,
                "facts": {},
            }
        )

    def _revoked_mistake(self, uid: int) -> None:
        """An instructor's wrong date, revoked with a reason (the right one stays live)."""
        right = self.completions[-1]
        self.completions.append(
            {
                **right,
                "id": self._take("completions"),
                "completed_on": right["completed_on"] - timedelta(days=7),
                "recorded_at": right["recorded_at"] - timedelta(hours=1),
                "revoked_at": _at(right["completed_on"], 18),
                "revoked_by_id": self.instructor_id,
                "revoke_reason": "Marked with the wrong date",
            }
        )

    def _history(self, uid: int, pre_licensed: bool) -> bool:
        """Queue what this clinician did; False when they have done nothing yet."""
        rng, ids, instructor_id = self.rng, self.catalogue.ids, self.instructor_id
        stage = rng.random()
        # Those who went on to a 2024 retreat started their modules early in 2024.
        spread = 150 if stage > 0.7 else 700
        start = date(2024, 1, 8) + timedelta(days=rng.randint(0, spread))
        source = CompletionSource.IMPORT if start.year == 2024 else CompletionSource.INSTRUCTOR
        waived = rng.random() < 0.08
        if stage < 0.12:
            return False  # registered, nothing done yet
        if waived:
            self.equivalencies.append(
                _equivalency(rng, uid, ids["M1"], EquivalencyStatus.APPROVED, start, instructor_id)
            )
        else:
            self._complete(uid, "M1", start, source)
        done_core = 1 if stage < 0.35 else 3 if stage < 0.55 else 5
        day = start
        for code in CORE[1:done_core]:
            day = _after(rng, day, 14, 75)
            self._complete(uid, code, day, source)
        for code in rng.sample(SPECIALTY, k=rng.choice((0, 0, 1, 2, 3))):
            self._complete(uid, code, _after(rng, start, 5, 400), source)
        sessions = self.catalogue.sessions
        if stage > 0.7 and not pre_licensed:
            # Attended: a session that is over, dated when it ended.
            level1 = _retreat(rng, sessions, ids["RETREAT-L1"], past=True)
            if level1 is not None:
                self._complete(uid, "RETREAT-L1", level1.ends_on, CompletionSource.ATTENDANCE)
                self.applications.append(
                    _application(uid, level1.id, EnrolmentStatus.ATTENDED, level1.ends_on)
                )
                if stage > 0.9:
                    for code in ADVANCED:
                        day = _after(rng, day, 20, 90)
                        self._complete(uid, code, day, source)
                    advanced = _retreat(rng, sessions, ids["RETREAT-ADV"], past=False)
                    if advanced is not None and rng.random() < 0.5:
                        self._apply(uid, advanced, EnrolmentStatus.ENROLLED)
        elif 0.55 <= stage <= 0.7:
            # Applied and waiting: an upcoming session.
            level1 = _retreat(rng, sessions, ids["RETREAT-L1"], past=False)
            if level1 is not None:
                status = rng.choice(
                    (
                        EnrolmentStatus.MEDICAL_REVIEW,
                        EnrolmentStatus.ENROLLED,
                        EnrolmentStatus.WAITLISTED,
                        EnrolmentStatus.NOT_CLEARED,
                        EnrolmentStatus.WITHDRAWN,
                    )
                )
                self._apply(uid, level1, status)
        if rng.random() < 0.04:
            self.equivalencies.append(
                _equivalency(
                    rng, uid, ids["RETREAT-ADV"], EquivalencyStatus.PENDING, LATEST, instructor_id
                )
            )
        if rng.random() < 0.03 and self.completions and self.completions[-1]["user_id"] == uid:
            self._revoked_mistake(uid)
        return True

    def _apply(self, uid: int, retreat: _Session, status: EnrolmentStatus) -> None:
        """An application to an upcoming session; a place only while places are left."""
        if status == EnrolmentStatus.ENROLLED:
            taken = self.catalogue.taken.get(retreat.id, 0)
            if taken >= retreat.capacity:
                status = EnrolmentStatus.WAITLISTED
            else:
                self.catalogue.taken[retreat.id] = taken + 1
        self.applications.append(_application(uid, retreat.id, status, retreat.ends_on))

    def insert(self, conn: Connection) -> None:
        """Insert the block's rows, parents first, and count them."""
        bulk_insert(conn, User.__table__, self.users)
        bulk_insert(conn, UserRole.__table__, self.roles)
        bulk_insert(conn, Completion.__table__, self.completions)
        bulk_insert(conn, Certificate.__table__, self.certificates)
        bulk_insert(conn, EquivalencyRequest.__table__, self.equivalencies)
        bulk_insert(conn, Enrolment.__table__, self.applications)
        bulk_insert(conn, AuditEvent.__table__, self.audit)
        report = self.report
        report.completions += len(self.completions)
        report.certificates += len(self.certificates)
        report.equivalencies += len(self.equivalencies)
        report.applications += len(self.applications)
        report.audit_events += len(self.audit)


def _retreat(
    rng: random.Random, sessions_by_item: dict[int, list[_Session]], item_id: int, *, past: bool
) -> _Session | None:
    """A session of the retreat that is over (`past`) or still to come, if there is one."""
    options = [s for s in sessions_by_item.get(item_id) or [] if s.past == past]
    return rng.choice(options) if options else None


def _application(uid: int, session_id: int, status: EnrolmentStatus, ends_on: date) -> dict:
    """One application row in the given status."""
    applied = _at(min(ends_on - timedelta(days=60), LATEST), 10)  # never in the future
    decided = None if status == EnrolmentStatus.MEDICAL_REVIEW else applied + timedelta(days=9)
    return {
        "user_id": uid,
        "offering_id": session_id,
        "status": status.value,
        "source": EnrolmentSource.SELF.value,  # COPY fills no column default
        "low_risk": True,
        "applied_at": applied,
        "reviewed_at": decided,
        "decided_at": decided,
        "withdrawn_at": decided if status == EnrolmentStatus.WITHDRAWN else None,
        "attendance_marked_at": _at(ends_on, 19) if status == EnrolmentStatus.ATTENDED else None,
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
