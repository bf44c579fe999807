"""Every page, as a guest and as each demo role: accessible, valid HTML, no sideways scroll.

One walk (page_walk.py) visits every GET route of `app.url_map` and the error states as each
persona, in Chromium, on the demo data, and one test judges all it saw (one, so that the walk
runs once however xdist shares tests out between workers):
- axe-core (WCAG 2.1 A/AA and best practice) finds no critical or serious violation;
- the Nu Html Checker (vnu) finds no error in the HTML as the server sent it;
- no page is wider than the window at 375 px (a phone) or at 1,280 px (a laptop);
- a keyboard user starts on a skip link, and every control shows a focus outline with 3:1
  contrast against the background it is drawn on.
axe-core and vnu come from the npm registry into .tools/ (tests/install-page-checkers.sh,
which `make test` runs).
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
    value_name,
    walk_site,
)
from werkzeug.serving import make_server

from lms import create_app

pytestmark = pytest.mark.browser

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
            "lms.certificates.base.render_pdf",
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


def test_every_get_route_has_demo_values_or_is_named_as_not_a_page(app):
    """A new route is walked automatically, once page_walk.py knows how to fill its URL."""
    missing = [
        f"{endpoint}: no demo value for <{argument}> (VALUE_FOR_ARGUMENT or VALUE_FOR_ENDPOINT)"
        for endpoint, arguments in page_routes(app)
        for argument in arguments
        if value_name(endpoint, argument) is None
    ]
    assert not missing, "\n".join(missing)
    stale = sorted(set(NOT_PAGES) - {rule.endpoint for rule in app.url_map.iter_rules()})
    assert not stale, f"NOT_PAGES names routes that no longer exist: {stale}"


def test_every_page_is_accessible_valid_html_and_fits_a_phone_and_a_laptop(
    demo_app, walk: Walk, tmp_path: Path
):
    """Every page and error state, as every persona: seen, and free of each kind of problem.

    One test, not one per kind: the walk takes a minute and more, and xdist would give separate
    tests to separate workers, each walking again. Every kind is listed, none hides another.
    """
    unreached = [e for e, _ in page_routes(demo_app) if e not in walk.reached]
    problems = {
        f"pages no persona of {[p.key for p in PERSONAS]} saw with a 2xx": unreached,
        "routes that answer with no page (name them in NOT_PAGES)": walk.not_html,
        "axe-core (WCAG 2.1 A/AA, best practice): critical or serious": walk.axe,
        "Nu Html Checker errors": nu_errors(walk.sources, tmp_path),
        "keyboard: skip link, focus outline missing or under 3:1": walk.focus,
        "sideways scrolling at 375 or 1,280 px": walk.overflow,
        "a status shown as its stored code, not its word (lms.status)": walk.raw_codes,
    }
    report = [
        f"{title} ({len(lines)}):\n  " + "\n  ".join(lines)
        for title, lines in problems.items()
        if lines
    ]
    assert not report, "\n".join(report)
    assert len(walk.pages) > 40, walk.pages  # the walk really went round the site
