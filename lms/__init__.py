"""The KAP training tracker: `create_app()` for the standalone app, `LMS` for host apps."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    render_template,
    request,
)
from flask_wtf.csrf import CSRFError, CSRFProtect
from markupsafe import escape
from sqlalchemy import text
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from lms.config import PROJECT_ROOT, load_config
from lms.db import Database
from lms.db import db as _db
from lms.errors import DomainError

TEMPLATE_DIR = PROJECT_ROOT / "templates"
STATIC_DIR = PROJECT_ROOT / "templates" / "static"

csrf = CSRFProtect()

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


class LMS:
    """The tracker as a Flask extension: `LMS().init_app(app, url_prefix="/training")`."""

    def __init__(self, app: Flask | None = None, **kwargs: Any) -> None:
        """Optionally bind to an app at once."""
        self.db = Database()
        if app is not None:
            self.init_app(app, **kwargs)

    def init_app(self, app: Flask, url_prefix: str | None = None) -> None:
        """Wire database, security, blueprints, error pages and CLI into the app."""
        app.extensions["lms"] = self
        self.db.init_app(app)
        from lms.progress import tracking

        tracking.install()  # every transaction keeps the progress read model
        from lms.jobs import Jobs

        self.jobs = Jobs(app)  # per app: a host app and a test app each have their own queue
        if app.jinja_loader is not None and str(TEMPLATE_DIR) not in getattr(
            app.jinja_loader, "searchpath", []
        ):
            from jinja2 import ChoiceLoader, FileSystemLoader

            app.jinja_loader = ChoiceLoader([app.jinja_loader, FileSystemLoader(TEMPLATE_DIR)])
        csrf.init_app(app)
        from lms.bounds import register_converters

        register_converters(app.url_map)  # <id:...> must exist before the blueprints' rules

        from lms.auth import views as auth_views
        from lms.ratelimit import limiter

        limiter.init_app(app)
        auth_views.init_login(app)

        # Our CSS/JS live with the extension, so a host app (with its own /static) gets them
        # under its mount point: <url_prefix>/static/...
        assets = Blueprint(
            "lms_assets", __name__, static_folder=str(STATIC_DIR), static_url_path=""
        )
        app.register_blueprint(assets, url_prefix=_join(url_prefix, "/static"))
        for blueprint in _blueprints():
            app.register_blueprint(blueprint, url_prefix=_join(url_prefix, blueprint.url_prefix))

        app.before_request(_forget_cached_user)
        app.before_request(_refuse_nul_in_the_address)
        app.after_request(_finish_request)
        app.after_request(_security_headers)
        _register_error_pages(app)
        app.jinja_env.globals["lms_url_prefix"] = url_prefix or ""
        from lms import navigation

        navigation.init_app(app)

        from lms.cli import db_cli, lms_cli

        app.cli.add_command(lms_cli)
        app.cli.add_command(db_cli)
        _subscribe_features()


def _join(prefix: str | None, own: str | None) -> str | None:
    """Combine the host's mount point with a blueprint's own prefix."""
    if not prefix:
        return own
    return prefix.rstrip("/") + (own or "")


def _blueprints() -> list[Blueprint]:
    """Every feature's blueprint, imported late so that importing lms stays cheap."""
    from lms.features import blueprints

    return blueprints()


def _subscribe_features() -> None:
    """Connect the features' in-transaction signal receivers (idempotent)."""
    from lms.features import subscribe

    subscribe()


def _forget_cached_user() -> None:
    """Make each request decide who is signed in, and its CSRF token, from its own cookie.

    flask-login caches the user and flask-wtf the CSRF token on `g`, which belongs to the app
    context; a request pushed inside an outer app context (tests, a host app dispatching
    internally) shares that `g` and would otherwise inherit the previous request's identity
    and token.
    """
    g.pop("_login_user", None)
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)


def _refuse_nul_in_the_address() -> None:
    """Answer 400 to a path or query string holding NUL (%00) before any view reads it.

    No search box, filter or code takes one, and PostgreSQL refuses NUL in any text it is
    sent, so it would otherwise end as a 500. Form bodies are checked field by field instead
    (lms/forms.py), where the person sees which field is wrong.
    """
    if "\x00" in request.path or any(
        "\x00" in key or "\x00" in value for key, values in request.args.lists() for value in values
    ):
        abort(400, description="The address holds a character that cannot be read.")


