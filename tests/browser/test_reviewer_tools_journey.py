"""The reviewers' tools in Chromium, through the real pages with CSRF on.

A medical reviewer asks an applicant for more information -> the applicant sees "More
information requested" on their retreats page and answers -> the application is back in the
queue, marked "answer received" -> the reviewer clears it with a note -> finds it under past
decisions and changes the decision with a note -> the applicant sees "Not cleared". And a
credit reviewer sees a PDF's first page drawn on the request's page, the hours beside the
module's.
"""

from __future__ import annotations

import re

import pytest
from retreats_support import PASSWORD, add_session, complete, screening

from lms.auth.models import Role
from lms.retreats import services

pytestmark = pytest.mark.browser

KEY_SETTING = "LMS_SCREENING_KEY"


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


def test_a_question_is_answered_and_a_decision_revisited(
    app, browser, live_server, session, make_user, catalog
):
    from playwright.sync_api import expect

    applicant = make_user(Role.CLINICIAN, name="Ada Applicant")
    complete(session, applicant.id, "M1")
    reviewer = make_user(Role.MEDICAL_REVIEWER, name="Dr Query")
    retreat_session = add_session(session, location="Portland, OR")
    services.apply(
        session,
        user_id=applicant.id,
        session_id=retreat_session.id,
        screening=screening(yes=("sleep_apnea",), detail="CPAP at night"),
        screening_key=app.config[KEY_SETTING],
    )
    session.commit()

    contexts = []
    try:
        context, doctor = _signed_in(browser, live_server, reviewer)
        contexts.append(context)
        doctor.goto("/retreats/review")
        doctor.get_by_role("link", name=re.compile("^Review")).click()
        doctor.get_by_label("Question to the applicant").fill("When was your last sleep study?")
        doctor.get_by_role("button", name="Send the question").click()
        expect(doctor.locator(".flash-success")).to_contain_text("more information requested")
        expect(doctor.locator(".review-thread")).to_contain_text("last sleep study")

        context, me = _signed_in(browser, live_server, applicant)
        contexts.append(context)
        me.goto("/retreats/")
        expect(me.locator("main")).to_contain_text("More information requested")
        me.get_by_role("link", name=re.compile("^Answer the medical reviewer")).click()
        expect(me.locator(".review-thread")).to_contain_text("When was your last sleep study?")
        me.get_by_label("Your answer").fill("In March; the CPAP setting is 8.")
        me.get_by_role("button", name="Send the answer").click()
        expect(me.locator(".flash-success")).to_contain_text("with the medical reviewer")

        doctor.goto("/retreats/review")
        expect(doctor.locator("tbody").first).to_contain_text("answer received")
        doctor.get_by_role("link", name=re.compile("^Review")).click()
        expect(doctor.locator(".review-thread")).to_contain_text("the CPAP setting is 8")
        doctor.get_by_label("Clear to attend").check()
        doctor.get_by_label("Note (optional)").fill("Sleep study fine; CPAP well tolerated.")
        doctor.get_by_role("button", name="Record decision").click()
        expect(doctor.locator(".flash-success")).to_contain_text("cleared, enrolled")

        doctor.goto("/retreats/review/decided")
        expect(doctor.locator("tbody")).to_contain_text("Ada Applicant")
        doctor.get_by_role("link", name=re.compile("^Revisit")).click()
        expect(doctor.locator(".review-thread")).to_contain_text("CPAP well tolerated")
        doctor.get_by_label("Not cleared").check()
        doctor.get_by_label("Why the decision changes").fill("New cardiology letter.")
        doctor.get_by_role("button", name="Change the decision").click()
        expect(doctor.locator(".flash-success")).to_contain_text("Decision changed")
        expect(doctor.locator(".review-thread")).to_contain_text("Decision changed")

        me.goto("/retreats/")
        expect(me.locator('[data-retreat="RETREAT-L1"]')).to_contain_text("Not cleared")
        expect(me.locator("main")).not_to_contain_text("cardiology")
    finally:
        for context in contexts:
            context.close()


def test_the_credit_reviewer_sees_the_evidence_page_and_the_hours(
    browser, live_server, make_user, catalog
):
    from playwright.sync_api import expect
    from weasyprint import HTML

    clinician = make_user(Role.CLINICIAN, name="Cal Credit")
    instructor = make_user(Role.INSTRUCTOR, name="Ivy Instructor")
    pdf = HTML(string="<h1>Certificate of completion</h1><p>KTC, 6 hours</p>").write_pdf()
    contexts = []
    try:
        context, me = _signed_in(browser, live_server, clinician)
        contexts.append(context)
        me.goto("/equivalency/new")
        me.get_by_label("Counts for").select_option("M1")
        me.get_by_label("Outside program").select_option("KTC")
        me.get_by_label("First day of the training").fill("2025-03-01")
        me.get_by_label("Last day of the training").fill("2025-03-01")
        me.get_by_label("Hours of training").fill("6")
        me.get_by_label("What the training covered").fill("Introductory KAP (KTC).")
        me.get_by_label("Evidence").set_input_files(
            {"name": "ktc.pdf", "mimeType": "application/pdf", "buffer": pdf}
        )
        me.get_by_role("button", name="Send request").click()
        expect(me.locator(".flash-success")).to_contain_text("pending approval")

        context, teacher = _signed_in(browser, live_server, instructor)
        contexts.append(context)
        teacher.goto("/equivalency/review")
        expect(teacher.locator('[data-hours-check="short"]')).to_be_visible()
        teacher.get_by_role("link", name="Review").click()
        picture = teacher.get_by_role("img", name=re.compile("First page of the evidence"))
        expect(picture).to_be_visible()
        # The page is drawn in a child process: wait for the image to finish loading
        # (complete) before measuring it, however long the drawing takes on a busy machine.
        picture.element_handle().wait_for_element_state("stable")
        teacher.wait_for_function(
            "img => img.complete", arg=picture.element_handle(), timeout=30_000
        )
        width = picture.evaluate("img => img.naturalWidth")
        assert width > 100  # the page was drawn and the image loaded under the strict CSP
        expect(teacher.locator('[data-hours-check="short"]')).to_contain_text(
            "Fewer hours than the module"
        )
    finally:
        for context in contexts:
            context.close()
