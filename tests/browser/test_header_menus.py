"""The header's menu in Chromium, for every role, on a 375 px phone and a 1,280 px laptop.

On a phone the header is one short row with a Menu button; the button opens the groups; a
keyboard reaches every link of the person's menu (lms.navigation.menu_for) with Tab and
Enter; Escape closes the innermost open menu and gives the focus back to its button; and
without JavaScript the same <details> menus still open and lead to their pages.
"""

from __future__ import annotations

import pytest

from lms.auth.models import Role
from lms.navigation import ShownGroup, menu_for

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"  # what make_user gives every account
PHONE, LAPTOP = 375, 1280
MAX_PHONE_HEADER = 120  # px: the header may take no more of a phone's screen than this
ROLES = {
    "clinician": Role.CLINICIAN,
    "instructor": Role.INSTRUCTOR,
    "medical reviewer": Role.MEDICAL_REVIEWER,
    "admin": Role.ADMIN,
}

# Where the focus is: a link's path, a summary's words and whether its menu is open, and
# whether it is inside the header at all.
FOCUSED = """() => {
  const el = document.activeElement;
  const header = document.querySelector('.site-header');
  return {
    inHeader: !!header && header.contains(el),
    tag: el.tagName.toLowerCase(),
    path: el.tagName === 'A' ? new URL(el.href).pathname : null,
    text: el.textContent.trim(),
    open: el.tagName === 'SUMMARY' ? el.parentElement.open : null,
  };
}"""


@pytest.fixture
def person(make_user, session):
    """A new account holding the named role, its e-mail address returned."""

    def make(who: str) -> str:
        email = make_user(ROLES[who]).email
        session.commit()  # end the read transaction: on SQLite it holds the write lock
        return email

    return make


def signed_in(browser, base_url: str, email: str, width: int, javascript: bool = True):
    """A browser of that width signed in through the form, on the home page."""
    from playwright.sync_api import expect

    context = browser.new_context(
        base_url=base_url, viewport={"width": width, "height": 800}, java_script_enabled=javascript
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".flash-success")).to_contain_text("Welcome")
    page.wait_for_load_state("load")  # the stylesheet and menu.js too, not the HTML alone
    return context, page


def expected_paths(app, role: Role) -> list[str]:
    """The paths of every link of the role's menu, in order."""
    with app.test_request_context():
        entries = menu_for(frozenset({role}))
    return [
        link.url
        for entry in entries
        for link in (entry.links if isinstance(entry, ShownGroup) else (entry,))
    ]


def tab_through_header(page) -> tuple[list[str], list[str]]:
    """Tab from the brand until the focus leaves the header, opening each closed menu with
    Enter on the way: the links' paths and the buttons' words, in the order reached."""
    from playwright.sync_api import expect

    page.bring_to_front()
    page.locator(".brand").focus()
    expect(page.locator(".brand")).to_be_focused()
    links, buttons = [], []
    for _ in range(80):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if not focused["inHeader"]:
            return links, buttons
        if focused["tag"] == "a":
            links.append(focused["path"])
        else:
            buttons.append(focused["text"])
            if focused["tag"] == "summary" and not focused["open"]:
                page.keyboard.press("Enter")
    raise AssertionError(f"Tab never left the header: {links} {buttons}")


@pytest.mark.parametrize("who", ROLES)
def test_a_phone_shows_a_header_of_one_short_row_with_a_menu_button(
    browser, live_server, person, who
):
    context, page = signed_in(browser, live_server, person(who), PHONE)
    try:
        height = page.locator(".site-header").bounding_box()["height"]
        assert height <= MAX_PHONE_HEADER, f"the header is {height} px tall"
        menu = page.locator(".menu-button")
        assert menu.is_visible()
        assert not page.get_by_role("navigation", name="Main").is_visible()
        assert not page.get_by_role("button", name="Sign out").is_visible()
        menu.click()
        nav = page.get_by_role("navigation", name="Main")
        assert nav.is_visible() and page.get_by_role("button", name="Sign out").is_visible()
        home = "My progress" if who == "clinician" else "Home"
        assert nav.get_by_role("link", name=home).get_attribute("aria-current") == "page"
        # The panel opens over the page: the header keeps its height.
        assert page.locator(".site-header").bounding_box()["height"] == height
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE
    finally:
        context.close()


@pytest.mark.parametrize("width", [PHONE, LAPTOP])
@pytest.mark.parametrize("who", ROLES)
def test_every_link_of_the_menu_is_reached_by_keyboard(
    app, browser, live_server, person, who, width
):
    context, page = signed_in(browser, live_server, person(who), width)
    try:
        links, buttons = tab_through_header(page)
        assert links == expected_paths(app, ROLES[who])
        assert buttons[-1] == "Sign out"
        groups = [b for b in buttons if b not in ("Menu", "Sign out")]
        if width == PHONE:
            assert buttons[0] == "Menu"  # the first stop after the brand
        else:
            assert "Menu" not in buttons and not page.locator(".menu-button").is_visible()
        if who == "admin":
            assert groups == ["Program", "Teaching", "People", "Admin"]
        elif who == "instructor":
            assert groups == ["Teaching", "People"]
        elif who == "clinician":
            assert groups == ["My training"]
        else:
            assert groups == []
        height = page.locator(".site-header").bounding_box()["height"]
        assert height <= (MAX_PHONE_HEADER if width == PHONE else 60), f"{height} px"
    finally:
        context.close()


