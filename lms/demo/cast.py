"""The demo's cast: staff, a fresh clinician and a dozen clinicians at varied stages, each
with the training history that puts them there (plain data; lms.demo.loader makes it so)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time, timedelta
from decimal import Decimal

from lms.auth.api import Role
from lms.config import PROJECT_ROOT

# --------------------------------------------------------------------------------------------
# The people and their stories (data)


@dataclass(frozen=True)
class Licence:
    """A demo licence; `verified` False leaves it waiting for an administrator."""

    type: str
    number: str
    state: str
    expires_on: date
    verified: bool = True


@dataclass(frozen=True)
class Complete:
    """An instructor's mark (or, for a retreat, its attendance record) on a real date."""

    code: str
    on: date
    note: str = ""


@dataclass(frozen=True)
class Revoke:
    """An instructor revokes the completion of `code` dated `on`, with a reason."""

    code: str
    on: date
    reason: str


@dataclass(frozen=True)
class Equivalent:
    """A request for credit for outside training, and its decision (None: still pending)."""

    code: str
    programme: str
    attended_from: date
    attended_to: date
    hours: Decimal
    description: str
    approve: bool | None = None
    reason: str = ""


@dataclass(frozen=True)
class Apply:
    """An application to the retreat session starting `starts_on` at `location`, with its
    screening (`yes`: the contraindications answered yes, with detail) and the reviewer's
    decision (None: still in medical review; True: cleared, so accepted or waitlisted)."""

    code: str
    starts_on: date
    location: str
    yes: tuple[tuple[str, str], ...] = ()
    clear: bool | None = None


@dataclass(frozen=True)
class DemoSession:
    """A retreat session the demo adds (a small group, so that a waitlist can be shown)."""

    code: str
    starts_on: date
    ends_on: date
    location: str
    capacity: int
    enrolment_deadline: date


@dataclass(frozen=True)
class DemoOffering:
    """A dated module offering the demo schedules (live online, with its hours)."""

    code: str
    days: tuple[date, ...]
    starts_at: time
    ends_at: time
    ce_hours_per_day: Decimal
    capacity: int
    join_url: str


@dataclass(frozen=True)
class Enrol:
    """The clinician enrols in the demo's offering of `code` that starts `starts_on`."""

    code: str
    starts_on: date


Step = Complete | Revoke | Equivalent | Apply | Enrol


@dataclass(frozen=True)
class Person:
    """A demo account and what it has done; `licence` None means pre-licensed."""

    email: str
    name: str
    credentials: str
    roles: frozenset[Role]
    licence: Licence | None
    stage: str
    steps: tuple[Step, ...] = field(default=())


def _licence(kind: str, number: str, state: str, verified: bool = True) -> Licence:
    """A licence valid well beyond the demo's dates."""
    return Licence(kind, number, state, date(2028, 6, 30), verified)


CLINICIAN = frozenset({Role.CLINICIAN})
M1_TO_5 = ("M1", "M2", "M3", "M4", "M5")
KTC_M1 = Equivalent(
    "M1",
    "KTC",
    date(2024, 3, 15),
    date(2024, 3, 17),
    Decimal("16"),
    "Ketamine Training Center introductory KAP course: ketamine basics, set and setting, "
    "screening and contraindications, integration. Live online, three days.",
    approve=True,
    reason="KTC's introductory course is an accepted Module 1 equivalent.",
)

STAFF: tuple[Person, ...] = (
    Person(
        "admin@example.org",
        "Jordan Ellis",
        "",
        frozenset({Role.ADMIN}),
        None,
        "administrator: users, roles, catalogue, sessions, audit log",
    ),
    Person(
        "instructor@example.org",
        "Naomi Feld",
        "PsyD",
        frozenset({Role.INSTRUCTOR}),
        None,
        "instructor: marks completions, reviews equivalencies, rosters",
    ),
    Person(
        "reviewer@example.org",
        "Victor Ramos",
        "MD",
        frozenset({Role.MEDICAL_REVIEWER}),
        None,
        "medical reviewer: the only role that reads screening answers",
    ),
)

FRESH_CLINICIAN = Person(
    "clinician@example.org",
    "Casey Morgan",
    "LCSW",
    CLINICIAN,
    _licence("LCSW", "LCS 81234", "CA"),
    "licensed and verified, has completed nothing yet",
)


def _modules(codes: tuple[str, ...], first: date, gap_days: int = 35) -> tuple[Complete, ...]:
    """Marks for modules taken one after the other, `gap_days` apart, from `first`."""
    return tuple(
        Complete(code, first + timedelta(days=i * gap_days)) for i, code in enumerate(codes)
    )


