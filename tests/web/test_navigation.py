"""The header's menu (lms.navigation, templates/base.html): grouped for staff, per role.

Every link a role is shown opens for that role (the access checks stay the truth), a link
kept from a role is one its checks refuse (or one of a clinician's own pages), the home link
is worded for the person, the current page is marked, and the admin's pages that were only
in the footer are in the Admin menu. The menu's behaviour in a browser is
tests/browser/test_navigation.py's.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from lms.auth.models import Role
from lms.navigation import MENU, NavGroup, NavLink, ShownGroup, menu_for

ROLE_SETS = {
    "clinician": {Role.CLINICIAN},
    "instructor": {Role.INSTRUCTOR},
    "medical reviewer": {Role.MEDICAL_REVIEWER},
    "admin": {Role.ADMIN},
    "clinician and instructor": {Role.CLINICIAN, Role.INSTRUCTOR},
}
# Pages every signed-in person may open that the menu offers clinicians only: they are a
# clinician's own (enrolling, applying, asking for credit), nothing for staff to do there.
CLINICIANS_OWN = {
    "offerings.index",
    "retreats.index",
    "equivalency.mine",
    "training_progress.overview",
    "training.log_page",
    "training_sessions.log",
    "training_documents.mine",
}


class _Menu(HTMLParser):
    """The Main navigation as it is drawn: (group label or "", link text, href, current)."""

    def __init__(self) -> None:
        """Start outside the navigation."""
        super().__init__()
        self.inside = False
        self.group = ""
        self.in_summary = False
        self.link: dict[str, str | None] | None = None
        self.text = ""
        self.links: list[tuple[str, str, str, str | None]] = []
        self.groups: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Note where we are: the nav, a group's summary, a link."""
        found = dict(attrs)
        if tag == "nav" and found.get("aria-label") == "Main":
            self.inside = True
        elif self.inside and tag == "summary":
            self.in_summary, self.text = True, ""
        elif self.inside and tag == "a":
            self.link, self.text = found, ""

    def handle_endtag(self, tag: str) -> None:
        """Close what the tag closes."""
        if tag == "nav":
            self.inside = False
        elif self.inside and tag == "summary":
            self.in_summary, self.group = False, self.text.strip()
            self.groups.append(self.group)
        elif self.inside and tag == "details":
            self.group = ""
        elif self.inside and tag == "a" and self.link is not None:
            current = self.link.get("aria-current")
            self.links.append((self.group, self.text.strip(), self.link["href"] or "", current))
            self.link = None

    def handle_data(self, data: str) -> None:
        """Collect a summary's or a link's words."""
        if self.in_summary or self.link is not None:
            self.text += data


def drawn_menu(html: str) -> _Menu:
    """The page's Main navigation, parsed."""
    parser = _Menu()
    parser.feed(html)
    return parser


def flat(entries) -> list:  # noqa: ANN001
    """The shown links of a menu, groups opened."""
    return [link for e in entries for link in (e.links if isinstance(e, ShownGroup) else (e,))]


@pytest.fixture
def signed_in(app, make_user, login):
    """A client signed in as a new person holding the named role set."""

    def sign_in(name: str):  # noqa: ANN202
        return login(app.test_client(), make_user(*ROLE_SETS[name]))

    return sign_in


@pytest.mark.parametrize("who", ROLE_SETS)
def test_every_link_a_role_is_shown_opens_for_that_role(app, signed_in, who):
    client = signed_in(who)
    page = drawn_menu(client.get("/").get_data(as_text=True))
    with app.test_request_context():
        expected = [(link.label, link.url) for link in flat(menu_for(frozenset(ROLE_SETS[who])))]
    assert [(text, href) for _, text, href, _ in page.links] == expected
    for label, url in expected:
        response = client.get(url)
        assert response.status_code == 200, f"{who}: {label} ({url}) gave {response.status_code}"


@pytest.mark.parametrize("who", ROLE_SETS)
def test_a_link_kept_from_a_role_is_one_its_access_checks_refuse(app, signed_in, who):
    client = signed_in(who)
    every = [
        link
        for entry in MENU
        for link in (entry.links if isinstance(entry, NavGroup) else (entry,))
        if isinstance(link, NavLink)
    ]
    with app.test_request_context():
        shown = {link.endpoint for link in flat(menu_for(frozenset(ROLE_SETS[who])))}
        kept = [(link.endpoint, link.url) for link in every if link.endpoint not in shown]
    assert kept
    for endpoint, url in kept:
        if endpoint in CLINICIANS_OWN:
            continue
        assert client.get(url).status_code == 403, f"{who} may open {endpoint} yet is not shown it"


@pytest.mark.parametrize(
    ("who", "home"),
    [
        ("clinician", "My progress"),
        ("instructor", "Home"),
        ("medical reviewer", "Home"),
        ("admin", "Home"),
        ("clinician and instructor", "Home"),
    ],
)
def test_the_home_link_is_worded_for_the_person_and_marked_current_at_home(signed_in, who, home):
    page = drawn_menu(signed_in(who).get("/").get_data(as_text=True))
    assert page.links[0] == ("", home, "/", "page")
    assert [link for link in page.links if link[3]] == [page.links[0]]


def test_staff_links_are_grouped_and_a_group_of_one_is_a_plain_link(signed_in):
    admin = drawn_menu(signed_in("admin").get("/").get_data(as_text=True))
    assert admin.groups == ["Program", "Teaching", "People", "Admin"]
    in_admin = [text for group, text, _, _ in admin.links if group == "Admin"]
    # The pages that were only in the footer are in the header's Admin menu now.
    assert {"Outbox", "Invite staff", "Deletion requests"} <= set(in_admin)
    instructor = drawn_menu(signed_in("instructor").get("/").get_data(as_text=True))
    assert instructor.groups == ["Teaching", "People"]
    assert ("", "Program", "/programme", None) in instructor.links
    reviewer = drawn_menu(signed_in("medical reviewer").get("/").get_data(as_text=True))
    assert reviewer.groups == []
    assert [text for _, text, _, _ in reviewer.links] == [
        "Home",
        "Program",
        "Medical review",
        "My account",
    ]
    clinician = drawn_menu(signed_in("clinician").get("/").get_data(as_text=True))
    assert clinician.groups == ["My training"]
    assert [text for _, text, _, _ in clinician.links] == [
        "My progress",
        "Program",
        "Enroll",
        "Retreats",
        "Certificate of Training",
        "Consultations",
        "Session log",
        "Documents",
        "Outside credit",
        "My account",
    ]


def test_the_current_page_is_marked_inside_its_group(signed_in):
    html = signed_in("admin").get("/admin/outbox").get_data(as_text=True)
    current = [link for link in drawn_menu(html).links if link[3]]
    assert current == [("Admin", "Outbox", "/admin/outbox", "page")]
    assert 'class="nav-group holds-current"' in html


def test_the_footer_keeps_only_the_public_verification_link(signed_in):
    html = signed_in("admin").get("/").get_data(as_text=True)
    footer = html[html.index('<footer class="site-footer') :]
    assert 'href="/verify"' in footer
    assert "/admin/outbox" not in footer and "/admin/invite" not in footer


@pytest.mark.parametrize(("who", "home"), [("clinician", "My progress"), ("instructor", "Home")])
def test_an_error_page_leads_home_in_the_persons_words(signed_in, who, home):
    response = signed_in(who).get("/admin/outbox")  # admins only: a 403 for both
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    main = html[html.index('<main id="main"') : html.index("</main>")]
    assert f'<a class="button" href="/">{home}</a>' in main
