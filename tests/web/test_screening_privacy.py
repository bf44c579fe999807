"""Screening answers are health data: only a medical reviewer ever sees them, and it is logged.

A clinician applies with answers containing a unique marker. Every GET page of the app is
then visited as an instructor, an administrator, another clinician and the applicant: the
marker appears in no response (pages, CSV exports, downloads), no audit fact, no log line and
no database row (it is stored encrypted). The medical reviewer does see it, and the view is
audited.
"""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from retreats_support import add_session, complete, screening_form
from sqlalchemy import select, text

from lms.audit.models import AuditEvent
from lms.auth.models import Role
from lms.db import Base
from lms.mail.models import OutboxMessage
from lms.offerings.models import Enrolment

# Arguments of URL rules, filled from the objects this test creates.
_SKIP_ENDPOINTS = {"lms_assets.static"}


def _url_arguments(session, ids: dict[str, int]) -> dict[str, object]:
    """A value for every URL variable name the app uses, pointing at the test's records."""
    event_id = session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
    message_id = session.scalar(select(OutboxMessage.id).limit(1))
    return {
        "user_id": ids["applicant"],
        "application_id": ids["application"],
        "session_id": ids["session"],
        "request_id": ids["request"],
        "certificate_id": 1,
        "event_id": event_id or 1,
        "message_id": message_id or 1,
        "completion_id": 1,
        "code": "RETREAT-L1",
        "token": "not-a-real-token",
    }


def _get_urls(app, arguments: dict[str, object]) -> list[str]:
    """Every GET route of the app, built with the test's record ids."""
    adapter = app.url_map.bind("lms.test")
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in _SKIP_ENDPOINTS:
            continue
        values = {name: arguments.get(name, 1) for name in rule.arguments}
        urls.append(adapter.build(rule.endpoint, values))
    return sorted(set(urls))


def _every_row_as_text(session) -> str:
    """All data in all tables, as one string (to look for the marker at rest)."""
    chunks = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)):
            chunks.append(repr(tuple(row)))
    return "\n".join(chunks)


@pytest.fixture
def scenario(app, session, make_user, catalog, login, tmp_path):
    """An application with a marked screening, plus an equivalency request and people."""
    marker = f"HEALTH-{uuid.uuid4().hex}"
    applicant = make_user(Role.CLINICIAN, name="Aria Applicant")
    complete(session, applicant.id, "M1")
    retreat_session = add_session(session, capacity=4)
    client = login(app.test_client(), applicant)
    response = client.post(
        f"/retreats/sessions/{retreat_session.id}/apply",
        data=screening_form(yes=("psychosis", "sleep_apnea"), detail=marker, anything_else=marker),
    )
    assert response.status_code == 302
    from io import BytesIO

    from retreats_support import PDF_BYTES

    client.post(
        "/equivalency/new",
        content_type="multipart/form-data",
        data={
            "item_code": "M2",
            "programme": "SAGE",
            "attended_from": "2025-01-10",
            "attended_to": "2025-01-12",
            "hours": "8",
            "description": "Workshop",
            "evidence": (BytesIO(PDF_BYTES), "e.pdf"),
        },
    )
    session.expire_all()
    application = session.scalar(select(Enrolment))
    from lms.equivalency.models import EquivalencyRequest

    request = session.scalar(select(EquivalencyRequest))
    return {
        "marker": marker,
        "applicant": applicant,
        "client": client,
        "ids": {
            "applicant": applicant.id,
            "application": application.id,
            "session": retreat_session.id,
            "request": request.id,
        },
    }


def _sweep(app, session, login, people, scenario) -> int:
    """Visit every GET page as each person; return how many responses were checked."""
    marker = scenario["marker"]
    urls = _get_urls(app, _url_arguments(session, scenario["ids"]))
    checked = 0
    for label, client in people:
        for url in urls:
            response = client.get(url)
            body = response.get_data()
            assert marker.encode() not in body, f"{label} saw the screening answers at {url}"
            for value in response.headers.values():
                assert marker not in value, f"{label} saw the answers in a header at {url}"
            response.close()
            checked += 1
    return checked


def test_screening_answers_reach_only_the_medical_reviewer(
    app, session, make_user, login, scenario, caplog
):
    caplog.set_level(logging.DEBUG)
    marker = scenario["marker"]
    people = [
        ("instructor", login(app.test_client(), make_user(Role.INSTRUCTOR))),
        ("admin", login(app.test_client(), make_user(Role.ADMIN))),
        ("other clinician", login(app.test_client(), make_user(Role.CLINICIAN))),
        ("applicant", scenario["client"]),
    ]
    checked = _sweep(app, session, login, people, scenario)
    assert checked > 4 * 30  # every role really walked the whole app

    # The reviewer sees the answers, and the view is audited without them.
    reviewer = make_user(Role.MEDICAL_REVIEWER, name="Dr Reviewer")
    reviewer_client = login(app.test_client(), reviewer)
    page = reviewer_client.get(f"/retreats/review/{scenario['ids']['application']}")
    assert page.status_code == 200 and marker in page.text
    assert "no-store" in page.headers["Cache-Control"]
    session.expire_all()
    viewed = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "screening.viewed")
    ).all()
    assert [(e.actor_id, e.person_id) for e in viewed] == [(reviewer.id, scenario["applicant"].id)]

    # Decided: the other roles still see the decision only, everywhere.
    reviewer_client.post(
        f"/retreats/review/{scenario['ids']['application']}", data={"decision": "clear"}
    )
    _sweep(app, session, login, people, scenario)

    session.expire_all()
    facts = json.dumps([e.facts for e in session.scalars(select(AuditEvent))])
    assert marker not in facts
    assert marker not in _every_row_as_text(session)  # encrypted at rest, nowhere in clear
    assert marker not in caplog.text
    assert session.execute(text("SELECT count(*) FROM screenings")).scalar() == 1
