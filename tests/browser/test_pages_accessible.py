"""Every page, as a guest and as each demo role: accessible, valid HTML, no sideways scroll.

One walk (page_walk.py) visits every GET route of `app.url_map` and the error states as each
persona, in Chromium, on the demo data; the tests below judge what it saw:
- axe-core (WCAG 2.1 A/AA and best practice) finds no critical or serious violation;
- the Nu Html Checker (vnu) finds no error in the HTML as the server sent it;
- no page is wider than the window at 375 px (a phone) or at 1,280 px (a laptop);
- a keyboard user starts on a skip link, and every control shows a focus outline with 3:1
  contrast against the background it is drawn on.
axe-core and vnu come from the npm registry into .tools/ (tests/install-page-checkers.sh,
which `make test` runs). All tests here share the walk: keep them in one xdist group.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from page_walk import (
    NOT_PAGES,
    PERSONAS,
    Walk,
    install_checkers,
    nu_errors,
    page_routes,
    walk_site,
)
from werkzeug.serving import make_server

from lms import create_app

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("page-walk")]

DEMO_PASSWORD = "demo password for the page walk"
SCREENING_KEY = "mJ3cX6d0cQk2i3oR9o6wq0zZ2bq3x8nC5m4Wv1yJt5U="


@pytest.fixture(scope="module")
def demo_app(database_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """The app on a database of its own holding the demo data; CSRF on, as in production."""
    if database_template.startswith("postgresql"):
        pytest.skip("browser tests run on SQLite (run-suite.sh): the pages are the same")
    folder = tmp_path_factory.mktemp("page-walk")
    shutil.copyfile(database_template, folder / "lms.sqlite3")
    url = f"sqlite:///{folder / 'lms.sqlite3'}"
    app = create_app(
        {
            "TESTING": True,
            "LMS_ENV": "testing",
            "SECRET_KEY": "test-secret-key-that-is-long-enough",
            "LMS_DATABASE_URL": url,
            "LMS_INSTANCE_PATH": str(folder / "instance"),
            "LMS_PUBLIC_URL": "http://lms.test",
            "LMS_SCREENING_KEY": SCREENING_KEY,
            "LMS_QUEUE_URL": "immediate",
            "WTF_CSRF_ENABLED": True,
            "RATELIMIT_ENABLED": False,
            "SERVER_NAME": None,
        }
    )
    yield app
    app.extensions["lms"].db.engine.dispose()


@pytest.fixture(scope="module")
def world(demo_app) -> dict:
    """The demo data in place; certificates issued with a stand-in PDF (no page shows one)."""
    from page_walk import build_world

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            "lms.certificates.services.render_pdf",
            lambda design, content: b"%PDF-1.4\n% page-walk stand-in\n%%EOF\n",
        )
        return build_world(demo_app, DEMO_PASSWORD)


@pytest.fixture(scope="module")
def walk(demo_app, world, browser) -> Walk:
    """Serve the demo app on a free loopback port and walk every page as every persona."""
    install_checkers()
    server = make_server("127.0.0.1", 0, demo_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="page-walk", daemon=True)
    thread.start()
    try:
        base_url = f"http://127.0.0.1:{server.server_port}"
        return walk_site(demo_app, browser, base_url, world, DEMO_PASSWORD)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def test_every_get_route_is_walked_or_named_as_not_a_page(demo_app, walk: Walk):
    """A new route is checked automatically: it needs demo values and a persona who sees it."""
    endpoints = {rule.endpoint for rule in demo_app.url_map.iter_rules()}
    assert not walk.unfilled, "URL values missing in page_walk.py:\n" + "\n".join(walk.unfilled)
    assert not walk.not_html, "not HTML pages: name them in NOT_PAGES:\n" + "\n".join(walk.not_html)
    unreached = [e for e, _ in page_routes(demo_app) if e not in walk.reached]
    assert not unreached, f"no persona of {[p.key for p in PERSONAS]} saw these pages: {unreached}"
    stale = sorted(set(NOT_PAGES) - endpoints)
    assert not stale, f"NOT_PAGES names routes that no longer exist: {stale}"
    assert len(walk.pages) > 40, walk.pages


def test_no_page_has_a_critical_or_serious_axe_violation(walk: Walk):
    """axe-core over WCAG 2.1 A/AA and best practice: nothing critical or serious anywhere."""
    assert not walk.axe, f"{len(walk.axe)} axe findings:\n" + "\n".join(walk.axe)


def test_every_page_is_valid_html_by_the_nu_checker(walk: Walk, tmp_path: Path):
    """The Nu Html Checker finds no error in any page's HTML as the server sent it."""
    errors = nu_errors(walk.sources, tmp_path)
    assert not errors, f"{len(errors)} vnu errors:\n" + "\n".join(errors)


def test_no_page_scrolls_sideways_on_a_phone_or_a_laptop(walk: Walk):
    """Every page fits the window's width at 375 px and at 1,280 px."""
    assert not walk.overflow, f"{len(walk.overflow)} pages too wide:\n" + "\n".join(walk.overflow)


def test_every_control_shows_its_focus_and_pages_start_with_a_skip_link(walk: Walk):
    """Keyboard use: a visible skip link first, then a 3:1 focus outline on every control."""
    assert not walk.focus, f"{len(walk.focus)} focus problems:\n" + "\n".join(walk.focus)
