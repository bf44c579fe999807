"""Registration, forgot-password and changing one's address never tell whether an address
has an account.

Each answers identically for a known and an unknown address, and the request does the same
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


def _ask_change(app, login, user, new_email: str):
    """A signed-in person asks to move their account to new_email; (answer, its page)."""
    client = login(app.test_client(), user)
    answer = client.post(
        "/account/email",
        data={"new_email": new_email, "current_password": "correct horse battery staple"},
    )
    if answer.status_code != 302:
        return answer, ""
    # Each browser has its own CSRF token; the rest of the page must be the same.
    return answer, re.sub(r'value="[\w.-]{40,}"', 'value="TOKEN"', _page(client, answer))


def test_changing_to_a_taken_address_answers_exactly_like_a_free_one(
    smtp_server, app, session, make_user, login
):
    holder = make_user(email="taken@example.test", name="Tara Taken")
    twins = {"name": "Sam Same", "licence_number": "LC-SAME"}
    first = make_user(email="sam1@example.test", **twins)
    second = make_user(email="sam2@example.test", **twins)
    free, free_page = _ask_change(app, login, first, "free@example.test")
    taken, taken_page = _ask_change(app, login, second, "TAKEN@example.test")
    assert free.status_code == taken.status_code == 302
    assert free.location == taken.location
    assert free_page == taken_page and "We sent a link to ADDRESS" in free_page

    [link] = smtp_server.inbox.to("free@example.test")
    assert link["Subject"] == "Confirm your new e-mail address"
    [notice] = smtp_server.inbox.to(holder.email)  # the holder hears instead; no link is sent
    assert notice["Subject"] == "Someone tried to use your address for another account"
    assert "sam2" not in text_of(notice)  # nothing about the asking account
    session.expire_all()
    assert session.get(User, second.id).email == "sam2@example.test"
    assert session.get(User, holder.id).name == "Tara Taken"


def test_the_email_change_request_does_the_same_work_for_a_taken_and_a_free_address(
    queue_in_instance, app, engine, make_user, login, count_queries
):
    make_user(email="taken@example.test")
    first = make_user(name="Sam Same")
    second = make_user(name="Sam Same")
    with count_queries() as free_sql:
        free, _ = _ask_change(app, login, first, "free@example.test")
    free_jobs = _queued(app)
    with count_queries() as taken_sql:
        taken, _ = _ask_change(app, login, second, "taken@example.test")
    taken_jobs = _queued(app)
    assert free.status_code == taken.status_code == 302
    assert free_sql == taken_sql and free_sql  # the same statements, no lookup of the address
    assert not any("users.email =" in statement for statement in free_sql)
    assert free_jobs == taken_jobs and "send_email_change_link" in free_jobs[0]
