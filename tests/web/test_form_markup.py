"""Form markup that assistive technology and HTML validators rely on (templates/_forms.html).

A field says nothing about help or errors it has not got, ties the ones it has to itself by
aria-describedby, no page repeats an id however many forms it holds, and a required select
starts on an empty choice. The page walk (tests/browser/test_pages_accessible.py) checks every
page with axe-core and vnu; these tests pin the causes down, on both backends.
"""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser

import pytest

from lms.forms import PLACEHOLDER_CHOICE


class _Elements(HTMLParser):
    """Every start tag of a page as (tag, attributes)."""

    def __init__(self) -> None:
        """Start with no element."""
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Keep the tag and its attributes."""
        self.found.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    """The page's start tags with their attributes."""
    parser = _Elements()
    parser.feed(html)
    return parser.found


def by_id(html: str, element_id: str) -> dict[str, str | None]:
    """The attributes of the element with that id (there must be one)."""
    found = [attrs for _, attrs in elements(html) if attrs.get("id") == element_id]
    assert len(found) == 1, f"{len(found)} elements with id {element_id!r}"
    return found[0]


def test_a_field_with_no_help_or_error_has_no_aria_attributes_saying_none(client):
    html = client.get("/login").get_data(as_text=True)
    email = by_id(html, "email")
    assert "aria-invalid" not in email
    assert "aria-describedby" not in email
    assert '="None"' not in html


def test_each_error_is_tied_to_its_field_and_the_field_is_marked_invalid(client):
    html = client.post("/register", data={}).get_data(as_text=True)
    email = by_id(html, "email")
    assert email["aria-invalid"] == "true"
    named = (email["aria-describedby"] or "").split()
    assert named, "the field names no description"
    for element_id in named:
        by_id(html, element_id)  # each named id exists once
    errors = [a for t, a in elements(html) if t == "p" and "error" in (a.get("class") or "")]
    assert {a["id"] for a in errors} >= {i for i in named if "-error-" in i}


def test_help_text_and_errors_are_both_named(client, make_user, login):
    login(client, make_user())
    html = client.post("/account/password", data={"current_password": "x"}).get_data(as_text=True)
    named = by_id(html, "password")["aria-describedby"].split()
    assert named[0] == "password-help"
    assert any(i.startswith("password-error-") for i in named[1:])


@pytest.fixture
def csrf_on(app_config: dict) -> None:
    """CSRF protection on (as in production), so that forms carry their hidden token."""
    app_config["WTF_CSRF_ENABLED"] = True


def test_a_page_with_several_forms_repeats_no_id(csrf_on, client, make_user, login):
    login(client, make_user())
    html = client.get("/account").get_data(as_text=True)
    ids = Counter(attrs["id"] for _, attrs in elements(html) if attrs.get("id"))
    assert [i for i, n in ids.items() if n > 1] == []
    # Both password fields keep their own label: each label's "for" names one control.
    labels = [attrs["for"] for tag, attrs in elements(html) if tag == "label" and "for" in attrs]
    assert "current_password" in labels and "email_current_password" in labels
    assert html.count('name="csrf_token"') >= 5  # sign-out and each form of the page


def test_a_required_select_starts_on_an_empty_choice_until_one_is_made(app):
    from wtforms import SelectChoice

    from lms.progress.forms import CohortForm

    choices = [SelectChoice("M1", "Module 1"), SelectChoice("M2", "Module 2")]
    with app.test_request_context():
        fresh = CohortForm(formdata=None)
        fresh.item_code.choices = choices
        chosen = CohortForm(formdata=None, item_code="M2")
        chosen.item_code.choices = choices
        fresh_html, chosen_html = str(fresh.item_code()), str(chosen.item_code())
    assert "required" in fresh_html
    assert f'<option value="" selected>{PLACEHOLDER_CHOICE}</option><option value="M1">' in (
        fresh_html
    )
    assert f'<option value="">{PLACEHOLDER_CHOICE}</option>' in chosen_html
    assert '<option selected value="M2">' in chosen_html


def test_an_optional_select_gets_no_empty_choice(app):
    from wtforms import SelectChoice, SelectField

    from lms.forms import Form

    class Optional(Form):
        """One select that may be left as it is."""

        size = SelectField("Size", choices=[SelectChoice("s", "Small"), SelectChoice("l", "Large")])

    with app.test_request_context():
        html = str(Optional(formdata=None).size())
    assert PLACEHOLDER_CHOICE not in html
    assert html.startswith('<select id="size" name="size"><option value="s">')
