"""`flask lms demo`: the accounts it makes, the stories behind them, and that reruns are safe."""

from __future__ import annotations

import stat
from datetime import date
from pathlib import Path

import pytest
from click.testing import Result
from clock_support import programme_today
from flask import Flask
from mail_support import code_of, link_in, outbox
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lms.audit.models import AuditEvent
from lms.auth import accounts
from lms.auth.models import Role, User
from lms.auth.services import authenticate, find_user_by_email
from lms.catalog.models import CatalogItem, ItemKind
from lms.db import Base, db
from lms.demo import CANDIDATES, CLINICIANS, CONSULTANT_ACCOUNTS, PASSWORD_FILE, STAFF
from lms.equivalency.models import EquivalencyRequest, EquivalencyStatus
from lms.offerings.models import Offering
from lms.progress.models import Completion

DEMO_PASSWORD = "demo password for the tests"


@pytest.fixture(autouse=True)
def quick_certificate_pdfs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Certificates are still issued for every demo mark, but with a stand-in PDF.

    Rendering is the certificates feature's to test; forty real WeasyPrint renders per demo
    run would make each test here take twenty seconds.
    """
    monkeypatch.setattr(
        "lms.certificates.base.render_pdf",
        lambda design, content: b"%PDF-1.4\n% demo test stand-in\n%%EOF\n",
    )


def run_demo(app: Flask, password: str | None = DEMO_PASSWORD) -> Result:
    """Invoke `flask lms demo` with LMS_DEMO_PASSWORD set to `password` (None: unset)."""
    return app.test_cli_runner().invoke(args=["lms", "demo"], env={"LMS_DEMO_PASSWORD": password})


def row_counts(session: Session) -> dict[str, int]:
    """How many rows each table holds."""
    session.rollback()  # read what the command committed, not a stale snapshot
    return {
        table.name: session.scalar(select(func.count()).select_from(table))
        for table in Base.metadata.sorted_tables
    }


def user(session: Session, email: str) -> User:
    """The account with that e-mail (it must exist)."""
    found = find_user_by_email(session, email)
    assert found is not None, email
    return found


def completions_of(session: Session, email: str) -> list[Completion]:
    """Every completion of the person, revoked ones included, oldest first."""
    return list(
        session.scalars(
            select(Completion)
            .where(Completion.user_id == user(session, email).id)
            .order_by(Completion.completed_on, Completion.id)
        )
    )


@pytest.fixture
def demo(app: Flask, session: Session) -> Result:
    """The demo data made once, with a known password."""
    result = run_demo(app)
    assert result.exit_code == 0, result.output
    session.rollback()
    return result


def test_demo_creates_the_documented_accounts_and_prints_every_login(
    demo: Result, session: Session
) -> None:
    expected = {
        "admin@example.org": Role.ADMIN,
        "instructor@example.org": Role.INSTRUCTOR,
        "reviewer@example.org": Role.MEDICAL_REVIEWER,
        "clinician@example.org": Role.CLINICIAN,
    }
    for email, role in expected.items():
        signed_in = authenticate(session, email, DEMO_PASSWORD)
        assert signed_in is not None, email
        assert signed_in.roles == frozenset({role})
    assert f"password for all: {DEMO_PASSWORD}" in demo.output
    for person in (*STAFF, *CLINICIANS, *CONSULTANT_ACCOUNTS, *CANDIDATES):
        assert person.email in demo.output
    assert row_counts(session)["users"] == (
        len(STAFF) + 1 + len(CLINICIANS) + len(CONSULTANT_ACCOUNTS) + len(CANDIDATES)
    )

    # clinician@example.org: licensed, verified, and has done nothing yet.
    clinician = user(session, "clinician@example.org")
    assert clinician.licensed_on(programme_today())
    assert completions_of(session, "clinician@example.org") == []
    assert not session.scalars(
        select(EquivalencyRequest).where(EquivalencyRequest.user_id == clinician.id)
    ).all()


def test_second_run_with_the_generated_password_changes_nothing_and_prints_the_same_one(
    app: Flask, session: Session
) -> None:
    first = run_demo(app, password=None)
    assert first.exit_code == 0, first.output
    stored = Path(app.config["LMS_INSTANCE_PATH"]) / PASSWORD_FILE
    password = stored.read_text().strip()
    assert len(password) >= 12
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert f"password for all: {password}" in first.output

    before = row_counts(session)
    second = run_demo(app, password=None)
    assert second.exit_code == 0, second.output
    assert row_counts(session) == before
    assert "nothing changed" in second.output
    assert f"password for all: {password}" in second.output
    assert authenticate(session, "instructor@example.org", password) is not None


def password_events(session: Session) -> list[AuditEvent]:
    """Every audited password change."""
    session.rollback()
    return list(
        session.scalars(select(AuditEvent).where(AuditEvent.action == "user.password_changed"))
    )


def test_a_run_with_another_password_changes_no_password_and_says_so(
    app: Flask, demo: Result, session: Session
) -> None:
    """`make run` with LMS_DEMO_PASSWORD set, then `lms demo` without it (the password in
    instance/demo_password, another one): no account's password changes, and the command says
    so instead of printing a password that does not work."""
    before = row_counts(session)
    result = run_demo(app, password=None)
    assert result.exit_code == 0, result.output
    assert row_counts(session) == before
    assert password_events(session) == []
    stored = (Path(app.config["LMS_INSTANCE_PATH"]) / PASSWORD_FILE).read_text().strip()
    everyone = len(STAFF) + 1 + len(CLINICIANS) + len(CONSULTANT_ACCOUNTS) + len(CANDIDATES)
    assert "Demo data already in place: nothing changed." in result.output
    assert f"{everyone} demo account(s) keep a password of their own" in result.output
    assert "lms demo --reset-passwords" in result.output
    assert "password for all" not in result.output
    assert f"password: {stored}; those marked * keep their own" in result.output
    assert " *admin@example.org" in result.output
    assert authenticate(session, "admin@example.org", DEMO_PASSWORD) is not None
    assert authenticate(session, "admin@example.org", stored) is None


def test_a_password_changed_through_the_reset_flow_survives_a_demo_run(
    app: Flask, demo: Result, session: Session
) -> None:
    email = "clinician@example.org"
    with app.test_request_context():
        accounts.request_password_reset(email)
        db.commit()
        token = code_of(link_in(outbox(session)[-1].text_body, "/reset-password#"))
        accounts.reset_password(db.session, token, "my very own new password")
        db.commit()
    changes = password_events(session)

    result = run_demo(app)
    assert result.exit_code == 0, result.output
    assert password_events(session) == changes
    assert authenticate(session, email, "my very own new password") is not None
    assert authenticate(session, email, DEMO_PASSWORD) is None
    assert "1 demo account(s) keep a password of their own" in result.output
    assert f" *{email}" in result.output
    assert "  admin@example.org" in result.output  # the others have the printed one
    assert "nothing changed" in result.output


def test_reset_passwords_sets_the_printed_one_ends_sessions_and_says_which(
    app: Flask, demo: Result, session: Session
) -> None:
    tokens_before = {u.email: u.auth_token for u in session.scalars(select(User))}
    result = app.test_cli_runner().invoke(
        args=["lms", "demo", "--reset-passwords"],
        env={"LMS_DEMO_PASSWORD": "a different demo password"},
    )
    assert result.exit_code == 0, result.output
    everyone = len(STAFF) + 1 + len(CLINICIANS) + len(CONSULTANT_ACCOUNTS) + len(CANDIDATES)
    assert f"{everyone} passwords reset" in result.output
    assert "nothing changed" not in result.output
    assert "Set the demo password on" in result.output
    assert "password for all: a different demo password" in result.output
    events = password_events(session)
    assert len(events) == everyone
    assert all("--reset-passwords" in event.facts["reason"] for event in events)
    assert authenticate(session, "admin@example.org", "a different demo password") is not None
    assert authenticate(session, "admin@example.org", DEMO_PASSWORD) is None
    for person in session.scalars(select(User)):
        assert person.auth_token != tokens_before[person.email], person.email


def test_too_short_demo_password_is_refused_and_nothing_is_created(
    app: Flask, session: Session
) -> None:
    result = run_demo(app, password="short")
    assert result.exit_code != 0
    assert "LMS_DEMO_PASSWORD" in result.output
    assert row_counts(session)["users"] == 0


def test_demo_clinicians_show_each_stage_with_real_dates_audit_and_certificates(
    demo: Result, session: Session
) -> None:
    from lms.audit.models import AuditEvent
    from lms.certificates.models import Certificate
    from lms.offerings.models import Enrolment, EnrolmentStatus
    from lms.progress.services import evaluate_item

    # Modules 1-5 and the Level 1 retreat: the Advanced retreat is open.
    priya = user(session, "priya.raman@example.org")
    assert evaluate_item(session, priya, "RETREAT-ADV").met
    # Module 1 waived by an approved KTC equivalent, never completed here.
    daniel = user(session, "daniel.okafor@example.org")
    waiver = session.scalar(
        select(EquivalencyRequest).where(EquivalencyRequest.user_id == daniel.id)
    )
    assert waiver.status == EquivalencyStatus.APPROVED and waiver.outside_programme == "KTC"
    assert "M1" not in {c.item.code for c in completions_of(session, daniel.email)}
    assert evaluate_item(session, daniel, "RETREAT-L1").met
    # A pending outside retreat unlocks nothing.
    ethan = user(session, "ethan.brooks@example.org")
    pending = session.scalar(
        select(EquivalencyRequest).where(EquivalencyRequest.user_id == ethan.id)
    )
    assert pending.status == EquivalencyStatus.PENDING
    assert not evaluate_item(session, ethan, "RETREAT-ADV").met
    # A revoked mark keeps its history beside the re-mark.
    grace = [
        c for c in completions_of(session, "grace.lindqvist@example.org") if c.item.code == "M2"
    ]
    assert [(c.completed_on, c.revoked_at is not None) for c in grace] == [
        (date(2025, 4, 5), True),
        (date(2025, 4, 12), False),
    ]
    assert grace[0].revoke_reason
    # Pre-licensed: modules yes, retreats no.
    hannah = user(session, "hannah.cho@example.org")
    assert hannah.pre_licensed and completions_of(session, hannah.email)
    assert not evaluate_item(session, hannah, "RETREAT-L1").met

    # Applications: one in medical review; a two-place session, two accepted, one waitlisted.
    def status_of(email: str) -> EnrolmentStatus:
        """The status of the person's one application to a session still to come."""
        return session.scalar(
            select(Enrolment.status)
            .join(Offering, Offering.id == Enrolment.offering_id)
            .where(
                Enrolment.user_id == user(session, email).id,
                Offering.starts_on > programme_today(),
            )
        )

    assert status_of("marcus.bell@example.org") == EnrolmentStatus.MEDICAL_REVIEW
    assert status_of("amara.nwosu@example.org") == EnrolmentStatus.ENROLLED
    assert status_of("samuel.adeyemi@example.org") == EnrolmentStatus.ENROLLED
    assert status_of("tomas.eriksen@example.org") == EnrolmentStatus.WAITLISTED

    # Real past dates; every mark audited; a current certificate for every live completion.
    dates = session.scalars(select(Completion.completed_on)).all()
    assert dates and all(date(2024, 1, 1) <= day <= programme_today() for day in dates)
    recorded = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "completion.recorded")
    )
    assert recorded == len(dates)
    live = session.scalar(
        select(func.count()).select_from(Completion).where(Completion.revoked_at.is_(None))
    )
    current = session.scalar(
        select(func.count())
        .select_from(Certificate)
        .where(Certificate.revoked_at.is_(None), Certificate.completion_id.is_not(None))
    )
    # Every live completion has its certificate but Hannah's Module 2, which waits for her
    # evaluation of the closed October offering (the Certificate of Training's award
    # certificate stands beside no completion).
    assert current == live - 1
    m2 = dict(
        session.execute(
            select(User.email, func.count(Certificate.id))
            .join(Completion, Completion.user_id == User.id)
            .join(CatalogItem, CatalogItem.id == Completion.item_id)
            .outerjoin(Certificate, Certificate.completion_id == Completion.id)
            .where(CatalogItem.code == "M2", Completion.offering_id.is_not(None))
            .group_by(User.email)
        ).all()
    )
    assert m2 == {"hannah.cho@example.org": 0, "samuel.adeyemi@example.org": 1}


