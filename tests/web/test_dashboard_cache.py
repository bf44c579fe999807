"""The kept dashboard body: a repeat view runs two queries, and every kind of change shows at once.

Each test views the dashboard twice (the second view served from the per-process cache), makes
one kind of change, and checks the next view shows it: the data version bumped by the commit
makes that view miss.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from retreats_support import add_session, complete, screening
from sqlalchemy import event, select, update

from lms.auth.models import Role
from lms.cache import CSRF_SENTINEL, CacheVersion, current_data_version
from lms.catalog.models import CatalogItem
from lms.db import db
from lms.equivalency.models import EquivalencyRequest
from lms.equivalency.services import decide_request
from lms.mail.models import Notification
from lms.progress import services
from lms.progress.models import Completion, CompletionSource
from lms.retreats import services as retreats

KEY = "mJ3cX6d0cQk2i3oR9o6wq0zZ2bq3x8nC5m4Wv1yJt5U="


@pytest.fixture(autouse=True)
def data_counter(request: pytest.FixtureRequest) -> None:
    """Make sure the 'data' counter row exists (PostgreSQL test set-up truncates every table)."""
    if "csrf_on" in request.fixturenames:  # settings first: the session builds the app
        request.getfixturevalue("csrf_on")
    session = request.getfixturevalue("session")
    if session.get(CacheVersion, "data") is None:
        session.add(CacheVersion(key="data", version=0))
        session.commit()


@contextmanager
def counted(engine) -> Iterator[list[str]]:
    """Collect the SQL statements the engine runs inside the block (BEGIN markers left out)."""
    statements: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        if not statement.startswith("BEGIN"):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def view(client) -> str:
    """The dashboard's HTML (asserting it rendered)."""
    response = client.get("/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def cached_view(client, engine) -> str:
    """View the dashboard twice, checking the second view is served from the cache."""
    view(client)
    with counted(engine) as statements:
        html = view(client)
    assert len(statements) == 2, "\n\n".join(statements)  # user load + version read: a hit
    return html


def module_row(html: str, code: str) -> str:
    """The dashboard table row of one module."""
    match = re.search(rf'<tr id="item-{code}".*?</tr>', html, re.S)
    assert match, f"no row for {code}"
    return match.group(0)


def test_a_repeat_view_runs_only_the_user_load_and_the_version_read(
    app, login, engine, catalog, make_user
):
    client = login(app.test_client(), make_user(Role.CLINICIAN))
    first = view(client)
    with counted(engine) as statements:
        again = view(client)
    assert len(statements) == 2
    assert any("cache_versions" in s for s in statements)
    assert any("FROM users" in s for s in statements)
    assert again == first  # same page, same CSRF token (the request's own)
    assert CSRF_SENTINEL not in again


def test_a_completion_recorded_by_an_instructor_request_shows_with_its_certificate(
    app, login, engine, catalog, make_user
):
    clinician = make_user(Role.CLINICIAN)
    client = login(app.test_client(), clinician)
    assert "data-state" in module_row(cached_view(client, engine), "M1")
    assert "Certificate<span" not in cached_view(client, engine)

    staff = login(app.test_client(), make_user(Role.INSTRUCTOR))
    response = staff.post(
        f"/clinicians/{clinician.id}/completions",
        data={"item_code": "M1", "completed_on": "2024-03-02", "note": ""},
    )
    assert response.status_code == 302

    html = view(client)
    assert "2 Mar 2024" in module_row(html, "M1")
    assert 'data-state="available"' in module_row(html, "M2")
    assert "Certificate<span" in html


def test_a_revocation_shows_on_the_next_view(app, login, engine, session, catalog, make_user):
    clinician = make_user(Role.CLINICIAN)
    instructor = make_user(Role.INSTRUCTOR)
    completion = services.record_completion(
        session,
        user_id=clinician.id,
        item_code="M1",
        completed_on=date(2024, 3, 2),
        source=CompletionSource.INSTRUCTOR,
        actor_id=instructor.id,
    )
    db.commit()  # runs the certificate's render job now, not during the first view
    client = login(app.test_client(), clinician)
    assert 'data-state="available"' in module_row(cached_view(client, engine), "M2")

    services.revoke_completion(session, completion.id, actor_id=instructor.id, reason="redo")
    session.commit()
    assert 'data-state="locked"' in module_row(view(client), "M2")


def test_an_approved_equivalency_shows_on_the_next_view(
    app, login, engine, session, catalog, make_user
):
    clinician = make_user(Role.CLINICIAN)
    instructor = make_user(Role.INSTRUCTOR)
    request = EquivalencyRequest(
        user_id=clinician.id, item_id=catalog["M1"].id, outside_programme="Elsewhere"
    )
    session.add(request)
    session.commit()
    client = login(app.test_client(), clinician)
    assert "pending approval" in cached_view(client, engine)

    decide_request(session, request.id, reviewer_id=instructor.id, approve=True, reason="")
    session.commit()
    html = view(client)
    assert "pending approval" not in html
    assert 'data-state="available"' in module_row(html, "M2")


def test_another_clinicians_application_changes_the_places_left(
    app, login, engine, session, catalog, make_user
):
    clinician, other = make_user(Role.CLINICIAN), make_user(Role.CLINICIAN)
    reviewer = make_user(Role.MEDICAL_REVIEWER)
    complete(session, clinician.id, "M1")
    complete(session, other.id, "M1")
    session.commit()
    add_session(session, capacity=3, location="Ojai, CA")
    client = login(app.test_client(), clinician)
    assert "3 places left" in cached_view(client, engine)

    application = retreats.apply(
        session,
        user_id=other.id,
        session_id=retreats.upcoming_sessions(session)[0].session.id,
        screening=screening(),
        screening_key=KEY,
    )
    retreats.decide_screening(session, application.id, reviewer_id=reviewer.id, clear=True)
    session.commit()
    assert "2 places left" in view(client)


@pytest.fixture
def csrf_on(app_config) -> None:
    """CSRF protection on, as in production (set before the app is built)."""
    app_config["WTF_CSRF_ENABLED"] = True


def test_a_notice_marked_read_with_the_token_of_a_cached_page_disappears(
    csrf_on, app, login, engine, session, catalog, make_user
):
    assert app.config["WTF_CSRF_ENABLED"]
    clinician = make_user(Role.CLINICIAN)
    session.add(Notification(user_id=clinician.id, kind="test", message="Read me please"))
    session.commit()
    client = login(app.test_client(), clinician)
    html = cached_view(client, engine)
    form = re.search(r'<form method="post" action="([^"]*/notices/\d+/read)".*?</form>', html, re.S)
    assert form, "no mark-read form"
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.group(0)).group(1)
    assert token != CSRF_SENTINEL

    refused = client.post(form.group(1), data={"csrf_token": "forged", "next": "/"})
    assert refused.status_code == 400
    response = client.post(form.group(1), data={"csrf_token": token, "next": "/"})
    assert response.status_code == 302
    assert "Read me please" not in view(client)


