"""The pages e-mailed links open: reset a password, confirm an address, confirm a change of
address, accept an invitation.

No URL of these pages carries the link's secret (see lms.auth.links): each page first takes
the code by POST, keeps it in the session and redirects (303) to itself, then works from it.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from flask_login.utils import login_url
from werkzeug.wrappers import Response

from lms.auth import accounts, email_change, links
from lms.auth.forms import LinkCodeForm, NewPasswordForm
from lms.auth.tokens import INVALID_LINK
from lms.auth.views import home_for
from lms.db import db
from lms.errors import DomainError
from lms.ratelimit import limiter
from lms.refusals import on_refusal, show_on

bp = Blueprint("links", __name__)

MISSING_LINK = (
    "Open the link from the e-mail again: this page needs it, and it was not found in this "
    "browser (it is kept for 30 minutes after the link is opened)."
)
Answer = Response | str | tuple[str, int]


def _link_problem(message: str, *, kind: str, again: str | None) -> tuple[str, int]:
    """The page shown for an expired, used or broken link, with the way to get a new one."""
    db.rollback()
    links.forget(kind)
    return render_template("auth/link_problem.html", message=message, again=again), 400


def _open_page(kind: str, title: str) -> tuple[str, int]:
    """The page that takes the code from the link's fragment (by script) or by pasting."""
    form = LinkCodeForm(formdata=None)
    action = url_for(f"links.open_{kind}")
    return render_template("auth/open_link.html", form=form, action=action, title=title), 200


def _open(kind: str, again: str | None) -> Answer:
    """Keep the posted code in the session and send the browser to the token-free page."""
    form = LinkCodeForm()
    code = links.code_from(form.code.data) if form.validate_on_submit() else None
    if code is None:
        return _link_problem(INVALID_LINK, kind=kind, again=again)
    links.keep(kind, code)
    return redirect(url_for(links.PAGES[kind]), code=303)


def _with_code(kind: str, title: str, again: str | None, page: Callable[[str], Answer]) -> Answer:
    """Run a page with the kept code; without one, GET shows the open page, POST refuses."""
    code = links.kept(kind)
    if code is None:
        if request.method == "GET":
            return _open_page(kind, title)
        return _link_problem(MISSING_LINK, kind=kind, again=again)
    return page(code)


def _link_refused(kind: str, again: str | None) -> Callable[..., Answer]:
    """The answer to a link the service refuses (expired, used, broken): the problem page."""

    def answer(error: DomainError) -> Answer:
        """The link problem page, with the way to a new link (`again`, an endpoint)."""
        return _link_problem(error.message, kind=kind, again=url_for(again) if again else None)

    return answer


def _password_again(
    error: DomainError, code: str, form: NewPasswordForm, draw: Callable[[], str]
) -> tuple[str, int]:
    """The password form again (the link still holds), the reason under the new password."""
    show_on(form.password, error)
    return draw(), error.status_code


# --------------------------------------------------------------------------- password reset


@bp.post("/reset-password/open")
@limiter.limit("10 per minute")
def open_reset() -> Answer:
    """Take a reset link's code."""
    return _open("reset", url_for("auth.forgot_password"))


@on_refusal(_password_again, flash_as=None)  # a weak password: said under the field
def _reset(code: str, form: NewPasswordForm, draw: Callable[[], str]) -> Answer:
    """Set the new password the form holds and sign this browser in."""
    user = accounts.reset_password(db.session, code, form.password.data)
    links.forget("reset")
    login_user(user)
    flash("Your password is changed. Every other session of your account is signed out.")
    return redirect(home_for(user))


