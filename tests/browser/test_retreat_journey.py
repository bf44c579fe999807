"""One clinician's whole retreat journey in Chromium, from "locked" to the Advanced retreat.

Locked Level 1 retreat -> asks for Module 1 credit with an uploaded certificate -> an
instructor approves -> Level 1 opens -> applies with the medical screening -> a medical
reviewer clears -> enrolled -> the session ends -> an instructor marks attendance -> the
Advanced retreat is open on the dashboard. Every step through the real pages, CSRF on.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from clock_support import programme_today
from retreats_support import PASSWORD, PDF_BYTES, add_session, complete

from lms.auth.models import Role
from lms.offerings.models import Offering
from lms.retreats.screening import CONTRAINDICATIONS

pytestmark = pytest.mark.browser


def _signed_in(browser, base_url, user):
    """A fresh browser context signed in through the login form."""
    from playwright.sync_api import expect

    context = browser.new_context(base_url=base_url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".flash-success")).to_contain_text("Welcome")
    return context, page


def test_clinician_goes_from_locked_to_the_advanced_retreat_unlocking(
    browser, live_server, session, make_user, catalog
):
    from playwright.sync_api import expect

    clinician = make_user(Role.CLINICIAN, name="Jo Journey")
    complete(session, clinician.id, "M2")  # another of the programme's modules
    instructor = make_user(Role.INSTRUCTOR, name="Ian Instructor")
    reviewer = make_user(Role.MEDICAL_REVIEWER, name="Dr Rea Reviewer")
    level1 = add_session(session, capacity=2, location="Portland, OR")
    add_session(session, "RETREAT-ADV", starts_in=200, location="San Francisco, CA")

    contexts = []
    try:
        context, me = _signed_in(browser, live_server, clinician)
        contexts.append(context)
        me.goto("/")
        expect(me.locator("#item-RETREAT-L1")).to_contain_text("Locked")

        # Credit for Module 1 taken with KTC, with the certificate as evidence.
        me.goto("/equivalency/new")
        me.get_by_label("Counts for").select_option("M1")
        me.get_by_label("Outside program").select_option("KTC")
        me.get_by_label("First day of the training").fill("2025-03-01")
        me.get_by_label("Last day of the training").fill("2025-03-03")
        me.get_by_label("Hours of training").fill("16")
        me.get_by_label("What the training covered").fill("Introductory KAP training (KTC).")
        me.get_by_label("Evidence").set_input_files(
            {"name": "ktc-certificate.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES}
        )
        me.get_by_role("button", name="Send request").click()
        expect(me.locator(".flash-success")).to_contain_text("pending approval")
        me.goto("/")
        expect(me.locator("#item-RETREAT-L1")).to_contain_text("Locked")

        # An instructor approves it.
        context, teacher = _signed_in(browser, live_server, instructor)
        contexts.append(context)
        teacher.goto("/equivalency/review")
        teacher.get_by_role("link", name="Review").click()
        expect(teacher.get_by_role("link", name=re.compile("Download evidence"))).to_be_visible()
        teacher.get_by_label("Approve").check()
        teacher.get_by_label("Reason").fill("KTC's introductory course is accepted.")
        teacher.get_by_role("button", name="Record decision").click()
        expect(teacher.locator(".flash-success")).to_contain_text("approved")

        # Level 1 is open at once: apply with the screening.
        me.goto("/")
        card = me.locator("#item-RETREAT-L1")
        expect(card).to_contain_text("Open")
        card.get_by_role("link", name=re.compile("^Apply")).first.click()
        for code, _label in CONTRAINDICATIONS:
            me.locator(f"input[name='{code}-answer'][value='no']").check()
        me.get_by_label("Anything else a physician should know").fill("Nothing to add.")
        me.get_by_role("button", name="Send application").click()
        expect(me.locator(".flash-success")).to_contain_text("medical reviewer")
        expect(me.locator('[data-retreat="RETREAT-L1"]').first).to_contain_text("In medical review")

        # A medical reviewer reads the screening and clears it: a place is free.
        context, doctor = _signed_in(browser, live_server, reviewer)
        contexts.append(context)
        doctor.goto("/retreats/review")
        expect(doctor.locator("tbody")).to_contain_text("low risk")
        doctor.get_by_role("link", name=re.compile("^Review")).click()
        expect(doctor.locator("body")).to_contain_text("Nothing to add.")
        doctor.get_by_label("Clear to attend").check()
        doctor.get_by_role("button", name="Record decision").click()
        expect(doctor.locator(".flash-success")).to_contain_text("cleared, enrolled")

        me.goto("/retreats/")
        expect(me.locator('[data-retreat="RETREAT-L1"]')).to_contain_text("Enrolled")

        # The retreat takes place.
        row = session.get(Offering, level1.id)
        row.starts_on = programme_today() - timedelta(days=6)
        row.ends_on = programme_today() - timedelta(days=2)
        session.commit()

        teacher.goto(f"/retreats/sessions/{level1.id}/roster")
        teacher.get_by_role("button", name=re.compile("^Attended")).click()
        expect(teacher.locator(".flash-success")).to_contain_text("attended")

        # The Advanced retreat is open on the dashboard at once.
        me.goto("/")
        expect(me.locator("#item-RETREAT-L1")).to_contain_text("Completed")
        advanced = me.locator("#item-RETREAT-ADV")
        expect(advanced).to_contain_text("Open")
        expect(advanced.get_by_role("link", name=re.compile("^Apply")).first).to_be_visible()
    finally:
        for context in contexts:
            context.close()
