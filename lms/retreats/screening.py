"""The medical-screening questions, and the encryption that keeps their answers unreadable."""

from __future__ import annotations

import json
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken

from lms.errors import DomainError, InvalidInput

# The contraindications DOMAIN.md names. A "yes" sends the application to a physician's
# judgement rather than rejecting it, because screening may surface other conditions too.
CONTRAINDICATIONS: tuple[tuple[str, str], ...] = (
    ("sleep_apnea", "Sleep apnea"),
    ("blood_pressure", "Untreated blood pressure issues"),
    ("heart_condition", "Untreated heart conditions"),
    ("psychosis", "History of psychosis"),
    ("stroke_risk", "Stroke risk"),
    ("active_mania", "Active mania"),
    ("recent_tbi", "Recent traumatic brain injury (TBI)"),
    ("seizure_disorder", "Untreated seizure disorders"),
)
QUESTION_LABELS = dict(CONTRAINDICATIONS)
MAX_DETAIL = 2000


class ScreeningUnavailable(DomainError):
    """Screening answers cannot be written or read: the encryption key is missing or wrong."""

    status_code = 503


@dataclass(frozen=True)
class ScreeningAnswer:
    """One yes/no answer and the applicant's detail."""

    code: str
    yes: bool
    detail: str = ""

    @property
    def question(self) -> str:
        """The question as shown to the applicant."""
        return QUESTION_LABELS.get(self.code, self.code)


@dataclass(frozen=True)
class ScreeningInput:
    """A complete screening as submitted."""

    answers: tuple[ScreeningAnswer, ...]
    anything_else: str = ""

    @property
    def any_yes(self) -> bool:
        """True when any contraindication was answered "yes"."""
        return any(answer.yes for answer in self.answers)

    def validate(self) -> None:
        """Every question answered once, nothing unknown, text within limits."""
        codes = [answer.code for answer in self.answers]
        missing = [label for code, label in CONTRAINDICATIONS if code not in codes]
        if missing:
            raise InvalidInput(
                "Answer every screening question (missing: " + ", ".join(missing) + ")."
            )
        if len(codes) != len(set(codes)) or set(codes) - set(QUESTION_LABELS):
            raise InvalidInput("The screening form was not filled in as expected; reload it.")
        if any(len(answer.detail) > MAX_DETAIL for answer in self.answers) or (
            len(self.anything_else) > MAX_DETAIL * 2
        ):
            raise InvalidInput("Keep each screening note under 2000 characters.")


def fernet_for(key: str | None) -> Fernet:
    """The cipher for LMS_SCREENING_KEY, or ScreeningUnavailable with a message for the operator."""
    if not key:
        raise ScreeningUnavailable(
            "Medical screening is switched off: LMS_SCREENING_KEY is not set. Nothing was saved. "
            "An administrator must set it to a Fernet key before retreat applications open."
        )
    try:
        return Fernet(key.encode() if isinstance(key, str) else key)
    except (ValueError, TypeError) as error:
        raise ScreeningUnavailable(
            "Medical screening is switched off: LMS_SCREENING_KEY is not a valid Fernet key "
            "(32 url-safe base64-encoded bytes). Nothing was saved."
        ) from error


def encrypt_screening(key: str | None, screening: ScreeningInput) -> bytes:
    """The answers as one encrypted token."""
    payload = {
        "answers": [
            {"code": a.code, "yes": a.yes, "detail": a.detail.strip()} for a in screening.answers
        ],
        "anything_else": screening.anything_else.strip(),
    }
    return fernet_for(key).encrypt(json.dumps(payload).encode("utf-8"))


def decrypt_screening(key: str | None, token: bytes) -> ScreeningInput:
    """Read encrypted answers back (reviewers only)."""
    try:
        raw = fernet_for(key).decrypt(bytes(token))
    except InvalidToken as error:
        raise ScreeningUnavailable(
            "These screening answers cannot be decrypted with the current LMS_SCREENING_KEY "
            "(was the key changed?)."
        ) from error
    payload = json.loads(raw.decode("utf-8"))
    return ScreeningInput(
        answers=tuple(
            ScreeningAnswer(code=a["code"], yes=bool(a["yes"]), detail=a.get("detail", ""))
            for a in payload["answers"]
        ),
        anything_else=payload.get("anything_else", ""),
    )


# A reviewer's note or question, or an applicant's answer: health data like the answers.
MAX_MESSAGE = 4000


def encrypt_text(key: str | None, text: str) -> bytes:
    """A note, question or answer as one encrypted token (the screening's key and cipher)."""
    return fernet_for(key).encrypt(text.strip().encode("utf-8"))


def decrypt_text(key: str | None, token: bytes) -> str:
    """Read back a note, question or answer (reviewers, or the applicant their own thread)."""
    try:
        return fernet_for(key).decrypt(bytes(token)).decode("utf-8")
    except InvalidToken as error:
        raise ScreeningUnavailable(
            "This medical-review text cannot be decrypted with the current LMS_SCREENING_KEY "
            "(was the key changed?)."
        ) from error
