"""A small, complete world for walking every route: one of each record, and its snapshot.

Used by test_access_matrix.py. The world is built once per test process through the real
services (so it is what the app would hold), dumped row by row, and loaded back into each
test's empty database, which is much faster than building it again.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any

from facts_support import facts_changed
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Integer, select, text
from sqlalchemy.engine import Engine

from lms.auth.models import Role, User, UserRole
from lms.db import Base, db, utcnow
from lms.training import consultants as approved_list
from lms.training import consultations as consultation_log

# The consultant is an account with the consultant role whose confirmed address is the approved
# consultant's the clinician logged a consultation with (their "To confirm" page lists it).
PERSONAS = ("guest", "clinician", "other", "instructor", "reviewer", "admin", "consultant")

# A tiny but well-formed PDF of one blank page: evidence uploads are checked by content, not by
# name, and the credit reviewer sees the first page as a picture.
EVIDENCE_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)

# Health data written into the world's screening; it must never reach another role's page.
SCREENING_SECRET = "Sleep apnoea diagnosed in 2019, CPAP nightly"
# A medical reviewer's question to the clinician: health data only they two may read.
REVIEW_QUESTION = "Which CPAP pressure settings were prescribed at the last sleep study?"


@dataclass
class World:
    """Ids, codes and tokens of the world's records, plus the rows to restore it from."""

    values: dict[str, Any]
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def person(self, persona: str) -> tuple[int, str] | None:
        """(user id, auth token) of a persona, None for the guest."""
        if persona == "guest":
            return None
        return self.values[f"{persona}_id"], self.values[f"{persona}_token"]


def _person(session: Any, label: str, *roles: Role, **fields: Any) -> User:
    """Add one account with a licence verified by nobody in particular."""
    fields.setdefault("licence_type", "LCSW")
    fields.setdefault("licence_number", f"LIC-{label.upper()}")
    fields.setdefault("licence_state", "CA")
    fields.setdefault("licence_expires_on", date(2099, 12, 31))
    fields.setdefault("licence_verified_at", utcnow())
    user = User(
        email=f"{label}@world.test",
        name=f"World {label.title()}",
        credentials="LCSW",
        password_hash=None,
        email_confirmed_at=utcnow(),
        **fields,
    )
    user.role_rows = [UserRole(role=r) for r in sorted(roles)]
    session.add(user)
    facts_changed(session, user)
    return user


SIGNATURE_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 40">'
    b'<path d="M5 30 C 30 5, 50 40, 115 12" fill="none" stroke="#123" stroke-width="2"/></svg>'
)


