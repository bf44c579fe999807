"""The demo's Certificate of Training: the approved consultants (one with an account) and
candidates at every stage, from a first confirmed consultation to ready for the award (plain
data; lms.demo.training_steps makes it so).

Consultations and sessions are dated back from the programme's day the demo runs on, so the
stages hold whenever it runs: a window closing within 60 days closes within 60 days of then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from lms.auth.api import Role
from lms.demo.cast import CLINICIAN, M1_TO_5, Complete, Person, _licence, _modules

# When the demo's consultants joined the approved list: before every demo consultation.
APPROVED_ON = date(2023, 1, 9)


@dataclass(frozen=True)
class DemoConsultant:
    """A consultant on the approved list (the account, if any, is in CONSULTANT_ACCOUNTS)."""

    name: str
    credentials: str
    email: str


@dataclass(frozen=True)
class Consult:
    """`count` consultations of `kind` with the consultant at `consultant`, `hours` each, the
    first `first_days_ago` days before the demo's day and then every `gap_days`; `answer`:
    "confirm", "decline" (with `comment`) or "await" (left for the consultant)."""

    consultant: str
    kind: str
    count: int
    hours: Decimal
    first_days_ago: int
    gap_days: int = 14
    answer: str = "confirm"
    comment: str = ""


@dataclass(frozen=True)
class Sessions:
    """KAP sessions in the session log: `therapist` as therapist (and `co_therapist` as
    co-therapist) with `clients` different clients, spread over the `months` months before
    the demo's month."""

    therapist: int
    clients: int
    months: int
    co_therapist: int = 0


@dataclass(frozen=True)
class Paper:
    """A document: the reflection paper (the clinician's upload) or the letter of
    recommendation (uploaded by `by`: "clinician", or "consultant" through the link of the
    candidate's first entry with them); `review` None leaves it waiting, "approve", or
    "changes" with `comment`."""

    kind: str
    by: str = "clinician"
    consultant: str = ""
    review: str | None = None
    comment: str = ""


@dataclass(frozen=True)
class CreditedConsultations:
    """Consultations held with another programme, asked for as outside credit; `approve`
    None leaves the request pending."""

    kind: str
    count: int
    hours: Decimal
    programme: str
    description: str
    approve: bool | None = None


@dataclass(frozen=True)
class Award:
    """Staff award the Certificate of Training (every part met), and the holder lists
    themselves in the directory of certified practitioners with their city and state."""

    city: str
    state: str


TrainingStep = Complete | Consult | Sessions | Paper | CreditedConsultations | Award

MIRA = DemoConsultant("Mira Solis", "MD", "mira.solis@example.org")
OWEN = DemoConsultant("Owen Hart", "LMFT", "owen.hart@example.org")
CONSULTANTS: tuple[DemoConsultant, ...] = (MIRA, OWEN)

CONSULTANT_ACCOUNTS: tuple[Person, ...] = (
    Person(
        MIRA.email,
        MIRA.name,
        MIRA.credentials,
        frozenset({Role.CONSULTANT}),
        None,
        "consultant (approved list, with an account): To confirm lists Omar's 3 consultations",
    ),
)


GROUP = "group_consultation"
INDIVIDUAL = "individual_consultation"

