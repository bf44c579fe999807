"""Administrator pages for accounts: staff invitations and deletion requests."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from lms.auth import privacy, services
from lms.auth.api import InviteForm, Role, User, admin_required
from lms.db import db
from lms.errors import DomainError
from lms.refusals import back_to, not_a_refusal, on_refusal, page_again, show_on
from lms.storage import stores

bp = Blueprint("accounts_admin", __name__, url_prefix="/admin")


def _me() -> User:
    """The signed-in administrator as a model instance."""
    return current_user._get_current_object()  # type: ignore[attr-defined]


def _invite_page(form: InviteForm, status: int = 200) -> tuple[str, int]:
    """The invitation form with the invitations still waiting."""
    return render_template(
        "accounts_admin/invite.html",
        form=form,
        pending=services.pending_invitations(db.session),
    ), status


def _invite_again(error: DomainError) -> tuple[str, int]:
    """The invitation form as sent, the reason under the address or the roles it is about."""
    form = InviteForm()
    show_on(form.email if "e-mail" in error.message else form.instructor, error)
    return _invite_page(form, error.status_code)


@bp.route("/invite", methods=["GET", "POST"])
@admin_required
@on_refusal(_invite_again, flash_as=None)  # shown on the form's field instead
def invite() -> Response | tuple[str, int]:
    """Invite an instructor or medical reviewer by e-mail."""
    form = InviteForm()
    if not form.validate_on_submit():
        return _invite_page(form, 422 if form.is_submitted() else 200)
    roles = {
        role
        for role, ticked in (
            (Role.INSTRUCTOR, form.instructor.data),
            (Role.MEDICAL_REVIEWER, form.medical_reviewer.data),
        )
        if ticked
    }
    user = services.invite_staff(
        db.session, email=form.email.data, name=form.name.data, roles=roles, actor=_me()
    )
    flash(f"Invitation sent to {user.email}. They choose their own password.", "success")
    return redirect(url_for("accounts_admin.invite"))


@bp.post("/invite/<id:user_id>/resend")
@admin_required
@on_refusal(back_to("accounts_admin.invite"))
def resend_invitation(user_id: int) -> Response:
    """Send an invitation link again."""
    with not_a_refusal():  # no such account: the 404 page, not a refused invitation
        person = services.get_user(db.session, user_id)
    services.send_invitation(db.session, person, actor=_me())
    flash(f"Invitation sent again to {person.email}.", "success")
    return redirect(url_for("accounts_admin.invite"))


def _deletions_page() -> str:
    """The list of deletion requests still waiting."""
    return render_template(
        "accounts_admin/deletions.html",
        requests=privacy.deletion_requests(db.session),
        retention_years=privacy.retention_years(db.session),
    )


@bp.get("/deletions")
@admin_required
def deletions() -> str:
    """People who asked for their data to be deleted."""
    return _deletions_page()


def _deletions_again(error: DomainError, user_id: int) -> str:
    """The deletion requests again (the flash says why that one was not carried out)."""
    return _deletions_page()


@bp.post("/deletions/<id:user_id>")
@admin_required
@on_refusal(page_again(_deletions_again))
def carry_out_deletion(user_id: int) -> Response | tuple[str, int]:
    """Carry out one deletion request."""
    privacy.carry_out_deletion(
        db.session,
        user_id,
        actor=_me(),
        files=stores(),
    )
    flash(f"Personal data of account #{user_id} deleted.", "success")
    return redirect(url_for("accounts_admin.deletions"))
