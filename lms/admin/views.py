"""Admin pages: find people, change roles and accounts, verify licences, read the audit log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from lms.admin import services
from lms.admin.forms import AuditFilterForm, RolesForm, UserFilterForm
from lms.auth import services as auth_services
from lms.auth.api import Role, User, admin_required
from lms.db import db
from lms.errors import DomainError
from lms.i18n import translate
from lms.paging import page_links
from lms.refusals import not_a_refusal, on_refusal

bp = Blueprint("admin", __name__, url_prefix="/admin")

RECENT_EVENTS = 20


@bp.get("/users")
@admin_required
def users() -> tuple[str, int]:
    """Every account, searchable by name, e-mail or licence number and filterable."""
    form = UserFilterForm(formdata=request.args)
    if not form.validate():
        return render_template("admin/users.html", form=form, page=None, links={}), 422
    status = form.status.data
    page = services.search_users(
        db.session,
        text=form.q.data or "",
        role=Role(form.role.data) if form.role.data else None,
        active=None if not status else status == "active",
        licence_unverified=bool(form.licence_unverified.data),
        page=form.page.data or 1,
    )
    return render_template("admin/users.html", form=form, page=page, links=page_links(page)), 200


# Other features' pages about one person, linked from the account page when they exist.
RECORD_PAGES = (
    ("progress.record", "Progress"),
    ("certificates.person", "Certificates"),
)


def _record_links(user_id: int) -> list[tuple[str, str]]:
    """(label, url) of the person's pages in other features that this app has."""
    views = current_app.view_functions
    return [
        (label, url_for(endpoint, user_id=user_id))
        for endpoint, label in RECORD_PAGES
        if endpoint in views
    ]


@not_a_refusal()  # no such account: the 404 page, not a refused change
def _person(user_id: int) -> User:
    """The account an admin acts on."""
    return auth_services.get_user(db.session, user_id)


def _render_user(user_id: int, status: int = 200, roles_form: RolesForm | None = None) -> Any:
    """The page of one account with its action forms and recent audit events."""
    user = _person(user_id)
    if roles_form is None:
        roles_form = RolesForm(formdata=None, data={"roles": sorted(r.value for r in user.roles)})
    events = services.browse_audit(db.session, person_id=user.id, per_page=RECENT_EVENTS)
    person = {
        "id": user.id,
        "name": user.name,
        "display_name": user.display_name,
        "email": user.email,
        "credentials": user.credentials,
        "active": user.active,
        "is_self": user.id == current_user.id,
        "pre_licensed": user.pre_licensed,
        "licence_type": user.licence_type,
        "licence_number": user.licence_number,
        "licence_state": user.licence_state,
        "licence_expires_on": user.licence_expires_on,
        "licence_verified_at": user.licence_verified_at,
        "licence_status": services.licence_status(user),
        "roles": [r.label for r in sorted(user.roles)],
        "email_confirmed_at": user.email_confirmed_at,
        "created_at": user.created_at,
        "last_login_at": user.last_login_at,
        "deletion_requested_at": user.deletion_requested_at,
    }
    page = render_template(
        "admin/user.html",
        person=person,
        roles_form=roles_form,
        events=events,
        records=_record_links(user.id),
    )
    return page, status


@bp.get("/users/<id:user_id>")
@admin_required
def user(user_id: int) -> Any:
    """One account: its details, roles, state, licence and what happened to it."""
    return _render_user(user_id)


def _account_again(error: DomainError, user_id: int) -> Any:
    """The account page again with the refusal's status (its flash says why)."""
    return _render_user(user_id, error.status_code)


def _roles_again(error: DomainError, user_id: int) -> Any:
    """The account page again, the roles ticked as they were sent."""
    return _render_user(user_id, error.status_code, RolesForm())


@bp.post("/users/<id:user_id>/roles")
@admin_required
@on_refusal(_roles_again)
def change_roles(user_id: int) -> Any:
    """Replace a person's roles (never your own admin role, never the last admin)."""
    person = _person(user_id)
    form = RolesForm()
    if not form.validate():
        flash("Tick at least one role.", "error")
        return _render_user(user_id, 422, form)
    auth_services.set_roles(
        db.session, person, {Role(r) for r in form.roles.data}, actor=current_user
    )
    flash(f"Roles of {person.name} saved.", "success")
    return redirect(url_for("admin.user", user_id=user_id))


def _set_active(user_id: int, active: bool) -> Any:
    """Deactivate or reactivate an account (CSRFProtect has already checked the token)."""
    person = _person(user_id)
    auth_services.set_active(db.session, person, active, actor=current_user)
    if active:
        flash(f"{person.name} can sign in again.", "success")
    else:
        flash(f"{person.name} is deactivated and signed out everywhere.", "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.post("/users/<id:user_id>/deactivate")
@admin_required
@on_refusal(_account_again)
def deactivate(user_id: int) -> Any:
    """Stop an account from signing in and end all its sessions."""
    return _set_active(user_id, False)


@bp.post("/users/<id:user_id>/reactivate")
@admin_required
@on_refusal(_account_again)
def reactivate(user_id: int) -> Any:
    """Let a deactivated account sign in again."""
    return _set_active(user_id, True)


@bp.post("/users/<id:user_id>/verify-licence")
@admin_required
@on_refusal(_account_again)
def verify_licence(user_id: int) -> Any:
    """Record that an admin checked the licence with the issuing board."""
    person = _person(user_id)
    auth_services.verify_licence(db.session, person, actor=current_user)
    word = translate("Licence")
    flash(f"{word} of {person.name} marked verified.", "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.get("/audit")
@admin_required
def audit() -> tuple[str, int]:
    """The audit trail, newest first, filtered by action, who, whom and dates."""
    form = AuditFilterForm(formdata=request.args)
    form.set_actions(services.audit_actions(db.session))
    if not form.validate():
        return render_template("admin/audit.html", form=form, page=None, links={}), 422
    page = services.browse_audit(
        db.session,
        action=form.action.data or "",
        actor=form.actor.data or "",
        person=form.person.data or "",
        actor_id=form.actor_id.data,
        person_id=form.person_id.data,
        on_or_after=form.date_from.data,
        on_or_before=form.date_to.data,
        page=form.page.data or 1,
    )
    return render_template("admin/audit.html", form=form, page=page, links=page_links(page)), 200
