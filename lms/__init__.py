"""The KAP training tracker: `create_app()` for the standalone app, `LMS` for host apps."""

from __future__ import annotations

import logging
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
    session,
)
from flask_wtf.csrf import CSRFError, CSRFProtect
from markupsafe import escape
from sqlalchemy import text
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from lms.bounds import UPLOAD_MAX_TEXT
from lms.config import PROJECT_ROOT, load_config
from lms.db import Database, is_unavailable
from lms.db import db as _db
from lms.errors import DomainError
from lms.job_health import jobs_health
from lms.private_files import narrow_tree, private_folder, restrict_umask
from lms.slow_clients import BoundedBody

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
        from lms import storage

        storage.init_app(app)  # uploaded files: the local folder or S3 (LMS_STORAGE_URL)
        from lms.models import import_all_models

        import_all_models()  # every mapper's relationships resolve before any query is built
        from lms.progress import tracking

        tracking.install()  # every transaction keeps the progress read model
        from lms.features import load_tasks
        from lms.jobs import Jobs

        load_tasks()  # each feature declares its jobs; the queue knows none by itself
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
        from lms import dates, macros, navigation
        from lms.clock import programme_zone

        dates.init_app(app, zone=programme_zone)  # one date style on every page and e-mail
        from lms import i18n_app

        i18n_app.init_app(app)  # the programme locale: spelling, dates and numbers

        navigation.init_app(app)
        macros.init_app(app)

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
    """Commit the request's unit of work when it succeeded, roll it back otherwise.

    A commit the database cannot take in time (a lock held past LMS_DATABASE_TIMEOUT) turns
    the answer into the 503 page: nothing was changed.
    """
    if response.status_code >= 400:
        _db.rollback()
        return response
    try:
        _db.commit()
    except Exception as error:
        if not is_unavailable(error):
            raise
        return _security_headers(current_app.make_response(_unavailable_response(error)))
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
    413: (
        f"The file is larger than {UPLOAD_MAX_TEXT}, the most this tracker accepts, so the "
        "form was not read. Go back with your browser's Back button (the form keeps what you "
        f"typed), choose a file of at most {UPLOAD_MAX_TEXT} and send the form again."
    ),
    429: "Too many attempts in a short time. Wait a minute and try again.",
}
# Titles for the statuses whose standard name means nothing to most people.
FRIENDLY_TITLES = {413: "The file is too large"}
UNAVAILABLE_MESSAGE = (
    "The tracker's database did not answer in time, so nothing was changed. "
    "Please try again in a minute."
)
RETRY_AFTER_SECONDS = 30
# What /healthz reads: a real table (every signed-in page reads it), not a bare `SELECT 1`
# that a database too locked to serve any page would still answer.
HEALTH_QUERY = text("SELECT id FROM users ORDER BY id LIMIT 1")


def _wants_json() -> bool:
    """API clients and the health check get JSON errors."""
    return request.accept_mimetypes.best == "application/json" or request.path.endswith("/healthz")


def _error_response(status: int, title: str, message: str) -> tuple[Any, int]:
    """The generic error page (or JSON) after rolling the request's work back."""
    app = current_app
    try:
        _db.rollback()
    except Exception:  # a connection that died with the request; it is discarded anyway
        app.logger.warning("rollback failed while answering %s", status)
    if _wants_json():
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


