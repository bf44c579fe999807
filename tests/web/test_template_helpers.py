"""The template helpers every page leans on: the memoised url_for and macro_from."""

from __future__ import annotations

from flask import url_for

from lms.macros import macro_from


def test_url_for_in_templates_builds_what_flask_builds(app) -> None:
    """Plain, with values, relative to the blueprint, and with Flask's own options (anchor,
    external, method), which go straight to flask.url_for."""
    memo = app.jinja_env.globals["url_for"]
    with app.test_request_context("/offerings/"):
        for endpoint, values in (
            ("offerings.index", {}),
            ("offerings.detail", {"offering_id": 7}),
            ("offerings.detail", {"offering_id": 8}),
            ("certificates.download", {"certificate_id": 3}),
            (".detail", {"offering_id": 9}),
            ("offerings.index", {"_anchor": "mine"}),
            ("offerings.index", {"_external": True}),
            ("offerings.index", {"page": 2}),
        ):
            for _ in range(2):  # built, then remembered
                assert memo(endpoint, **values) == url_for(endpoint, **values)
    with app.test_request_context("/", base_url="http://example.test/training/"):
        assert memo("offerings.index") == "/training/offerings/"  # per mount point


def test_macro_from_finds_a_macro_or_says_none(app) -> None:
    """An installed template's macro is callable from Python; a missing template or name is
    None, so a page can offer another feature a place without depending on it."""
    with app.test_request_context("/"):
        table = macro_from("progress/_modules_table.html", "modules_table")
        assert callable(table) and "<table" in str(table([], "Nothing"))
        assert macro_from("nowhere/_missing.html", "anything") is None
        assert macro_from("progress/_modules_table.html", "no_such_macro") is None
