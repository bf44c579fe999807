"""The person's own account page: profile, e-mail, password, notices and privacy requests."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, send_file, url_for
from flask_login import current_user, login_required, login_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from lms.auth import accounts, email_change, privacy
from lms.auth.account_sections import account_sections
from lms.auth.forms import ChangeEmailForm, ChangePasswordForm, NotificationsForm, ProfileForm
from lms.auth.licence import LicenceStanding, licence_standing
from lms.auth.models import User
from lms.auth.views import posted_address_key
from lms.clock import today
from lms.db import db
from lms.errors import DomainError
from lms.i18n import translate
from lms.ratelimit import limiter
from lms.refusals import back_to, on_refusal, show_on

# Mail to one new address, however many accounts ask for it: links and notices alike.
EMAIL_CHANGE_ADDRESS_LIMIT = "3 per hour"
EMAIL_CHANGE_SCOPE = "email-change-address"

bp = Blueprint("account", __name__, url_prefix="/account")


def _me() -> User:
    """The signed-in person as a real model instance (not the proxy)."""
    return current_user._get_current_object()  # type: ignore[attr-defined]


def _user_key() -> str:
    """Rate-limit key for the signed-in person."""
    return f"account:{current_user.id}"


def _page(status: int = 200, **forms: FlaskForm) -> tuple[str, int]:
    """Render the account page; forms that were posted keep their input and errors."""
    me = _me()
    # Unposted forms start from the account's own values (each field named as its column).
    profile = forms.get("profile") or ProfileForm(formdata=None, obj=me)
    notifications = forms.get("notifications") or NotificationsForm(formdata=None, obj=me)
    return render_template(
        "account/profile.html",
        me=me,
        licence_state=_licence_state(me),
        profile=profile,
        email_form=forms.get("email") or ChangeEmailForm(formdata=None),
        email_change=email_change.pending_change(db.session, me),
        password_form=forms.get("password") or ChangePasswordForm(formdata=None),
        notifications=notifications,
        sections=account_sections(db.session, me),
    ), status


def _licence_state(user: User) -> dict[str, Any]:
    """What the page says about the licence: none, unverified, verified, or expired."""
    standing = licence_standing(user, today())
    if standing is LicenceStanding.UNLICENSED:
        return {
            "badge": "info",
            "label": "Pre-licensed",
            "note": translate("Retreats need a licence."),
        }
    if standing is LicenceStanding.UNVERIFIED:
        return {
            "badge": "warn",
            "label": "Unverified",
            "note": translate(
                "Unverified until an administrator verifies it; retreats count only "
                "verified licences."
            ),
        }
    if standing is LicenceStanding.EXPIRED:
        return {"badge": "bad", "label": "Expired", "note": "Update the expiry date."}
    return {"badge": "ok", "label": "Verified", "note": ""}


@bp.get("")
@login_required
def profile() -> tuple[str, int]:
    """The account page."""
    return _page()


def _profile_again(error: DomainError) -> tuple[str, int]:
    """The account page with the profile form as it was sent."""
    return _page(error.status_code, profile=ProfileForm())


@bp.post("/profile")
@login_required
@on_refusal(_profile_again)
def update_profile() -> Response | tuple[str, int]:
    """Save name, credentials and licence details."""
    form = ProfileForm()
    if not form.validate():
        return _page(422, profile=form)
    licence = form.licence()
    changed = accounts.update_profile(
        db.session,
        _me(),
        name=form.name.data,
        credentials=form.credentials.data or "",
        licence=licence,
    )
    if "licence" in changed:
        flash(
            translate("Saved. Your licence is unverified until an administrator verifies it."),
            "warning",
        )
    else:
        flash("Saved." if changed else "Nothing changed.", "success")
    return redirect(url_for("account.profile"))


def _own_sign_in_change(
    path: str,
    form_class: type[FlaskForm],
    key: str,
    field_for: Callable[[Any, DomainError], Any],
    *,
    also_limited_by: Callable[[Callable[..., Any]], Callable[..., Any]] | None = None,
) -> Callable[[Callable[[Any], Response]], Callable[[], Response | tuple[str, int]]]:
    """Route a change to one's own sign-in details (address, password): signed in, five an
    hour a person (and `also_limited_by`, a further limit). The view gets the posted form
    once it is valid (else the page shows it, 422); a refusal is shown under the field
    `field_for` picks for it, not flashed."""

    def again(error: DomainError) -> tuple[str, int]:
        """The account page, the form as it was sent, the reason under its field."""
        form = form_class()
        show_on(field_for(form, error), error)
        return _page(error.status_code, **{key: form})

    def decorate(view: Callable[[Any], Response]) -> Callable[[], Response | tuple[str, int]]:
        """Wrap one view: its route, access, rate limit and refusal."""

        @functools.wraps(view)
        def posted() -> Response | tuple[str, int]:
            """Check the form's shape, then hand it to the view."""
            form = form_class()
            if not form.validate():
                return _page(422, **{key: form})
            return view(form)

        guarded = on_refusal(again, flash_as=None)(posted)
        limited = limiter.limit("5 per hour", key_func=_user_key)(guarded)
        if also_limited_by is not None:
            limited = also_limited_by(limited)
        return bp.post(path)(login_required(limited))

    return decorate