def test_the_2024_retreat_sessions_are_closed_with_the_attendance_the_cast_records_show(
    demo: Result, session: Session
) -> None:
    from lms.offerings.closing import closing_result
    from lms.offerings.models import Enrolment, EnrolmentStatus, OfferingStatus
    from lms.progress.models import CompletionSource

    def past(code: str, location: str, year: int = 2024) -> Offering:
        """The catalogue's session of that retreat in that place and year."""
        return session.scalar(
            select(Offering)
            .join(CatalogItem, CatalogItem.id == Offering.item_id)
            .where(
                CatalogItem.code == code,
                Offering.location == location,
                Offering.starts_on.between(date(year, 1, 1), date(year, 12, 31)),
            )
        )

    expected = {
        ("RETREAT-L1", "Portland, OR"): {"Leila Haddad", "Priya Raman"},
        ("RETREAT-L1", "San Francisco, CA"): set(),
        ("RETREAT-ADV", "San Francisco, CA"): {"Leila Haddad"},
        ("RETREAT-DFH", "San Francisco, CA"): {"Marcus Bell"},
    }
    for (code, location), names in expected.items():
        retreat_session = past(code, location)
        assert retreat_session.status == OfferingStatus.CLOSED, (code, location)
        roster = session.scalars(
            select(Enrolment).where(Enrolment.offering_id == retreat_session.id)
        ).all()
        assert {e.user.name for e in roster} == names
        assert {e.status for e in roster} <= {EnrolmentStatus.ATTENDED}
        result = closing_result(session, retreat_session.id)
        assert {x.name for x in result.attended} == names and not result.absent
        for enrolment in roster:
            # The retreat's completion came from the session's attendance, dated its last day.
            done = session.scalar(
                select(Completion).where(
                    Completion.user_id == enrolment.user_id,
                    Completion.item_id == retreat_session.item_id,
                    Completion.revoked_at.is_(None),
                )
            )
            assert (done.source, done.offering_id, done.completed_on) == (
                CompletionSource.ATTENDANCE,
                retreat_session.id,
                retreat_session.ends_on,
            )
    # The sessions still to come are not closed.
    assert past("RETREAT-L1", "Portland, OR", 2027).status == OfferingStatus.SCHEDULED