CANDIDATES: tuple[Person, ...] = (
    Person(
        "nora.kim@example.org",
        "Nora Kim",
        "LCSW",
        CLINICIAN,
        _licence("LCSW", "LCS 90412", "CA"),
        "Certificate of Training just started: Module 1 and a first group consultation confirmed",
        (
            Complete("M1", date(2026, 9, 19)),
            Consult(OWEN.email, GROUP, 1, Decimal(2), first_days_ago=12),
        ),
    ),
    Person(
        "omar.farouk@example.org",
        "Omar Farouk",
        "PsyD",
        CLINICIAN,
        _licence("Psychologist", "PSY 41876", "CA"),
        "Certificate of Training: 4 group consultations confirmed, 3 individual ones awaiting "
        "Mira Solis (sign in as her to confirm them)",
        (
            *_modules(("M1", "M2", "M3"), date(2025, 10, 4)),
            Consult(OWEN.email, GROUP, 4, Decimal(2), first_days_ago=120),
            Consult(MIRA.email, INDIVIDUAL, 3, Decimal(1), first_days_ago=40, answer="await"),
        ),
    ),
    Person(
        "julia.weber@example.org",
        "Julia Weber",
        "LMFT",
        CLINICIAN,
        _licence("LMFT", "LMFT 131207", "CA"),
        "Certificate of Training: a consultation declined by Owen Hart (wrong date), logged "
        "again and awaiting him",
        (
            *_modules(("M1", "M2"), date(2026, 2, 7)),
            Consult(
                OWEN.email,
                GROUP,
                1,
                Decimal(2),
                first_days_ago=30,
                answer="decline",
                comment="We had no group that day: I think it was the Tuesday after.",
            ),
            Consult(OWEN.email, GROUP, 1, Decimal(2), first_days_ago=26, answer="await"),
        ),
    ),
    Person(
        "kenji.sato@example.org",
        "Kenji Sato",
        "MD",
        CLINICIAN,
        _licence("Physician", "A 170233", "CA"),
        "Certificate of Training: 12 KAP sessions with 3 clients logged, 6 group and 6 "
        "individual consultations; outside consultation credit pending approval",
        (
            *_modules(M1_TO_5, date(2025, 3, 8)),
            Consult(OWEN.email, GROUP, 6, Decimal(2), first_days_ago=200),
            Consult(MIRA.email, INDIVIDUAL, 6, Decimal(1), first_days_ago=190),
            Sessions(therapist=12, clients=3, months=8, co_therapist=2),
            CreditedConsultations(
                INDIVIDUAL,
                3,
                Decimal(3),
                "Fluence",
                "Three individual consultations with a Fluence consultant, online, in 2024.",
            ),
        ),
    ),
    Person(
        "lucia.romero@example.org",
        "Lucia Romero",
        "PMHNP",
        CLINICIAN,
        _licence("APRN", "NP 6603518", "OR"),
        "Certificate of Training: reflection paper awaiting review; Mira Solis's letter (sent "
        "through her link) with changes asked",
        (
            *_modules(M1_TO_5, date(2025, 1, 25)),
            Complete("HTH", date(2025, 7, 12)),
            Consult(MIRA.email, INDIVIDUAL, 8, Decimal(1), first_days_ago=260),
            Consult(OWEN.email, GROUP, 9, Decimal(2), first_days_ago=250),
            Sessions(therapist=18, clients=3, months=10),
            Paper("reflection_paper"),
            Paper(
                "recommendation_letter",
                by="consultant",
                consultant=MIRA.email,
                review="changes",
                comment="Please sign the letter and add your licence number.",
            ),
        ),
    ),
    Person(
        "fatima.ali@example.org",
        "Fatima Ali",
        "LPCC",
        CLINICIAN,
        _licence("LPCC", "LPCC 5127", "CA"),
        "Certificate of Training: the 24-month window closes within 60 days, consultations "
        "and sessions still short",
        (
            *_modules(M1_TO_5, date(2024, 9, 14)),
            Consult(OWEN.email, GROUP, 10, Decimal(2), first_days_ago=690, gap_days=30),
            Consult(MIRA.email, INDIVIDUAL, 8, Decimal(1), first_days_ago=600, gap_days=30),
            Sessions(therapist=15, clients=3, months=20),
        ),
    ),
    Person(
        "isabel.reyes@example.org",
        "Isabel Reyes",
        "PhD",
        CLINICIAN,
        _licence("Psychologist", "PSY 38450", "CA"),
        "Certificate of Training: everything met (4 group consultations credited from KTC), "
        "ready for the award",
        (
            *_modules(M1_TO_5, date(2025, 1, 11)),
            Complete("HTH", date(2025, 6, 21)),
            Complete("MUSIC", date(2025, 7, 19)),
            Complete("RETREAT-L1", date(2025, 9, 21), "Attended a Level 1 retreat, Sep 2025."),
            CreditedConsultations(
                GROUP,
                4,
                Decimal(8),
                "KTC",
                "Four monthly group consultations in KTC's consultation group, online, 2025.",
                approve=True,
            ),
            Consult(OWEN.email, GROUP, 8, Decimal(2), first_days_ago=330),
            Consult(MIRA.email, INDIVIDUAL, 12, Decimal(1), first_days_ago=320, gap_days=10),
            Sessions(therapist=18, clients=4, months=10),
            Paper("reflection_paper", review="approve"),
            Paper(
                "recommendation_letter", by="consultant", consultant=MIRA.email, review="approve"
            ),
        ),
    ),
    Person(
        "samuel.osei@example.org",
        "Samuel Osei",
        "LMFT",
        CLINICIAN,
        _licence("LMFT", "LMFT 118934", "OR"),
        "Certificate of Training awarded; listed in the directory of certified practitioners",
        (
            *_modules(M1_TO_5, date(2024, 11, 2)),
            Complete("ETHICS", date(2025, 5, 17)),
            Complete("INTEGRATION", date(2025, 6, 14)),
            Complete("RETREAT-L1", date(2025, 8, 24), "Attended a Level 1 retreat, Aug 2025."),
            Consult(OWEN.email, GROUP, 12, Decimal(2), first_days_ago=400, gap_days=30),
            Consult(MIRA.email, INDIVIDUAL, 12, Decimal(1), first_days_ago=380, gap_days=25),
            Sessions(therapist=20, clients=5, months=12),
            Paper("reflection_paper", review="approve"),
            Paper(
                "recommendation_letter", by="consultant", consultant=MIRA.email, review="approve"
            ),
            Award(city="Portland", state="OR"),
        ),
    ),
)
