"""The programme locale's formatters and catalogues: dates, hours and words in en-US and en-GB,
and every wrapped string of the code has its American spelling in the catalogue."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from lms.certificates.context import format_date, format_hours
from lms.config import PROJECT_ROOT
from lms.i18n import (
    DEFAULT_LOCALE,
    SUPPORTED_LOCALES,
    locale_or_default,
    locale_problem,
    long_date,
    month_name,
    translate,
    translations_for,
    validate_locale,
)


def test_the_printed_date_is_month_first_in_en_us_and_day_first_in_en_gb():
    assert long_date(date(2026, 12, 5), "en-US") == "December 5, 2026"
    assert long_date(date(2026, 12, 5), "en-GB") == "5 December 2026"
    assert format_date(date(2024, 9, 4), "en-GB") == "4 September 2024"
    assert format_date(date(2024, 9, 4)) == "September 4, 2024"  # the default, outside an app
    assert format_date(None, "en-GB") == ""


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize(
    ("hours", "text"),
    [(Decimal("7.50"), "7.5"), (Decimal("41.00"), "41"), ("0.25", "0.25"), (3, "3")],
)
def test_hours_drop_trailing_zeros_in_both_locales(locale, hours, text):
    assert format_hours(hours, locale) == text


def test_month_names_follow_the_locale():
    assert month_name(9, "en-US") == "Sep"
    assert month_name(9, "en-GB") == "Sept"


def test_words_are_spelt_as_the_locale_spells_them():
    assert translate("Licence", "en-US") == "License"
    assert translate("Licence", "en-GB") == "Licence"
    assert translate("cancelled", "en-US") == "canceled"
    assert translate("Licence") == "License"  # outside an app: the default locale
    assert translate("A sentence no catalogue has", "en-US") == "A sentence no catalogue has"


@pytest.mark.parametrize("value", ["fr-FR", "en_GB", "EN-us", "", None, 1])
def test_only_the_supported_locales_are_accepted(value):
    assert locale_problem(value) == f'expected "en-US" or "en-GB", got {value!r}'
    with pytest.raises(ValueError, match='Unknown locale: expected "en-US" or "en-GB"'):
        validate_locale(value)
    assert locale_or_default(value) == DEFAULT_LOCALE


def test_the_supported_locales_validate_as_themselves():
    assert [validate_locale(name) for name in SUPPORTED_LOCALES] == ["en-US", "en-GB"]
    assert DEFAULT_LOCALE == "en-US"


def test_every_wrapped_string_has_its_american_spelling_in_the_catalogue():
    """A string wrapped in the code but missing from the catalogue would show British spelling
    to an American programme: `make messages` adds it, and its msgstr must be filled in."""
    with (PROJECT_ROOT / "babel.cfg").open() as config:
        method_map, _ = parse_mapping_cfg(config)
    keywords = {**DEFAULT_KEYWORDS, "translate": None, "lazy_gettext": None}
    wrapped = set()
    # babel.cfg's folders one at a time, so that the walk never enters .venv or .tools.
    for folder in sorted({pattern.split("/")[0] for pattern, _ in method_map}):
        own = [(p.split("/", 1)[1], m) for p, m in method_map if p.startswith(f"{folder}/")]
        found = extract_from_dir(str(PROJECT_ROOT / folder), own, keywords=keywords)
        wrapped |= {message for _, _, message, *_ in found if isinstance(message, str)}
    assert {"Licence", "Programme", "Licence type", "cancelled"} <= wrapped
    american = translations_for("en-US")
    missing = sorted(m for m in wrapped if american.gettext(m) == m)
    assert missing == [], "run `make messages` and fill in these msgstr entries"
