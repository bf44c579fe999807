"""The programme as it runs, in a real browser: an admin schedules a Module 2 offering ->
clinicians enrol (one refused by the prerequisite, one waitlisted) -> the days pass -> the
facilitator imports the video platform's participant report and matches a guest row by hand
-> closes the offering -> the clinician sees the completion, Level 1 unlocked and "certificate
waiting for your evaluation" -> evaluates -> the certificate arrives and verifies."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from clock_support import programme_today
from facts_support import facts_changed
from retreats_support import PASSWORD, complete
from sqlalchemy import select

from lms.auth.models import Role
from lms.certificates.models import Certificate
from lms.db import utcnow
from lms.equivalency.models import EquivalencyRequest, EquivalencyStatus
from lms.offerings.models import Enrolment, Offering

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


def _approved_module_1_equivalent(session, user, catalog) -> None:
    """Module 1 taken elsewhere and approved (test setup; the credit flow has its own test)."""
    session.add(
        EquivalencyRequest(
            user_id=user.id,
            item_id=catalog["M1"].id,
            outside_programme="KTC",
            attended_from=date(2025, 3, 1),
            attended_to=date(2025, 3, 3),
            hours=16,
            description="Introductory KAP training (KTC).",
            status=EquivalencyStatus.APPROVED,
            decided_at=utcnow(),
            decision_reason="KTC's introductory course is an accepted Module 1 equivalent.",
        )
    )
    facts_changed(session, user)
    session.commit()


def _report(day: date, email: str) -> str:
    """A Zoom participant report: the clinician's own row and their phone as a guest."""
    stamp = day.strftime("%m/%d/%Y")
    return (
        "Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest\n"
        f"Avery Lane,{email},{stamp} 08:58:00 AM,{stamp} 12:30:00 PM,212,No\n"
        f"Avery's phone,,{stamp} 12:35:00 PM,{stamp} 04:00:00 PM,205,Yes\n"
    )


def test_an_offering_runs_from_scheduling_to_a_verified_certificate(
    browser, live_server, session, make_user, catalog
):
    from playwright.sync_api import expect

    admin = make_user(Role.ADMIN, name="Ada Admin")
    facilitator = make_user(Role.INSTRUCTOR, name="Fay Facilitator")
    avery = make_user(Role.CLINICIAN, name="Avery Lane")
    _approved_module_1_equivalent(session, avery, catalog)
    newcomer = make_user(Role.CLINICIAN, name="Noor Newcomer")
    late = make_user(Role.CLINICIAN, name="Lee Late")
    complete(session, late.id, "M1")
    start = programme_today() + timedelta(days=30)

    contexts = []
    try:
        # The admin schedules a one-day live online Module 2 with one place.
        context, boss = _signed_in(browser, live_server, admin)
        contexts.append(context)
        boss.goto("/offerings/new")
        boss.get_by_label("Module or retreat").select_option("M2")
        boss.get_by_label("Format").select_option("live_online")
        boss.get_by_label("Days").fill(f"{start.isoformat()} 09:00-16:00 8")
        boss.get_by_label("Join link").fill("https://video.example/j/module-2")
        boss.get_by_label("Places", exact=True).fill("1")
        boss.get_by_label("Fay Facilitator").check()
        boss.get_by_role("button", name="Save offering").click()
        expect(boss.locator(".flash-success")).to_contain_text("Scheduled")
        offering_id = int(re.search(r"/offerings/(\d+)", boss.url)[1])

        # Avery enrols and sees the join link; Noor is refused by the prerequisite; Lee waits.
        context, me = _signed_in(browser, live_server, avery)
        contexts.append(context)
        me.goto("/offerings/")
        me.get_by_role("link", name=re.compile("Details and enrollment")).first.click()
        me.get_by_role("button", name="Enroll").click()
        expect(me.locator(".flash-success")).to_contain_text("You are enrolled")
        expect(me.get_by_role("link", name="https://video.example/j/module-2")).to_be_visible()

        context, noor = _signed_in(browser, live_server, newcomer)
        contexts.append(context)
        noor.goto(f"/offerings/{offering_id}")
        expect(noor.get_by_text("You cannot enroll yet")).to_be_visible()
        expect(noor.get_by_role("button", name="Enroll")).to_have_count(0)

        context, lee = _signed_in(browser, live_server, late)
        contexts.append(context)
        lee.goto(f"/offerings/{offering_id}")
        lee.get_by_role("button", name="Join the waitlist").click()
        expect(lee.locator("main")).to_contain_text("position 1 on the waitlist")
        expect(lee.get_by_text("video.example")).to_have_count(0)

        # The day comes and goes.
        offering = session.get(Offering, offering_id)
        held = programme_today() - timedelta(days=1)
        offering.days[0].held_on = held
        offering.starts_on = offering.ends_on = held
        session.commit()

        # The facilitator imports the participant report and matches the guest row by hand.
        context, fay = _signed_in(browser, live_server, facilitator)
        contexts.append(context)
        fay.goto(f"/offerings/{offering_id}/attendance")
        fay.get_by_label(re.compile("Participant report")).set_input_files(
            {
                "name": "zoom.csv",
                "mimeType": "text/csv",
                "buffer": _report(held, avery.email).encode(),
            }
        )
        fay.get_by_role("button", name="Import").click()
        expect(fay.locator("main")).to_contain_text("Avery's phone")
        place = session.scalar(
            select(Enrolment.id).where(
                Enrolment.user_id == avery.id, Enrolment.offering_id == offering_id
            )
        )
        session.rollback()  # end the read: SQLite's writer would wait behind it
        fay.get_by_label(re.compile("Whose minutes are Avery's phone")).select_option(str(place))
        fay.get_by_role("button", name=re.compile("^Match")).click()
        # Closing shows what it will record, then asks.
        fay.get_by_role("link", name="Close the offering…").click()
        expect(fay.locator("main")).to_contain_text("Avery Lane")
        fay.get_by_role("button", name="Close the offering").click()
        expect(fay.locator("main")).to_contain_text("Avery Lane")

        # Avery: Module 2 done, Level 1 open, the certificate waits for the evaluation.
        me.goto("/")
        expect(me.locator("#item-M2")).to_contain_text("Completed")
        expect(me.locator("#item-RETREAT-L1")).to_contain_text("Open")
        expect(me.get_by_text("Certificate waiting for your evaluation").first).to_be_visible()
        me.get_by_role("link", name=re.compile("^Evaluate")).first.click()
        for group in me.locator("fieldset:has(input[type=radio])").all():
            group.locator("input[type=radio]").last.check()
        for box in me.locator("textarea").all():
            box.fill("Practical and clear.")
        me.get_by_role("button", name="Submit the evaluation").click()

        # The certificate is issued and verifies.
        certificate = session.scalar(
            select(Certificate)
            .where(Certificate.user_id == avery.id)
            .execution_options(populate_existing=True)
        )
        assert certificate is not None
        session.rollback()
        me.goto("/")
        expect(
            me.locator("#item-M2").get_by_role("link", name=re.compile("Certificate"))
        ).to_be_visible()
        public = browser.new_context(base_url=live_server)
        contexts.append(public)
        check = public.new_page()
        check.goto(f"/verify/{certificate.code}")
        expect(check.locator("main")).to_contain_text(re.compile("valid", re.IGNORECASE))
        expect(check.locator("main")).to_contain_text("Module 2")
    finally:
        for context in contexts:
            context.close()