def build(app: Flask) -> dict[str, Any]:
    """Create one of each record through the services and return their ids and codes."""
    from lms.auth import services as auth_services
    from lms.auth.models import EmailChange
    from lms.auth.tokens import (
        EMAIL_CHANGE,
        EMAIL_CONFIRMATION,
        INVITATION,
        PASSWORD_RESET,
        account_fingerprint,
        make_token,
    )
    from lms.catalog.services import DEFAULT_CATALOG, load_catalog
    from lms.certificates.models import Certificate
    from lms.clock import today as programme_today
    from lms.equivalency.services import RequestInput, submit_request
    from lms.mail.models import Notification, OutboxMessage
    from lms.offerings.days import DaySpec, every_day
    from lms.offerings.enrolment import enrol_user
    from lms.offerings.models import OfferingFormat, ParticipantRow
    from lms.offerings.participants import import_report
    from lms.offerings.schedule import OfferingInput, create_offering
    from lms.offerings.sheet import CellInput, save_cells
    from lms.progress.models import CompletionSource
    from lms.progress.services import record_cohort, record_completion
    from lms.retreats.screening import CONTRAINDICATIONS, ScreeningAnswer, ScreeningInput
    from lms.retreats.services import apply, ask_question
    from lms.storage import store

    today = programme_today()
    with app.app_context():
        session = db.session
        load_catalog(session, DEFAULT_CATALOG)
        # Created in this order so that every reference points at a lower id (restores in
        # id order then satisfy the foreign keys row by row).
        admin = _person(session, "admin", Role.ADMIN)
        instructor = _person(session, "instructor", Role.INSTRUCTOR)
        reviewer = _person(session, "reviewer", Role.MEDICAL_REVIEWER)
        clinician = _person(session, "clinician", Role.CLINICIAN)
        other = _person(session, "other", Role.CLINICIAN)
        leaver = _person(session, "leaver", Role.CLINICIAN, deletion_requested_at=utcnow())
        consultant_account = _person(session, "consultant", Role.CONSULTANT)
        session.add(EmailChange(user_id=clinician.id, new_email="moving@world.test"))
        db.commit()

        completion = record_completion(
            session,
            user_id=clinician.id,
            item_code="M1",
            completed_on=today - timedelta(days=30),
            source=CompletionSource.INSTRUCTOR,
            actor_id=instructor.id,
            note="world: module 1",
        )
        db.commit()
        cohort = record_cohort(
            session,
            user_ids=[clinician.id, other.id],
            item_code="HTH",
            completed_on=today - timedelta(days=20),
            actor_id=instructor.id,
        )
        db.commit()
        request = submit_request(
            session,
            user_id=clinician.id,
            data=RequestInput(
                item_code="RETREAT-ADV",
                outside_programme="KTC",
                attended_from=today - timedelta(days=400),
                attended_to=today - timedelta(days=396),
                hours=Decimal("30"),
                description="Five-day experiential retreat with another programme.",
            ),
            evidence_store=store("evidence", app),
            evidence_stream=io.BytesIO(EVIDENCE_PDF),
            evidence_filename="retreat-certificate.pdf",
        )
        db.commit()
        # The Certificate of Training: a session in the clinician's log, a letter waiting for
        # review (a PDF, so its first page can be drawn) and a code only the other clinician has.
        from lms.training.documents import DOCUMENTS_AREA, upload_document
        from lms.training.session_log import NEW_CLIENT, SessionInput, log_session

        last_month = today.replace(day=1) - timedelta(days=1)
        logged = log_session(
            session,
            user_id=clinician.id,
            data=SessionInput(
                year=str(last_month.year),
                month=str(last_month.month),
                role="therapist",
                setting="online",
                client=NEW_CLIENT,
            ),
        )
        others_entry = log_session(
            session,
            user_id=other.id,
            data=SessionInput(
                year=str(last_month.year),
                month=str(last_month.month),
                role="therapist",
                setting="online",
                client=NEW_CLIENT,
            ),
        )
        letter = upload_document(
            session,
            user_id=clinician.id,
            kind="recommendation_letter",
            stream=io.BytesIO(EVIDENCE_PDF),
            filename="letter.pdf",
            uploaded_by="clinician",
            actor_id=clinician.id,
            store=store(DOCUMENTS_AREA, app),
        )
        db.commit()
        retreat_session = create_offering(
            session,
            item_code="RETREAT-L1",
            data=OfferingInput(
                days=tuple(every_day(today + timedelta(days=60), today + timedelta(days=64))),
                location="Portland, OR",
                capacity=8,
                enrolment_deadline=today + timedelta(days=30),
            ),
            actor_id=admin.id,
        )
        db.commit()
        module_offering = create_offering(
            session,
            item_code="M1",
            data=OfferingInput(
                days=(DaySpec(today + timedelta(days=40), time(9), time(17), Decimal("7")),),
                format=OfferingFormat.LIVE_ONLINE,
                join_url="https://video.example/j/world",
                capacity=20,
            ),
            actor_id=admin.id,
        )
        enrolment = enrol_user(  # they completed Module 1 already: staff confirm the repeat
            session, module_offering.id, clinician.id, actor_id=instructor.id, repeat_allowed=True
        )
        db.commit()
        # A module offering already held (ended yesterday), its attendance half taken: one
        # cell typed, one day's participant report with a guest left to match by hand.
        last_day = programme_today(session) - timedelta(days=1)
        held_offering = create_offering(
            session,
            item_code="ETHICS",
            data=OfferingInput(
                days=tuple(
                    DaySpec(last_day - timedelta(days=n), time(9), time(16), Decimal("1.5"))
                    for n in (1, 0)
                ),
                format=OfferingFormat.LIVE_ONLINE,
                join_url="https://video.example/j/held",
                capacity=20,
            ),
            actor_id=admin.id,
        )
        held_enrolment = enrol_user(
            session,
            held_offering.id,
            clinician.id,
            actor_id=admin.id,
            today=held_offering.starts_on - timedelta(days=3),
        )
        held_day = held_offering.days[0]
        save_cells(
            session,
            held_offering.id,
            [CellInput(held_enrolment.id, held_day.id, "present", 400, ":")],
            actor=admin,
        )
        report_day = held_offering.days[1]
        import_report(
            session,
            held_offering.id,
            report_day.id,
            "Name (Original Name),User Email,Duration (Minutes)\n"
            f"World Clinician,{clinician.email},200\nPhone guest,,190\n",
            actor=admin,
        )
        db.commit()
        report_row = session.scalar(
            select(ParticipantRow).where(ParticipantRow.enrolment_id.is_(None))
        )
        # A Module 2 offering the clinician attended, facilitated by the instructor: its
        # evaluation is due, so the completion's certificate waits for it.
        attended_offering = create_offering(
            session,
            item_code="M2",
            data=OfferingInput(
                days=(DaySpec(today - timedelta(days=10), time(9), time(17), Decimal("8")),),
                format=OfferingFormat.LIVE_ONLINE,
                capacity=20,
                facilitator_ids=(instructor.id,),
            ),
            actor_id=admin.id,
        )
        db.commit()
        record_completion(
            session,
            user_id=clinician.id,
            item_code="M2",
            completed_on=today - timedelta(days=10),
            source=CompletionSource.ATTENDANCE,
            actor_id=instructor.id,
            offering_id=attended_offering.id,
        )
        db.commit()
        answers = tuple(
            ScreeningAnswer(code, yes=code == "sleep_apnea", detail=SCREENING_SECRET)
            if code == "sleep_apnea"
            else ScreeningAnswer(code, yes=False)
            for code, _ in CONTRAINDICATIONS
        )
        application = apply(
            session,
            user_id=clinician.id,
            session_id=retreat_session.id,
            screening=ScreeningInput(answers=answers, anything_else=""),
            screening_key=app.config["LMS_SCREENING_KEY"],
        )
        db.commit()
        # The reviewer asked for more information: the application waits for the clinician.
        ask_question(
            session,
            application.id,
            reviewer_id=reviewer.id,
            question=REVIEW_QUESTION,
            screening_key=app.config["LMS_SCREENING_KEY"],
        )
        db.commit()
        invitee = auth_services.invite_staff(
            session,
            email="invitee@world.test",
            name="World Invitee",
            roles={Role.INSTRUCTOR},
            actor=admin,
        )
        db.commit()

        # A consultant on the approved list and a consultation the clinician logged with them.
        consultant = approved_list.add_consultant(
            session,
            approved_list.ConsultantInput(
                "World Consultant", "MD", "consultant@world.test", today - timedelta(days=400)
            ),
            actor_id=admin.id,
        )
        consultation = consultation_log.log_consultation(
            session,
            clinician,
            consultation_log.ConsultationInput(
                held_on=today - timedelta(days=5),
                consultant_id=consultant.id,
                kind="group_consultation",
                hours="2",
            ),
        )
        db.commit()

        certificate = session.scalar(
            select(Certificate).where(Certificate.user_id == clinician.id).order_by(Certificate.id)
        )
        notice = session.scalar(
            select(Notification)
            .where(Notification.user_id == clinician.id)
            .order_by(Notification.id)
        )
        message = session.scalar(
            select(OutboxMessage)
            .where(OutboxMessage.user_id == clinician.id)
            .order_by(OutboxMessage.id)
        )
        assert certificate is not None, "recording a completion should issue a certificate"
        assert notice is not None, "the clinician should have been notified of something"
        assert message is not None, "the clinician should have been e-mailed something"
        from lms.image_checks import check_image
        from lms.programme_images import store_image

        signature = store_image(session, check_image(SIGNATURE_SVG))
        session.commit()
        values: dict[str, Any] = {
            "programme_image_digest": signature,
            "item_code": "M1",
            "completion_id": completion.id,
            "cohort_event_id": cohort.event_id,
            "certificate_id": certificate.id,
            "certificate_code": certificate.code,
            "request_id": request.id,
            "session_entry_id": logged.id,
            "session_client_code": logged.client.code,
            "others_client_code": others_entry.client.code,
            "document_id": letter.id,
            "session_id": retreat_session.id,
            "application_id": application.id,
            "offering_id": module_offering.id,
            "enrolment_id": enrolment.id,
            "held_offering_id": held_offering.id,
            "held_enrolment_id": held_enrolment.id,
            "held_day_id": report_day.id,
            "report_row_id": report_row.id,
            "evaluation_offering_id": attended_offering.id,
            "notice_id": notice.id,
            "message_id": message.id,
            "invitee_id": invitee.id,
            "leaver_id": leaver.id,
            "approved_consultant_id": consultant.id,
            "consultation_id": consultation.id,
            "consultation_code": consultation_log.response_code(consultation),
            "reset_token": make_token(
                PASSWORD_RESET, {"u": clinician.id, "f": account_fingerprint(clinician)}
            ),
            "confirm_token": make_token(
                EMAIL_CONFIRMATION, {"u": clinician.id, "e": clinician.email}
            ),
            "email_change_token": make_token(
                EMAIL_CHANGE, {"u": clinician.id, "e": "moving@world.test", "r": 1}
            ),
            "invitation_token": make_token(
                INVITATION, {"u": invitee.id, "f": account_fingerprint(invitee)}
            ),
        }
        for label, user in [
            ("admin", admin),
            ("instructor", instructor),
            ("reviewer", reviewer),
            ("clinician", clinician),
            ("other", other),
            ("consultant", consultant_account),
        ]:
            values[f"{label}_id"] = user.id
            values[f"{label}_token"] = user.auth_token
        return values


