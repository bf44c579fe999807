"""The admin pages in Chromium, CSRF on: find a clinician, verify, re-role, deactivate, audit.

Also proves, in a real browser, that a deactivated person's open session ends at once and
that none of the admin pages trips the Content-Security-Policy.
"""

from __future__ import annotations

import pytest

from lms.auth.models import Role

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"  # what make_user gives every account


def sign_in(page, email: str) -> None:
    """Use the real sign-in form."""
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_admin_finds_verifies_promotes_and_deactivates_a_clinician(
    browser, live_server, session, make_user
):
    """Search, verify the licence, add a role, deactivate; the trail shows each step."""
    from playwright.sync_api import expect

    admin = make_user(Role.ADMIN, name="Alma Admin", email="alma@example.test")
    clinician = make_user(
        Role.CLINICIAN,
        name="Cyrus Clinician",
        email="cyrus@example.test",
        licence_number="PSY-5150",
        licence_verified_at=None,
    )
    admin_email, clinician_email, clinician_id = admin.email, clinician.email, clinician.id
    session.commit()  # end the fixtures' read transaction: on SQLite it holds the write lock

    csp_violations: list[str] = []
    admin_context = browser.new_context(base_url=live_server)
    clinician_context = browser.new_context(base_url=live_server)
    admin_context.set_default_timeout(15_000)
    clinician_context.set_default_timeout(15_000)
    try:
        theirs = clinician_context.new_page()
        sign_in(theirs, clinician_email)
        expect(theirs.get_by_role("button", name="Sign out")).to_be_visible()

        page = admin_context.new_page()

        def note_csp(message) -> None:  # noqa: ANN001
            """Keep console lines about blocked inline code or styles."""
            if "Content Security Policy" in message.text:
                csp_violations.append(message.text)

        page.on("console", note_csp)
        sign_in(page, admin_email)
        main_nav = page.get_by_role("navigation", name="Main")
        main_nav.locator("summary", has_text="Admin").click()  # the header's Admin menu
        main_nav.get_by_role("link", name="Users").click()
        page.get_by_label("Search").fill("5150")
        page.get_by_role("button", name="Search").click()
        expect(page.get_by_role("link", name="Cyrus Clinician")).to_have_count(1)
        page.get_by_role("link", name="Cyrus Clinician").click()

        page.get_by_role("button", name="Mark license verified").click()
        expect(page.locator(".flash-success")).to_contain_text("marked verified")

        page.get_by_label("Instructor").check()
        page.get_by_role("button", name="Save roles").click()
        expect(page.locator(".flash-success")).to_contain_text("Roles of Cyrus Clinician saved")
        expect(page.get_by_label("Instructor")).to_be_checked()

        page.get_by_role("button", name="Deactivate account").click()
        expect(page.locator(".flash-success")).to_contain_text("signed out everywhere")
        expect(page.get_by_role("button", name="Reactivate account")).to_be_visible()

        theirs.reload()
        expect(theirs).to_have_url(f"{live_server}/login?next=%2F")

        main_nav.locator("summary", has_text="Admin").click()
        main_nav.get_by_role("link", name="Audit log").click()
        page.get_by_label("Concerning").fill(clinician_email)
        page.get_by_role("button", name="Filter").click()
        table = page.locator("table")
        for action in ("user.deactivated", "user.roles_changed", "user.licence_verified"):
            expect(table).to_contain_text(action)
        expect(page.get_by_role("link", name="Cyrus Clinician").first).to_have_attribute(
            "href", f"/admin/users/{clinician_id}"
        )
    finally:
        admin_context.close()
        clinician_context.close()
    assert csp_violations == []
