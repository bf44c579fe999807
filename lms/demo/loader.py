"""Making the demo so through the real services: every step checks whether it has already
happened before doing it, so a second run changes nothing and a newer release adds only what is
new."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from io import BytesIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lms.auth.api import User, password_problem
from lms.catalog.api import CatalogItem
from lms.db import utcnow
from lms.demo.cast import (
    CLINICIANS,
    FRESH_CLINICIAN,
    MODULE_2_CLOSED,
    MODULE_2_EVALUATED,
    MODULE_2_PEOPLE,
    MODULE_3,
    SAMPLE_REPORT,
    SMALL_GROUP,
    STAFF,
    Complete,
    DemoOffering,
    Enrol,
    Equivalent,
    Person,
    Revoke,
)
from lms.demo.certificate_settings import ensure_signatories
from lms.demo.passwords import DemoPasswords, PasswordReport
from lms.demo.retreat_steps import (
    attended_past_session,
    close_past_sessions,
    do_apply,
    ensure_session,
    find_offering_id,
    item_id,
    past_session_id,
)
from lms.demo.training_cast import CANDIDATES, CONSULTANT_ACCOUNTS
from lms.demo.training_steps import TrainingStory, ensure_consultants
from lms.equivalency.api import EquivalencyRequest, EquivalencyStatus
from lms.errors import InvalidInput
from lms.offerings.api import Offering
from lms.progress.api import Completion, CompletionSource
from lms.storage import Storage

# --------------------------------------------------------------------------------------------
# Making it so


@dataclass
class DemoReport:
    """What a run did, and the logins to print."""

    password: str
    people: list[Person]
    created: list[str] = field(default_factory=list)
    steps_done: int = 0
    skipped: set[str] = field(default_factory=set)
    passwords: PasswordReport = field(default_factory=PasswordReport)

    @property
    def changed(self) -> bool:
        """Whether the run wrote anything (an account, a training record, a password)."""
        return bool(self.created or self.steps_done or self.passwords.reset)


def _ensure_catalogue(session: Session, admin_id: int) -> None:
    """Load the default catalogue when none is loaded (`make run` loads it first)."""
    if session.scalar(select(func.count()).select_from(CatalogItem)):
        return
    from lms.catalog.services import DEFAULT_CATALOG, load_catalog

    load_catalog(session, DEFAULT_CATALOG, actor_id=admin_id)


def _ensure_person(
    session: Session,
    person: Person,
    passwords: DemoPasswords,
    admin: User | None,
    report: DemoReport,
) -> User:
    """Create the account with the demo password unless it exists (then its password is
    left alone unless a reset was asked for: DemoPasswords.settle)."""
    from lms.auth import services as auth

    user = auth.find_user_by_email(session, person.email)
    if user is not None:
        passwords.settle(session, user, admin)
        return user
    licence = (
        auth.Licence(pre_licensed=True)
        if person.licence is None
        else auth.Licence(
            pre_licensed=False,
            type=person.licence.type,
            number=person.licence.number,
            state=person.licence.state,
            expires_on=person.licence.expires_on,
        )
    )
    user = auth.create_user(
        session,
        email=person.email,
        name=person.name,
        password=None,
        roles=person.roles,
        credentials=person.credentials,
        licence=licence,
        actor_id=admin.id if admin else None,
    )
    user.password_hash = passwords.hash
    # Demo addresses are not real mailboxes; treat them as confirmed.
    user.email_confirmed_at = utcnow()
    if person.licence is not None and person.licence.verified and admin is not None:
        auth.verify_licence(session, user, actor=admin)
    session.flush()
    report.created.append(person.email)
    return user


def _completion_on(session: Session, user_id: int, code: str, on: date) -> Completion | None:
    """The person's completion of `code` dated `on` (live or revoked), if any."""
    return session.scalar(
        select(Completion)
        .where(
            Completion.user_id == user_id,
            Completion.item_id == item_id(session, code),
            Completion.completed_on == on,
        )
        .order_by(Completion.id.desc())
        .limit(1)
    )


def _do_complete(session: Session, user: User, step: Complete, instructor: User) -> bool:
    """Record the completion unless one with that date exists (or a live one does)."""
    from lms.progress.services import record_completion

    retreat = step.code.startswith("RETREAT-")
    if retreat and (past := past_session_id(session, step.code, step.on)) is not None:
        return attended_past_session(session, user, past, instructor)
    if _completion_on(session, user.id, step.code, step.on) is not None:
        return False
    live = session.scalar(
        select(Completion.id).where(
            Completion.user_id == user.id,
            Completion.item_id == item_id(session, step.code),
            Completion.is_live,
        )
    )
    if live is not None:
        return False
    record_completion(
        session,
        user_id=user.id,
        item_code=step.code,
        completed_on=step.on,
        # A retreat with no session on record: its attendance arrives as imported history.
        source=CompletionSource.IMPORT if retreat else CompletionSource.INSTRUCTOR,
        actor_id=instructor.id,
        note=step.note,
    )
    return True


