"""The edit form's confirmation step: moving days people hold or wait for, cancelling them, or
putting a day in the past shows what will change and whom it tells, and saves only on a
second POST carrying the confirmation; other edits save at once."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from clock_support import programme_today
from mail_support import outbox
from offerings_support import add_offering
from retreats_support import complete
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from lms import create_app
from lms.auth.models import Role, User
from lms.mail.models import OutboxMessage
from lms.offerings import enrolment
from lms.offerings.models import Offering
from lms.offerings.schedule import format_days

HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', re.DOTALL)


def _form(offering: Offering, **changes: str) -> dict[str, str]:
    """The edit form as the admin posts it, with changes."""
    values = {
        "item_code": offering.item.code,
        "format": offering.format.value,
        "days": format_days(offering.days),
        "location": offering.location,
        "join_url": offering.join_url,
        "capacity": str(offering.capacity),
    }
    return values | changes


def _carried(page: str) -> list[tuple[str, str]]:
    """The hidden values a confirmation page posts again (as a browser reads them)."""
    return [(name, html.unescape(value)) for name, value in HIDDEN.findall(page)]


def _moved(offering: Offering, days: int) -> str:
    """The offering's days as form text, `days` days later."""
    return "\n".join(
        f"{(d.held_on + timedelta(days=days)).isoformat()} 09:00-17:00 7" for d in offering.days
    )


@dataclass(frozen=True)
class Scheduled:
    """An offering as plain values (the test's session holds no transaction while the app
    writes), its admin, and its edit form as it stands and with its day a week later."""

    id: int
    admin: User
    starts_on: date
    form: dict[str, str]
    moved: str


def _scheduled(session, admin: User, offering: Offering) -> Scheduled:
    """The plain values of a just-made offering (the session's read ended)."""
    found = Scheduled(offering.id, admin, offering.starts_on, _form(offering), _moved(offering, 7))
    session.commit()
    return found


@pytest.fixture
def enrolled(session, make_user, catalog) -> Scheduled:
    """An offering 30 days ahead with 2 people enrolled, and its admin."""
    admin = make_user(Role.ADMIN)
    offering = add_offering(session, admin.id, days=1)
    for _ in range(2):
        person = make_user()
        complete(session, person.id, "M1")
        enrolment.enrol_user(session, offering.id, person.id, actor_id=admin.id)
        session.commit()
    return _scheduled(session, admin, offering)


def _changed_mail(session) -> list[OutboxMessage]:
    """Outbox rows telling of a change."""
    return [m for m in outbox(session) if m.kind in ("offering_changed", "offering_cancelled")]


def _starts_on(session, offering_id):
    """The offering's first day as stored now."""
    session.expire_all()
    found = session.scalar(select(Offering.starts_on).where(Offering.id == offering_id))
    session.commit()
    return found


def test_moving_days_people_hold_asks_first_and_saves_only_when_confirmed(
    app, login, session, enrolled
):
    browser = login(app.test_client(), enrolled.admin)
    url = f"/offerings/{enrolled.id}/edit"
    asked = browser.post(url, data={**enrolled.form, "days": enrolled.moved})
    assert asked.status_code == 200
    assert "Confirm the change" in asked.text and "2 people" in asked.text
    assert "\u2192" in asked.text and "Nothing is saved yet" in asked.text
    assert _starts_on(session, enrolled.id) == enrolled.starts_on
    assert _changed_mail(session) == []
    carried = _carried(asked.text)
    assert ("days", enrolled.moved) in carried
    # The confirmation button's value is the SEQUENCE the admin saw.
    done = browser.post(url, data=MultiDict([*carried, ("confirmed", "0")]))
    assert done.status_code == 302
    assert _starts_on(session, enrolled.id) == enrolled.starts_on + timedelta(days=7)
    mails = _changed_mail(session)
    assert len(mails) == 2
    flashed = browser.get(f"/offerings/{enrolled.id}").text
    assert "2 people were told of the change" in flashed
    # The outbox page names what a message carries.
    shown = browser.get(f"/admin/outbox/{mails[0].id}").text
    assert "invite.ics (text/calendar, REQUEST)" in shown


