"""Every URL rule x every kind of person: who may see and do what, other people's records included.

The routes come from `app.url_map` when the tests are collected, so a new route is walked
automatically; a route without a line in EXPECTED below fails with a message saying so.
Each endpoint gets one line: which personas may GET it and which may POST to it. The
personas are a guest, the clinician who owns every record of the world (access_world.py),
another clinician (who must not reach those records: IDOR), an instructor, a medical
reviewer, an admin and a consultant (an account with the consultant role, the approved
consultant the clinician logged a consultation with). URL values are the ids of the
clinician's records.

Allowed means 2xx/3xx for GET, and for POST anything but a denial or a server error (a
409 or 422 means the request reached the rules). Denied means a redirect to the sign-in
page for a guest and 403/404 for the others; a denied POST must also change nothing.

Two more walks use the same world: every unsafe request without a CSRF token is refused
with 400 and changes nothing, and no GET changes anything in the database.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from access_world import (
    PERSONAS,
    SCREENING_SECRET,
    World,
    build,
    client_as,
    differences,
    dump,
    load,
)
from flask import Flask

from lms import create_app

# guest, clinician, other, instructor, reviewer, admin, consultant
G, C, O, I, R, A, K = PERSONAS  # noqa: E741
CONSULTANT = frozenset({K})
EVERYONE = frozenset(PERSONAS)
SIGNED_IN = EVERYONE - {G}
OWNER = frozenset({C})
OWNER_OR_STAFF = frozenset({C, I, A})
STAFF = frozenset({I, A})
ADMIN = frozenset({A})
REVIEWER = frozenset({R})
NOBODY: frozenset[str] = frozenset()

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")

# Pages that show whose record it is to anyone holding a secret from a link by design: the
# public verification page and its picture of the certificate (the certificate's code), the
# certificate's Open Badge (the code again: it names the holder as the verify page does) and
# the password-reset page (the e-mailed token, which says which account it resets).
NAMES_THE_HOLDER = frozenset(
    {"certificates.verify", "certificates.picture", "badges.credential", "links.reset_password"}
)


@dataclass(frozen=True)
class Expect:
    """Who may use one endpoint, per method; URL values and form data when defaults won't do.

    `args` and `data` values are format strings over the world's values, e.g.
    `args={"user_id": "{leaver_id}"}` or `data={"user_ids": "{clinician_id}"}`.
    """

    get: frozenset[str] | None = None
    post: frozenset[str] | None = None
    args: Mapping[str, str] = field(default_factory=dict)
    data: Mapping[str, str] = field(default_factory=dict)
    # "status" (default): a denied POST answers 403/404 (guests: sign-in redirect).
    # "no-change": the view answers every refusal with a redirect and a message, so for it a
    # denial is proven by the database being untouched (and never a 5xx).
    denied_by: str = "status"

    def allowed(self, method: str) -> frozenset[str] | None:
        """The personas allowed for a method, None when the table says nothing about it."""
        return {"GET": self.get, "POST": self.post}.get(method)


# URL argument -> value, unless an endpoint's line says otherwise.
DEFAULT_ARGS: dict[str, str] = {
    "user_id": "{clinician_id}",
    "completion_id": "{completion_id}",
    "certificate_id": "{certificate_id}",
    "code": "{certificate_code}",
    "request_id": "{request_id}",
    "session_id": "{session_id}",
    "application_id": "{application_id}",
    "offering_id": "{offering_id}",
    "enrolment_id": "{enrolment_id}",
    "notice_id": "{notice_id}",
    "message_id": "{message_id}",
    "event_id": "{cohort_event_id}",
    "filename": "app.css",
    "day_id": "{held_day_id}",
    "row_id": "{report_row_id}",
    "session_entry_id": "{session_entry_id}",
    "document_id": "{document_id}",
    "entry_id": "{consultation_id}",
    "consultant_id": "{approved_consultant_id}",
}

# ONE LINE PER ENDPOINT. Adding a route? Add its line here (the test tells you if you forget).
EXPECTED: dict[str, Expect] = {
    "lms_assets.static": Expect(get=EVERYONE),
    "healthz": Expect(get=EVERYONE),
    "healthz_jobs": Expect(get=EVERYONE),
    # auth (sign-in, registration, links from e-mails)
    "auth.login": Expect(get=EVERYONE, post=EVERYONE),
    "auth.logout": Expect(post=SIGNED_IN),
    "auth.register": Expect(get=EVERYONE, post=EVERYONE),
    "auth.registered": Expect(get=EVERYONE),
    "auth.forgot_password": Expect(get=EVERYONE, post=EVERYONE),
    "auth.resend_confirmation": Expect(post=SIGNED_IN),
    # the pages e-mailed links open (the code is posted, never put in a URL)
    "links.open_reset": Expect(post=EVERYONE, data={"code": "{reset_token}"}),
    "links.reset_password": Expect(get=EVERYONE, post=EVERYONE),
    "links.open_confirm": Expect(post=EVERYONE, data={"code": "{confirm_token}"}),
    "links.confirm_email": Expect(get=EVERYONE, post=EVERYONE),
    "links.open_email_change": Expect(post=EVERYONE, data={"code": "{email_change_token}"}),
    "links.confirm_email_change": Expect(get=EVERYONE, post=EVERYONE),
    "links.open_invitation": Expect(post=EVERYONE, data={"code": "{invitation_token}"}),
    "links.accept_invitation": Expect(get=EVERYONE, post=EVERYONE),
    # account (each person's own)
    "account.profile": Expect(get=SIGNED_IN),
    "account.update_profile": Expect(post=SIGNED_IN),
    "account.change_email": Expect(post=SIGNED_IN),
    "account.resend_email_change": Expect(post=SIGNED_IN),
    "account.cancel_email_change": Expect(post=SIGNED_IN),
    "account.change_password": Expect(post=SIGNED_IN),
    "account.notifications": Expect(post=SIGNED_IN),
    "account.export": Expect(post=SIGNED_IN),
    "account.request_deletion": Expect(post=SIGNED_IN),
    # admin
    "admin.users": Expect(get=ADMIN),
    "admin.user": Expect(get=ADMIN),
    "admin.change_roles": Expect(post=ADMIN, data={"roles": "clinician"}),
    "admin.deactivate": Expect(post=ADMIN),
    "admin.reactivate": Expect(post=ADMIN),
    "admin.verify_licence": Expect(post=ADMIN),
    "admin.audit": Expect(get=ADMIN),
    "programme_settings.edit": Expect(get=ADMIN),
    "programme_settings.save": Expect(post=ADMIN, data={"provider_name": "Polaris Insight Center"}),
    "programme_settings.sample": Expect(post=ADMIN),
    "programme_images.show": Expect(get=EVERYONE, args={"digest": "{programme_image_digest}"}),
    "accounts_admin.invite": Expect(get=ADMIN, post=ADMIN),
    "accounts_admin.resend_invitation": Expect(post=ADMIN, args={"user_id": "{invitee_id}"}),
    "accounts_admin.deletions": Expect(get=ADMIN),
    "accounts_admin.carry_out_deletion": Expect(post=ADMIN, args={"user_id": "{leaver_id}"}),
    "mail.outbox": Expect(get=ADMIN),
    "mail.outbox_message": Expect(get=ADMIN),
    "mail.mark_read": Expect(post=OWNER),
    "mail.mark_all_read": Expect(post=SIGNED_IN),
    # catalogue
    "catalog.programme": Expect(get=SIGNED_IN),
    "catalog.admin_items": Expect(get=ADMIN),
    "catalog.admin_item": Expect(get=ADMIN, args={"code": "{item_code}"}),
    "catalog.admin_edit": Expect(get=ADMIN, post=ADMIN, args={"code": "{item_code}"}),
    # progress
    "progress.dashboard": Expect(get=SIGNED_IN),
    "progress.roster": Expect(get=STAFF),
    "progress.record": Expect(get=OWNER_OR_STAFF),
    "progress.mark_one": Expect(post=STAFF),
    "progress.revoke": Expect(post=STAFF, data={"reason": "Marked by mistake"}),
    "progress.mark_cohort": Expect(get=STAFF, post=STAFF),
    "progress.cohort_result": Expect(get=STAFF),
    # certificates
    "certificates.download": Expect(get=OWNER_OR_STAFF),
    "certificates.transcript": Expect(get=OWNER_OR_STAFF),
    "certificates.person": Expect(get=OWNER_OR_STAFF),
    "certificates.admin_list": Expect(get=ADMIN),
    "certificates.revoke": Expect(post=ADMIN, data={"reason": "Issued in error"}),
    "certificates.reissue": Expect(post=ADMIN),
    "certificates.verify_form": Expect(get=EVERYONE),
    "certificates.verify": Expect(get=EVERYONE),
    "certificates.picture": Expect(get=EVERYONE),
    "certificates.legacy_picture": Expect(get=EVERYONE),
    "certificates.verify_upload": Expect(post=EVERYONE),
    # open badges: the credential for anyone holding the code (as the verify page), the
    # status lists and the issuer's keys for every verifier
    "badges.credential": Expect(get=EVERYONE),
    "badges.status_list": Expect(get=EVERYONE, args={"number": "1"}),
    "badges.jwks": Expect(get=EVERYONE),
    "badges.did_document": Expect(get=EVERYONE),
    # evaluations (the clinician attended the world's Module 2 offering, the instructor runs it)
    "evaluations.form": Expect(
        get=OWNER,
        post=OWNER,
        args={"offering_id": "{evaluation_offering_id}"},
        data={
            **{f"objective_{n}": "4" for n in (1, 2, 3)},
            **{f"q_{q}": "5" for q in ("relevance", "presenters", "apply", "bias", "overall")},
        },
    ),
    "evaluations.results_page": Expect(get=STAFF, args={"offering_id": "{evaluation_offering_id}"}),
    # equivalency
    "equivalency.mine": Expect(get=SIGNED_IN),
    "equivalency.new": Expect(get=SIGNED_IN, post=SIGNED_IN),
    "equivalency.new_consultations": Expect(get=SIGNED_IN, post=SIGNED_IN),
    "equivalency.detail": Expect(get=OWNER_OR_STAFF),
    "equivalency.evidence": Expect(get=OWNER_OR_STAFF),
    "equivalency.evidence_page": Expect(get=OWNER_OR_STAFF),
    "equivalency.withdraw": Expect(post=OWNER, denied_by="no-change"),
    "equivalency.review": Expect(get=STAFF),
    "equivalency.decide": Expect(
        post=STAFF, data={"decision": "approve", "reason": "Matches our Level 1 retreat"}
    ),
    # the Certificate of Training: the session log is each person's own; documents are the
    # clinician's and staff review them (never their own)
    "training_sessions.log": Expect(
        get=SIGNED_IN,
        post=SIGNED_IN,
        data={
            "year": "2020",
            "month": "1",
            "role": "therapist",
            "setting": "online",
            "client": "new",
        },
    ),
    "training_sessions.remove": Expect(post=OWNER, denied_by="no-change"),
    "training_documents.mine": Expect(get=SIGNED_IN),
    "training_documents.upload": Expect(post=SIGNED_IN, data={"kind": "reflection_paper"}),
    "training_documents.review": Expect(get=STAFF),
    "training_documents.detail": Expect(get=OWNER_OR_STAFF),
    "training_documents.download": Expect(get=OWNER_OR_STAFF),
    "training_documents.first_page": Expect(get=OWNER_OR_STAFF),
    "training_documents.decide": Expect(
        post=STAFF, data={"decision": "changes", "comment": "Sign the letter, please."}
    ),
    # retreats
    "offerings.index": Expect(get=SIGNED_IN),
    "offerings.detail": Expect(get=SIGNED_IN),
    "offerings.enrol": Expect(post=SIGNED_IN),
    "offerings.withdraw": Expect(post=OWNER, denied_by="no-change"),
    "offerings.offering_ics": Expect(get=SIGNED_IN),
    "offerings.my_ics": Expect(get=SIGNED_IN),
    "offerings.manage": Expect(get=STAFF),
    "offerings.new": Expect(get=ADMIN, post=ADMIN),
    "offerings.edit": Expect(get=ADMIN, post=ADMIN),
    "offerings.people": Expect(get=STAFF),
    "offerings.enrol_people": Expect(post=STAFF, data={"emails": "other@world.test"}),
    "offerings.enrol_person": Expect(post=STAFF, data={"user_id": "{other_id}"}),
    "offerings.import_people": Expect(post=STAFF),
    "offerings.remove": Expect(post=STAFF),
    # attendance of module offerings: staff look; the offering's facilitators (the world's
    # instructor is none of its) and admins take it
    "attendance.grid": Expect(get=STAFF, args={"offering_id": "{held_offering_id}"}),
    "attendance.save": Expect(post=ADMIN, args={"offering_id": "{held_offering_id}"}),
    "attendance.import_report": Expect(post=ADMIN, args={"offering_id": "{held_offering_id}"}),
    "attendance.match_row": Expect(
        post=ADMIN,
        args={"offering_id": "{held_offering_id}"},
        data={"enrolment_id": "{held_enrolment_id}"},
    ),
    # closing (a module offering's facilitators and admins; a retreat session's staff) after
    # a confirmation page; reopening a closed one is for admins only
    "closing.confirm": Expect(get=ADMIN, args={"offering_id": "{held_offering_id}"}),
    "closing.close": Expect(
        post=ADMIN, args={"offering_id": "{held_offering_id}"}, data={"confirm": "yes"}
    ),
    "closing.reopen": Expect(
        post=ADMIN, args={"offering_id": "{held_offering_id}"}, data={"reason": "A correction"}
    ),
    "attendance.roster_csv": Expect(get=STAFF, args={"offering_id": "{held_offering_id}"}),
    "attendance.record_pdf": Expect(get=STAFF, args={"offering_id": "{held_offering_id}"}),
    "attendance.ce_awards": Expect(get=STAFF),
    "attendance.ce_awards_csv": Expect(get=STAFF),
    # the Certificate of Training: the consultation log, the consultant's link, consultants
    "training.log_page": Expect(get=SIGNED_IN, post=SIGNED_IN),
    "training.resend": Expect(post=OWNER, denied_by="no-change"),
    "training.respond": Expect(get=EVERYONE),
    "training.open_link": Expect(post=EVERYONE, data={"code": "{consultation_code}"}),
    "training.answer": Expect(post=EVERYONE),
    "training.upload_letter": Expect(post=EVERYONE),
    "training.person_log": Expect(get=STAFF),
    # a consultant's own page: the consultant persona's account, whose address is the
    # approved consultant's the clinician logged with
    "training.to_confirm": Expect(get=CONSULTANT),
    "training.answer_in_account": Expect(post=CONSULTANT),
    "training.void": Expect(post=STAFF, data={"reason": "Logged twice"}),
    "training.consultants": Expect(get=ADMIN, post=ADMIN),
    "training_requirement.page": Expect(
        get=ADMIN, post=ADMIN, data={"rule": '{{"licensed": true}}', "note": "Simpler"}
    ),
    "training.consultant": Expect(get=ADMIN, post=ADMIN),
    "training.retire": Expect(post=ADMIN),
    "award.person_award": Expect(get=STAFF, post=STAFF, data={"confirm": "y"}),
    "award.public_directory": Expect(get=EVERYONE),
    "award.list_me": Expect(post=SIGNED_IN, data={"city": "Portland", "state": "OR"}),
    "award.unlist_me": Expect(post=SIGNED_IN),
    "training_progress.overview": Expect(get=SIGNED_IN),
    "training_progress.queues_index": Expect(get=STAFF),
    "training_progress.awaiting": Expect(get=STAFF),
    "training_progress.ready": Expect(get=STAFF),
    "training_progress.closing": Expect(get=STAFF),
    "retreats.index": Expect(get=SIGNED_IN),
    "retreats.apply": Expect(get=SIGNED_IN, post=SIGNED_IN),
    "retreats.withdraw": Expect(post=OWNER, denied_by="no-change"),
    "retreats.roster": Expect(get=STAFF),
    "retreats.roster_csv": Expect(get=STAFF),
    "retreats.attendance": Expect(post=STAFF, data={"outcome": "attended"}),
    "retreats.review_queue": Expect(get=REVIEWER),
    "retreats.screening": Expect(get=REVIEWER),
    "retreats.decide": Expect(post=REVIEWER, data={"decision": "clear", "reason": "Fine"}),
    "retreats.decided": Expect(get=REVIEWER),
    "retreats.ask": Expect(post=REVIEWER, data={"question": "Any recent sleep study?"}),
    "retreats.change": Expect(
        post=REVIEWER, data={"decision": "not_clear", "note": "New information"}
    ),
    "retreats.questions": Expect(get=OWNER),
    "retreats.answer": Expect(post=OWNER, data={"answer": "Eight centimetres of water."}),
}


# --------------------------------------------------------------------------- the routes


def _routes() -> dict[str, list[tuple[str, frozenset[str]]]]:
    """endpoint -> [(rule, methods)] of the app as it is now (built without a database)."""
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "TESTING": True,
                "LMS_ENV": "testing",
                "SECRET_KEY": "collect-routes-only-secret-key",
                "LMS_DATABASE_URL": f"sqlite:///{folder}/unused.sqlite3",
                "LMS_INSTANCE_PATH": folder,
                "RATELIMIT_ENABLED": False,
            }
        )
        routes: dict[str, list[tuple[str, frozenset[str]]]] = {}
        for rule in app.url_map.iter_rules():
            methods = frozenset(rule.methods or ()) - {"HEAD", "OPTIONS"}
            routes.setdefault(rule.endpoint, []).append((rule.rule, methods))
        app.extensions["lms"].db.engine.dispose()
    return routes


ROUTES = _routes()
ENDPOINTS = sorted(ROUTES)
UNSAFE_ENDPOINTS = sorted(
    e for e, rules in ROUTES.items() if any(m & set(UNSAFE) for _, m in rules)
)
GET_ENDPOINTS = sorted(e for e, rules in ROUTES.items() if any("GET" in m for _, m in rules))


def test_every_route_has_a_line_in_the_access_table():
    """A new route must say who may use it: add one line to EXPECTED in this file."""
    missing = [e for e in ENDPOINTS if e not in EXPECTED]
    assert not missing, (
        "These endpoints have no line in EXPECTED in tests/web/test_access_matrix.py: "
        + ", ".join(missing)
        + ". Add one line per endpoint saying who may GET and POST, e.g. "
        + '"feature.view": Expect(get=SIGNED_IN, post=STAFF).'
    )
    unsafe_without_post = [
        e
        for e in UNSAFE_ENDPOINTS
        if e in EXPECTED
        and any(m & {"PUT", "PATCH", "DELETE"} for _, m in ROUTES[e])
        and EXPECTED[e].post is None
    ]
    assert not unsafe_without_post, f"say who may change data through {unsafe_without_post}"


def test_the_access_table_names_no_route_that_is_gone():
    """Lines for removed endpoints are deleted, so the table stays the truth."""
    stale = sorted(set(EXPECTED) - set(ENDPOINTS))
    assert not stale, f"EXPECTED names endpoints that no longer exist: {stale}"


# --------------------------------------------------------------------------- the world


_WORLD: dict[str, World] = {}


@pytest.fixture
def app_config(app_config: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The usual test settings, with evidence files kept where every test of the run finds them."""
    shared = tmp_path_factory.getbasetemp() / "access-world-evidence"
    app_config["LMS_EVIDENCE_DIR"] = str(shared)
    app_config["LMS_TRAINING_DOCUMENTS_DIR"] = str(
        tmp_path_factory.getbasetemp() / "access-world-training-documents"
    )
    return app_config