@bp.route("/reset-password", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
@on_refusal(_link_refused("reset", "auth.forgot_password"), flash_as=None)
def reset_password() -> Answer:
    """Choose a new password through an e-mailed link; other sessions are signed out."""

    def page(code: str) -> Answer:
        """The new-password page of the link's account; its form sets the password."""
        account = accounts.check_reset_link(db.session, code)
        form = NewPasswordForm()

        def draw() -> str:
            """The page with the form as it stands."""
            return render_template("auth/reset_password.html", form=form, email=account.email)

        if form.validate_on_submit():
            return _reset(code, form, draw)
        return draw(), 422 if request.method == "POST" else 200

    again = url_for("auth.forgot_password")
    return _with_code("reset", "Choose a new password", again, page)


# --------------------------------------------------------------------------- e-mail confirmation


@bp.post("/confirm-email/open")
@limiter.limit("10 per minute")
def open_confirm() -> Answer:
    """Take a confirmation link's code."""
    return _open("confirm", url_for("account.profile"))


@bp.route("/confirm-email", methods=["GET", "POST"])
@on_refusal(_link_refused("confirm", "account.profile"), flash_as=None)
def confirm_email() -> Answer:
    """Confirm an address: the page shows a button, the button (a POST) confirms."""

    def page(code: str) -> Answer:
        """The confirmation button (GET), or the confirmation itself (POST)."""
        if request.method == "GET":
            return render_template("auth/confirm_email.html")
        result = accounts.confirm_email(db.session, code)
        links.forget("confirm")
        if result.already:
            flash("Your e-mail address was already confirmed.", "info")
        else:
            flash("Thank you: your e-mail address is confirmed.", "success")
        if current_user.is_authenticated:
            return redirect(home_for(current_user))
        return redirect(url_for("auth.login"))

    return _with_code("confirm", "Confirm your e-mail address", url_for("account.profile"), page)


# --------------------------------------------------------------------------- change of address


@bp.post("/confirm-email-change/open")
@limiter.limit("10 per minute")
def open_email_change() -> Answer:
    """Take the code of a link that confirms a new address."""
    return _open("email_change", url_for("account.profile"))


@bp.route("/confirm-email-change", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
@on_refusal(_link_refused("email_change", "account.profile"), flash_as=None)
def confirm_email_change() -> Answer:
    """Make a requested address the account's: the page shows it and a button (GET), the
    button (a POST) makes the change. Only the account's owner, signed in, can: whoever
    holds the new inbox alone (a mistyped address's owner, say) cannot take the account."""

    def page(code: str) -> Answer:
        """Sign in first (the code stays kept); then the button, or the change itself."""
        if not current_user.is_authenticated:
            flash("Sign in to the account whose address is changing to confirm it.", "info")
            return redirect(login_url("auth.login", next_url=url_for("links.confirm_email_change")))
        me = current_user._get_current_object()
        if request.method == "GET":
            change = email_change.check_email_change_link(db.session, code, me)
            return render_template("auth/confirm_email_change.html", change=change)
        new_email = email_change.confirm_email_change(db.session, code, me)
        links.forget("email_change")
        flash(f"Your e-mail address is now {new_email}.", "success")
        return redirect(url_for("account.profile"))

    again = url_for("account.profile")
    return _with_code("email_change", "Confirm your new e-mail address", again, page)


# --------------------------------------------------------------------------- invitations


@bp.post("/invitation/open")
@limiter.limit("10 per minute")
def open_invitation() -> Answer:
    """Take an invitation link's code."""
    return _open("invitation", None)


@on_refusal(_password_again, flash_as=None)  # a weak password: said under the field
def _accept(code: str, form: NewPasswordForm, draw: Callable[[], str]) -> Answer:
    """Set the invited person's password and sign this browser in as them."""
    user = accounts.accept_invitation(db.session, code, form.password.data)
    links.forget("invitation")
    if current_user.is_authenticated:
        logout_user()
    login_user(user)
    flash(f"Welcome, {user.name}. Your password is set.", "success")
    return redirect(home_for(user))


@bp.route("/invitation", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
@on_refusal(_link_refused("invitation", None), flash_as=None)
def accept_invitation() -> Answer:
    """An invited member of staff chooses their own password and is signed in."""

    def page(code: str) -> Answer:
        """The page setting the invited person's password."""
        invited = accounts.check_invitation(db.session, code)
        form = NewPasswordForm()

        def draw() -> str:
            """The page with the form as it stands."""
            return render_template("auth/accept_invitation.html", form=form, invited=invited)

        if form.validate_on_submit():
            return _accept(code, form, draw)
        return draw(), 422 if request.method == "POST" else 200

    return _with_code("invitation", "Accept your invitation", None, page)