def _do_revoke(session: Session, user: User, step: Revoke, instructor: User) -> bool:
    """Revoke the completion dated `on` unless it is already revoked."""
    from lms.progress.services import revoke_completion

    completion = _completion_on(session, user.id, step.code, step.on)
    if completion is None or completion.revoked_at is not None:
        return False
    revoke_completion(session, completion.id, actor_id=instructor.id, reason=step.reason)
    return True


def evidence_pdf(title: str, lines: list[str]) -> bytes:
    """A small, valid one-page PDF standing in for an uploaded certificate of attendance."""
    text = " ".join(
        f"({line.replace('(', '[').replace(')', ']')}) Tj 0 -22 Td" for line in [title, *lines]
    )
    stream = f"BT /F1 14 Tf 72 720 Td {text} ET".encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def _do_equivalent(
    session: Session, user: User, step: Equivalent, reviewer: User, evidence_store: Storage
) -> bool:
    """Ask for the credit (with an evidence PDF) and decide it, unless already asked."""
    from lms.equivalency.services import RequestInput, decide_request, submit_request

    asked = session.scalar(
        select(EquivalencyRequest).where(
            EquivalencyRequest.user_id == user.id,
            EquivalencyRequest.item_id == item_id(session, step.code),
        )
    )
    created = asked is None
    if asked is None:
        evidence = evidence_pdf(
            f"{step.programme}: certificate of attendance",
            [
                f"Participant: {user.name}",
                f"Dates: {step.attended_from.isoformat()} to {step.attended_to.isoformat()}",
                f"Hours: {step.hours}",
            ],
        )
        asked = submit_request(
            session,
            user_id=user.id,
            data=RequestInput(
                item_code=step.code,
                outside_programme=step.programme,
                attended_from=step.attended_from,
                attended_to=step.attended_to,
                hours=step.hours,
                description=step.description,
            ),
            evidence_store=evidence_store,
            evidence_stream=BytesIO(evidence),
            evidence_filename=f"{step.programme.split(':')[0].lower()}-certificate.pdf",
        )
    if step.approve is None or asked.status != EquivalencyStatus.PENDING:
        return created
    decide_request(
        session, asked.id, reviewer_id=reviewer.id, approve=step.approve, reason=step.reason
    )
    return True


def _schedule(
    session: Session, spec: DemoOffering, actor: User, facilitator_ids: tuple[int, ...] = ()
) -> Offering:
    """Schedule a demo module offering: live online, each day at the spec's hours."""
    from lms.offerings.api import DaySpec, OfferingFormat, OfferingInput, create_offering

    return create_offering(
        session,
        item_code=spec.code,
        data=OfferingInput(
            days=tuple(
                DaySpec(day, spec.starts_at, spec.ends_at, spec.ce_hours_per_day)
                for day in spec.days
            ),
            format=OfferingFormat.LIVE_ONLINE,
            join_url=spec.join_url,
            capacity=spec.capacity,
            facilitator_ids=facilitator_ids,
        ),
        actor_id=actor.id,
    )


def _ensure_offering(session: Session, spec: DemoOffering, admin: User) -> bool:
    """Schedule the demo's module offering unless it exists."""
    if find_offering_id(session, spec.code, spec.days[0], "") is not None:
        return False
    _schedule(session, spec, admin)
    return True


def _ensure_closed_module(
    session: Session, spec: DemoOffering, instructor: User, report: DemoReport
) -> bool:
    """Run the demo's past Module 2 from enrolment to evaluation, unless it exists."""
    from lms.auth.services import find_user_by_email
    from lms.evaluations.services import evaluation_of, submit_evaluation
    from lms.offerings.api import (
        CellInput,
        ParticipantRow,
        close_offering,
        enrol_user,
        import_report_file,
        match_row,
        save_cells,
        token,
    )

    if find_offering_id(session, spec.code, spec.days[0], "") is not None:
        return False
    offering = _schedule(session, spec, instructor, facilitator_ids=(instructor.id,))
    people = {email: find_user_by_email(session, email) for email in MODULE_2_PEOPLE}
    places = {
        email: enrol_user(
            session,
            offering.id,
            user.id,
            actor_id=instructor.id,
            today=spec.days[0] - timedelta(days=20),
        )
        for email, user in people.items()
    }
    first, second = offering.days
    import_report_file(session, offering.id, first.held_on, SAMPLE_REPORT, actor=instructor)
    ipad = session.scalar(
        select(ParticipantRow).where(
            ParticipantRow.offering_day_id == first.id, ParticipantRow.name == "Samuel's iPad"
        )
    )
    match_row(
        session, offering.id, ipad.id, places["samuel.adeyemi@example.org"].id, actor=instructor
    )
    marks = {"hannah.cho@example.org": "present", "samuel.adeyemi@example.org": "present"}
    save_cells(
        session,
        offering.id,
        [
            CellInput(
                places[email].id, second.id, marks.get(email, "absent"), None, token(None, None)
            )
            for email in MODULE_2_PEOPLE
        ],
        actor=instructor,
    )
    close_offering(session, offering.id, actor=instructor)
    form = evaluation_of(session, offering.id).form
    answers = {
        q.key: (str(len(q.labels)) if q.is_likert else "Clear and practical.") for q in form.all
    }
    submit_evaluation(
        session,
        user_id=people[MODULE_2_EVALUATED].id,
        offering_id=offering.id,
        answers=answers,
    )
    return True


