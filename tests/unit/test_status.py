"""Every status people see shares one shape: stored value, wording and badge in one place."""

from __future__ import annotations

import pytest

import lms.certificates.services  # noqa: F401 - CertificateStatus lives there
import lms.retreats.standing_facts  # noqa: F401 - RetreatState lives there
from lms.models import import_all_models
from lms.status import BADGES, Status

import_all_models()


def test_the_status_enums_share_the_base() -> None:
    names = {cls.__name__ for cls in Status.__subclasses__()}
    assert names >= {
        "ItemState",
        "RetreatState",
        "EnrolmentStatus",
        "EquivalencyStatus",
        "CertificateStatus",
        "OutboxStatus",
    }


@pytest.mark.parametrize("status", Status.__subclasses__(), ids=lambda cls: cls.__name__)
def test_every_member_is_worded_and_badged_and_stores_as_its_value(status: type[Status]) -> None:
    for member in status:
        assert member.label and member.label[0].isupper()
        assert member.badge in BADGES
        assert status(member.value) is member and member == member.value
        assert str(member) == member.value


def test_an_unknown_badge_class_is_refused_when_the_enum_is_declared() -> None:
    with pytest.raises(ValueError, match="unknown badge"):

        class Broken(Status):
            ODD = "odd", "Odd", "purple"