def test_without_a_screening_key_applications_are_skipped_and_said_so(
    app: Flask, session: Session
) -> None:
    from lms.offerings.models import Enrolment, EnrolmentStatus
    from lms.retreats.models import Screening

    app.config["LMS_SCREENING_KEY"] = None
    result = run_demo(app)
    assert result.exit_code == 0, result.output
    assert "LMS_SCREENING_KEY is not set" in result.output
    # Module enrolments carry no health data and are made; retreat applications are not.
    kinds = session.execute(
        select(CatalogItem.kind, func.count())
        .select_from(Enrolment)
        .join(Offering, Offering.id == Enrolment.offering_id)
        .join(CatalogItem, CatalogItem.id == Offering.item_id)
        .group_by(CatalogItem.kind)
    ).all()
    # Past retreat attendance (the 2024 records) carries no screening, so it is made too.
    assert dict(kinds) == {ItemKind.CORE_MODULE: 7, ItemKind.RETREAT: 4}
    retreat_statuses = session.scalars(
        select(Enrolment.status)
        .join(Offering, Offering.id == Enrolment.offering_id)
        .join(CatalogItem, CatalogItem.id == Offering.item_id)
        .where(CatalogItem.kind == ItemKind.RETREAT)
    ).all()
    assert set(retreat_statuses) == {EnrolmentStatus.ATTENDED}
    assert session.scalar(select(func.count()).select_from(Screening)) == 0


def test_the_demo_module_offering_has_three_places_taken_and_one_waiting(
    app: Flask, session: Session
) -> None:
    from lms.offerings.models import Enrolment, EnrolmentStatus

    assert run_demo(app).exit_code == 0
    m3 = session.scalar(
        select(Offering)
        .join(CatalogItem, CatalogItem.id == Offering.item_id)
        .where(CatalogItem.code == "M3")
    )
    assert m3.join_url and len(m3.days) == 2 and all(d.starts_at for d in m3.days)
    statuses = sorted(
        session.scalars(select(Enrolment.status).where(Enrolment.offering_id == m3.id))
    )
    assert statuses.count(EnrolmentStatus.ENROLLED) == 3
    assert statuses.count(EnrolmentStatus.WAITLISTED) == 1