def _email_field(form: ChangeEmailForm, error: DomainError) -> Any:
    """The field a refused new address is about: the current password or the new address."""
    return form.current_password if "password" in error.message else form.new_email


def _pending_address_key() -> str:
    """The rate-limit key of the address a waiting change is for: the key the request for
    it was counted under (the stored address is in its normal form already)."""
    change = email_change.pending_change(db.session, _me())
    return f"email-change:{change.new_email if change else ''}"


@_own_sign_in_change(
    "/email",
    ChangeEmailForm,
    "email",
    _email_field,
    also_limited_by=limiter.shared_limit(
        EMAIL_CHANGE_ADDRESS_LIMIT,
        EMAIL_CHANGE_SCOPE,
        key_func=posted_address_key("email-change", "new_email"),
    ),
)
def change_email(form: ChangeEmailForm) -> Response:
    """Ask to move the account to a new address (asks for the current password); the link
    sent there makes the change. The answer is the same whether or not the address is free."""
    change = email_change.request_email_change(
        db.session,
        _me(),
        current_password=form.current_password.data,
        new_email=form.new_email.data,
    )
    flash(
        f"We sent a link to {change.new_email}. Open it within 24 hours, signed in, to make "
        f"it your address; until then your address stays {current_user.email}.",
        "success",
    )
    return redirect(url_for("account.profile"))


@bp.post("/email/resend")
@login_required
@limiter.limit("3 per hour", key_func=_user_key)
@limiter.shared_limit(EMAIL_CHANGE_ADDRESS_LIMIT, EMAIL_CHANGE_SCOPE, key_func=_pending_address_key)
@on_refusal(back_to("account.profile"), flash_as="info")  # e.g. nothing waits: news
def resend_email_change() -> Response:
    """Send the waiting change's link again."""
    change = email_change.resend_email_change(db.session, _me())
    flash(f"We sent a new link to {change.new_email}.", "success")
    return redirect(url_for("account.profile"))


@bp.post("/email/cancel")
@login_required
@on_refusal(back_to("account.profile"), flash_as="info")
def cancel_email_change() -> Response:
    """Drop the waiting change; the link already sent stops working."""
    email_change.cancel_email_change(db.session, _me())
    flash(
        translate("The change is cancelled: your address stays {email}.").format(
            email=current_user.email
        ),
        "success",
    )
    return redirect(url_for("account.profile"))


def _password_field(form: ChangePasswordForm, error: DomainError) -> Any:
    """The field a refused password change is about: the current or the new password."""
    return form.current_password if "current" in error.message else form.password


@_own_sign_in_change("/password", ChangePasswordForm, "password", _password_field)
def change_password(form: ChangePasswordForm) -> Response:
    """Change the password (asks for the current one); other sessions are signed out."""
    me = _me()
    accounts.change_own_password(
        db.session, me, current=form.current_password.data, new=form.password.data
    )
    login_user(me)  # the session token rotated: keep this browser signed in
    flash("Your password is changed. Every other session is signed out.", "success")
    return redirect(url_for("account.profile"))


@bp.post("/notifications")
@login_required
def notifications() -> Response | tuple[str, int]:
    """Turn optional e-mails on or off."""
    form = NotificationsForm()
    if not form.validate():
        return _page(422, notifications=form)
    accounts.set_notification_choice(db.session, _me(), optional=bool(form.notify_optional.data))
    flash(
        "You will get optional e-mails too."
        if form.notify_optional.data
        else "Optional e-mails are off. Decisions and revocations still reach you.",
        "success",
    )
    return redirect(url_for("account.profile"))


@bp.post("/export")
@login_required
@limiter.limit("10 per hour", key_func=_user_key)
def export() -> Response:
    """Download everything the tracker holds about me (a zip)."""
    data = privacy.export_personal_data(db.session, _me())
    return send_file(
        io.BytesIO(data),
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"kap-training-my-data-{today().isoformat()}.zip",
    )


@bp.post("/deletion")
@login_required
@on_refusal(back_to("account.profile"), flash_as="info")  # e.g. already asked: news, no fault
def request_deletion() -> Response:
    """Ask for my personal data to be deleted."""
    privacy.request_deletion(db.session, _me())
    flash(
        "Your request is recorded. An administrator will carry it out; you can still sign in "
        "and download your data until then.",
        "success",
    )
    return redirect(url_for("account.profile"))