def dump(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, in primary-key order."""
    rows: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            query = select(table).order_by(*table.primary_key.columns)
            rows[table.name] = [dict(row) for row in conn.execute(query).mappings()]
    return rows


def load(engine: Engine, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Replace the database's content with the dumped rows (and move sequences past them)."""
    tables = Base.metadata.sorted_tables
    with engine.begin() as conn:
        for table in reversed(tables):
            conn.execute(table.delete())
        for table in tables:
            if rows.get(table.name):
                conn.execute(table.insert(), rows[table.name])
        if conn.dialect.name == "postgresql":
            for table in tables:
                pk = list(table.primary_key.columns)
                if len(pk) == 1 and isinstance(pk[0].type, Integer):
                    # Names come from our own metadata, never from input.
                    name, column = table.name, pk[0].name
                    sql = (
                        f"SELECT setval(pg_get_serial_sequence('{name}', '{column}'), "  # noqa: S608
                        f"COALESCE((SELECT MAX({column}) FROM {name}), 0) + 1, false)"
                    )
                    conn.execute(text(sql))


def differences(before: dict[str, list[dict]], after: dict[str, list[dict]]) -> list[str]:
    """Names of the tables whose rows differ, with row counts, for assertion messages."""
    changed = []
    for name in before:
        if before[name] != after.get(name):
            changed.append(f"{name} ({len(before[name])} -> {len(after.get(name, []))} rows)")
    return changed


def client_as(app: Flask, world: World, persona: str) -> FlaskClient:
    """A test client signed in as the persona (the guest gets a plain client)."""
    client = app.test_client()
    person = world.person(persona)
    if person is not None:
        user_id, token = person
        with client.session_transaction() as flask_session:
            flask_session["_user_id"] = f"{user_id}:{token}"
            flask_session["_fresh"] = True
    return client
