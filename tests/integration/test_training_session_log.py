"""The KAP session log: logged by month with generated codes, counted, refused when wrong
(nothing stored), in the person's own export and removed by erasure."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date

import pytest
from clock_support import programme_today
from sqlalchemy import func, select

from lms.audit.models import AuditEvent
from lms.auth.models import Role
from lms.auth.privacy import carry_out_deletion, export_personal_data, request_deletion
from lms.errors import InvalidInput, NotFound
from lms.storage import stores
from lms.training import session_log
from lms.training.records_models import ClientCode, SessionEntry
from lms.training.session_log import CODE_ALPHABET, NEW_CLIENT, SessionInput


def _input(client=NEW_CLIENT, *, months_ago=1, role="therapist", setting="online", **over):
    """A session `months_ago` months before this month of the programme."""
    today = programme_today()
    number = today.year * 12 + today.month - 1 - months_ago
    values = {
        "year": str(number // 12),
        "month": str(number % 12 + 1),
        "role": role,
        "setting": setting,
        "client": client,
    }
    values.update(over)
    return SessionInput(**values)


def _rows(session):
    """How many session rows and client codes exist."""
    return (
        session.scalar(select(func.count(SessionEntry.id))),
        session.scalar(select(func.count(ClientCode.id))),
    )


def test_a_new_client_gets_a_random_code_and_the_row_keeps_only_month_role_setting(
    session, make_user
):
    clinician = make_user()
    entry = session_log.log_session(session, user_id=clinician.id, data=_input())
    session.commit()
    code = entry.client.code
    assert code.startswith("C-") and len(code) == 6
    assert set(code[2:]) <= set(CODE_ALPHABET)
    assert entry.month_on.day == 1
    assert session_log.own_log(session, clinician.id) == [entry]
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "training.session_logged"))
    assert event.subject_id == entry.id and event.facts == {}


def test_an_existing_code_is_reused_and_counts_are_sessions_and_distinct_clients(
    session, make_user
):
    clinician = make_user()
    first = session_log.log_session(session, user_id=clinician.id, data=_input(months_ago=5))
    code = first.client.code
    session_log.log_session(session, user_id=clinician.id, data=_input(code, months_ago=3))
    session_log.log_session(session, user_id=clinician.id, data=_input(months_ago=2))
    session_log.log_session(
        session, user_id=clinician.id, data=_input(code, months_ago=1, role="co_therapist")
    )
    session.commit()
    counts = session_log.counts_for(session, clinician.id)
    assert (counts.therapist_sessions, counts.clients, counts.co_therapist_sessions) == (3, 2, 1)
    assert str(counts) == "3 sessions, 2 clients"
    today = programme_today()
    number = today.year * 12 + today.month - 1 - 5
    assert counts.first_month == date(number // 12, number % 12 + 1, 1)


def test_session_counts_answers_for_many_people_in_one_query(session, make_user, count_queries):
    people = [make_user() for _ in range(3)]
    for n, person in enumerate(people[:2]):
        for _ in range(n + 1):
            session_log.log_session(session, user_id=person.id, data=_input())
    session.commit()
    ids = [p.id for p in people]
    with count_queries() as queries:
        counts = session_log.session_counts(session, ids)
    assert len(queries) == 1
    assert counts[people[0].id][:2] == (1, 1)
    assert counts[people[1].id][:2] == (2, 2)
    assert counts[people[2].id] == (0, 0, None)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"months_ago": -1}, "has not come yet"),
        ({"client": "Jane Doe"}, "never stored"),
        ({"client": "jane@example.org"}, "never stored"),
        ({"month": "13"}, "month"),
        ({"year": "1899"}, "from 2000"),
        ({"role": "supervisor"}, "role"),
        ({"setting": "at the beach"}, "setting"),
        ({"client": ""}, "Choose the client"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error_and_nothing_is_stored(
    session, make_user, change, message
):
    clinician = make_user()
    before = _rows(session)
    with pytest.raises(InvalidInput, match=message):
        session_log.log_session(session, user_id=clinician.id, data=_input(**change))
    session.rollback()
    assert _rows(session) == before


def test_another_clinicians_code_is_refused_as_not_ones_own(session, make_user):
    owner, other = make_user(), make_user()
    code = session_log.log_session(session, user_id=owner.id, data=_input()).client.code
    session.commit()
    with pytest.raises(InvalidInput, match="one of your client codes"):
        session_log.log_session(session, user_id=other.id, data=_input(code))
    session.rollback()
    assert session_log.own_log(session, other.id) == []


def test_only_the_owner_removes_a_row_and_the_removal_is_audited(session, make_user):
    owner, other = make_user(), make_user()
    entry = session_log.log_session(session, user_id=owner.id, data=_input())
    session.commit()
    with pytest.raises(NotFound):
        session_log.remove_session(session, entry.id, user_id=other.id)
    session_log.remove_session(session, entry.id, user_id=owner.id)
    session.commit()
    assert session_log.own_log(session, owner.id) == []
    assert (
        session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "training.session_removed")
        )
        == 1
    )


def test_the_log_is_in_the_persons_export_and_erasure_removes_it(app, session, make_user):
    clinician = make_user()
    admin = make_user(Role.ADMIN)
    entry = session_log.log_session(session, user_id=clinician.id, data=_input(setting="group"))
    code = entry.client.code
    session.commit()
    archive = zipfile.ZipFile(io.BytesIO(export_personal_data(session, clinician)))
    data = json.loads(archive.read("data.json"))
    part = data["training_session_log"]
    assert part["client_codes"] == [code]
    assert part["sessions"][0]["client_code"] == code
    assert part["sessions"][0]["setting"] == "group"
    request_deletion(session, clinician)
    carry_out_deletion(session, clinician.id, actor=admin, files=stores(app))
    session.commit()
    assert _rows(session) == (0, 0)
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "user.anonymised"))
    assert event.facts["training_sessions_removed"] == 1
