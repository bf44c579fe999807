"""Sign-in, sign-out and registration pages."""

from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from lms.auth import services
from lms.auth.access import safe_next
from lms.auth.forms import LoginForm, RegistrationForm
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
        login_user(user)
        flash("Your account is ready. An administrator will verify your licence.", "success")
        return redirect(home_for(user))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/register.html", form=form), status