def _do_enrol(session: Session, user: User, step: Enrol, report: DemoReport) -> bool:
    """Enrol in the demo's offering (a place, or the waitlist) unless already in it."""
    from lms.clock import today
    from lms.offerings.api import enrol, live_enrolment

    offering_id = find_offering_id(session, step.code, step.starts_on, "")
    if offering_id is None or live_enrolment(session, user.id, offering_id) is not None:
        return False
    if today(session) >= step.starts_on:
        report.skipped.add(f"enrolments in the {step.code} offering of {step.starts_on} (it began)")
        return False
    enrol(session, user_id=user.id, offering_id=offering_id)
    return True


def create_demo_data(
    session: Session,
    *,
    password: str,
    evidence_store: Storage,
    screening_key: str | None,
    reset_passwords: bool = False,
    documents_store: Storage | None = None,
) -> DemoReport:
    """Make every demo account and story that does not exist yet; flushes, never commits.

    An existing account whose password is not `password` keeps it unless `reset_passwords`.
    `documents_store` holds the Certificate of Training's documents (the app's own by
    default).
    """
    if problem := password_problem(password):
        raise InvalidInput(f"The demo password is not usable: {problem}")
    people = [*STAFF, FRESH_CLINICIAN, *CLINICIANS, *CONSULTANT_ACCOUNTS, *CANDIDATES]
    passwords = DemoPasswords(password, reset=reset_passwords)
    report = DemoReport(password=password, people=people, passwords=passwords.report)
    admin = _ensure_person(session, STAFF[0], passwords, None, report)
    _ensure_catalogue(session, admin.id)
    report.steps_done += int(ensure_signatories(session))
    staff = {p.email: _ensure_person(session, p, passwords, admin, report) for p in STAFF[1:]}
    instructor = staff["instructor@example.org"]
    reviewer = staff["reviewer@example.org"]
    _ensure_person(session, FRESH_CLINICIAN, passwords, admin, report)
    report.steps_done += int(ensure_session(session, SMALL_GROUP, admin))
    report.steps_done += int(_ensure_offering(session, MODULE_3, admin))
    for person in CLINICIANS:
        user = _ensure_person(session, person, passwords, admin, report)
        for step in person.steps:
            if isinstance(step, Complete):
                done = _do_complete(session, user, step, instructor)
            elif isinstance(step, Revoke):
                done = _do_revoke(session, user, step, instructor)
            elif isinstance(step, Equivalent):
                done = _do_equivalent(session, user, step, instructor, evidence_store)
            elif isinstance(step, Enrol):
                done = _do_enrol(session, user, step, report)
            elif screening_key:
                done = do_apply(session, user, step, reviewer, screening_key)
            else:
                report.skipped.add(
                    "retreat applications (they carry an encrypted medical screening, and "
                    "LMS_SCREENING_KEY is not set)"
                )
                done = False
            report.steps_done += int(done)
        session.flush()
    report.steps_done += int(_open_directory(session))
    report.steps_done += int(_ensure_closed_module(session, MODULE_2_CLOSED, instructor, report))
    report.steps_done += close_past_sessions(session, instructor)
    _certificate_of_training(
        session, passwords, admin, instructor, report, evidence_store, documents_store
    )
    return report


def _certificate_of_training(
    session: Session,
    passwords: DemoPasswords,
    admin: User,
    instructor: User,
    report: DemoReport,
    evidence_store: Storage,
    documents_store: Storage | None,
) -> None:
    """The approved consultants, the consultant's account and the candidates' stories."""
    if documents_store is None:
        from lms.storage import store
        from lms.training.api import DOCUMENTS_AREA

        documents_store = store(DOCUMENTS_AREA)
    report.steps_done += ensure_consultants(session, admin)
    accounts = {
        person.email: _ensure_person(session, person, passwords, admin, report)
        for person in CONSULTANT_ACCOUNTS
    }
    for person in CANDIDATES:
        user = _ensure_person(session, person, passwords, admin, report)
        story = TrainingStory(
            session,
            user,
            instructor=instructor,
            accounts=accounts,
            evidence_store=evidence_store,
            documents_store=documents_store,
        )
        for step in person.steps:
            if isinstance(step, Complete):
                done = _do_complete(session, user, step, instructor)
            else:
                done = story.do(step)
            report.steps_done += int(done)
        session.flush()


def _open_directory(session: Session) -> bool:
    """Publish the directory of certified practitioners (off in a new programme), so the demo
    shows its listed holder; an administrator's later choice is kept on a rerun."""
    from lms.programme import ProgrammeSetting, programme_setting
    from lms.training.api import DIRECTORY_SETTING

    if programme_setting(session, DIRECTORY_SETTING) is not None:
        return False
    session.add(ProgrammeSetting(key=DIRECTORY_SETTING, value=True))
    session.flush()
    return True