# Two places only: the third cleared applicant shows the waitlist.
SMALL_GROUP = DemoSession(
    "RETREAT-L1",
    date(2027, 3, 3),
    date(2027, 3, 7),
    "Ojai, CA (small-group session)",
    capacity=2,
    enrolment_deadline=date(2027, 2, 1),
)
PORTLAND_2027 = ("RETREAT-L1", date(2027, 4, 14), "Portland, OR")  # from the default catalogue
# An upcoming Module 3 with three places: the fourth clinician to enrol waits.
MODULE_3 = DemoOffering(
    "M3",
    (date(2027, 1, 16), date(2027, 1, 17)),
    time(9),
    time(13),
    Decimal("4"),
    capacity=3,
    join_url="https://video.example.org/j/kap-module-3",
)
IN_MODULE_3 = Enrol("M3", MODULE_3.days[0])
# A Module 2 that ran in October and is closed: day 1's attendance comes from the sample
# participant report in docs/ (one guest row matched by hand, one left unmatched), day 2 was
# marked on the grid. Samuel has evaluated it (his certificate is issued), Hannah has not
# (hers waits for her evaluation), Rachel missed day 1 and is listed with what she missed.
MODULE_2_CLOSED = DemoOffering(
    "M2",
    (date(2026, 10, 17), date(2026, 10, 18)),
    time(9),
    time(16),
    Decimal("4"),
    capacity=20,
    join_url="https://video.example.org/j/kap-module-2",
)
MODULE_2_PEOPLE = (
    "hannah.cho@example.org",
    "samuel.adeyemi@example.org",
    "rachel.stein@example.org",
)
MODULE_2_EVALUATED = "samuel.adeyemi@example.org"
SAMPLE_REPORT = PROJECT_ROOT / "docs" / "sample-participant-report.csv"
IN_SMALL_GROUP = ("RETREAT-L1", SMALL_GROUP.starts_on, SMALL_GROUP.location)

