"""Browser-test fixtures: the app served live on a free loopback port, and Debian's Chromium.

The live server runs the very app the test's `session` fixture talks to (same database), in
a thread, with CSRF protection ON, so the browser goes through the real forms.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def app_config(app_config: dict) -> dict:
    """The shared test settings, with CSRF protection on as in production."""
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


def _closed_before_sending(app: Flask):
    """The app as a WSGI callable whose response body is read and closed before it is sent.

    Werkzeug's development server closes a response only after draining the socket; when the
    browser drops a connection (a navigation cancels a stylesheet still loading) that drain
    raises first, the static file is never closed, and its ResourceWarning fails whichever test
    is running when it is collected. Reading the body here closes it on every path.
    """

    def wsgi(environ, start_response):
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return wsgi


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """Serve the app on 127.0.0.1:<free port> in a thread; yields the base URL."""
    server = make_server("127.0.0.1", 0, _closed_before_sending(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright (skipped, saying why, when it is not installed)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package to run this test")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
