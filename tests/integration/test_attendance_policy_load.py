"""The attendance policy in the catalogue file: loaded as settings, refused when wrong."""

from __future__ import annotations

from decimal import Decimal

import pytest
from test_catalog_load import DEFAULT_TEXT, replace_once, write

from lms.catalog.services import DEFAULT_CATALOG, CatalogError, load_catalog, programme_settings
from lms.offerings.attendance import policy


def test_the_default_catalogue_sets_a_share_and_a_partial_credit_flag_per_statement(session):
    load_catalog(session, DEFAULT_CATALOG)
    settings = programme_settings(session)
    assert settings["attendance_share"] == 0.9
    flags = [s["partial_credit"] for s in settings["accreditation_statements"]]
    assert flags == [False, True]
    rules = policy(session)
    assert rules.share == Decimal("0.9") and rules.partial_credit is False  # APA says no


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("attendance_share = 0.9", "attendance_share = 90", "programme field attendance_share"),
        ("attendance_share = 0.9", 'attendance_share = "90%"', "at most 1"),
        ("partial_credit = false", 'partial_credit = "no"', "field partial_credit: expected bool"),
    ],
)
def test_a_wrong_policy_refuses_the_file_naming_the_field(session, tmp_path, old, new, problem):
    path = write(tmp_path, replace_once(DEFAULT_TEXT, old, new))
    with pytest.raises(CatalogError) as refused:
        load_catalog(session, path)
    assert any(problem in line for line in refused.value.problems), refused.value.problems


def test_changing_the_policy_in_the_file_changes_what_the_grid_judges_by(session, tmp_path):
    load_catalog(session, DEFAULT_CATALOG)
    text = replace_once(DEFAULT_TEXT, "partial_credit = false", "partial_credit = true")
    text = replace_once(text, "attendance_share = 0.9", "attendance_share = 0.75")
    report = load_catalog(session, write(tmp_path, text))
    assert set(report.settings_changed) == {"accreditation_statements", "attendance_share"}
    rules = policy(session)
    assert rules.share == Decimal("0.75") and rules.partial_credit is True
