"""The demo's new clinician on a 390 x 844 phone: the dashboard fits its purpose in Chromium.

About three screens for the whole page, nothing to scroll sideways, and the pathway picture
legible: every label inside its chip, the narrow drawing shown at 90% of its size or more,
and its text drawn at 12 px or more on a 375 px phone and a 1,280 px laptop.
"""

from __future__ import annotations

import pytest

from lms.demo import create_demo_data
from lms.storage import store

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
PASSWORD = "demo password for the phone test"


@pytest.fixture
def demo(app, session, monkeypatch):
    """The demo accounts and stories, made by `flask lms demo`'s own function.

    Certificates are issued for every demo mark, with a stand-in PDF: rendering is the
    certificates feature's to test.
    """
    monkeypatch.setattr(
        "lms.certificates.base.render_pdf",
        lambda design, content: b"%PDF-1.4\n% phone test stand-in\n%%EOF\n",
    )
    create_demo_data(
        session,
        password=PASSWORD,
        evidence_store=store("evidence", app),
        screening_key=app.config["LMS_SCREENING_KEY"],
    )
    session.commit()


def _dashboard_on_a_phone(browser, base_url, email):
    """A phone-sized browser signed in through the form, on the dashboard."""
    from playwright.sync_api import expect

    context = browser.new_context(base_url=base_url, viewport=PHONE)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".flash-success")).to_contain_text("Welcome")
    page.goto("/")
    expect(page.get_by_role("heading", name="Your pathway")).to_be_visible()
    return context, page


LABELS_OUTSIDE_CHIPS = """() => {
  const out = [];
  for (const svg of document.querySelectorAll('svg.pathway-svg')) {
    if (getComputedStyle(svg).display === 'none') continue;
    for (const node of svg.querySelectorAll('a.node')) {
      const chip = node.querySelector('rect.chip').getBBox();
      for (const text of node.querySelectorAll('text')) {
        const box = text.getBBox();
        if (box.x < chip.x || box.x + box.width > chip.x + chip.width + 0.5
            || box.y < chip.y || box.y + box.height > chip.y + chip.height + 0.5) {
          out.push(text.textContent);
        }
      }
    }
  }
  return out;
}"""


def test_the_new_clinicians_dashboard_is_about_three_phone_screens(browser, live_server, demo):
    context, page = _dashboard_on_a_phone(browser, live_server, "clinician@example.org")
    try:
        height = page.evaluate("document.documentElement.scrollHeight")
        assert height <= 3 * PHONE["height"], f"{height} px is more than three screens"
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        context.close()


def test_the_pathway_is_legible_on_a_phone(browser, live_server, demo):
    context, page = _dashboard_on_a_phone(browser, live_server, "clinician@example.org")
    try:
        narrow = page.locator("svg.pathway-svg.narrow")
        assert narrow.is_visible() and not page.locator("svg.pathway-svg.wide").is_visible()
        shown = narrow.bounding_box()["width"]
        natural = float(narrow.get_attribute("width"))
        assert shown >= 0.9 * natural, f"drawn at {shown / natural:.0%} of its size"
        assert page.evaluate(LABELS_OUTSIDE_CHIPS) == []
        # The nodes are links in the keyboard's path, each saying its state.
        page.locator("svg.pathway-svg.narrow a.node").first.focus()
        focused = page.evaluate("document.activeElement.querySelector('title').textContent")
        assert focused.endswith(": Open") or ": Locked." in focused or ": Open." in focused
    finally:
        context.close()


def test_a_graduates_wide_picture_keeps_its_labels_inside_its_chips(browser, live_server, demo):
    from playwright.sync_api import expect

    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("E-mail").fill("leila.haddad@example.org")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator(".flash-success")).to_contain_text("Welcome")
        page.goto("/")
        assert page.locator("svg.pathway-svg.wide").is_visible()
        assert page.evaluate(LABELS_OUTSIDE_CHIPS) == []
        assert page.locator("svg.pathway-svg.wide a.node.is-done").count() >= 10
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    finally:
        context.close()


# Each label of the drawing that shows, with the size it is drawn at: its font size times the
# drawing's scale on the screen (viewBox units to CSS pixels).
LABEL_SIZES = """() => [...document.querySelectorAll('svg.pathway-svg')]
  .filter((svg) => getComputedStyle(svg).display !== 'none')
  .flatMap((svg) => [...svg.querySelectorAll('text')].map((text) => ({
    words: text.textContent,
    px: parseFloat(getComputedStyle(text).fontSize) * text.getScreenCTM().a,
    height: text.getBoundingClientRect().height,
  })))"""


@pytest.mark.parametrize("width", [375, 1280])
@pytest.mark.parametrize("path", ["/", "/programme"])
def test_the_pathways_text_is_at_least_12_px_on_a_phone_and_a_laptop(
    browser, live_server, demo, width, path
):
    from playwright.sync_api import expect

    context = browser.new_context(base_url=live_server, viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("E-mail").fill("daniel.okafor@example.org")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator(".flash-success")).to_contain_text("Welcome")
        page.goto(path)
        variant = "narrow" if width < 768 else "wide"
        assert page.locator(f"svg.pathway-svg.{variant}").is_visible()
        labels = page.evaluate(LABEL_SIZES)
        assert len(labels) >= 13  # every item of the programme, one line or two
        small = [label for label in labels if label["px"] < 12 or label["height"] < 12]
        assert not small, f"text under 12 px at {width} px: {small[:3]}"
        assert page.evaluate(LABELS_OUTSIDE_CHIPS) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    finally:
        context.close()