def test_back_to_the_form_keeps_the_values_and_changes_nothing(app, login, session, enrolled):
    browser = login(app.test_client(), enrolled.admin)
    url = f"/offerings/{enrolled.id}/edit"
    asked = browser.post(url, data={**enrolled.form, "days": enrolled.moved})
    again = browser.post(url, data=MultiDict([*_carried(asked.text), ("revise", "1")]))
    assert again.status_code == 200 and "Save offering" in again.text
    assert enrolled.moved.split()[0] in again.text  # the typed days are back in the form
    assert _starts_on(session, enrolled.id) == enrolled.starts_on
    assert _changed_mail(session) == []


def test_a_confirmation_given_before_someone_elses_change_asks_again(app, login, session, enrolled):
    browser = login(app.test_client(), enrolled.admin)
    stale = browser.post(
        f"/offerings/{enrolled.id}/edit",
        data={**enrolled.form, "days": enrolled.moved, "confirmed": "5"},
    )
    assert stale.status_code == 200 and "Confirm the change" in stale.text
    assert _starts_on(session, enrolled.id) == enrolled.starts_on


def test_cancelling_with_people_enrolled_asks_first(app, login, session, enrolled):
    browser = login(app.test_client(), enrolled.admin)
    url = f"/offerings/{enrolled.id}/edit"
    asked = browser.post(url, data={**enrolled.form, "cancelled": "y"})
    assert asked.status_code == 200 and "canceled calendar entry" in asked.text
    assert _changed_mail(session) == []
    done = browser.post(url, data=MultiDict([*_carried(asked.text), ("confirmed", "0")]))
    assert done.status_code == 302
    assert {m.kind for m in _changed_mail(session)} == {"offering_cancelled"}


def test_a_day_moved_into_the_past_asks_first_even_with_nobody_enrolled(
    app, login, session, make_user, catalog
):
    admin = make_user(Role.ADMIN)
    alone = _scheduled(session, admin, add_offering(session, admin.id, days=1))
    browser = login(app.test_client(), admin)
    past = (programme_today() - timedelta(days=3)).isoformat()
    asked = browser.post(
        f"/offerings/{alone.id}/edit", data={**alone.form, "days": f"{past} 09:00-17:00 7"}
    )
    assert asked.status_code == 200 and "before today" in asked.text
    assert "Nobody holding or waiting for a place will be told" in asked.text
    assert _starts_on(session, alone.id) == alone.starts_on


def test_changes_that_tell_nobody_save_at_once(app, login, session, enrolled):
    browser = login(app.test_client(), enrolled.admin)
    url = f"/offerings/{enrolled.id}/edit"
    saved = browser.post(url, data={**enrolled.form, "capacity": "30"})
    assert saved.status_code == 302
    assert _changed_mail(session) == []
    # A new join link (no day moved) is told without asking first.
    link = "https://video.example/j/999"
    told = browser.post(url, data={**enrolled.form, "capacity": "30", "join_url": link})
    assert told.status_code == 302 and len(_changed_mail(session)) == 2


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.INSTRUCTOR])
def test_only_admins_may_confirm_a_change(app, login, session, make_user, enrolled, role):
    browser = login(app.test_client(), make_user(role))
    refused = browser.post(
        f"/offerings/{enrolled.id}/edit",
        data={**enrolled.form, "days": enrolled.moved, "confirmed": "0"},
    )
    assert refused.status_code == 403
    assert _starts_on(session, enrolled.id) == enrolled.starts_on
    assert _changed_mail(session) == []


def test_a_confirmation_without_the_csrf_token_is_refused(app, app_config, session, enrolled):
    csrf_app = create_app(dict(app_config, WTF_CSRF_ENABLED=True))
    try:
        browser = csrf_app.test_client()
        with browser.session_transaction() as cookie:
            cookie["_user_id"] = enrolled.admin.get_id()
            cookie["_fresh"] = True
        refused = browser.post(
            f"/offerings/{enrolled.id}/edit",
            data={**enrolled.form, "days": enrolled.moved, "confirmed": "0"},
        )
        assert refused.status_code == 400
    finally:
        csrf_app.extensions["lms"].db.engine.dispose()
    assert _starts_on(session, enrolled.id) == enrolled.starts_on
    assert _changed_mail(session) == []
