"""The tracker mounted inside a host Flask app under a URL prefix (the LMS extension)."""

from __future__ import annotations

import pytest
from flask import Flask

from lms import LMS
from lms.auth.models import Role
from lms.config import load_config


@pytest.fixture
def host(app_config: dict) -> Flask:
    """A host app with a page of its own and the tracker under /training."""
    host_app = Flask("host_app")
    host_app.config.update(load_config(environ={}, overrides=app_config))

    @host_app.get("/")
    def host_home() -> str:
        """The host's own home page."""
        return "host home"

    LMS(host_app, url_prefix="/training")
    yield host_app
    host_app.extensions["lms"].db.engine.dispose()


def test_host_keeps_its_own_routes_and_the_tracker_lives_under_the_prefix(host):
    client = host.test_client()

    assert client.get("/").get_data(as_text=True) == "host home"
    login_page = client.get("/training/login")
    assert login_page.status_code == 200
    assert 'href="/training/static/app.css"' in login_page.get_data(as_text=True)
    with client.get("/training/static/app.css") as stylesheet:
        assert stylesheet.status_code == 200
    assert client.get("/login").status_code == 404


def test_signed_in_clinician_sees_the_dashboard_under_the_prefix(host, make_user, login):
    clinician = make_user(Role.CLINICIAN, name="Mounted Clinician")
    client = login(host.test_client(), clinician)

    page = client.get("/training/")

    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Mounted Clinician" in body
    assert 'action="/training/logout"' in body


def test_guest_is_sent_to_the_prefixed_sign_in_page(host):
    response = host.test_client().get("/training/roster")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/training/login")