@pytest.fixture
def world(app: Flask) -> World:
    """The world loaded into this test's database (built on first use in this process)."""
    engine = app.extensions["lms"].db.engine
    if "world" not in _WORLD:
        values = build(app)  # mail is delivered by jobs that ran at commit (immediate mode)
        _WORLD["world"] = World(values=values, rows=dump(engine))
    else:
        load(engine, _WORLD["world"].rows)
    return _WORLD["world"]


def _url(app: Flask, world: World, endpoint: str, rule_text: str) -> str:
    """The rule's URL filled in with the world's values."""
    expect = EXPECTED.get(endpoint, Expect())
    rule = next(r for r in app.url_map.iter_rules(endpoint) if r.rule == rule_text)
    values = {}
    for name in rule.arguments:
        template = expect.args.get(name, DEFAULT_ARGS.get(name))
        assert template is not None, (
            f"{endpoint}: no value for URL argument <{name}>; add it to DEFAULT_ARGS or to "
            f"the endpoint's line as args={{'{name}': '{{some_world_value}}'}}"
        )
        values[name] = template.format(**world.values)
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **values)


def _data(endpoint: str, world: World) -> dict[str, str]:
    """The form data posted to an endpoint."""
    expect = EXPECTED.get(endpoint, Expect())
    return {k: v.format(**world.values) for k, v in expect.data.items()}


