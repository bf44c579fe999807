"""Making the demo's Certificate of Training so, through the real services: the approved
consultants, and each candidate's consultations (answered by the consultant, through the link
or in their account), session log, documents and consultation credit from elsewhere. Every
step checks whether it has already happened (lms.demo.loader runs them)."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from io import BytesIO
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lms.auth.api import User
from lms.clock import today
from lms.demo.training_cast import (
    APPROVED_ON,
    CONSULTANTS,
    Award,
    Consult,
    CreditedConsultations,
    Paper,
    Sessions,
    TrainingStep,
)
from lms.storage import Storage
from lms.training.api import Consultant, Consultation


def ensure_consultants(session: Session, admin: User) -> int:
    """Put the demo's consultants on the approved list unless they are on it; how many added."""
    from lms.training.api import ConsultantInput, add_consultant

    added = 0
    for consultant in CONSULTANTS:
        if session.scalar(select(Consultant.id).where(Consultant.email == consultant.email)):
            continue
        add_consultant(
            session,
            ConsultantInput(consultant.name, consultant.credentials, consultant.email, APPROVED_ON),
            actor_id=admin.id,
        )
        added += 1
    return added


def _consultant(session: Session, email: str) -> Consultant:
    """The approved consultant with that address (ensure_consultants ran first)."""
    found = session.scalar(select(Consultant).where(Consultant.email == email))
    assert found is not None, email
    return found


def _months_back(day: date, months: int) -> tuple[int, int]:
    """(year, month) `months` months before the month of `day`."""
    index = day.year * 12 + day.month - 1 - months
    return index // 12, index % 12 + 1


