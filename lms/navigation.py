"""The links in the page header and footer, chosen by the signed-in person's roles."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g, has_request_context, request, url_for
from flask_login import current_user

from lms.auth.models import Role


@dataclass(frozen=True)
class NavLink:
    """One link: where to and what it says."""

    endpoint: str
    label: str
    roles: frozenset[Role] = frozenset()

    @property
    def url(self) -> str:
        """The link's address."""
        return url_for(self.endpoint)


# Features add their entries here; a link shows only when its endpoint exists and the person
# holds one of its roles (an empty set means every signed-in person).
HEADER_LINKS: list[NavLink] = [
    NavLink("catalog.programme", "Programme"),
    NavLink("catalog.admin_items", "Catalogue", frozenset({Role.ADMIN})),
    NavLink("progress.roster", "Roster", frozenset({Role.INSTRUCTOR, Role.ADMIN})),
    NavLink("progress.mark_cohort", "Mark a cohort", frozenset({Role.INSTRUCTOR, Role.ADMIN})),
    NavLink("admin.users", "Users", frozenset({Role.ADMIN})),
    NavLink("admin.audit", "Audit log", frozenset({Role.ADMIN})),
    NavLink("certificates.admin_list", "Certificates", frozenset({Role.ADMIN})),
    NavLink("offerings.index", "Enrol", frozenset({Role.CLINICIAN})),
    NavLink("retreats.index", "Retreats", frozenset({Role.CLINICIAN})),
    NavLink("equivalency.mine", "Outside credit", frozenset({Role.CLINICIAN})),
    NavLink("equivalency.review", "Credit requests", frozenset({Role.INSTRUCTOR, Role.ADMIN})),
    NavLink("offerings.manage", "Offerings", frozenset({Role.INSTRUCTOR, Role.ADMIN})),
    NavLink("retreats.review_queue", "Medical review", frozenset({Role.MEDICAL_REVIEWER})),
    NavLink("account.profile", "My account"),
]
FOOTER_LINKS: list[NavLink] = [
    NavLink("certificates.verify_form", "Verify a certificate"),
    NavLink("accounts_admin.invite", "Invite staff", frozenset({Role.ADMIN})),
    NavLink("accounts_admin.deletions", "Deletion requests", frozenset({Role.ADMIN})),
    NavLink("mail.outbox", "Outbox", frozenset({Role.ADMIN})),
]


@dataclass(frozen=True)
class ShownLink:
    """A link as a page shows it: its address already built."""

    url: str
    label: str


def _visible(links: list[NavLink]) -> list[NavLink]:
    """Links whose endpoint is registered and whose roles the person holds."""
    views = current_app.view_functions
    authenticated = current_user.is_authenticated
    shown = []
    for link in links:
        if link.endpoint not in views:
            continue
        if link.roles and not (authenticated and current_user.has_role(*link.roles)):
            continue
        shown.append(link)
    return shown


def _shown(links: list[NavLink]) -> list[ShownLink]:
    """The visible links with their addresses, memoised per app, mount point and role set.

    Every page draws the header and footer; which links show depends only on the person's
    roles, and their addresses only on the app's routes and where it is mounted, so they are
    worked out once per combination instead of on every request.
    """
    if not has_request_context():
        return [ShownLink(link.url, link.label) for link in _visible(links)]
    roles = current_user.roles if current_user.is_authenticated else frozenset()
    key = (id(links), len(links), request.script_root, roles)
    memo: dict = current_app.extensions.setdefault("lms.navigation", {})
    shown = memo.get(key)
    if shown is None:
        shown = memo[key] = tuple(ShownLink(link.url, link.label) for link in _visible(links))
    return list(shown)


URL_MEMO_SIZE = 4096


def memoised_url_for(app: Flask) -> Callable[..., str]:
    """`url_for` for templates that remembers the relative addresses it has built.

    A page builds dozens of links (one per notice, certificate, session...). A relative
    address depends only on the route map, the endpoint and its values and where the app is
    mounted, so it is built once. Anything else (external or anchored links, `_method`, apps
    with URL-default hooks, calls outside a request) goes straight to flask.url_for.
    """
    memo: dict[tuple[Any, ...], str] = {}

    def url_for_memo(endpoint: str, **values: Any) -> str:
        """The address of the endpoint with these values (flask.url_for semantics)."""
        if not has_request_context() or any(app.url_default_functions.values()):
            return url_for(endpoint, **values)
        current = request._get_current_object()  # one look-up of the request, not three
        blueprint = current.blueprint if endpoint[0] == "." else None
        if values:
            for name in values:
                if name[0] == "_":  # _external, _anchor, _method...: flask.url_for's own
                    return url_for(endpoint, **values)
            key = (current.script_root, blueprint, endpoint, *sorted(values.items()))
        else:
            key = (current.script_root, blueprint, endpoint)
        try:
            url = memo.get(key)
        except TypeError:  # an unhashable value (a list for a repeated query parameter)
            return url_for(endpoint, **values)
        if url is None:
            url = url_for(endpoint, **values)
            if len(memo) >= URL_MEMO_SIZE:
                memo.clear()
            memo[key] = url
        return url

    return url_for_memo


def request_csrf_token(app: Flask) -> Callable[[], str]:
    """`csrf_token` for templates: the request's token once made, else flask-wtf's own.

    flask-wtf keeps the token on `g` under the field name after the first call and returns
    that same value afterwards; a page with a form per notice asks a dozen times.
    """
    from flask_wtf.csrf import generate_csrf

    def csrf_token() -> str:
        """The CSRF token of this request."""
        field = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        token = g.get(field)
        return token if token is not None else generate_csrf()

    return csrf_token


def init_app(app: Flask) -> None:
    """Expose nav_links(), footer_links(), the memoised url_for and csrf_token to templates."""
    app.jinja_env.globals["url_for"] = memoised_url_for(app)
    app.jinja_env.globals["csrf_token"] = request_csrf_token(app)
    app.jinja_env.globals["nav_links"] = lambda: _shown(HEADER_LINKS)
    app.jinja_env.globals["footer_links"] = lambda: _shown(FOOTER_LINKS)