def _outcome(response: Any) -> str:
    """allowed / denied / refused (a 4xx from the rules) / error (5xx or 405)."""
    status = response.status_code
    response.close()
    if status >= 500 or status == 405:
        return f"error {status}"
    if status in (401, 403, 404):
        return "denied"
    if 300 <= status < 400:
        target = urlsplit(response.location or "")
        if target.path.endswith("/login") and "next=" in target.query:
            return "denied"
        return "allowed"
    return "allowed" if status < 300 else "refused"


def _expectation(endpoint: str) -> Expect:
    """The endpoint's line, or a failure telling the developer to add it."""
    if endpoint not in EXPECTED:
        pytest.fail(
            f"{endpoint} has no line in EXPECTED (tests/web/test_access_matrix.py): add one "
            "saying who may GET and POST it."
        )
    return EXPECTED[endpoint]


# --------------------------------------------------------------------------- the matrix


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_access_matrix(app, world, endpoint):
    """Each persona is allowed or denied exactly as the table says, for GET and for POST."""
    expect = _expectation(endpoint)
    problems: list[str] = []
    for rule_text, methods in ROUTES[endpoint]:
        url = _url(app, world, endpoint, rule_text)
        if "GET" in methods:
            allowed = expect.get
            assert allowed is not None, f"{endpoint} answers GET: add get=... to its line"
            for persona in PERSONAS:
                outcome = _outcome(client_as(app, world, persona).get(url))
                wanted = "allowed" if persona in allowed else "denied"
                if outcome != wanted:
                    problems.append(f"GET {url} as {persona}: expected {wanted}, got {outcome}")
        for method in sorted(methods & set(UNSAFE)):
            allowed = expect.post
            assert allowed is not None, f"{endpoint} answers {method}: add post=... to its line"
            # Denied personas first: each of their attempts must leave the world untouched.
            for persona in sorted(PERSONAS, key=lambda p: p in allowed):
                engine = app.extensions["lms"].db.engine
                load(engine, world.rows)
                response = client_as(app, world, persona).open(
                    url, method=method, data=_data(endpoint, world)
                )
                outcome = _outcome(response)
                if persona in allowed:
                    # Positive control: where only the owner may act, the owner's request must
                    # really change something, so the others' untouched database proves a
                    # denial and not merely a form that was too empty to do anything.
                    if allowed == OWNER and not differences(world.rows, dump(engine)):
                        problems.append(f"{method} {url} as the owner changed nothing")
                    if outcome not in ("allowed", "refused"):
                        problems.append(
                            f"{method} {url} as {persona}: expected allowed, got {outcome}"
                        )
                    continue
                changed = differences(world.rows, dump(engine))
                lenient = expect.denied_by == "no-change" and not outcome.startswith("error")
                if outcome != "denied" and not lenient:
                    problems.append(f"{method} {url} as {persona}: expected denied, got {outcome}")
                elif changed:
                    problems.append(f"{method} {url} as {persona} was denied but changed {changed}")
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- CSRF


