"""Moving an offering's days in a real browser (no script needed): the edit form asks first,
shows what changes and whom it tells, and saves on the confirmation page's button."""

from __future__ import annotations

from datetime import timedelta

import pytest
from mail_support import outbox
from offerings_support import add_offering
from retreats_support import PASSWORD, complete
from sqlalchemy import select

from lms.auth.models import Role
from lms.offerings import enrolment
from lms.offerings.models import Offering

pytestmark = pytest.mark.browser


def test_an_admin_moves_the_days_after_seeing_whom_it_tells(
    browser, live_server, session, make_user, catalog
):
    from playwright.sync_api import expect

    admin = make_user(Role.ADMIN)
    offering = add_offering(session, admin.id, days=2)
    person = make_user()
    complete(session, person.id, "M1")
    enrolment.enrol_user(session, offering.id, person.id, actor_id=admin.id)
    session.commit()
    offering_id, first = offering.id, offering.starts_on
    later = [first + timedelta(days=14 + n) for n in range(2)]
    session.commit()

    context = browser.new_context(base_url=live_server)
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("E-mail").fill(admin.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"/offerings/{offering_id}/edit")
        page.get_by_label("Days").fill(
            "\n".join(f"{day.isoformat()} 09:00-17:00 7" for day in later)
        )
        page.get_by_role("button", name="Save offering").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Confirm the change")
        expect(page.locator("main")).to_contain_text("1 person (1 holding a place)")
        session.expire_all()
        assert session.scalar(select(Offering.starts_on).where(Offering.id == offering_id)) == first
        session.commit()
        page.get_by_role("button", name="Save and tell them").click()
        expect(page.locator(".flash-success")).to_contain_text("1 person was told")
    finally:
        context.close()
    session.expire_all()
    moved = session.get(Offering, offering_id)
    assert [d.held_on for d in moved.days] == later  # both lines came back through the page
    assert moved.calendar_sequence == 1
    session.commit()
    assert [m.to_address for m in outbox(session) if m.kind == "offering_changed"] == [person.email]
