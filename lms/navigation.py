"""The links in the page header and footer, chosen by the signed-in person's roles.

The header's menu is defined once, here: a few top-level links and the staff's groups
(Programme, Teaching, People, Admin), each link shown only to the roles whose access checks
let them in (the checks stay the truth; a test opens every link as every role). A group
that has a single link for someone shows as that link, so a medical reviewer's header has
no one-item menus.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g, has_request_context, request, url_for
from flask_babel import lazy_gettext
from flask_login import current_user

from lms.auth.models import Role

ADMIN = frozenset({Role.ADMIN})
STAFF = frozenset({Role.INSTRUCTOR, Role.ADMIN})
CLINICIAN = frozenset({Role.CLINICIAN})


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


@dataclass(frozen=True)
class NavGroup:
    """A labelled menu of links (a disclosure in the header)."""

    label: str
    links: tuple[NavLink, ...]


# Features add their entries here; a link shows only when its endpoint exists and the person
# holds one of its roles (an empty set means every signed-in person). The home link comes
# first, worded for the person (home_label).
MENU: list[NavLink | NavGroup] = [
    NavGroup(
        lazy_gettext("Programme"),
        (
            NavLink("catalog.programme", lazy_gettext("Programme")),
            NavLink("catalog.admin_items", lazy_gettext("Catalogue"), ADMIN),
            NavLink("certificates.admin_list", "Certificates", ADMIN),
        ),
    ),
    NavLink("offerings.index", lazy_gettext("Enrol"), CLINICIAN),
    NavLink("retreats.index", "Retreats", CLINICIAN),
    NavLink("training.to_confirm", "To confirm", frozenset({Role.CONSULTANT})),
    # A clinician's records beyond the modules: the Certificate of Training's logs and
    # documents, and credit for training done elsewhere.
    NavGroup(
        "My training",
        (
            NavLink("training_progress.overview", "Certificate of Training", CLINICIAN),
            NavLink("training.log_page", "Consultations", CLINICIAN),
            NavLink("training_sessions.log", "Session log", CLINICIAN),
            NavLink("training_documents.mine", "Documents", CLINICIAN),
            NavLink("equivalency.mine", "Outside credit", CLINICIAN),
        ),
    ),
    NavGroup(
        "Teaching",
        (
            NavLink("offerings.manage", "Offerings", STAFF),
            NavLink("progress.mark_cohort", "Mark a cohort", STAFF),
            NavLink("attendance.ce_awards", "CE awards", STAFF),
        ),
    ),
    NavGroup(
        "People",
        (
            NavLink("progress.roster", "Roster", STAFF),
            NavLink("equivalency.review", "Credit requests", STAFF),
            NavLink("training_documents.review", "Documents to review", STAFF),
            NavLink("training_progress.queues_index", "Certificate of Training queues", STAFF),
            NavLink("retreats.review_queue", "Medical review", frozenset({Role.MEDICAL_REVIEWER})),
        ),
    ),
    NavGroup(
        "Admin",
        (
            NavLink("admin.users", "Users", ADMIN),
            NavLink("accounts_admin.invite", "Invite staff", ADMIN),
            NavLink("accounts_admin.deletions", "Deletion requests", ADMIN),
            NavLink("programme_settings.edit", lazy_gettext("Programme settings"), ADMIN),
            NavLink("admin.audit", "Audit log", ADMIN),
            NavLink("mail.outbox", "Outbox", ADMIN),
            NavLink("training.consultants", "Consultants", ADMIN),
            NavLink("training_requirement.page", "Training requirement", ADMIN),
        ),
    ),
    NavLink("account.profile", "My account"),
]
FOOTER_LINKS: list[NavLink] = [
    NavLink("certificates.verify_form", "Verify a certificate"),
]
HOME_ENDPOINT = "progress.dashboard"


def home_label(roles: Iterable[Role]) -> str:
    """What the home link says: the staff home is "Home"; a clinician's is their progress."""
    from lms.progress.api import HOME_ROLES

    return "Home" if HOME_ROLES & set(roles) else "My progress"


@dataclass(frozen=True)
class ShownLink:
    """A link as a page shows it: its address already built."""

    url: str
    label: str
    endpoint: str = ""
    is_group = False


@dataclass(frozen=True)
class ShownGroup:
    """A group as a page shows it: its label and its visible links (two or more)."""

    label: str
    links: tuple[ShownLink, ...]
    is_group = True

    @property
    def endpoints(self) -> frozenset[str]:
        """The endpoints of its links (the group holds the current page when one matches)."""
        return frozenset(link.endpoint for link in self.links)


def _allowed(link: NavLink, roles: frozenset[Role], views: Any) -> bool:
    """The link's endpoint is registered and the person holds one of its roles."""
    return link.endpoint in views and (not link.roles or bool(link.roles & roles))


def _shown_link(link: NavLink) -> ShownLink:
    """The link with its address."""
    return ShownLink(link.url, link.label, link.endpoint)


def menu_for(roles: frozenset[Role]) -> tuple[ShownLink | ShownGroup, ...]:
    """The header menu of someone holding these roles: home first, then the entries they may
    use; a group with one link for them shows as that link, one with none not at all."""
    views = current_app.view_functions
    shown: list[ShownLink | ShownGroup] = [
        ShownLink(url_for(HOME_ENDPOINT), home_label(roles), HOME_ENDPOINT)
    ]
    for entry in MENU:
        if isinstance(entry, NavLink):
            if _allowed(entry, roles, views):
                shown.append(_shown_link(entry))
            continue
        links = tuple(_shown_link(link) for link in entry.links if _allowed(link, roles, views))
        if len(links) == 1:
            shown.append(links[0])
        elif links:
            shown.append(ShownGroup(entry.label, links))
    return tuple(shown)


def _roles() -> frozenset[Role]:
    """The signed-in person's roles (none for a guest)."""
    return frozenset(current_user.roles) if current_user.is_authenticated else frozenset()


def _memo(kind: str, build: Callable[[frozenset[Role]], Any]) -> Any:
    """`build(roles)`, memoised per app, mount point and role set.

    Every page draws the header and footer; which links show depends only on the person's
    roles, and their addresses only on the app's routes and where it is mounted, so they are
    worked out once per combination instead of on every request.
    """
    roles = _roles()
    if not has_request_context():
        return build(roles)
    key = (kind, request.script_root, roles)
    memo: dict = current_app.extensions.setdefault("lms.navigation", {})
    found = memo.get(key)
    if found is None:
        found = memo[key] = build(roles)
    return found


def shown_menu() -> tuple[ShownLink | ShownGroup, ...]:
    """The signed-in person's header menu."""
    return _memo("menu", menu_for)


def nav_links() -> list[ShownLink]:
    """Every link of the person's menu but home, in order, groups flattened."""
    return [
        link
        for entry in shown_menu()[1:]
        for link in (entry.links if isinstance(entry, ShownGroup) else (entry,))
    ]


def footer_links() -> list[ShownLink]:
    """The footer's links the person may use."""
    views = current_app.view_functions
    return list(
        _memo(
            "footer",
            lambda roles: tuple(
                _shown_link(link) for link in FOOTER_LINKS if _allowed(link, roles, views)
            ),
        )
    )


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
    """Expose the menu, the links, the memoised url_for and csrf_token to templates."""
    app.jinja_env.globals["url_for"] = memoised_url_for(app)
    app.jinja_env.globals["csrf_token"] = request_csrf_token(app)
    app.jinja_env.globals["nav_menu"] = shown_menu
    app.jinja_env.globals["nav_links"] = nav_links
    app.jinja_env.globals["footer_links"] = footer_links