def _finish_request(response: Response) -> Response:
    """Commit the request's unit of work when it succeeded, roll it back otherwise."""
    if response.status_code < 400:
        _db.commit()
    else:
        _db.rollback()
    return response


def _security_headers(response: Response) -> Response:
    """Headers every response carries."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.endpoint and not request.endpoint.startswith("static"):
        headers.setdefault("Cache-Control", "no-store" if _is_private() else "no-cache")
    return response


def _is_private() -> bool:
    """Pages for a signed-in person must not linger in shared caches."""
    from flask_login import current_user

    return bool(getattr(current_user, "is_authenticated", False))


# What a person reads on the common error pages when the code gave no message of its own.
FRIENDLY_MESSAGES = {
    400: "The request was not understood. Go back, reload the page and try again.",
    403: "Your account does not give access to this page. Ask an administrator if it should.",
    404: "There is no page at this address, or it is not yours to see. Check the link.",
    405: "This address does not accept that kind of request.",
    413: "The upload is too large. Choose a smaller file and try again.",
    429: "Too many attempts in a short time. Wait a minute and try again.",
}


def _register_error_pages(app: Flask) -> None:
    """Generic error pages: a plain message and a status, never a traceback."""

    def wants_json() -> bool:
        return request.accept_mimetypes.best == "application/json" or request.path.endswith(
            "/healthz"
        )

    def render(status: int, title: str, message: str) -> tuple[Any, int]:
        _db.rollback()
        if wants_json():
            return jsonify(error=title, message=message), status
        try:
            page = render_template("errors/error.html", status=status, title=title, message=message)
        except Exception:
            # The page itself failed (the database is down and the header needs the signed-in
            # person, say): answer with bare, escaped HTML rather than Werkzeug's debug output.
            app.logger.exception("error page failed to render")
            page = f"<!doctype html><title>{escape(title)}</title><h1>{escape(title)}</h1>"
            page += f"<p>{escape(message)}</p>"
        return page, status

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[Any, int]:
        return render(
            400,
            "Form expired",
            "The form was missing its security token or it expired. "
            "Go back, reload the page and try again.",
        )

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError) -> tuple[Any, int]:
        return render(error.status_code, "That could not be done", error.message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Any, int]:
        status = error.code or 500
        message = error.description or ""
        if message == type(error).description and status in FRIENDLY_MESSAGES:
            message = FRIENDLY_MESSAGES[status]  # Werkzeug's stock text speaks to developers
        return render(status, f"{status} {error.name}", message)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> tuple[Any, int]:
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return render(
            500,
            "Something went wrong",
            "The error has been logged. Nothing was changed; please try again.",
        )


def create_app(config: dict | None = None) -> Flask:
    """Build the standalone tracker app; `config` overrides values read from the environment."""
    settings = load_config(overrides=config)
    app = Flask(
        __name__,
        instance_path=settings["LMS_INSTANCE_PATH"],
        template_folder=str(TEMPLATE_DIR),
        static_folder=None,  # the tracker's assets come from its own blueprint (lms_assets)
    )
    app.config.update(settings)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if proxies := app.config["LMS_TRUSTED_PROXIES"]:
        # Only behind a known number of proxies may X-Forwarded-For name the client: the
        # per-address sign-in limit and HTTPS detection (HSTS) depend on it.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0)
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO)
        # WeasyPrint narrates every render step at INFO; only its warnings are news.
        for noisy in ("weasyprint", "weasyprint.progress", "fontTools"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    LMS(app)

    @app.get("/healthz")
    def healthz() -> tuple[Any, int]:
        """Liveness and database check for load balancers."""
        try:
            _db.session.execute(text("SELECT 1"))
        except Exception:
            app.logger.warning("health check: database did not answer")
            return jsonify(status="error", database="unavailable"), 503
        return jsonify(status="ok", database="ok"), 200

    csrf.exempt(healthz)
    return app