@pytest.mark.parametrize("endpoint", UNSAFE_ENDPOINTS)
def test_unsafe_request_without_csrf_token_is_refused_and_changes_nothing(
    app, app_config, world, endpoint
):
    """With CSRF on, every POST/PUT/PATCH/DELETE lacking the token gets 400, for everyone."""
    csrf_app = create_app(dict(app_config, WTF_CSRF_ENABLED=True))
    try:
        problems = []
        for rule_text, methods in ROUTES[endpoint]:
            url = _url(csrf_app, world, endpoint, rule_text)
            for method in sorted(methods & set(UNSAFE)):
                for persona in PERSONAS:
                    response = client_as(csrf_app, world, persona).open(
                        url, method=method, data=_data(endpoint, world)
                    )
                    response.close()
                    if response.status_code != 400:
                        problems.append(f"{method} {url} as {persona}: {response.status_code}")
        changed = differences(world.rows, dump(app.extensions["lms"].db.engine))
    finally:
        csrf_app.extensions["lms"].db.engine.dispose()
    assert not problems, "expected 400 without a CSRF token:\n" + "\n".join(problems)
    assert not changed, f"requests without a CSRF token changed {changed}"


# --------------------------------------------------------------------------- GET never writes


@pytest.mark.parametrize("endpoint", GET_ENDPOINTS)
def test_get_changes_nothing_leaks_nothing_and_sends_security_headers(app, world, endpoint):
    """GET every route as every persona: not one row of any table changes, the world's
    screening answers appear in no response except the medical reviewer's, no page the
    other clinician gets names the clinician, and every response keeps a strict CSP,
    nosniff and X-Frame-Options: DENY.

    The one permitted write is the audit event that records a reviewer opening a screening
    (every view of health data is logged), and only that.
    """
    _expectation(endpoint)
    engine = app.extensions["lms"].db.engine
    leaks: list[str] = []
    weak_headers: list[str] = []
    strangers: list[str] = []
    owner_marks = {b"World Clinician", b"clinician@world.test"}
    for rule_text, methods in ROUTES[endpoint]:
        if "GET" not in methods:
            continue
        url = _url(app, world, endpoint, rule_text)
        for persona in PERSONAS:
            response = client_as(app, world, persona).get(url)
            body = response.get_data()
            if persona != R and SCREENING_SECRET.encode() in body:
                leaks.append(f"GET {url} as {persona}")
            # Nothing shown to the other clinician names the clinician (a mixed-up cache or
            # a list query missing its owner filter would), secret-link pages aside.
            if (
                persona == O
                and endpoint not in NAMES_THE_HOLDER
                and any(mark in body for mark in owner_marks)
            ):
                strangers.append(f"GET {url} as {persona}")
            # A view may tighten the policy (a download sent with "default-src 'none'; sandbox")
            # but never loosen it; framing stays refused by X-Frame-Options either way.
            csp = response.headers.get("Content-Security-Policy", "")
            strict = "frame-ancestors 'none'" in csp or "sandbox" in csp
            if not strict or "'unsafe-inline'" in csp or "'unsafe-eval'" in csp:
                weak_headers.append(f"GET {url} as {persona}: CSP {csp!r}")
            if response.headers.get("X-Content-Type-Options") != "nosniff":
                weak_headers.append(f"GET {url} as {persona}: no nosniff")
            if response.headers.get("X-Frame-Options") != "DENY":
                weak_headers.append(f"GET {url} as {persona}: no X-Frame-Options DENY")
            response.close()
    assert not leaks, f"screening answers shown to someone other than a reviewer: {leaks}"
    assert not strangers, f"the clinician's name or e-mail shown to another clinician: {strangers}"
    assert not weak_headers, "\n".join(weak_headers)
    after = dump(engine)
    known = len(world.rows["audit_events"])
    new_events = after["audit_events"][known:]
    after["audit_events"] = after["audit_events"][:known]
    assert not differences(world.rows, after), f"GET {endpoint} changed the database"
    written = {(e["action"], e["actor_id"]) for e in new_events}
    assert written <= {("screening.viewed", world.values["reviewer_id"])}, (
        f"GET {endpoint} wrote audit events {sorted(written)}"
    )


def test_the_consultant_persona_really_answers_the_entry_logged_with_them(app, world):
    """The positive control of the consultant's lines: their account lists the clinician's
    entry and confirming it in the account changes it (so the others' denials prove access)."""
    from lms.db import db
    from lms.training.models import Consultation, ConsultationState

    client = client_as(app, world, K)
    page = client.get("/training/to-confirm").get_data(as_text=True)
    assert "World Clinician" in page
    entry_id = world.values["consultation_id"]
    assert client.post(f"/training/to-confirm/{entry_id}").status_code == 303
    with app.app_context():
        assert db.session.get(Consultation, entry_id).state == ConsultationState.CONFIRMED
