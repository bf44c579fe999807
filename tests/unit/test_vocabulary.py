"""One word for each state: README's glossary lists every word a person reads for a state,
and a state stored under the same value reads the same in every feature."""

from __future__ import annotations

import re
from collections import defaultdict

from lms.certificates.base import CertificateStatus
from lms.config import PROJECT_ROOT
from lms.equivalency.models import EquivalencyStatus
from lms.offerings.models import EnrolmentStatus, OfferingStatus
from lms.progress.models import ItemState
from lms.retreats.models import ReviewState
from lms.retreats.rosters import ScreeningDecision
from lms.retreats.standing_facts import RetreatState
from lms.training.models import ConsultationKind, ConsultationState
from lms.training.records_models import DocumentStatus

# The states people read about their progress, places, requests and certificates.
PEOPLE_FACING = (
    ItemState,
    RetreatState,
    EnrolmentStatus,
    OfferingStatus,
    EquivalencyStatus,
    CertificateStatus,
    ReviewState,
    DocumentStatus,
    ConsultationState,
    ConsultationKind,
)


def _glossary() -> str:
    """README's glossary section."""
    text = (PROJECT_ROOT / "README.md").read_text()
    start = text.index("## Glossary: one word for each state")
    return text[start : text.index("\n## ", start + 1)]


def test_the_glossary_lists_every_word_a_state_is_shown_by():
    glossary = _glossary()
    words = {member.label for cls in PEOPLE_FACING for member in cls}
    words |= {member.value for member in ScreeningDecision}
    bolded = set(re.findall(r"\*\*([^*]+)\*\*", glossary))
    missing = sorted(w for w in words if w not in bolded)
    assert missing == []


def test_a_state_stored_under_one_value_reads_the_same_in_every_feature():
    labels: dict[str, set[str]] = defaultdict(set)
    for cls in PEOPLE_FACING:
        for member in cls:
            labels[member.value].add(member.label)
    assert {value: words for value, words in labels.items() if len(words) > 1} == {}


def test_a_retreat_place_and_an_open_retreat_use_the_words_of_places_and_items():
    assert RetreatState.ENROLLED.label == EnrolmentStatus.ENROLLED.label == "Enrolled"
    assert RetreatState.MEDICAL_REVIEW.label == EnrolmentStatus.MEDICAL_REVIEW.label
    assert RetreatState.OPEN.label == ItemState.AVAILABLE.label == "Open"


def test_a_stored_status_value_reads_as_its_word_where_records_show_values():
    from lms.admin.services import _plain_facts
    from lms.status import word_for

    assert word_for("medical_review") == "In medical review"
    assert word_for("live_online") == "Live online"
    assert word_for("M2") == "M2"  # not a status: as it is
    shown = dict(_plain_facts({"status": "not_cleared", "previous": ["medical_review"]}))
    assert shown == {"status": "Not cleared", "previous": "In medical review"}
