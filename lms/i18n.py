"""The programme's language: one locale setting ("en-US" by default, or "en-GB") that picks
spelling, date and number formats on pages, PDFs, mail and CSV headers alike.

The words in the code are written in British spelling (the source language, which is also
what "en-GB" shows); lms/translations/en_US/LC_MESSAGES/messages.po gives the American ones
("Licence" -> "License"). The .po files are compiled in memory the first time a locale is
used, so a clean clone needs no build step. Pure code (Babel only, no Flask): the request's
locale is chosen in lms.i18n_app.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_interval, get_month_names, match_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

SETTING = "locale"  # the programme setting's key
SUPPORTED_LOCALES = ("en-US", "en-GB")
DEFAULT_LOCALE = "en-US"
SOURCE_LOCALE = "en-GB"  # the spelling the code's strings are written in
TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
DOMAIN = "messages"


def locale_problem(value: object) -> str | None:
    """Why a value is not a supported locale setting (None when it is one)."""
    if isinstance(value, str) and value in SUPPORTED_LOCALES:
        return None
    choices = " or ".join(f'"{name}"' for name in SUPPORTED_LOCALES)
    return f"expected {choices}, got {value!r}"


def validate_locale(value: object) -> str:
    """The locale setting as given; ValueError with a clear message for any other value."""
    if problem := locale_problem(value):
        raise ValueError(f"Unknown locale: {problem}.")
    assert isinstance(value, str)
    return value


def locale_or_default(value: object) -> str:
    """A stored setting's locale, or the default when it is unset or not supported."""
    return value if isinstance(value, str) and value in SUPPORTED_LOCALES else DEFAULT_LOCALE


def babel_locale(locale: str | None) -> Locale:
    """The Babel locale of a setting ("en-US" -> en_US); the default for None."""
    return _parsed(locale_or_default(locale))


@functools.cache
def _parsed(locale: str) -> Locale:
    """Locale.parse, once per locale (it reads Babel's data files)."""
    return Locale.parse(locale, sep="-")


@functools.cache
def translations_for(locale: str | None) -> NullTranslations:
    """The compiled catalogue of a locale (the source words for the source locale)."""
    name = locale_or_default(locale)
    po = TRANSLATIONS_DIR / name.replace("-", "_") / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as source:
        catalogue = read_po(source, locale=name.replace("-", "_"), domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return Translations(fp=compiled, domain=DOMAIN)


def translate(message: str, locale: str | None = None) -> str:
    """A source (British) string in a locale's spelling: translate("Licence", "en-US")."""
    return translations_for(_or_current(locale)).gettext(message)


def marked(message: str) -> str:
    """A source string put in the catalogue (`make messages` looks for `marked(...)`) but
    kept as written: text stored as it is (a rule's steps in the progress read model) and
    put in the locale's spelling where it is shown (`translate`)."""
    return message


# Where the locale of the moment comes from: the default until the app wires in the request's
# (lms.i18n_app), so that pure code called from a page, a job or a command follows the setting.
_current: Callable[[], str] = lambda: DEFAULT_LOCALE  # noqa: E731


def use_locale_source(source: Callable[[], str]) -> None:
    """Make `current_locale` ask `source` (the app's per-request programme locale)."""
    global _current
    _current = source


def current_locale() -> str:
    """The programme locale for the page, job or command running now."""
    return _current()


def _or_current(locale: str | None) -> str:
    """The given locale, or the current one for None."""
    return locale if locale is not None else current_locale()


@functools.cache
def _skeleton_pattern(skeleton: str, locale: str) -> str:
    """The locale's date pattern for a CLDR skeleton ('yMMMd' -> 'MMM d, y' in en-US)."""
    where = babel_locale(locale)
    return str(where.datetime_skeletons[match_skeleton(skeleton, where.datetime_skeletons)])


def skeleton_date(day: date, skeleton: str, locale: str | None = None) -> str:
    """A date by CLDR skeleton in a locale: ('yMMMd') 'Jan 20, 2024' / '20 Jan 2024'."""
    return _skeleton_date(day, skeleton, locale_or_default(_or_current(locale)))


# Formatting is pure and Babel's costs about 50 us a date; a page shows a dozen or more, and the
# same days recur on everyone's (offering days, cohorts' completion dates): kept per process.
@functools.lru_cache(maxsize=8192)
def _skeleton_date(day: date, skeleton: str, name: str) -> str:
    """skeleton_date for a known locale name."""
    return babel_format_date(day, _skeleton_pattern(skeleton, name), locale=babel_locale(name))


def date_range(first: date, last: date, locale: str | None = None) -> str:
    """Two days as the locale writes a range: 'Mar 3 – 5, 2026' / '3–5 Mar 2026'."""
    name = locale_or_default(_or_current(locale))
    return format_interval(first, last, "yMMMd", locale=babel_locale(name))


def month_name(number: int, locale: str | None = None) -> str:
    """A month's short stand-alone name in a locale: 9 -> 'Sep' (en-US), 'Sept' (en-GB)."""
    where = babel_locale(_or_current(locale))
    return str(get_month_names("abbreviated", "stand-alone", locale=where)[number])


def long_date(day: date, locale: str | None = None) -> str:
    """'December 5, 2026' (en-US) or '5 December 2026' (en-GB): the date as printed."""
    return babel_format_date(day, "long", locale=babel_locale(_or_current(locale)))


def hours_text(hours: Decimal | int | float | str, locale: str | None = None) -> str:
    """Hours without trailing zeros, as the locale writes numbers: 7.50 -> '7.5', 41.00 -> '41'."""
    value = Decimal(str(hours)).quantize(Decimal("0.01"))
    # One key for a zero however signed (-0.00 and 0.00 are equal, so would share an entry).
    return _hours_text(abs(value) if value == 0 else value, locale_or_default(_or_current(locale)))


# A programme's hours are a few hundred values (half-hours, their sums): kept per process.
@functools.lru_cache(maxsize=4096)
def _hours_text(value: Decimal, locale: str) -> str:
    """hours_text of a quantized value in a known locale."""
    return format_decimal(value, format="0.##", locale=babel_locale(locale))
