"""Numbers out of range answer 404 (ids in paths) or 400/422 (query arguments), never a 500.

Every rule of `app.url_map` with an id in its path is requested with ids no row can have
(0, 2**31 (past PostgreSQL's INTEGER), 2**63, 2**64, 30, 400 and 5,000 digits) by every kind
of person with every method it accepts, and the largest real id must reach the database
without an error; query arguments that become OFFSETs, ids or date arithmetic are probed too.
An id is ASCII digits only: the digits of other scripts (fullwidth, Arabic-Indic, Devanagari),
which Werkzeug's `int` converter and Python's int() take for ASCII ones, name no record even
where the ASCII id does, for an admin sending a valid CSRF token. The suite runs this file on
both backends.
"""

from __future__ import annotations

import re

import pytest
from certificates_support import certificates_for, record
from flask import Flask
from sqlalchemy import select
from werkzeug.routing import IntegerConverter

from lms import create_app
from lms.auth.models import Role
from lms.bounds import MAX_ID, IdConverter
from lms.certificates.models import Certificate
from lms.db import db

OUT_OF_RANGE = ["0", str(2**31), str(2**63), str(2**64), "9" * 30, "9" * 400, "9" * 5000]
# Ids 1 and 5 written in other scripts' digits (int() reads each as the ASCII number).
OTHER_DIGITS = [
    "\uff11",  # fullwidth 1
    "\uff15",  # fullwidth 5
    "\u0661",  # Arabic-Indic 1
    "\u06f1",  # Extended Arabic-Indic (Persian) 1
    "\u0967",  # Devanagari 1
    "1\uff15",  # ASCII 1, fullwidth 5: 15
    "\U0001d7cf",  # mathematical bold 1
]
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
PERSONAS = [None, Role.CLINICIAN, Role.INSTRUCTOR, Role.MEDICAL_REVIEWER, Role.ADMIN]
_ARG = re.compile(r"<(?:(\w+):)?(\w+)>")


def _id_rules(app: Flask) -> list:
    """Every rule with at least one id (integer) argument in its path."""
    return [
        rule
        for rule in app.url_map.iter_rules()
        if any(isinstance(c, IntegerConverter) for c in rule._converters.values())
    ]


def _path(rule, id_value: str) -> str:
    """The rule's path with every id argument set to id_value (others to a harmless word)."""

    def fill(match: re.Match) -> str:
        converter = rule._converters[match.group(2)]
        return id_value if isinstance(converter, IntegerConverter) else "x"

    return _ARG.sub(fill, rule.rule)


@pytest.fixture
def clients(app, make_user, login):
    """A client per persona (a guest and one signed-in person of each role)."""
    result = {"guest": app.test_client()}
    for role in PERSONAS[1:]:
        result[role.value] = login(app.test_client(), make_user(role))
    return result


def test_every_id_in_a_path_uses_the_bounded_id_converter(app):
    rules = _id_rules(app)
    assert len(rules) >= 30  # the walk below really covers the id routes
    plain = [
        r.rule for r in rules if any(type(c) is IntegerConverter for c in r._converters.values())
    ]
    assert plain == [], "use <id:...> (lms.bounds.IdConverter) for database ids"
    assert all(
        isinstance(c, IdConverter)
        for r in rules
        for c in r._converters.values()
        if isinstance(c, IntegerConverter)
    )


def test_ids_no_row_can_have_answer_404_for_everyone_on_every_route(app, clients):
    problems = []
    rules = _id_rules(app)
    for rule in rules:
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        # Werkzeug answers 405 when the same path has a rule for another method (GET and POST
        # of /retreats/review/<id> are two views): still a refusal before any view runs.
        twin = any(r is not rule and r.rule == rule.rule for r in rules)
        refusals = {404, 405} if twin else {404}
        for value in OUT_OF_RANGE:
            path = _path(rule, value)
            for persona, client in clients.items():
                for method in methods:
                    status = client.open(path, method=method).status_code
                    if status not in refusals:
                        problems.append(
                            f"{method} {rule.rule} = {value[:25]} as {persona}: {status}"
                        )
    assert not problems, "\n".join(problems)


