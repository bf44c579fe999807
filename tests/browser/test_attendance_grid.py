"""The attendance grid in Chromium, CSRF on, at a phone's 375 px: cells save by keyboard
without a reload, the page fits the screen, and nothing trips the Content-Security-Policy."""

from __future__ import annotations

import os

import pytest
from attendance_support import enrol, held_offering
from sqlalchemy import select

from lms import dates
from lms.auth.models import Role
from lms.offerings.models import Attendance

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"  # what make_user gives every account


def test_a_facilitator_takes_attendance_by_keyboard_on_a_phone_sized_screen(
    browser, live_server, session, catalog, make_user, tmp_path
):
    from playwright.sync_api import expect

    admin = make_user(Role.ADMIN)
    facilitator = make_user(Role.INSTRUCTOR, name="Fay Facilitator")
    offering = held_offering(session, admin.id, facilitators=[facilitator.id])
    people = [make_user(Role.CLINICIAN, name=n) for n in ("Ann Lee", "Bo Chen", "Cy Diaz")]
    enrolments = enrol(session, offering, people, admin.id)
    ann, day = enrolments[0], offering.days[0]
    url, email = f"/offerings/{offering.id}/attendance", facilitator.email
    session.commit()  # end the fixtures' read transaction: on SQLite it holds the write lock

    problems: list[str] = []
    context = browser.new_context(base_url=live_server, viewport={"width": 375, "height": 800})
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.on(
            "console",
            lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.goto("/login")
        page.get_by_label("E-mail").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(url)
        loaded = page.evaluate("performance.timeOrigin")

        label = f"Ann Lee, {dates.day(day.held_on, year=False)}"
        choice = page.get_by_label(f"{label}: attendance")
        choice.focus()
        page.keyboard.press("ArrowDown")  # — → Present, as a keyboard user picks it
        page.keyboard.press("Tab")  # leaving the select commits the change
        minutes = page.get_by_label(f"{label}: minutes attended")
        expect(minutes).to_be_focused()
        page.keyboard.type("405")
        page.keyboard.press("Tab")
        expect(page.locator("#grid-status")).to_contain_text("1 saved")
        expect(page.locator(f'[data-verdict="{ann.id}"]')).to_contain_text("Does not meet")
        assert page.evaluate("performance.timeOrigin") == loaded  # no reload happened
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"the page is {width}px wide on a 375px screen"
        if os.environ.get("LMS_SCREENSHOTS"):
            page.screenshot(path=os.environ["LMS_SCREENSHOTS"] + "/grid-375.png", full_page=True)
            page.set_viewport_size({"width": 1100, "height": 800})
            page.screenshot(path=os.environ["LMS_SCREENSHOTS"] + "/grid-wide.png", full_page=True)
    finally:
        context.close()
    assert not problems, problems
    session.expire_all()
    saved = session.scalar(select(Attendance).where(Attendance.enrolment_id == ann.id))
    assert (saved.present, saved.minutes) == (True, 405)
