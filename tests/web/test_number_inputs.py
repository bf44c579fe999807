"""Every number a person types is bounded before anything compares it: 4xx or a field error,
never a 5xx, and nothing changes.

The number fields are read from the real pages, as the personas who use them see them: every
form (GET filters and POST forms alike) on every page the admin, the instructor and the
clinician can open in the access world; in each form every number input and every input
(hidden, checkbox, radio) that carries a number (pages, ids), and every link's query number.
Each is sent, with the rest of the form as the page drew it, holding numbers no field
accepts: 400 digits (past a float, where wtforms' range check overflowed), PostgreSQL's
INTEGER plus one, ten digits, the most negative 64-bit number and beyond, digits of other
scripts, an exponent that takes hours to expand and a signalling NaN. A field added to any
form later is walked without anyone listing it here. Runs on both backends.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import test_access_matrix
from access_world import client_as, differences, dump, load
from flask import Flask
from test_access_matrix import GET_ENDPOINTS, ROUTES, _url
from wtforms import DecimalField, Form, IntegerField

from lms import forms as lms_forms

# Numbers no field of the tracker takes (every bound fits PostgreSQL's INTEGER).
NOT_ACCEPTED = [
    "9" * 400,  # a float overflows: wtforms' NumberRange raised OverflowError
    str(2**31),  # one past PostgreSQL's INTEGER
    "9999999999",  # ten digits
    str(-(2**63) - 1),
    "-" + "9" * 400,
    "\uff15",  # fullwidth 5
    "\u0663",  # Arabic-Indic 3
    "\u0967",  # Devanagari 1
    "1e999999999",  # Decimal takes it; int() of it builds a billion digits
    "sNaN",  # a signalling NaN breaks a float comparison
    "1_000",
]

PERSONAS = ("admin", "instructor", "clinician")
# Numbers that only say where to go back to: nonsense there falls back to a general page
# (lms.refusals.back_to_posted) and the request itself goes on.
HINTS = {"offering_id"}
PAGED = {
    "/admin/users": {"page": "1"},
    "/admin/audit": {"page": "1", "actor_id": "1", "person_id": "1"},
}

app_config = test_access_matrix.app_config
world = test_access_matrix.world


class _Forms(HTMLParser):
    """Each <form> of a page: action, method and its fields with the values the page drew."""

    def __init__(self) -> None:
        """No forms yet."""
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Note forms, their inputs, selected options and text areas."""
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and "?" in a.get("href", ""):
            # A link's query is a GET form too (pagination, "events by this person").
            target = urlsplit(a["href"])
            query = dict(parse_qsl(target.query, keep_blank_values=True))
            numbers = [k for k, v in query.items() if v.isascii() and v.isdigit()]
            if numbers:
                self.forms.append(
                    {"action": target.path, "method": "GET", "data": query, "numbers": numbers}
                )
            return
        if tag == "form":
            self._form = {
                "action": a.get("action", ""),
                "method": a.get("method", "get").upper(),
                "data": {},
                "numbers": [],
            }
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        name = a.get("name", "")
        data = self._form["data"]
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "reset", "image", "file"):
                return
            value = a.get("value", "")
            numeric = value.isascii() and value.isdigit() and name != "csrf_token"
            if (kind == "number" or numeric) and name not in self._form["numbers"]:
                self._form["numbers"].append(name)  # ids ticked or hidden, places, pages...
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    data.setdefault(name, []).append(value)
                return
            data[name] = value
        elif tag == "select" and name:
            self._select = name
            data.setdefault(name, "")
        elif tag == "option" and self._select is not None and "selected" in a:
            data[self._select] = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            data[name] = ""

    def handle_data(self, text: str) -> None:
        """A text area's content."""
        if self._form is not None and self._textarea is not None:
            self._form["data"][self._textarea] += text

    def handle_endtag(self, tag: str) -> None:
        """Close forms, selects and text areas."""
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _number_fields(app: Flask, the_world: Any) -> list[tuple[str, str, str, dict, str]]:
    """(persona, method, path, the form as drawn, number field) for every number on a page."""
    found: dict[tuple[str, str, str, str], dict] = {}
    for persona in PERSONAS:
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
                parser = _Forms()
                parser.feed(response.get_data(as_text=True))
                response.close()
                for form in parser.forms:
                    path = urlsplit(form["action"]).path or urlsplit(url).path
                    for name in form["numbers"]:
                        key = (persona, form["method"], path, name)
                        found.setdefault(key, form["data"])
    # Numbers only pagination links carry (the world is one page long): the filters' own.
    for path, query in PAGED.items():
        for name in query:
            found.setdefault(("admin", "GET", path, name), query)
    return [(p, m, path, data, name) for (p, m, path, name), data in sorted(found.items())]