def test_a_certificate_issued_later_shows_on_the_next_view(
    app, login, engine, session, catalog, make_user
):
    from lms.certificates.services import issue_missing

    clinician = make_user(Role.CLINICIAN)
    completion = services.record_completion(
        session,
        user_id=clinician.id,
        item_code="M1",
        completed_on=date(2024, 3, 2),
        source=CompletionSource.INSTRUCTOR,
        actor_id=None,
        bulk=True,  # no certificate yet
    )
    session.commit()
    client = login(app.test_client(), clinician)
    assert "Certificate<span" not in cached_view(client, engine)

    issue_missing(session, commit=session.commit, completion_ids=[completion.id], jobs=1)
    assert "Certificate<span" in view(client)


def test_a_catalogue_title_edit_shows_on_the_next_view(
    app, login, engine, session, catalog, make_user
):
    client = login(app.test_client(), make_user(Role.CLINICIAN))
    assert "Module 2 renamed" not in cached_view(client, engine)
    item = session.scalar(select(CatalogItem).where(CatalogItem.code == "M2"))
    item.title = "Module 2 renamed"
    session.commit()
    assert "Module 2 renamed" in view(client)


def test_a_bulk_update_outside_the_unit_of_work_shows_on_the_next_view(
    app, login, engine, session, catalog, make_user
):
    client = login(app.test_client(), make_user(Role.CLINICIAN))
    assert "Bulk renamed" not in cached_view(client, engine)
    session.execute(
        update(CatalogItem).where(CatalogItem.code == "M3").values(title="Bulk renamed")
    )
    session.commit()
    assert "Bulk renamed" in view(client)


def test_a_rolled_back_change_does_not_bump_the_version(app, session, catalog, make_user):
    before = current_data_version(session)
    session.commit()
    item = session.scalar(select(CatalogItem).where(CatalogItem.code == "M2"))
    item.title = "Never committed"
    session.flush()
    session.rollback()
    assert current_data_version(session) == before

    item.title = "Committed"
    session.commit()
    assert current_data_version(session) == before + 1


def test_a_change_left_pending_at_commit_bumps_the_version(app, session, catalog):
    before = current_data_version(session)
    session.commit()
    item = session.scalar(select(CatalogItem).where(CatalogItem.code == "M2"))
    item.title = "Flushed by the commit itself"  # not flushed before commit
    session.commit()
    assert current_data_version(session) == before + 1


