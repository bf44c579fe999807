"""Registration and forgot-password never tell whether an address has an account.

Both answer identically for a known and an unknown address, and the request does the same
work for both: the same SQL statements (none at all) and one queued job of the same kind;
the job, run later by the consumer, decides what to send. The timing proof is the same-work
proof: a request that runs identical statements and enqueues an identical job has nothing
whose duration could differ by address.
"""

from __future__ import annotations

import re

import pytest
from mail_support import outbox, smtp_server_fixture, text_of  # noqa: F401
from sqlalchemy import func, select

from lms.auth.models import User

REGISTRATION = {
    "name": "Nora Newcomer",
    "credentials": "LMFT",
    "password": "a long enough password",
    "confirm": "a long enough password",
    "licence_type": "LMFT",
    "licence_number": "LMFT 1234",
    "licence_state": "CA",
}


def _queued(app) -> list[str]:
    """Names of the jobs waiting on the app's (unconsumed) queue, and empty the queue."""
    queues = app.extensions["lms"].jobs
    names = [task.name for task in queues.pending()]
    queues.flush()
    return names


def _page(client, response) -> str:
    """The page a redirect leads to, with this test's addresses blanked out."""
    body = client.get(response.location).get_data(as_text=True)
    return re.sub(r"[\w.+-]+@example\.test", "ADDRESS", body)


def test_registering_a_known_address_answers_exactly_like_a_new_one(
    smtp_server, client, session, make_user
):
    known = make_user(email="taken@example.test", name="Tara Taken")
    first = client.post("/register", data={**REGISTRATION, "email": "new@example.test"})
    second = client.post("/register", data={**REGISTRATION, "email": "TAKEN@example.test"})
    assert first.status_code == second.status_code == 303
    assert first.location == second.location
    assert _page(client, first) == _page(client, second)
    assert "Check your e-mail" in _page(client, first)
    assert client.get("/account").status_code == 302  # neither answer signs anyone in

    [confirmation] = smtp_server.inbox.to("new@example.test")
    assert confirmation["Subject"] == "Confirm your e-mail address"
    [notice] = smtp_server.inbox.to(known.email)
    assert notice["Subject"] == "You already have a KAP Training account"
    assert "/forgot-password" in text_of(notice) and "/login" in text_of(notice)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(User)) == 2
    taken = session.scalar(select(User).where(User.email == known.email))
    assert taken.name == "Tara Taken"  # nothing about the existing account changed


def test_a_refused_registration_form_is_refused_alike_for_known_and_new_addresses(
    client, make_user
):
    make_user(email="taken@example.test")
    short = {**REGISTRATION, "password": "short", "confirm": "short"}
    new = client.post("/register", data={**short, "email": "new@example.test"})
    known = client.post("/register", data={**short, "email": "taken@example.test"})
    assert new.status_code == known.status_code == 422
    blank = re.compile(r"[\w.+-]+@example\.test")
    assert blank.sub("A", new.get_data(as_text=True)) == blank.sub(
        "A", known.get_data(as_text=True)
    )


def test_registration_does_the_same_work_in_the_request_for_known_and_new_addresses(
    queue_in_instance, app, client, engine, make_user, count_queries
):
    make_user(email="taken@example.test")
    with count_queries() as new_sql:
        new = client.post("/register", data={**REGISTRATION, "email": "new@example.test"})
    new_jobs = _queued(app)
    with count_queries() as known_sql:
        known = client.post("/register", data={**REGISTRATION, "email": "taken@example.test"})
    known_jobs = _queued(app)
    assert new.status_code == known.status_code == 303
    assert new_sql == known_sql == []  # no table is read or written before the answer
    assert new_jobs == known_jobs and len(new_jobs) == 1 and "register_account" in new_jobs[0]


def test_forgot_password_does_the_same_work_in_the_request_for_known_and_unknown(
    queue_in_instance, app, client, engine, make_user, count_queries
):
    user = make_user()
    with count_queries() as known_sql:
        known = client.post("/forgot-password", data={"email": user.email})
    known_jobs = _queued(app)
    with count_queries() as unknown_sql:
        unknown = client.post("/forgot-password", data={"email": "nobody@example.test"})
    unknown_jobs = _queued(app)
    assert known.status_code == unknown.status_code == 302
    assert known.location == unknown.location
    assert known_sql == unknown_sql == []
    assert known_jobs == unknown_jobs and "send_password_reset" in known_jobs[0]


def test_the_jobs_send_only_to_a_real_active_account(smtp_server, client, session, make_user):
    user = make_user()
    client.post("/forgot-password", data={"email": "nobody@example.test"})
    assert outbox(session) == []
    client.post("/forgot-password", data={"email": user.email.upper()})
    assert [m.kind for m in outbox(session)] == ["password_reset"]


@pytest.fixture
def limited_client(app_config):
    """A client of an app with rate limits on (counters reset afterwards)."""
    from lms import create_app
    from lms.ratelimit import limiter

    app_config["RATELIMIT_ENABLED"] = True
    application = create_app(app_config)
    limiter.reset()
    yield application.test_client()
    limiter.reset()
    application.extensions["lms"].db.engine.dispose()


def test_registration_is_rate_limited_per_address(limited_client):
    data = {**REGISTRATION, "email": "someone@example.test"}
    statuses = [limited_client.post("/register", data=data).status_code for _ in range(4)]
    assert statuses == [303, 303, 303, 429]
