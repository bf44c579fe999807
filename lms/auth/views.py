"""Sign-in, sign-out and registration pages."""

from __future__ import annotations

from collections.abc import Callable

from flask import (
    Blueprint,
    Flask,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import (
    LoginManager,
    current_user,
    login_required,
    login_user,
    logout_user,
    user_logged_in,
    user_logged_out,
)
from werkzeug.wrappers import Response

from lms.auth import accounts, services
from lms.auth.access import safe_next
from lms.auth.forms import ForgotPasswordForm, LoginForm, RegistrationForm
from lms.auth.models import User
from lms.db import db
from lms.errors import DomainError
from lms.ratelimit import limiter
from lms.refusals import on_refusal, page_again, show_on

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see that page."
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"


def init_login(app: Flask) -> None:
    """Attach flask-login to the app; signing in or out gives the browser a new CSRF token."""
    login_manager.init_app(app)
    user_logged_in.connect(rotate_csrf_token, app)
    user_logged_out.connect(rotate_csrf_token, app)


def rotate_csrf_token(app: Flask, **_: object) -> None:
    """Forget this browser's CSRF token so the next page makes a new one.

    A token seen before sign-in (on a shared computer, say) must not be good for the account
    afterwards, nor the account's token for whoever uses the browser after sign-out.
    """
    field = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    session.pop(field, None)
    g.pop(field, None)


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Find the signed-in person from the session; a rotated token signs them out."""
    return services.load_session_user(db.session, session_id)


def posted_address_key(kind: str, field: str = "email") -> Callable[[], str]:
    """A rate-limit key function for the address posted in `field`: the address in the one
    normal form the form and the lookup use (services.normalise_email), so no spelling of
    it (case, spaces, zero-width or full-width characters) is counted apart from another."""

    def key() -> str:
        """`kind:` and the posted address, normalised whole (invisible characters in front
        must not push the address out of a cut), then bounded like the form's field."""
        posted = services.normalise_email(request.form.get(field, ""))
        return f"{kind}:{posted[: services.EMAIL_MAX]}"

    return key


# The account being signed in to, however its address is spelled.
_login_account_key = posted_address_key("login-account")


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


# The address being registered (known or not: the same limit).
_register_address_key = posted_address_key("register")


def _registration_again(error: DomainError) -> str:
    """The registration form as sent, the reason under the password (e.g. a weak one)."""
    form = RegistrationForm()
    show_on(form.password, error)
    return render_template("auth/register.html", form=form)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
@limiter.limit("3 per hour", methods=["POST"], key_func=_register_address_key)
@on_refusal(page_again(_registration_again), flash_as=None)  # shown on the form instead
def register() -> Response | str | tuple[str, int]:
    """A clinician asks for an account; the answer never says whether the address had one."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = RegistrationForm()
    if form.validate_on_submit():
        licence = form.licence()
        accounts.request_registration(
            email=form.email.data,
            name=form.name.data,
            password=form.password.data,
            credentials=form.credentials.data or "",
            licence=licence,
        )
        return redirect(url_for("auth.registered"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("auth/register.html", form=form), status


@bp.get("/register/sent")
def registered() -> str:
    """What everyone who registers reads, whether or not the address had an account."""
    return render_template("auth/registered.html")


# --------------------------------------------------------------------------- password reset

FORGOT_ANSWER = (
    "If an account uses that address, we have sent it a link to choose a new password. "
    "The link works once, for 1 hour. Check your spam folder if nothing arrives."
)


# The address a reset is asked for (known or not: the same limit).
_forgot_address_key = posted_address_key("forgot")


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit("10 per minute; 30 per hour", methods=["POST"])
@limiter.limit("3 per hour", methods=["POST"], key_func=_forgot_address_key)
def forgot_password() -> Response | str | tuple[str, int]:
    """Ask for a reset link; the answer is the same whether or not the address exists."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data)
        flash(FORGOT_ANSWER, "info")
        return redirect(url_for("auth.login"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/forgot_password.html", form=form), status


# --------------------------------------------------------------------------- e-mail confirmation


def _user_key() -> str:
    """Rate-limit key for the signed-in person."""
    return f"user:{current_user.get_id().partition(':')[0]}"


def _back_from_resend(error: DomainError | None = None) -> Response:
    """Back to the page the resend button was on (or the account page)."""
    return redirect(safe_next(request.form.get("next"), url_for("account.profile")))


@bp.post("/confirm-email/resend")
@login_required
@limiter.limit("3 per hour", key_func=_user_key)
@on_refusal(_back_from_resend, flash_as="info")  # e.g. already confirmed: news, not a fault
def resend_confirmation() -> Response:
    """Send the confirmation link again."""
    accounts.resend_email_confirmation(db.session, current_user._get_current_object())
    flash(f"We sent a new confirmation link to {current_user.email}.", "success")
    return _back_from_resend()
