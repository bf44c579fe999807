"""Addresses of the tracker's pages for mail, notices and certificates (outside a request too)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from werkzeug.routing import BuildError


def public_url(endpoint: str, *, fallback: str | None = "progress.dashboard", **values: Any) -> str:
    """Absolute address of a page, built from LMS_PUBLIC_URL (works outside a request too)."""
    app = current_app
    # Rules already carry a host app's mount prefix, so the adapter needs no script name.
    adapter = app.url_map.bind("localhost")
    try:
        path = adapter.build(endpoint, values)
    except BuildError:
        if fallback is None:
            raise
        path = adapter.build(fallback, {}) if fallback in app.view_functions else "/"
    return app.config["LMS_PUBLIC_URL"] + path


def site_path(endpoint: str, **values: Any) -> str:
    """Site-relative path of a page (for dashboard notices), the dashboard when unknown."""
    return public_url(endpoint, **values).removeprefix(current_app.config["LMS_PUBLIC_URL"])
