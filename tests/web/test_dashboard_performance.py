"""The dashboard's speed-ups never show stale or wrong data.

The catalogue is kept between requests (checked against a stamp of every item's last change),
verdicts are remembered per catalogue, the user is read with its roles in one query, notices
come with their count in one query, and templates reuse built links: each test here changes
what one of those depends on and checks the page follows at once.
"""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select, text, update

from lms import signals
from lms.auth.models import Role, User
from lms.auth.services import load_session_user, set_roles
from lms.catalog.models import CatalogItem
from lms.db import db
from lms.mail.models import Notification
from lms.mail.services import UNREAD_SHOWN, unread_notices
from lms.progress import services
from lms.progress.facts import ItemRow, load_programme
from lms.progress.models import CompletionSource


def text_of(response) -> str:
    """The page's text with tags removed and whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def module_row(html: str, code: str) -> str:
    """The dashboard table row of one module."""
    match = re.search(rf'<tr id="item-{code}".*?</tr>', html, re.S)
    assert match, f"no row for {code}"
    return match.group(0)


def test_a_catalogue_title_edit_shows_on_the_next_dashboard(
    app, login, session, catalog, make_user
):
    client = login(app.test_client(), make_user(Role.CLINICIAN))
    assert "Module 2 renamed" not in text_of(client.get("/"))  # the catalogue is now kept

    catalog["M2"].title = "Module 2 renamed"
    session.commit()

    assert "Module 2 renamed" in text_of(client.get("/"))


def test_a_prerequisite_dropped_by_a_bulk_update_opens_the_module_at_once(
    app, login, session, catalog, make_user
):
    client = login(app.test_client(), make_user(Role.CLINICIAN))
    assert 'data-state="locked"' in module_row(client.get("/").get_data(as_text=True), "M2")

    # A bulk UPDATE bypasses the ORM objects: announced as the catalogue services announce a
    # change, everyone's standings follow; the catalogue's version moves (triggers), so the
    # kept catalogue is read again.
    session.execute(update(CatalogItem).where(CatalogItem.code == "M2").values(prerequisite=None))
    signals.catalogue_changed.send(None, session=session, fields={"prerequisite"})
    session.commit()

    assert 'data-state="available"' in module_row(client.get("/").get_data(as_text=True), "M2")


def test_a_title_changed_in_hand_written_sql_shows_on_the_next_view(
    app, login, session, catalog, make_user
):
    """SQL that touches neither the ORM nor updated_at still changes the catalogue's version
    (the database's triggers), so the kept copy is read again."""
    client = login(app.test_client(), make_user(Role.CLINICIAN))
    assert "Written by hand" not in text_of(client.get("/"))

    session.execute(text("UPDATE catalog_items SET title = 'Written by hand' WHERE code = 'M3'"))
    session.commit()

    assert "Written by hand" in text_of(client.get("/"))


def test_deactivating_and_adding_items_change_the_next_dashboard(
    app, login, session, catalog, make_user
):
    client = login(app.test_client(), make_user(Role.CLINICIAN))
    assert 'id="item-MUSIC"' in client.get("/").get_data(as_text=True)

    catalog["MUSIC"].active = False
    session.add(
        CatalogItem(
            code="NEWMOD",
            kind=catalog["M1"].kind,
            title="A brand new module",
            position=999,
        )
    )
    session.commit()

    html = client.get("/").get_data(as_text=True)
    assert 'id="item-MUSIC"' not in html
    assert 'id="item-NEWMOD"' in html


def test_the_kept_catalogue_is_per_database_and_plain_values(app, session, catalog):
    first = services.shared_programme(session)
    again = services.shared_programme(session)
    assert again is first  # unchanged catalogue: kept
    assert all(isinstance(item, ItemRow) for item in first.items)
    assert [item.code for item in first.items] == [
        item.code for item in load_programme(session).items
    ]


def test_a_completion_recorded_after_a_view_changes_verdicts_on_the_next_view(
    app, login, session, catalog, make_user
):
    clinician = make_user(Role.CLINICIAN)
    instructor = make_user(Role.INSTRUCTOR)
    client = login(app.test_client(), clinician)
    assert 'data-state="locked"' in module_row(client.get("/").get_data(as_text=True), "M2")

    services.record_completion(
        session,
        user_id=clinician.id,
        item_code="M1",
        completed_on=date(2024, 3, 2),
        source=CompletionSource.INSTRUCTOR,
        actor_id=instructor.id,
    )
    session.commit()

    assert 'data-state="available"' in module_row(client.get("/").get_data(as_text=True), "M2")


def test_every_dashboard_statement_runs_once(app, login, engine, catalog, make_user, count_queries):
    client = login(app.test_client(), make_user(Role.CLINICIAN))
    client.get("/")
    with count_queries() as statements:
        assert client.get("/").status_code == 200
    repeated = {s for s in statements if statements.count(s) > 1}
    assert not repeated, "\n\n".join(repeated)
    full_catalogue_reads = [s for s in statements if "catalog_items.prerequisite" in s]
    assert full_catalogue_reads == []  # only the stamp when the catalogue did not change


def test_facts_for_uses_a_given_account_without_reading_it_again(
    app, engine, session, catalog, make_user, count_queries
):
    clinician = make_user(Role.CLINICIAN)
    with count_queries() as statements:
        facts = services.facts_for(session, [clinician])
    assert facts[clinician.id].licensed
    assert not [s for s in statements if "FROM users" in s]
    assert services.facts_for(session, [clinician.id]) == facts


def test_the_session_user_comes_with_roles_in_one_query(
    app, engine, session, make_user, count_queries
):
    user = make_user(Role.CLINICIAN, Role.INSTRUCTOR)
    identity = user.get_id()
    session.expunge_all()
    with count_queries() as statements:
        loaded = load_session_user(session, identity)
        roles = loaded.roles
    assert roles == frozenset({Role.CLINICIAN, Role.INSTRUCTOR})
    assert len(statements) == 1
    assert load_session_user(session, f"{user.id}:wrong-token") is None
    assert load_session_user(session, "9" * 40 + ":token") is None
    assert load_session_user(session, "not-a-number:token") is None


def test_unread_notices_count_beyond_those_shown_and_none_at_all(session, make_user):
    reader = make_user(Role.CLINICIAN)
    assert unread_notices(session, reader.id) == ([], 0)
    for n in range(UNREAD_SHOWN + 3):
        session.add(Notification(user_id=reader.id, kind="test", message=f"Notice {n}"))
    session.add(Notification(user_id=make_user(Role.CLINICIAN).id, kind="t", message="Other"))
    session.commit()

    shown, total = unread_notices(session, reader.id)

    assert total == UNREAD_SHOWN + 3
    assert [n.message for n in shown] == [f"Notice {n}" for n in range(UNREAD_SHOWN + 2, 2, -1)]


def test_built_links_carry_their_own_values_and_the_mount_point(app, login, session, make_user):
    reader = make_user(Role.CLINICIAN)
    for n in range(3):
        session.add(Notification(user_id=reader.id, kind="test", message=f"Notice {n}"))
    session.commit()
    ids = session.scalars(select(Notification.id).where(Notification.user_id == reader.id)).all()
    client = login(app.test_client(), reader)

    html = client.get("/").get_data(as_text=True)
    mounted = client.get("/", environ_overrides={"SCRIPT_NAME": "/training"}).get_data(as_text=True)

    for notice_id in ids:
        assert f'action="/notices/{notice_id}/read"' in html
        assert f'action="/training/notices/{notice_id}/read"' in mounted
    assert 'href="/training/static/app.css"' in mounted
    assert 'href="/static/app.css"' in html


def test_the_header_links_follow_a_change_of_roles(app, login, session, make_user):
    person = make_user(Role.CLINICIAN)
    admin = make_user(Role.ADMIN)
    client = login(app.test_client(), person)
    assert ">Roster<" not in client.get("/").get_data(as_text=True)

    set_roles(session, session.get(User, person.id), {Role.CLINICIAN, Role.INSTRUCTOR}, actor=admin)
    session.commit()

    assert ">Roster<" in client.get("/").get_data(as_text=True)


def test_a_changed_time_zone_corrects_the_day_the_dashboard_guessed(
    app, session, catalog, make_user
):
    """The dashboard reads a person's rows for the day in the zone its kept catalogue was read
    with; when the setting has changed since (and the catalogue has not), the read says so and
    the day is worked out again in the new zone."""
    from zoneinfo import ZoneInfo

    from lms.catalog.models import ProgrammeSetting
    from lms.clock import today_in

    clinician = make_user(Role.CLINICIAN)

    def view_day(zone: str) -> date:
        session.merge(ProgrammeSetting(key="time_zone", value=zone))
        session.commit()
        with app.test_request_context("/"):
            return services.clinician_snapshot(db.session, clinician, with_history=False).on

    # 25 hours apart: the two zones are never on the same date.
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago", "Pacific/Kiritimati"):
        assert view_day(zone) == today_in(ZoneInfo(zone))
