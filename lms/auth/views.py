"""Sign-in, sign-out and registration pages."""

from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from lms.auth import accounts, services
from lms.auth.access import safe_next
from lms.auth.forms import ForgotPasswordForm, LoginForm, NewPasswordForm, RegistrationForm
from lms.auth.models import User
from lms.db import db
from lms.errors import DomainError
from lms.ratelimit import limiter

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see that page."
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"


def init_login(app: Flask) -> None:
    """Attach flask-login to the app."""
    login_manager.init_app(app)


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Find the signed-in person from the session; a rotated token signs them out."""
    return services.load_session_user(db.session, session_id)


def _login_account_key() -> str:
    """Rate-limit key for the account being signed in to (whatever its case)."""
    return "login-account:" + services.normalise_email(request.form.get("email", ""))[:320]


def home_for(user: User) -> str:
    """Where a person lands after sign-in."""
    return url_for("progress.dashboard")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute; 100 per hour", methods=["POST"])
@limiter.limit("5 per minute; 30 per hour", methods=["POST"], key_func=_login_account_key)
def login() -> Response | str:
    """Sign in with e-mail and password."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(db.session, form.email.data, form.password.data)
        if user is not None:
            login_user(user)
            flash(f"Welcome, {user.name}.", "success")
            return redirect(safe_next(request.args.get("next"), home_for(user)))
        flash("That e-mail and password do not match an active account.", "error")
        return render_template("auth/login.html", form=form), 200
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> Response:
    """Sign out everywhere this session's cookie was copied to."""
    services.rotate_auth_token(current_user)
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def register() -> Response | str:
    """A clinician creates an account."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = RegistrationForm()
    if form.validate_on_submit():
        licence = services.Licence(
            pre_licensed=bool(form.pre_licensed.data),
            type=(form.licence_type.data or "").strip() or None,
            number=(form.licence_number.data or "").strip() or None,
            state=(form.licence_state.data or "").strip() or None,
            expires_on=form.licence_expires_on.data,
        )
        try:
            user = services.create_user(
                db.session,
                email=form.email.data,
                name=form.name.data,
                password=form.password.data,
                credentials=form.credentials.data or "",
                licence=licence,
            )
        except DomainError as error:
            db.rollback()
            if "e-mail" in error.message:
                form.email.errors.append(error.message)
            else:
                flash(error.message, "error")
            return render_template("auth/register.html", form=form), error.status_code
        accounts.send_email_confirmation(db.session, user)
        login_user(user)
        flash(
            "Your account is ready. We e-mailed you a link to confirm your address; "
            "an administrator will verify your licence.",
            "success",
        )
        return redirect(home_for(user))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/register.html", form=form), status


# --------------------------------------------------------------------------- password reset

FORGOT_ANSWER = (
    "If an account uses that address, we have sent it a link to choose a new password. "
    "The link works once, for 1 hour. Check your spam folder if nothing arrives."
)


def _forgot_address_key() -> str:
    """Rate-limit key for the address a reset is asked for (known or not: same limit)."""
    return "forgot:" + services.normalise_email(request.form.get("email", ""))[:320]


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit("10 per minute; 30 per hour", methods=["POST"])
@limiter.limit("3 per hour", methods=["POST"], key_func=_forgot_address_key)
def forgot_password() -> Response | str | tuple[str, int]:
    """Ask for a reset link; the answer is the same whether or not the address exists."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        accounts.request_password_reset(db.session, form.email.data)
        flash(FORGOT_ANSWER, "info")
        return redirect(url_for("auth.login"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/forgot_password.html", form=form), status


def _link_problem(error: DomainError, *, again: str) -> tuple[str, int]:
    """The page shown for an expired, used or broken link, with the way to get a new one."""
    db.rollback()
    return render_template("auth/link_problem.html", message=error.message, again=again), 400


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def reset_password(token: str) -> Response | str | tuple[str, int]:
    """Choose a new password through an e-mailed link; other sessions are signed out."""
    try:
        account = accounts.check_reset_link(db.session, token)
    except DomainError as error:
        return _link_problem(error, again=url_for("auth.forgot_password"))
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            user = accounts.reset_password(db.session, token, form.password.data)
        except DomainError as error:
            db.rollback()
            form.password.errors.append(error.message)
            return render_template(
                "auth/reset_password.html", form=form, email=account.email
            ), error.status_code
        login_user(user)
        flash("Your password is changed. Every other session of your account is signed out.")
        return redirect(home_for(user))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/reset_password.html", form=form, email=account.email), status


# --------------------------------------------------------------------------- e-mail confirmation


@bp.route("/confirm-email/<token>", methods=["GET", "POST"])
def confirm_email(token: str) -> Response | str | tuple[str, int]:
    """Confirm an address: the link shows a button, the button (a POST) confirms."""
    again = url_for("account.profile")
    if request.method == "GET":
        return render_template("auth/confirm_email.html")
    try:
        result = accounts.confirm_email(db.session, token)
    except DomainError as error:
        return _link_problem(error, again=again)
    if result.already:
        flash("Your e-mail address was already confirmed.", "info")
    else:
        flash("Thank you: your e-mail address is confirmed.", "success")
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return redirect(url_for("auth.login"))


def _user_key() -> str:
    """Rate-limit key for the signed-in person."""
    return f"user:{current_user.get_id().partition(':')[0]}"


@bp.post("/confirm-email/resend")
@login_required
@limiter.limit("3 per hour", key_func=_user_key)
def resend_confirmation() -> Response:
    """Send the confirmation link again."""
    back = safe_next(request.form.get("next"), url_for("account.profile"))
    try:
        accounts.resend_email_confirmation(db.session, current_user._get_current_object())
    except DomainError as error:
        db.rollback()
        flash(error.message, "info")
        return redirect(back)
    flash(f"We sent a new confirmation link to {current_user.email}.", "success")
    return redirect(back)


# --------------------------------------------------------------------------- invitations


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def accept_invitation(token: str) -> Response | str | tuple[str, int]:
    """An invited member of staff chooses their own password and is signed in."""
    try:
        invited = accounts.check_invitation(db.session, token)
    except DomainError as error:
        return _link_problem(error, again=None)
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            user = accounts.accept_invitation(db.session, token, form.password.data)
        except DomainError as error:
            db.rollback()
            form.password.errors.append(error.message)
            return render_template(
                "auth/accept_invitation.html", form=form, invited=invited
            ), error.status_code
        if current_user.is_authenticated:
            logout_user()
        login_user(user)
        flash(f"Welcome, {user.name}. Your password is set.", "success")
        return redirect(home_for(user))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/accept_invitation.html", form=form, invited=invited), status
