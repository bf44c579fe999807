"""The programme locale in the app: flask-babel chooses it from the programme setting, read at
most once per request, job or command (and with the time zone when that is read first).

Templates write `{{ _('Licence') }}`; Python code `lms.i18n.translate("Licence")` (it follows
the locale chosen here, and the default outside an app), or flask_babel's `lazy_gettext` for a
string made at import time (a form's label). An admin page that changes the setting calls
`forget_locale()` when the same request goes on to draw a page.
"""

from __future__ import annotations

from typing import Any

from babel.support import NullTranslations
from flask import current_app, g, has_app_context
from flask_babel import Babel, Domain

from lms import i18n
from lms.clock import kept_request_setting, read_request_settings

_KEY = "_lms_locale"


def forget_locale() -> None:
    """Drop the locale kept for this request or command (the setting has just changed)."""
    if has_app_context():
        g.pop(_KEY, None)
        g.pop("_lms_request_settings", None)
        g.pop("_flask_babel", None)  # flask-babel's own choice of locale and catalogue


def without_database() -> None:
    """Let a page drawn while the database does not answer use the locale read so far (the
    default when none was), so that drawing it never waits for the database again."""
    if has_app_context() and g.get(_KEY) is None:
        known, value = kept_request_setting(i18n.SETTING)
        g._lms_locale = i18n.locale_or_default(value if known else None)


def programme_locale() -> str:
    """The programme's locale setting ("en-US" / "en-GB"), read once per request or command.

    Outside an app (a unit test of pure code) it is the default.
    """
    if not has_app_context():
        return i18n.DEFAULT_LOCALE
    found = g.get(_KEY)
    if found is None:
        known, value = kept_request_setting(i18n.SETTING)
        if not known:
            session = current_app.extensions["lms"].db.session
            value = read_request_settings(session).get(i18n.SETTING)
        found = g._lms_locale = i18n.locale_or_default(value)
    return found


def _selected() -> str:
    """flask-babel's locale selector: the programme locale, as Babel names it (en_US)."""
    return programme_locale().replace("-", "_")


def _current() -> str:
    """The locale pure code follows: the programme's, kept for the request (every date and
    number of a page asks, scores of times: one lookup in `g`, not flask-babel's selection)."""
    return programme_locale()


class ProgrammeDomain(Domain):
    """Messages from lms/translations, compiled in memory (lms.i18n.translations_for)."""

    def get_translations(self) -> NullTranslations:
        """The catalogue of the locale in force."""
        if not has_app_context():
            return NullTranslations()
        return i18n.translations_for(_current())


class ProgrammeBabel(Babel):
    """flask-babel with the programme's domain."""

    @property
    def domain_instance(self) -> Domain:  # type: ignore[override]
        """The one domain: the programme's catalogues."""
        return _DOMAIN


_DOMAIN = ProgrammeDomain(domain=i18n.DOMAIN)


def init_app(app: Any) -> None:
    """Wire flask-babel (the `_` of templates, `gettext`) and the locale pure code follows."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", i18n.DEFAULT_LOCALE.replace("-", "_"))
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(i18n.TRANSLATIONS_DIR))
    ProgrammeBabel(app, locale_selector=_selected)
    app.before_request(forget_locale)  # a request inside an outer app context starts afresh
    i18n.use_locale_source(_current)
    app.jinja_env.globals["programme_locale"] = programme_locale
