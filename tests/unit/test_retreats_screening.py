"""Pure screening pieces: the questions, encryption at rest, and the key check."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from lms.errors import InvalidInput
from lms.offerings.models import EnrolmentStatus
from lms.offerings.places import TRANSITIONS
from lms.retreats.screening import (
    CONTRAINDICATIONS,
    ScreeningAnswer,
    ScreeningInput,
    ScreeningUnavailable,
    decrypt_screening,
    encrypt_screening,
    fernet_for,
)


def _answers(yes=()):
    """A complete screening."""
    return ScreeningInput(
        answers=tuple(
            ScreeningAnswer(code, code in yes, "since 2019" if code in yes else "")
            for code, _ in CONTRAINDICATIONS
        ),
        anything_else="takes lithium",
    )


def test_every_contraindication_in_the_domain_is_asked():
    labels = " ".join(label.lower() for _code, label in CONTRAINDICATIONS)
    for condition in (
        "sleep apnea",
        "blood pressure",
        "heart",
        "psychosis",
        "stroke",
        "mania",
        "tbi",
        "seizure",
    ):
        assert condition in labels


def test_answers_round_trip_through_encryption_and_the_token_hides_them():
    key = Fernet.generate_key().decode()
    token = encrypt_screening(key, _answers(yes=("psychosis",)))
    assert b"lithium" not in token and b"psychosis" not in token
    back = decrypt_screening(key, token)
    assert back.anything_else == "takes lithium" and back.any_yes


def test_another_key_cannot_read_the_answers():
    token = encrypt_screening(Fernet.generate_key().decode(), _answers())
    with pytest.raises(ScreeningUnavailable, match="cannot be decrypted"):
        decrypt_screening(Fernet.generate_key().decode(), token)


@pytest.mark.parametrize("key", [None, "", "short", "x" * 44])
def test_a_missing_or_malformed_key_is_refused_with_an_operator_message(key):
    with pytest.raises(ScreeningUnavailable, match="LMS_SCREENING_KEY"):
        fernet_for(key)


def test_all_no_is_low_risk_and_an_incomplete_screening_is_refused():
    assert not _answers().any_yes
    with pytest.raises(InvalidInput, match="Answer every screening question"):
        ScreeningInput(answers=_answers().answers[1:]).validate()


def test_finished_applications_cannot_change_status_and_attendance_only_flips():
    assert TRANSITIONS[EnrolmentStatus.WITHDRAWN] == frozenset()
    # A correction of attendance (before closing, or after reopening) flips it, nothing more.
    assert TRANSITIONS[EnrolmentStatus.ATTENDED] == frozenset({EnrolmentStatus.ABSENT})
    assert TRANSITIONS[EnrolmentStatus.ABSENT] == frozenset({EnrolmentStatus.ATTENDED})


def test_a_screening_decision_can_only_be_changed_between_cleared_and_not_cleared():
    """A reviewer revisiting a decision moves it between the two verdicts, nowhere else."""
    assert TRANSITIONS[EnrolmentStatus.NOT_CLEARED] == frozenset(
        {EnrolmentStatus.ENROLLED, EnrolmentStatus.WAITLISTED}
    )
    for cleared in (EnrolmentStatus.ENROLLED, EnrolmentStatus.WAITLISTED):
        assert EnrolmentStatus.NOT_CLEARED in TRANSITIONS[cleared]
    assert EnrolmentStatus.NOT_CLEARED not in TRANSITIONS[EnrolmentStatus.ABSENT]
