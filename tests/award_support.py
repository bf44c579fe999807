"""A candidate who meets the Certificate of Training's requirement, built with the services
(completions, confirmed consultations, the session log, approved documents, a licence)."""

from __future__ import annotations

import io
from datetime import timedelta

from clock_support import programme_today
from training_records_support import ONE_PAGE_PDF

from lms.auth.models import Role
from lms.progress.models import CompletionSource
from lms.progress.services import record_completion
from lms.storage import store
from lms.training import consultants as approved_list
from lms.training import consultations as log
from lms.training import documents, session_log
from lms.training.session_log import NEW_CLIENT, SessionInput

MODULES = ("M1", "M2", "M3", "M4", "M5", "HTH", "MUSIC", "RETREAT-L1")


def _month_back(months_ago: int) -> tuple[str, str]:
    """Year and month `months_ago` months before this programme month."""
    today = programme_today()
    number = today.year * 12 + today.month - 1 - months_ago
    return str(number // 12), str(number % 12 + 1)


def build_met_candidate(app, session, make_user, *, skip_letter: bool = False):
    """A licensed clinician who meets every part of the requirement (all but the approved
    letter of recommendation with `skip_letter`); returns (clinician, instructor)."""
    clinician = make_user()
    instructor = make_user(Role.INSTRUCTOR)
    admin = make_user(Role.ADMIN)
    today = programme_today()
    for offset, code in enumerate(MODULES):
        record_completion(
            session,
            user_id=clinician.id,
            item_code=code,
            completed_on=today - timedelta(days=200 - offset),
            # A retreat's completion comes from attendance or an import, never a module mark.
            source=CompletionSource.IMPORT if code.startswith("RETREAT") else "instructor",
            actor_id=instructor.id,
        )
    session.commit()
    consultant = approved_list.add_consultant(
        session,
        approved_list.ConsultantInput(
            "Sam Ito", "PhD", f"sam{clinician.id}@consult.test", today - timedelta(days=400)
        ),
        actor_id=admin.id,
    )
    session.commit()
    with app.test_request_context():
        for day in range(12):
            for kind, hours in (("group_consultation", "2"), ("individual_consultation", "1")):
                entry = log.log_consultation(
                    session,
                    clinician,
                    log.ConsultationInput(
                        today - timedelta(days=100 - day), consultant.id, kind, hours
                    ),
                )
                session.commit()
                log.confirm_by_code(session, log.response_code(entry))
                session.commit()
    codes: list[str] = []
    for number in range(18):
        year, month = _month_back(1 + number % 6)
        client = NEW_CLIENT if number < 3 else codes[number % 3]
        entry = session_log.log_session(
            session,
            user_id=clinician.id,
            data=SessionInput(year, month, "therapist", "online", client),
        )
        if number < 3:
            codes.append(entry.client.code)
        session.commit()
    files = store(documents.DOCUMENTS_AREA, app)
    kinds = ("reflection_paper",) if skip_letter else ("reflection_paper", "recommendation_letter")
    for kind in kinds:
        document = documents.upload_document(
            session,
            user_id=clinician.id,
            kind=kind,
            stream=io.BytesIO(ONE_PAGE_PDF),
            filename=f"{kind}.pdf",
            uploaded_by="clinician",
            actor_id=clinician.id,
            store=files,
        )
        session.commit()
        documents.review_document(
            session, document.id, reviewer=instructor, approve=True, comment=""
        )
        session.commit()
    return clinician, instructor


def hold_credential(app, session, user, actor):
    """Make the person a holder of the Certificate of Training without building the record
    (the directory's tests: the award's own tests go through the requirement)."""
    from lms.certificates.services import AwardFacts, record_award_certificate
    from lms.db import db, utcnow
    from lms.training.requirement import ensure_credential, start_candidate

    with app.test_request_context():
        credential = ensure_credential(session)
        candidate = start_candidate(session, user.id, credential)
        candidate.awarded_at, candidate.awarded_by_id = utcnow(), actor.id
        certificate = record_award_certificate(
            session,
            user,
            AwardFacts(credential.id, credential.code, credential.title, ("Everything",)),
            awarded_on=programme_today(),
            actor_id=actor.id,
        )
        certificate_id = certificate.id
        db.commit()
    return certificate_id