@pytest.mark.parametrize("width", [PHONE, LAPTOP])
def test_escape_closes_the_innermost_menu_and_gives_its_button_the_focus(
    browser, live_server, person, width
):
    context, page = signed_in(browser, live_server, person("admin"), width)
    try:
        if width == PHONE:
            page.locator(".menu-button").focus()
            page.keyboard.press("Enter")
        admin = page.locator(".nav-group summary", has_text="Admin")
        admin.focus()
        page.keyboard.press("Enter")
        outbox = page.get_by_role("navigation", name="Main").get_by_role("link", name="Outbox")
        assert outbox.is_visible()
        outbox.focus()
        page.keyboard.press("Escape")
        assert not outbox.is_visible()
        assert page.evaluate(FOCUSED)["text"] == "Admin"
        if width == PHONE:
            page.keyboard.press("Escape")
            assert not page.get_by_role("navigation", name="Main").is_visible()
            assert page.evaluate(FOCUSED)["text"] == "Menu"
    finally:
        context.close()


def test_one_group_opens_at_a_time_and_a_click_elsewhere_closes_it(browser, live_server, person):
    from playwright.sync_api import expect

    context, page = signed_in(browser, live_server, person("admin"), LAPTOP)
    try:
        nav = page.get_by_role("navigation", name="Main")
        nav.locator("summary", has_text="Teaching").click()
        expect(nav.get_by_role("link", name="Mark a cohort")).to_be_visible()
        nav.locator("summary", has_text="Admin").click()
        expect(nav.get_by_role("link", name="Users")).to_be_visible()
        expect(nav.get_by_role("link", name="Mark a cohort")).not_to_be_visible()
        page.locator("main h1").click()
        expect(nav.get_by_role("link", name="Users")).not_to_be_visible()
    finally:
        context.close()


@pytest.mark.parametrize("width", [PHONE, LAPTOP])
def test_without_javascript_the_menus_still_open_and_lead_to_their_pages(
    browser, live_server, person, width
):
    context, page = signed_in(browser, live_server, person("admin"), width, javascript=False)
    try:
        if width == PHONE:
            page.locator(".menu-button").click()
        page.locator(".nav-group summary", has_text="Admin").click()
        page.get_by_role("navigation", name="Main").get_by_role(
            "link", name="Deletion requests"
        ).click()
        page.wait_for_url("**/admin/deletions")
        current = page.locator(".site-header a[aria-current=page]")
        assert current.get_attribute("href").endswith("/admin/deletions")
    finally:
        context.close()


@pytest.mark.parametrize("width", [PHONE, LAPTOP])
def test_each_open_menu_passes_axe_and_shows_a_visible_focus(browser, live_server, person, width):
    """The page walk sees the menus closed; here they are open and judged as the walk judges
    a page: axe-core's critical and serious findings (each group open in turn, scripts on),
    and every control's focus outline at 3:1 against what it is drawn on (every group open at
    once, scripts off: menu.js would close them as the check moves the focus to the page)."""
    from page_walk import (
        AXE_SCRIPT,
        AXE_TAGS,
        FAILING_IMPACTS,
        FOCUS_CONTRAST,
        FOCUS_SCRIPT,
        install_checkers,
    )
    from playwright.sync_api import expect

    install_checkers()
    email = person("admin")
    problems = []
    context, page = signed_in(browser, live_server, email, width)
    try:
        page.goto("/admin/outbox")  # a current page inside a group (goto waits for "load")
        page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8"))
        if width == PHONE:
            page.locator(".menu-button").click()
        for group in ("Program", "Teaching", "People", "Admin"):
            page.locator(".nav-group summary", has_text=group).click()
            expect(page.locator(".nav-group details[open]")).to_have_count(1)  # menu.js
            found = page.evaluate(
                """async (tags) => (await axe.run(document, {
                    runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]}))
                    .violations.map(v => ({id: v.id, impact: v.impact,
                                           targets: v.nodes.map(n => n.target.join(" "))}))""",
                list(AXE_TAGS),
            )
            problems += [f"{group}: {v}" for v in found if v["impact"] in FAILING_IMPACTS]
    finally:
        context.close()
    context, page = signed_in(browser, live_server, email, width, javascript=False)
    try:
        page.goto("/admin/outbox")
        if width == PHONE:
            page.locator(".menu-button").click()
        for group in ("Program", "Teaching", "People", "Admin"):
            page.locator(".nav-group summary", has_text=group).click()
        assert page.locator(".nav-group details[open]").count() == 4
        # Judge the header alone: the open panel lies over the page's own controls.
        page.evaluate("""() => document.querySelectorAll('main, footer')
                             .forEach((part) => { part.style.visibility = 'hidden'; })""")
        page.keyboard.press("Tab")  # keyboard use: :focus-visible applies
        problems += page.evaluate(FOCUS_SCRIPT, FOCUS_CONTRAST)
    finally:
        context.close()
    assert not problems, "\n".join(problems)
