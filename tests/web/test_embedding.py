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


def test_the_hosts_own_sessions_are_never_watched_by_the_read_model(host, make_user, catalog):
    """The tracker keeps its standings on its own sessions only: a host app's session that
    changes a clinician's licence leaves no mark for the tracker, even when the domain event
    names it, and the tracker's own session, making the same change, refreshes that person's
    rows before it commits."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from lms import signals
    from lms.auth.models import User
    from lms.progress.models import ProgressSummary
    from lms.progress.standings import KEPT

    clinician = make_user(Role.CLINICIAN)
    engine = host.extensions["lms"].db.engine
    with Session(engine) as hosts:
        theirs = hosts.get(User, clinician.id)
        theirs.licence_number = None  # the host's own business
        hosts.flush()
        signals.account_changed.send(theirs, session=hosts)
        assert KEPT.dirty not in hosts.info
        hosts.rollback()
    with host.app_context():
        ours = host.extensions["lms"].db.session
        person = ours.get(User, clinician.id)
        person.licence_number = None
        ours.flush()
        signals.account_changed.send(person, session=ours)
        assert ours.info[KEPT.dirty] == {clinician.id}
        ours.commit()
        licensed = ours.scalar(
            select(ProgressSummary.licensed).where(ProgressSummary.user_id == clinician.id)
        )
        assert licensed is False
