"""Catalogue pages: the programme for signed-in people; list, item and edit pages for admins."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from lms.audit.models import AuditEvent
from lms.auth.models import Role, User
from lms.catalog.models import CatalogItem
from lms.offerings.days import every_day, new_offering

ADMIN_URLS = ["/admin/catalogue", "/admin/catalogue/M1", "/admin/catalogue/M1/edit"]


@pytest.fixture
def admin(make_user, client, login, catalog) -> User:
    """A signed-in administrator, with the default catalogue loaded."""
    user = make_user(Role.ADMIN, name="Ada Admin")
    login(client, user)
    return user


def form_for(item: CatalogItem, **overrides: object) -> dict[str, object]:
    """The edit form as the browser would post it, with some fields changed."""
    data = {
        "title": item.title,
        "short_title": item.short_title,
        "description": item.description,
        "format": item.format,
        "ce_hours": "" if item.ce_hours is None else str(item.ce_hours),
        "position": str(item.position),
        "recommended_note": item.recommended_note,
        "equivalent_label": item.equivalent_label,
    }
    if item.active:
        data["active"] = "y"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def reload(session, code: str) -> CatalogItem:
    """The item as the database now has it."""
    session.expire_all()
    return session.scalars(select(CatalogItem).where(CatalogItem.code == code)).one()


def item_events(session) -> list[AuditEvent]:
    """catalog.item_updated events."""
    return list(
        session.scalars(select(AuditEvent).where(AuditEvent.action == "catalog.item_updated"))
    )


def test_admin_list_shows_every_item_with_rule_in_words(client, admin) -> None:
    """The list has codes, kinds, CE hours, prerequisites in words and session counts."""
    page = client.get("/admin/catalogue")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for code in ("M1", "M7", "HTH", "ACT", "RETREAT-L1", "RETREAT-ADV", "RETREAT-DFH"):
        assert f'href="/admin/catalogue/{code}"' in html
    assert "Module 1, or an approved equivalent introductory KAP training" in html
    assert "Retreat" in html and "Core module" in html


def test_admin_list_runs_a_constant_number_of_queries(client, admin, engine, count_queries) -> None:
    """Items and session counts in two queries, plus the signed-in user."""
    with count_queries(starting="SELECT") as statements:
        assert client.get("/admin/catalogue").status_code == 200
    assert len(statements) <= 4, statements


def test_admin_item_page_shows_rules_sessions_and_dependants(client, admin) -> None:
    """The item page shows the Level 1 sessions and who names it."""
    html = client.get("/admin/catalogue/RETREAT-L1").get_data(as_text=True)
    assert "Sep 4 – 8, 2024" in html and "Portland, OR" in html
    assert "Completing Modules 1–5 before this retreat is recommended." in html
    assert 'href="/admin/catalogue/RETREAT-ADV"' in html  # the Advanced retreat names it


def test_unknown_item_is_404(client, admin) -> None:
    """A made-up code is a plain not-found page."""
    assert client.get("/admin/catalogue/NOPE").status_code == 404
    assert client.get("/admin/catalogue/NOPE/edit").status_code == 404


def test_admin_edit_saves_changes_and_records_an_audit_event(client, admin, session) -> None:
    """Changing title and CE hours saves both and writes one audit event naming them."""
    item = reload(session, "M6")
    response = client.post(
        "/admin/catalogue/M6/edit",
        data=form_for(item, title="Module 6 — Advanced Practice", ce_hours="7.25"),
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/catalogue/M6")
    item = reload(session, "M6")
    assert item.title == "Module 6 — Advanced Practice"
    assert item.ce_hours == Decimal("7.25")
    [audit] = item_events(session)
    assert audit.actor_id == admin.id
    assert audit.facts == {"code": "M6", "fields": ["title", "ce_hours"]}
    page = client.get("/admin/catalogue/M6").get_data(as_text=True)
    assert "Saved M6: title, ce hours." in page


def test_admin_edit_without_changes_writes_nothing(client, admin, session) -> None:
    """Posting the form unchanged records no event."""
    response = client.post("/admin/catalogue/M2/edit", data=form_for(reload(session, "M2")))
    assert response.status_code == 302
    assert item_events(session) == []


def test_admin_can_deactivate_an_item_nothing_depends_on(client, admin, session) -> None:
    """Unticking Active hides the retreat from the programme page."""
    data = form_for(reload(session, "RETREAT-DFH"))
    del data["active"]
    assert client.post("/admin/catalogue/RETREAT-DFH/edit", data=data).status_code == 302
    assert reload(session, "RETREAT-DFH").active is False
    assert "Diamonds from Heaven" not in client.get("/programme").get_data(as_text=True)


@pytest.mark.parametrize(
    ("code", "ce_hours", "message"),
    [
        ("M3", "-2", "CE hours must be zero or more"),
        ("M3", "eight", "is not a number of hours"),
        ("M3", "1.234", "at most two decimals"),
        ("RETREAT-L1", "10", "retreats carry no CE hours"),
    ],
    ids=["negative", "not-a-number", "too-precise", "on-a-retreat"],
)
def test_bad_ce_hours_are_refused_with_a_message_and_nothing_changes(
    client, admin, session, code: str, ce_hours: str, message: str
) -> None:
    """The form comes back with the reason beside the field; the item is as it was."""
    before = reload(session, code)
    old = (before.title, before.ce_hours)
    response = client.post(
        f"/admin/catalogue/{code}/edit", data=form_for(before, title="Changed", ce_hours=ce_hours)
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert 'aria-invalid="true"' in html
    after = reload(session, code)
    assert (after.title, after.ce_hours) == old
    assert item_events(session) == []


def test_deactivating_module_1_is_refused_because_rules_name_it(client, admin, session) -> None:
    """The message names the items whose rules would be stranded."""
    data = form_for(reload(session, "M1"))
    del data["active"]
    response = client.post("/admin/catalogue/M1/edit", data=data)
    assert response.status_code == 422
    assert "cannot be deactivated" in response.get_data(as_text=True)
    assert reload(session, "M1").active is True


def test_empty_title_is_refused_by_the_form(client, admin, session) -> None:
    """Shape errors come back as 422 with the field marked."""
    response = client.post(
        "/admin/catalogue/M2/edit", data=form_for(reload(session, "M2"), title="")
    )
    assert response.status_code == 422
    assert reload(session, "M2").title.startswith("Module 2")


@pytest.mark.parametrize("url", ADMIN_URLS)
def test_clinician_gets_403_on_admin_pages(client, make_user, login, catalog, url: str) -> None:
    """Admin pages are for admins only, GET and POST."""
    login(client, make_user(Role.CLINICIAN))
    assert client.get(url).status_code == 403
    assert client.post("/admin/catalogue/M1/edit", data={"title": "Hacked"}).status_code == 403


@pytest.mark.parametrize("role", [Role.INSTRUCTOR, Role.MEDICAL_REVIEWER])
def test_other_staff_get_403_on_admin_pages(client, make_user, login, catalog, role) -> None:
    """Instructors and medical reviewers do not edit the catalogue."""
    login(client, make_user(role))
    assert client.get("/admin/catalogue").status_code == 403


@pytest.mark.parametrize("url", [*ADMIN_URLS, "/programme"])
def test_guest_is_sent_to_sign_in(client, catalog, url: str) -> None:
    """Nothing here is public."""
    response = client.get(url)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_programme_page_shows_items_prerequisites_and_upcoming_sessions(
    client, make_user, login, catalog, session
) -> None:
    """A clinician sees modules with CE hours, rules in words, and only future sessions."""
    dfh = catalog["RETREAT-DFH"]
    for year in (2001, 2099):
        session.add(
            new_offering(
                dfh.id,
                every_day(date(year, 3, 1), date(year, 3, 3)),
                location="Test Hall, Oakland, CA",
                capacity=12,
            )
        )
    session.commit()
    login(client, make_user(Role.CLINICIAN))
    page = client.get("/programme")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Module 1 — Introduction to Ketamine-Assisted Psychotherapy" in html
    assert "Module 1, or an approved equivalent introductory KAP training" in html
    assert "Completing Modules 1–5 before this retreat is recommended." in html
    assert "Mar 1 – 3, 2099, Test Hall, Oakland, CA" in html
    assert "Mar 2001" not in html  # past sessions are not offered
    assert "Edit the catalog" not in html


def test_programme_page_runs_a_constant_number_of_queries(
    client, make_user, login, catalog, engine, count_queries
) -> None:
    """Items and upcoming sessions: two queries plus the signed-in user, and for a clinician
    the catalogue's stamp and their standing rows (which colour the picture)."""
    login(client, make_user(Role.CLINICIAN))
    with count_queries(starting="SELECT") as statements:
        assert client.get("/programme").status_code == 200
    assert len(statements) <= 5, statements


def test_nav_shows_programme_to_everyone_and_catalogue_to_admins(
    client, make_user, login, catalog
) -> None:
    """Header links follow roles."""
    login(client, make_user(Role.CLINICIAN))
    html = client.get("/programme").get_data(as_text=True)
    assert 'href="/programme"' in html and 'href="/admin/catalogue"' not in html
    login(client, make_user(Role.ADMIN))
    html = client.get("/programme").get_data(as_text=True)
    assert 'href="/admin/catalogue"' in html
