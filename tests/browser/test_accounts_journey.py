"""Accounts in Chromium, CSRF on: register and confirm, forget and reset the password, account page.

Mail goes to a real in-process SMTP server; the test reads the links from what arrived.
"""

from __future__ import annotations

import pytest
from mail_support import link_in, smtp_server_fixture, text_of  # noqa: F401

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a fresh browser passphrase"


def test_register_confirm_forget_and_reset_through_the_pages(
    browser, live_server, smtp_server, session, catalog
):
    from playwright.sync_api import expect

    session.commit()  # end the fixtures' read transaction: on SQLite it holds the write lock
    context = browser.new_context(base_url=live_server)
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto("/register")
        page.get_by_label("Full name").fill("Bea Browser")
        page.get_by_label("Credentials").fill("LCSW")
        page.get_by_label("E-mail").fill("bea@example.test")
        page.get_by_label("Password", exact=True).fill("first password here")
        page.get_by_label("Repeat password").fill("first password here")
        page.get_by_label("License type").fill("LCSW")
        page.get_by_label("License number").fill("LCSW 777")
        page.get_by_role("button", name="Create account").click()
        expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
        page.get_by_role("link", name="sign in", exact=True).click()
        page.get_by_label("E-mail").fill("bea@example.test")
        page.get_by_label("Password").fill("first password here")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("Confirm your e-mail address (bea@example.test)")).to_be_visible()

        link = link_in(text_of(smtp_server.inbox.to("bea@example.test")[0]), "/confirm-email#")
        page.goto(link)  # the page's script posts the code from the fragment
        page.get_by_role("button", name="Confirm my address").click()
        expect(page.locator(".flash-success")).to_contain_text("confirmed")
        expect(page.get_by_text("Confirm your e-mail address (")).to_have_count(0)

        page.goto("/account")
        expect(page.get_by_text("Unverified", exact=True)).to_be_visible()
        page.get_by_label("E-mail me optional news too").uncheck()
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator(".flash-success")).to_contain_text("Optional e-mails are off")

        page.get_by_role("button", name="Sign out").click()
        page.get_by_role("link", name="Forgot your password?").click()
        page.get_by_label("E-mail").fill("bea@example.test")
        page.get_by_role("button", name="Send me a link").click()
        expect(page.locator(".flash-info")).to_contain_text("If an account uses that address")

        reset = link_in(text_of(smtp_server.inbox.to("bea@example.test")[-1]), "/reset-password#")
        page.goto(reset)
        page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        page.get_by_label("Repeat new password").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Save the new password").click()
        expect(page.locator(".flash")).to_contain_text("Your password is changed")
        expect(page.get_by_text("Bea Browser")).to_be_visible()

        page.goto(reset)
        expect(page.get_by_role("heading", name="This link cannot be used")).to_be_visible()
    finally:
        context.close()