def test_a_rolled_back_savepoint_keeps_the_outer_change_bump(app, session, catalog):
    before = current_data_version(session)
    session.commit()
    item = session.scalar(select(CatalogItem).where(CatalogItem.code == "M2"))
    item.title = "Outer change"
    session.flush()
    with session.begin_nested() as savepoint:
        item.short_title = "inner"
        session.flush()
        savepoint.rollback()
    session.commit()
    assert current_data_version(session) == before + 1


def test_the_bump_is_the_last_statement_even_after_a_released_savepoint(
    app, engine, session, catalog
):
    before = current_data_version(session)
    session.commit()
    item = session.scalar(select(CatalogItem).where(CatalogItem.code == "M2"))
    with counted(engine) as statements:
        with session.begin_nested():
            item.title = "Changed inside a savepoint"
        item.short_title = "then outside it"
        session.commit()
    bumps = [n for n, s in enumerate(statements) if "cache_versions" in s]
    writes = [n for n, s in enumerate(statements) if s.lstrip().upper().startswith("UPDATE")]
    assert len(bumps) == 1 and bumps[0] == writes[-1]  # once, after every other write
    assert current_data_version(session) == before + 1


def test_audit_and_outbox_only_writes_do_not_bump(app, session, make_user):
    from lms.audit.services import record_event

    user = make_user(Role.CLINICIAN)
    before = current_data_version(session)
    session.commit()
    record_event(session, actor_id=user.id, action="test.viewed", subject_type="user")
    session.commit()
    assert current_data_version(session) == before


def test_two_people_never_see_each_others_body(app, login, engine, session, catalog, make_user):
    alice = make_user(Role.CLINICIAN, name="Alice Example")
    bob = make_user(Role.CLINICIAN, name="Bob Example")
    complete(session, alice.id, "M1")
    session.commit()
    first = login(app.test_client(), alice)
    second = login(app.test_client(), bob)
    alice_html = cached_view(first, engine)
    bob_html = cached_view(second, engine)
    assert "Alice Example" not in bob_html and "Bob Example" not in alice_html
    assert 'data-state="available"' in module_row(alice_html, "M2")
    assert 'data-state="locked"' in module_row(bob_html, "M2")
    staff = login(app.test_client(), make_user(Role.INSTRUCTOR, name="Ivy Instructor"))
    assert "Instructor tools" in view(staff)
    assert "Instructor tools" not in view(first)


def test_a_new_day_misses_the_cache(app, login, engine, catalog, make_user, monkeypatch):
    client = login(app.test_client(), make_user(Role.CLINICIAN))
    cached_view(client, engine)
    tomorrow = services.today() + timedelta(days=1)
    monkeypatch.setattr(services, "today", lambda: tomorrow)
    with counted(engine) as statements:
        view(client)
    assert len(statements) > 2


def test_a_role_change_misses_the_cache(app, login, engine, session, catalog, make_user):
    from lms.auth.services import set_roles

    user = make_user(Role.CLINICIAN)
    admin = make_user(Role.ADMIN)
    client = login(app.test_client(), user)
    assert "Instructor tools" not in cached_view(client, engine)
    set_roles(session, user, {Role.CLINICIAN, Role.INSTRUCTOR}, actor=admin)
    session.commit()
    assert "Instructor tools" in view(client)


def test_completion_rows_are_read_fresh_after_a_direct_insert(
    app, login, engine, session, catalog, make_user
):
    clinician = make_user(Role.CLINICIAN)
    client = login(app.test_client(), clinician)
    cached_view(client, engine)
    session.add(
        Completion(
            user_id=clinician.id,
            item_id=catalog["M1"].id,
            completed_on=date(2024, 5, 6),
            source=CompletionSource.INSTRUCTOR,
        )
    )
    session.commit()
    assert "6 May 2024" in module_row(view(client), "M1")


def test_a_counter_that_goes_back_drops_every_kept_body(app, login, engine, session, make_user):
    client = login(app.test_client(), make_user(Role.CLINICIAN))
    cached_view(client, engine)
    newer = current_data_version(session) + 5
    session.commit()

    def set_counter(value: int) -> None:
        """Set the counter behind the sessions' back, as restoring a backup would."""
        with engine.begin() as conn:
            conn.execute(update(CacheVersion).values(version=value))

    set_counter(newer)
    cached_view(client, engine)  # kept under the newer version
    set_counter(newer - 5)  # a restored backup
    view(client)
    set_counter(newer)  # its own changes count up to the same number again
    with counted(engine) as statements:
        view(client)
    assert len(statements) > 2  # built again, not served from a body of other data