def _unavailable_response(error: BaseException) -> tuple[Any, int, dict[str, str]]:
    """503 with Retry-After for a database that did not answer within LMS_DATABASE_TIMEOUT."""
    # No traceback (the cause is outside the code) and no SQL or parameters (they may hold
    # tokens): the driver's first line says which wait ran out.
    cause = getattr(error, "original_exception", None) or error
    reason = str(getattr(cause, "orig", None) or type(cause).__name__).splitlines()[0]
    current_app.logger.warning(
        "database unavailable on %s %s: %s", request.method, request.path, reason
    )
    # Nothing was changed, the cookie included: a sign-out that could not be recorded must
    # not leave the browser signed out while the account's token still works elsewhere.
    arrived = current_app.session_interface.open_session(current_app, request)
    if arrived is not None:
        session.clear()
        session.update(arrived)
        session.modified = False
    # The page must not wait for the database again to draw its header.
    g._login_user = current_app.login_manager.anonymous_user()
    from lms.i18n_app import without_database

    without_database()  # nor to choose its words
    page, status = _error_response(503, "Service unavailable", UNAVAILABLE_MESSAGE)
    return page, status, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def _register_error_pages(app: Flask) -> None:
    """Generic error pages: a plain message and a status, never a traceback."""

    render = _error_response
    unavailable = _unavailable_response

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[Any, int]:
        return render(
            400,
            "Form expired",
            "The form was missing its security token or it expired. "
            "Go back, reload the page and try again.",
        )

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError) -> tuple[Any, ...]:
        if error.status_code == 503:  # a service outside the app did not answer (file store)
            page, status = render(503, "Service unavailable", error.message)
            return page, status, {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return render(error.status_code, "That could not be done", error.message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Any, ...]:
        if is_unavailable(error):  # the commit after the view failed (InternalServerError)
            return unavailable(error)
        status = error.code or 500
        message = error.description or ""
        if message == type(error).description and status in FRIENDLY_MESSAGES:
            message = FRIENDLY_MESSAGES[status]  # Werkzeug's stock text speaks to developers
        title = FRIENDLY_TITLES.get(status, f"{status} {error.name}")
        return render(status, title, message)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> tuple[Any, ...]:
        if is_unavailable(error):
            return unavailable(error)
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return render(
            500,
            "Something went wrong",
            "The error has been logged. Nothing was changed; please try again.",
        )


def create_app(config: dict | None = None) -> Flask:
    """Build the standalone tracker app; `config` overrides values read from the environment."""
    # Everything this process writes (keys, databases, queue, mail, evidence) is owner-only.
    restrict_umask()
    settings = load_config(overrides=config)
    app = Flask(
        __name__,
        instance_path=settings["LMS_INSTANCE_PATH"],
        template_folder=str(TEMPLATE_DIR),
        static_folder=None,  # the tracker's assets come from its own blueprint (lms_assets)
    )
    app.config.update(settings)
    private_folder(app.instance_path)
    for folder in (app.instance_path, app.config["LMS_EVIDENCE_DIR"], app.config["LMS_OUTBOX_DIR"]):
        narrow_tree(folder)  # files an older run left readable by others
    # Innermost of the WSGI layers: a body arrives within its bound before the app runs.
    app.wsgi_app = BoundedBody(
        app.wsgi_app,
        timeout=app.config["LMS_BODY_TIMEOUT"],
        max_bytes=app.config["MAX_CONTENT_LENGTH"],
    )
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
    def healthz() -> tuple[Any, ...]:
        """Liveness and database check for load balancers: a real table read within the bound.

        `jobs` says whether background work is getting done ("ok" or "late"); a late job
        consumer does not take the web server out of the load balancer (/healthz/jobs does
        answer 503 for it, for the monitoring that should page someone)."""
        try:
            _db.session.execute(HEALTH_QUERY).all()
            jobs_state = jobs_health(_db.session).state
        except Exception as error:
            app.logger.warning("health check: database did not answer: %s", type(error).__name__)
            headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
            return jsonify(status="error", database="unavailable"), 503, headers
        return jsonify(status="ok", database="ok", jobs=jobs_state), 200

    @app.get("/healthz/jobs")
    def healthz_jobs() -> tuple[Any, ...]:
        """503 when no job consumer has beaten for a minute or due work waited 5 minutes."""
        try:
            health = jobs_health(_db.session)
        except Exception as error:
            app.logger.warning("jobs health: database did not answer: %s", type(error).__name__)
            headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
            return jsonify(jobs="unknown", database="unavailable"), 503, headers
        if health.late:
            return jsonify(health.as_json()), 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return jsonify(health.as_json()), 200

    csrf.exempt(healthz)
    csrf.exempt(healthz_jobs)
    return app
