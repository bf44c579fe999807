"""Web forms share one validation of text and dates: every form derives from lms.forms.Form."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import Form as PlainForm

import lms
from lms.auth.models import Role, User
from lms.forms import Form, SubForm

REGISTRATION = {
    "name": "Nora Newcomer",
    "credentials": "LMFT",
    "email": "nora@example.test",
    "password": "a long enough password",
    "confirm": "a long enough password",
    "licence_type": "LMFT",
    "licence_number": "LMFT 1234",
    "licence_state": "CA",
}


def _form_classes() -> list[type]:
    """Every form class defined in the lms package."""
    found = set()
    for info in pkgutil.walk_packages(lms.__path__, "lms."):
        module = importlib.import_module(info.name)
        for _name, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, PlainForm) and value.__module__.startswith("lms."):
                found.add(value)
    return sorted(found, key=lambda c: (c.__module__, c.__qualname__))


def test_every_form_of_the_tracker_carries_the_shared_checks():
    classes = [c for c in _form_classes() if c not in (Form, SubForm)]
    assert len(classes) > 20
    for form_class in classes:
        base = Form if issubclass(form_class, FlaskForm) else SubForm
        assert issubclass(form_class, base), f"{form_class.__qualname__} must derive from {base}"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "\x00\x00", "Use one line of text"),
        ("name", "\u200b\u200c\u200d", "This field is required"),
        ("name", "\u0301\u0301", "Use visible characters"),
        ("name", "Nora\r\nBcc: x@evil.example", "Use one line of text"),
        ("credentials", "LMFT\x00", "Use one line of text"),
        ("licence_number", "1234\t5", "Use one line of text"),
        ("licence_expires_on", "0001-01-01", "between Jan 1, 1900"),
        ("licence_expires_on", "9999-12-31", "between Jan 1, 1900"),
        ("email", "nora\x00@example.test", "Use one line of text"),
    ],
    ids=[
        "nul-name",
        "zero-width-name",
        "combining-only-name",
        "crlf-name",
        "nul-credentials",
        "tab-licence",
        "year-one",
        "year-9999",
        "nul-email",
    ],
)
def test_registration_refuses_unprintable_text_and_absurd_dates_and_creates_nobody(
    client, session, field, value, message
):
    response = client.post("/register", data={**REGISTRATION, field: value})
    assert response.status_code == 422
    assert message in response.text
    assert session.scalar(select(func.count()).select_from(User)) == 0


def test_text_is_trimmed_of_spaces_and_zero_width_characters(client, session):
    data = {**REGISTRATION, "name": "\u200b Nora Newcomer \ufeff", "licence_state": " CA\u200b"}
    assert client.post("/register", data=data).status_code in (302, 303)
    user = session.scalar(select(User))
    assert (user.name, user.licence_state) == ("Nora Newcomer", "CA")


def test_the_profile_refuses_a_name_of_only_nul(app, client, session, make_user, login):
    user = make_user(Role.CLINICIAN, name="Ann Alder")
    login(client, user)
    response = client.post(
        "/account/profile",
        data={
            "name": "\x00",
            "credentials": "",
            "licence_type": "LCSW",
            "licence_number": "1",
            "licence_state": "CA",
        },
    )
    assert response.status_code == 422
    session.expire_all()
    assert session.get(User, user.id).name == "Ann Alder"


def test_the_item_form_refuses_control_characters_in_a_title(
    client, session, make_user, login, catalog
):
    login(client, make_user(Role.ADMIN))
    response = client.post(
        "/admin/catalogue/M1/edit",
        data={"title": "Module 1\r\nBcc: x@evil.example", "position": "10", "active": "y"},
    )
    assert response.status_code == 422
    assert "Use one line of text" in response.text


@pytest.mark.parametrize(
    "url",
    [
        "/roster?q=%00",
        "/roster?q=a%00b&eligible=RETREAT-L1",
        "/admin/certificates?q=%00",
        "/admin/users?q=%00",
        "/verify/AB%00CD",
        "/admin/catalogue/M1%00/edit",
    ],
)
def test_a_nul_in_the_address_is_a_400_on_every_backend(client, make_user, login, url):
    """PostgreSQL refuses NUL in any text: searches and codes holding one stop at the door."""
    login(client, make_user(Role.ADMIN, Role.INSTRUCTOR))
    response = client.get(url)
    assert response.status_code == 400
    assert "cannot be read" in response.text


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("\x00", "Name: use one line of text"),
        ("\u200b\u200d", "Enter a name."),
        ("x" * 201, "at most 200"),
    ],
    ids=["nul", "zero-width", "too-long"],
)
def test_cli_user_create_refuses_a_bad_name_with_one_line(app, session, name, message):
    """`lms user create` goes through the same check as the registration form."""
    result = app.test_cli_runner().invoke(
        args=["lms", "user", "create", "--email", "ada@example.test", "--name", name],
        input="a long enough password\na long enough password\n",
    )
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert message in result.output
    assert session.scalar(select(func.count()).select_from(User)) == 0