def _refused(client: Any, response: Any) -> bool:
    """A 4xx, a page drawn again with field errors, or a flashed error."""
    if 400 <= response.status_code < 500:
        return True
    body = response.get_data(as_text=True) if "html" in response.content_type else ""
    if 'aria-invalid="true"' in body or "flash flash-error" in body:
        return True
    with client.session_transaction() as flask_session:
        flashes = flask_session.get("_flashes", [])
    return any(category == "error" for category, _message in flashes)


def test_every_number_field_refuses_numbers_out_of_bounds_and_changes_nothing(app, world):
    engine = app.extensions["lms"].db.engine
    fields = _number_fields(app, world)
    load(engine, world.rows)  # the pages read may have written (a viewed screening)
    names = {(path.rsplit("/", 1)[-1], name) for _p, _m, path, _d, name in fields}
    # The walk reaches the fields of the finding: places, position, page and the audit's ids.
    wanted = {("new", "capacity"), ("edit", "capacity"), ("edit", "position"), ("new", "hours")}
    assert wanted <= names, f"{wanted - names} not in {sorted(names)}"
    problems = []
    for persona, method, path, drawn, name in fields:
        client = client_as(app, world, persona)
        for value in NOT_ACCEPTED:
            data = {**drawn, name: value}
            if method == "GET":
                response = client.get(path, query_string=data)
            else:
                response = client.post(path, data=data)
            where = f"{method} {path} {name}={value[:12]!r} as {persona}"
            refused = _refused(client, response)
            changed = differences(world.rows, dump(engine)) if method == "POST" else []
            if response.status_code >= 500:
                problems.append(f"{where}: {response.status_code}")
            elif name in HINTS:
                assert value not in (response.location or ""), where
            elif not refused:
                problems.append(f"{where}: accepted ({response.status_code})")
            elif changed:
                problems.append(f"{where}: refused but changed {changed}")
            if changed:
                load(engine, world.rows)
            response.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("field_class", [IntegerField, DecimalField])
def test_a_form_with_a_number_field_that_does_not_bound_its_text_cannot_be_built(app, field_class):
    class Unbounded(lms_forms.Form):
        number = field_class("Number")

    with app.test_request_context(), pytest.raises(TypeError, match="WholeNumberField"):
        Unbounded()


def test_a_number_field_cannot_be_declared_wider_than_a_database_integer(app):
    class TooWide(lms_forms.Form):
        number = lms_forms.WholeNumberField("Too wide", minimum=0, maximum=2**31)

    with app.test_request_context(), pytest.raises(ValueError, match="INTEGER"):
        TooWide()


def test_every_form_of_the_tracker_bounds_its_numbers(app):
    """No Form subclass the features declare (all imported by the app) holds an unbounded
    number field, even one no test builds."""

    def subclasses(cls: type) -> list[type]:
        return [cls, *(s for sub in cls.__subclasses__() for s in subclasses(sub))]

    declared = [
        cls
        for cls in subclasses(Form)
        if cls.__module__.startswith("lms.") and cls.__module__ != "lms.forms"
    ]
    assert len(declared) >= 25
    with app.test_request_context():
        for cls in declared:
            fields = [
                getattr(cls, name).field_class
                for name in dir(cls)
                if hasattr(getattr(cls, name, None), "field_class")
            ]
            unbounded = [
                f
                for f in fields
                if issubclass(f, IntegerField | DecimalField)
                and not issubclass(f, lms_forms.WholeNumberField | lms_forms.DecimalNumberField)
            ]
            assert not unbounded, f"{cls.__qualname__}: {unbounded}"