class TrainingStory:
    """One candidate's Certificate of Training steps, each done unless it already is."""

    def __init__(
        self,
        session: Session,
        user: User,
        *,
        instructor: User,
        accounts: dict[str, User],
        evidence_store: Storage,
        documents_store: Storage,
    ) -> None:
        """What the steps need: the candidate, who reviews, the consultants' accounts and
        where files go."""
        self.session, self.user, self.instructor = session, user, instructor
        self.accounts, self.evidence_store, self.documents_store = (
            accounts,
            evidence_store,
            documents_store,
        )
        self.day = today(session)
        # Consultations already asked of each (consultant, kind) by the steps before: a step
        # is done when the log holds its entries on top of those.
        self.asked: Counter[tuple[str, str]] = Counter()

    def do(self, step: TrainingStep) -> bool:
        """Do one step unless done; whether it wrote anything."""
        if isinstance(step, Consult):
            return self._consult(step)
        if isinstance(step, Sessions):
            return self._sessions(step)
        if isinstance(step, Paper):
            return self._paper(step)
        if isinstance(step, CreditedConsultations):
            return self._credit(step)
        if isinstance(step, Award):
            return self._award(step)
        raise TypeError(f"not a Certificate of Training step: {step!r}")

    def _has(self, model: Any, *where: Any) -> bool:
        """Whether the candidate already has a row of `model` (matching `where`): the step
        that writes it is done."""
        found = self.session.scalar(
            select(model.id).where(model.user_id == self.user.id, *where).limit(1)
        )
        return found is not None

    def _consult(self, step: Consult) -> bool:
        """Log the consultations and have the consultant answer them as the step says."""
        from lms.training import api as log

        consultant = _consultant(self.session, step.consultant)
        key = (step.consultant, step.kind)
        before = self.asked[key]
        self.asked[key] += step.count
        logged = self.session.scalar(
            select(func.count(Consultation.id)).where(
                Consultation.user_id == self.user.id,
                Consultation.consultant_id == consultant.id,
                Consultation.kind == step.kind,
            )
        )
        if logged >= before + step.count:
            return False
        account = self.accounts.get(step.consultant)
        for n in range(step.count):
            entry = log.log_consultation(
                self.session,
                self.user,
                log.ConsultationInput(
                    held_on=self.day - timedelta(days=step.first_days_ago - n * step.gap_days),
                    consultant_id=consultant.id,
                    kind=step.kind,
                    hours=step.hours,
                ),
            )
            if step.answer == "decline":
                log.decline_by_code(self.session, log.response_code(entry), step.comment)
            elif step.answer == "confirm" and account is not None:
                log.confirm_in_account(self.session, entry.id, account)
            elif step.answer == "confirm":
                log.confirm_by_code(self.session, log.response_code(entry))
        return True

    def _sessions(self, step: Sessions) -> bool:
        """Fill the session log: new clients first, then the same clients again, month after
        month up to last month."""
        from lms.training.api import NEW_CLIENT, SessionEntry, SessionInput, log_session

        if self._has(SessionEntry):
            return False
        codes: list[str] = []
        total = step.therapist + step.co_therapist
        for n in range(total):
            back = step.months - (n * step.months) // total  # from `months` back to 1 back
            year, month = _months_back(self.day, max(back, 1))
            client = NEW_CLIENT if len(codes) < step.clients else codes[n % step.clients]
            entry = log_session(
                self.session,
                user_id=self.user.id,
                data=SessionInput(
                    year=str(year),
                    month=str(month),
                    role="therapist" if n < step.therapist else "co_therapist",
                    setting="in_person" if n % 3 else "online",
                    client=client,
                ),
            )
            if client == NEW_CLIENT:
                codes.append(entry.client.code)
        return True

    def _paper(self, step: Paper) -> bool:
        """Upload the document (the letter through the consultant's link when they wrote it)
        and review it as the step says."""
        from lms.demo.loader import evidence_pdf
        from lms.training.api import (
            TrainingDocument,
            response_code,
            review_document,
            upload_document,
            upload_letter_by_code,
        )

        if self._has(TrainingDocument, TrainingDocument.kind == step.kind):
            return False
        if step.kind == "reflection_paper":
            content = evidence_pdf(
                "Reflection paper",
                [f"{self.user.name}, {self.user.credentials}", "What KAP training taught me"],
            )
        else:
            content = evidence_pdf(
                "Letter of recommendation",
                [f"I recommend {self.user.name} for the Certificate of Training."],
            )
        name = f"{step.kind.replace('_', '-')}.pdf"
        if step.by == "consultant":
            consultant = _consultant(self.session, step.consultant)
            entry = self.session.scalar(
                select(Consultation)
                .where(
                    Consultation.user_id == self.user.id,
                    Consultation.consultant_id == consultant.id,
                )
                .order_by(Consultation.id)
                .limit(1)
            )
            assert entry is not None, f"{self.user.email} has no entry with {step.consultant}"
            _, document = upload_letter_by_code(
                self.session,
                response_code(entry),
                stream=BytesIO(content),
                filename=name,
                store=self.documents_store,
            )
        else:
            document = upload_document(
                self.session,
                user_id=self.user.id,
                kind=step.kind,
                stream=BytesIO(content),
                filename=name,
                uploaded_by="clinician",
                actor_id=self.user.id,
                store=self.documents_store,
            )
        if step.review is not None:
            review_document(
                self.session,
                document.id,
                reviewer=self.instructor,
                approve=step.review == "approve",
                comment=step.comment,
            )
        return True

    def _credit(self, step: CreditedConsultations) -> bool:
        """Ask for the consultation credit (with a letter as evidence) and decide it, unless
        asked already."""
        from lms.demo.loader import evidence_pdf
        from lms.equivalency.api import (
            ConsultationCreditInput,
            EquivalencyRequest,
            submit_consultation_credit,
        )
        from lms.equivalency.services import decide_request

        if self._has(EquivalencyRequest, EquivalencyRequest.consultation_kind == step.kind):
            return False
        held_to = self.day - timedelta(days=400)
        letter = evidence_pdf(
            f"{step.programme}: record of consultations",
            [f"Participant: {self.user.name}", f"{step.count} consultations, {step.hours} hours"],
        )
        request = submit_consultation_credit(
            self.session,
            user_id=self.user.id,
            data=ConsultationCreditInput(
                kind=step.kind,
                consultations=step.count,
                hours=step.hours,
                outside_programme=step.programme,
                attended_from=held_to - timedelta(days=120),
                attended_to=held_to,
                description=step.description,
            ),
            evidence_store=self.evidence_store,
            evidence_stream=BytesIO(letter),
            evidence_filename=f"{step.programme.lower()}-consultations.pdf",
        )
        if step.approve is not None:
            decide_request(
                self.session,
                request.id,
                reviewer_id=self.instructor.id,
                approve=step.approve,
                reason="The programme's letter lists the dates and hours.",
            )
        return True

    def _award(self, step: Award) -> bool:
        """Award the credential (the instructor, as staff do) and list the holder in the
        directory, unless awarded already."""
        from lms.training.api import award_credential, award_state, opt_in

        if award_state(self.session, self.user.id).awarded:
            return False
        award_credential(self.session, self.user.id, actor=self.instructor)
        opt_in(self.session, self.user, city=step.city, state=step.state)
        return True