@pytest.fixture
def csrf_app(app_config):
    """The app with CSRF protection on, as in production."""
    application = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    yield application
    application.extensions["lms"].db.engine.dispose()


def test_ids_in_other_scripts_name_no_record_on_any_route(
    csrf_app, session, make_user, login, catalog
):
    admin = make_user(Role.ADMIN)
    people = [make_user(Role.CLINICIAN) for _ in range(5)]  # users 1 to 6 exist
    first = certificates_for(session, record(session, people[0].id, "M1").id)[0]
    db.commit()
    assert first.id == 1  # so `/admin/certificates/１/revoke` would revoke a real one
    client = login(csrf_app.test_client(), admin)
    page = client.get(f"/admin/users/{admin.id}").get_data(as_text=True)
    match = TOKEN.search(page)
    assert match, "no CSRF token on the user page"
    token = match.group(1) or match.group(2)
    assert client.get("/admin/users/1").status_code == 200  # the ASCII id opens the page
    problems = []
    for rule in _id_rules(csrf_app):
        twin = any(r is not rule and r.rule == rule.rule for r in _id_rules(csrf_app))
        refusals = {404, 405} if twin else {404}
        for value in OTHER_DIGITS:
            path = _path(rule, value)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                data = {"csrf_token": token, "reason": "Typed in error"}
                answer = client.open(path, method=method, data=data)
                if answer.status_code not in refusals:
                    problems.append(f"{method} {rule.rule} = {value!r}: {answer.status_code}")
    assert not problems, "\n".join(problems)
    session.expire_all()
    assert session.scalar(select(Certificate.revoked_at).where(Certificate.id == 1)) is None
    assert all(person.active for person in session.scalars(select(type(admin))))


def test_the_largest_id_reaches_the_database_and_finds_nothing(app, clients):
    problems = []
    for rule in _id_rules(app):
        path = _path(rule, str(MAX_ID))
        for persona, client in clients.items():
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                status = client.open(path, method=method).status_code
                if status >= 500:
                    problems.append(f"{method} {path} as {persona}: {status}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "query",
    [
        "date_to=9999-12-31",
        "date_from=0001-01-01",
        "date_from=9999-12-31&date_to=9999-12-31",
        f"actor_id={2**31}",
        f"actor_id={2**63}",
        f"person_id={2**64}",
        f"actor_id=-{2**63 + 1}",
        f"page={2**63}",
        "page=" + "9" * 400,
        "page=" + "9" * 5000,
        "page=\uff15",
        "actor_id=" + "9" * 400,
        "person_id=\u0661",
    ],
)
def test_audit_filters_out_of_range_are_a_form_error(clients, query):
    response = clients["admin"].get(f"/admin/audit?{query}")
    assert response.status_code == 422
    assert 'class="error"' in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "value", [str(2**63), str(2**64), "9" * 400, "9" * 5000, "-1", "0", "abc", "\uff15"]
)
def test_a_page_number_out_of_range_is_refused_on_every_list(app, clients, value):
    listing = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and not rule.arguments and not rule.rule.endswith((".pdf", ".csv"))
    ]
    problems = []
    for path in listing:
        for persona in ("admin", "instructor", "clinician"):
            status = clients[persona].get(f"{path}?page={value}").status_code
            if status >= 500:
                problems.append(f"GET {path}?page={value[:25]} as {persona}: {status}")
    assert not problems, "\n".join(problems)
    for path in ("/admin/certificates", "/admin/outbox", "/roster"):
        if value not in ("abc", "\uff15"):  # not a number at all: an old bookmark still opens
            assert clients["admin"].get(f"{path}?page={value}").status_code == 400, path