CLINICIANS: tuple[Person, ...] = (
    Person(
        "priya.raman@example.org",
        "Priya Raman",
        "PMHNP",
        CLINICIAN,
        _licence("APRN", "NP 5520931", "OR"),
        "Modules 1-5, Healing the Healer and the Level 1 retreat: the Advanced retreat is open",
        (
            *_modules(M1_TO_5, date(2024, 1, 20)),
            Complete("HTH", date(2024, 7, 13)),
            Complete(
                "RETREAT-L1",
                date(2024, 9, 8),
                "Attended 4-8 Sep 2024 in Portland (from the 2024 attendance records).",
            ),
        ),
    ),
    Person(
        "daniel.okafor@example.org",
        "Daniel Okafor",
        "LCSW",
        CLINICIAN,
        _licence("LCSW", "LCS 77102", "WA"),
        "Module 1 waived (approved KTC equivalent), Module 2 done: Level 1 retreat open",
        (KTC_M1, Complete("M2", date(2024, 10, 12))),
    ),
    Person(
        "sofia.marquez@example.org",
        "Sofia Marquez",
        "LMFT",
        CLINICIAN,
        _licence("LMFT", "LMFT 120488", "CA"),
        "mid-way: Modules 1 and 2; enrolled in the January Module 3",
        (*_modules(("M1", "M2"), date(2025, 1, 18), 42), IN_MODULE_3),
    ),
    Person(
        "ethan.brooks@example.org",
        "Ethan Brooks",
        "MD",
        CLINICIAN,
        _licence("Physician", "G 184420", "CA"),
        "Modules 1-3; outside retreat pending approval (Advanced retreat shows it)",
        (
            *_modules(("M1", "M2", "M3"), date(2025, 2, 8)),
            Equivalent(
                "RETREAT-L1",
                "SAGE",
                date(2025, 6, 2),
                date(2025, 6, 6),
                Decimal("36"),
                "SAGE Institute five-day residential experiential KAP retreat, Boulder, CO.",
            ),
        ),
    ),
    Person(
        "grace.lindqvist@example.org",
        "Grace Lindqvist",
        "PsyD",
        CLINICIAN,
        _licence("Psychologist", "PSY 33107", "CA"),
        "Module 2 marked on a wrong date, revoked and re-marked; enrolled in Module 3",
        (
            Complete("M1", date(2025, 2, 8)),
            Complete("M2", date(2025, 4, 5)),
            Revoke("M2", date(2025, 4, 5), "Marked on the wrong date: she attended on 12 April."),
            Complete("M2", date(2025, 4, 12)),
            IN_MODULE_3,
        ),
    ),
    Person(
        "samuel.adeyemi@example.org",
        "Samuel Adeyemi",
        "MDiv, BCC",
        CLINICIAN,
        _licence("Chaplain (BCC)", "BCC 40917", "IL"),
        "chaplain: Healing the Healer, Ethics, Module 1; accepted to the Ojai Level 1 retreat",
        (
            Complete("HTH", date(2025, 3, 22)),
            Complete("ETHICS", date(2025, 5, 3)),
            Complete("M1", date(2025, 6, 14)),
            Apply(*IN_SMALL_GROUP, clear=True),
            IN_MODULE_3,
        ),
    ),
    Person(
        "hannah.cho@example.org",
        "Hannah Cho",
        "MSW",
        CLINICIAN,
        None,
        "pre-licensed: takes modules, retreats stay locked; waitlisted for Module 3 (full)",
        (
            Complete("M1", date(2025, 9, 20)),
            Complete("ETHICS", date(2025, 10, 18)),
            IN_MODULE_3,
        ),
    ),
    Person(
        "rachel.stein@example.org",
        "Rachel Stein",
        "PhD",
        CLINICIAN,
        _licence("Psychologist", "PSY 29811", "NY", verified=False),
        "Module 1 done, licence waiting for verification; declined outside Module 3 credit",
        (
            Complete("M1", date(2026, 1, 24)),
            Equivalent(
                "M3",
                "Other: weekend webinar",
                date(2025, 11, 8),
                date(2025, 11, 9),
                Decimal("6"),
                "Two-day webinar on psychedelic ethics.",
                approve=False,
                reason="Six hours of webinar do not cover Module 3's group and virtual KAP.",
            ),
        ),
    ),
    Person(
        "leila.haddad@example.org",
        "Leila Haddad",
        "DO",
        CLINICIAN,
        _licence("Physician (DO)", "20A 11873", "CA"),
        "graduate: Modules 1-7, Music, Rainfall Medical, both 2024 retreats",
        (
            *_modules(M1_TO_5, date(2024, 1, 13), 28),
            Complete("MUSIC", date(2024, 6, 1)),
            Complete("MEDICAL", date(2024, 6, 29)),
            Complete(
                "RETREAT-L1",
                date(2024, 9, 8),
                "Attended 4-8 Sep 2024 in Portland (from the 2024 attendance records).",
            ),
            Complete(
                "RETREAT-ADV",
                date(2024, 10, 8),
                "Attended 3-8 Oct 2024 in San Francisco (from the 2024 attendance records).",
            ),
            Complete("M6", date(2025, 2, 15)),
            Complete("M7", date(2025, 5, 17)),
        ),
    ),
    Person(
        "marcus.bell@example.org",
        "Marcus Bell",
        "RN",
        CLINICIAN,
        _licence("RN", "RN 95310442", "CA"),
        "Modules 1-2, Diamonds from Heaven 2024; Level 1 application in medical review",
        (
            *_modules(("M1", "M2"), date(2024, 3, 9)),
            Complete(
                "RETREAT-DFH",
                date(2024, 7, 28),
                "Attended 26-28 Jul 2024 in San Francisco (from the 2024 attendance records).",
            ),
            Apply(*PORTLAND_2027, yes=(("sleep_apnea", "Mild; treated with CPAP every night."),)),
        ),
    ),
    Person(
        "amara.nwosu@example.org",
        "Amara Nwosu",
        "PMHNP",
        CLINICIAN,
        _licence("APRN", "NP 7702155", "WA"),
        "Modules 1-3 and Integration; accepted to the Ojai Level 1 retreat",
        (
            *_modules(("M1", "M2", "M3"), date(2025, 4, 12)),
            Complete("INTEGRATION", date(2025, 9, 6)),
            Apply(*IN_SMALL_GROUP, clear=True),
        ),
    ),
    Person(
        "tomas.eriksen@example.org",
        "Tomas Eriksen",
        "LPCC",
        CLINICIAN,
        _licence("LPCC", "LPCC 3391", "CA"),
        "Modules 1-4 and Music; cleared but waitlisted for the full Ojai retreat",
        (
            *_modules(("M1", "M2", "M3", "M4"), date(2025, 1, 11)),
            Complete("MUSIC", date(2025, 8, 2)),
            Apply(*IN_SMALL_GROUP, clear=True),
        ),
    ),
)
