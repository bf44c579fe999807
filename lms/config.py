"""Settings read from LMS_* environment variables and validated when the app starts."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from lms.instance_settings import (
    DEFAULT_INSTANCE,
    SECRET_KEY_MIN,
    SettingsFileError,
    is_development_file,
    read_settings,
    settings_path,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
QUEUE_SCHEMES = ("redis://", "rediss://", "unix://")


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line meant for an operator."""


@dataclass(frozen=True)
class Setting:
    """One documented LMS_* variable: its Flask key, default and meaning."""

    env: str
    key: str
    default: str | None
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "LMS_ENV",
        "LMS_ENV",
        "production",
        "`production` or `development`; production refuses to start without a secret key",
    ),
    Setting(
        "LMS_SECRET_KEY",
        "SECRET_KEY",
        None,
        "signs sessions and CSRF tokens; required in production",
    ),
    Setting(
        "LMS_DATABASE_URL",
        "LMS_DATABASE_URL",
        None,
        "SQLAlchemy URL; default `sqlite:///instance/lms.sqlite3`",
    ),
    Setting(
        "LMS_PUBLIC_URL",
        "LMS_PUBLIC_URL",
        "http://127.0.0.1:5000",
        "absolute address printed on certificates and in e-mails",
    ),
    Setting(
        "LMS_RATELIMIT_STORAGE_URL",
        "RATELIMIT_STORAGE_URI",
        None,
        "rate-limit counters: unset: `instance/ratelimit.sqlite3`, shared by the workers of "
        "one host; `redis://127.0.0.1:6379/0` for several hosts; `memory://` (one process)",
    ),
    Setting(
        "LMS_DATABASE_TIMEOUT",
        "LMS_DATABASE_TIMEOUT",
        "5",
        "seconds a request waits for the database (a lock, a connection, a statement) "
        "before it answers 503",
    ),
    Setting(
        "LMS_BODY_TIMEOUT",
        "LMS_BODY_TIMEOUT",
        "20",
        "seconds a client has to send a request's body (an upload included) before it gets "
        "408; a slow client never holds a worker longer",
    ),
    Setting(
        "LMS_SCREENING_KEY",
        "LMS_SCREENING_KEY",
        None,
        "Fernet key that encrypts medical-screening answers at rest",
    ),
    Setting(
        "LMS_EVIDENCE_DIR",
        "LMS_EVIDENCE_DIR",
        None,
        "folder for uploaded evidence files, outside the web root; default `instance/evidence`",
    ),
    Setting(
        "LMS_TRAINING_DOCUMENTS_DIR",
        "LMS_TRAINING_DOCUMENTS_DIR",
        None,
        "folder for the Certificate of Training's documents (reflection papers, letters), "
        "outside the web root; default `instance/training_documents`",
    ),
    Setting(
        "LMS_STORAGE_URL",
        "LMS_STORAGE_URL",
        None,
        "where uploaded files live: unset: the local folders (`LMS_EVIDENCE_DIR`); "
        "`s3://bucket/prefix` for several hosts (private objects; credentials from the "
        "standard AWS variables; options `?region=...&sse=AES256|aws:kms|none`)",
    ),
    Setting(
        "LMS_STORAGE_ENDPOINT_URL",
        "LMS_STORAGE_ENDPOINT_URL",
        None,
        "address of an S3-compatible store other than AWS (MinIO...), e.g. `https://minio:9000`",
    ),
    Setting(
        "LMS_SMTP_URL",
        "LMS_SMTP_URL",
        None,
        "`smtp://user:pass@host:587?starttls=1` or `smtps://...`; unset: files in instance/outbox",
    ),
    Setting(
        "LMS_MAIL_FROM",
        "LMS_MAIL_FROM",
        "KAP Training <no-reply@example.org>",
        "sender address of outgoing mail",
    ),
    Setting(
        "LMS_QUEUE_URL",
        "LMS_QUEUE_URL",
        None,
        "job queue (certificate PDFs, mail): unset: `instance/queue.sqlite3`; "
        "`redis://127.0.0.1:6379/0` for several hosts; `immediate` runs jobs at once (tests)",
    ),
    Setting(
        "LMS_QUEUE_NAME",
        "LMS_QUEUE_NAME",
        "lms",
        "name of the queue inside its storage (two trackers sharing one Redis need two names)",
    ),
    Setting(
        "LMS_COOKIE_SECURE",
        "SESSION_COOKIE_SECURE",
        None,
        "`1` to send cookies over HTTPS only (default on in production)",
    ),
    Setting(
        "LMS_TRUSTED_PROXIES",
        "LMS_TRUSTED_PROXIES",
        "0",
        "how many reverse proxies sit in front of the app and set X-Forwarded-For/-Proto "
        "(`1` behind nginx); `0` trusts no forwarded header",
    ),
)


def _as_bool(value: str) -> bool:
    """Read a yes/no environment value."""
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"expected a yes/no value, got {value!r}")


def load_config(
    environ: dict[str, str] | None = None,
    overrides: dict | None = None,
    *,
    instance_settings: bool | None = None,
) -> dict:
    """Build the Flask config from the environment plus explicit overrides, and validate it.

    Below the environment come the values of `<instance>/settings.toml` (read by default
    when `environ` is the real process environment): environment, then file, then defaults.
    """
    read_file = environ is None if instance_settings is None else instance_settings
    environ = dict(os.environ if environ is None else environ)
    overrides = dict(overrides or {})
    instance = Path(overrides.get("LMS_INSTANCE_PATH", DEFAULT_INSTANCE))
    from_file, ignored_file = _instance_file_values(instance, environ, overrides, read_file)
    config: dict = {}
    for setting in SETTINGS:
        value = environ.get(setting.env, from_file.get(setting.env, setting.default))
        if value is not None:
            config[setting.key] = value
    config.update(overrides)

    env = config.get("LMS_ENV", "production")
    if env not in {"production", "development", "testing"}:
        raise ConfigError(f"LMS_ENV must be production or development, not {env!r}")
    production = env == "production" and not config.get("TESTING")

    config["LMS_INSTANCE_PATH"] = str(instance)
    config.setdefault("LMS_DATABASE_URL", f"sqlite:///{instance / 'lms.sqlite3'}")
    config.setdefault("LMS_EVIDENCE_DIR", str(instance / "evidence"))
    config.setdefault("LMS_OUTBOX_DIR", str(instance / "outbox"))

    secure = config.get("SESSION_COOKIE_SECURE")
    if isinstance(secure, str):
        config["SESSION_COOKIE_SECURE"] = _as_bool(secure)
    elif secure is None:
        config["SESSION_COOKIE_SECURE"] = production

    public_url = str(config.get("LMS_PUBLIC_URL", "")).rstrip("/")
    if not public_url.startswith(("http://", "https://")):
        raise ConfigError(f"LMS_PUBLIC_URL must start with http:// or https://, not {public_url!r}")
    config["LMS_PUBLIC_URL"] = public_url

    proxies = str(config.get("LMS_TRUSTED_PROXIES", "0")).strip()
    if not proxies.isdigit() or int(proxies) > 5:
        raise ConfigError(f"LMS_TRUSTED_PROXIES must be a number from 0 to 5, not {proxies!r}")
    config["LMS_TRUSTED_PROXIES"] = int(proxies)

    queue_url = str(config.get("LMS_QUEUE_URL") or "").strip()
    if queue_url and queue_url != "immediate" and not queue_url.startswith(QUEUE_SCHEMES):
        raise ConfigError(
            "LMS_QUEUE_URL must be unset (SQLite in the instance folder), `immediate`, "
            f"or a redis://, rediss:// or unix:// URL, not {queue_url!r}"
        )
    config["LMS_QUEUE_URL"] = queue_url or None
    queue_name = str(config.get("LMS_QUEUE_NAME") or "lms").strip()
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,60}", queue_name):
        raise ConfigError(
            f"LMS_QUEUE_NAME must be 1-60 letters, digits, '_', '.' or '-', not {queue_name!r}"
        )
    config["LMS_QUEUE_NAME"] = queue_name

    from lms.storage import parse_storage_url

    try:
        parse_storage_url(config.get("LMS_STORAGE_URL"), config.get("LMS_STORAGE_ENDPOINT_URL"))
    except ValueError as error:
        raise ConfigError(str(error)) from error

    config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    config.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    config.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")
    config["REMEMBER_COOKIE_SECURE"] = config["SESSION_COOKIE_SECURE"]
    from lms.bounds import REQUEST_MAX_BYTES

    config.setdefault("MAX_CONTENT_LENGTH", REQUEST_MAX_BYTES)
    config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    if not config.get("RATELIMIT_STORAGE_URI"):
        from lms.ratelimit_storage import default_storage_uri

        config["RATELIMIT_STORAGE_URI"] = default_storage_uri(instance)

    config["LMS_DATABASE_TIMEOUT"] = _seconds(config, "LMS_DATABASE_TIMEOUT", "5")
    config["LMS_BODY_TIMEOUT"] = _seconds(config, "LMS_BODY_TIMEOUT", "20")
    # Last, so that a malformed setting is named first, whatever the key.
    _check_secret_key(config, production=production, ignored_file=ignored_file)
    return config


HOW_TO_MAKE_A_KEY = (
    "set LMS_SECRET_KEY to at least 24 random characters, e.g. the output of "
    "`python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`"
)


def _check_secret_key(config: dict, *, production: bool, ignored_file: Path | None) -> None:
    """Refuse to start without a secret key of our own, in every environment.

    There is no built-in fallback: a constant key in the code would sign every development
    install's sessions, CSRF tokens and e-mailed links alike, so anyone who read the code
    could forge them. `make setup` (`make settings`) writes a random one for development.
    """
    key = str(config.get("SECRET_KEY") or "")
    if not key:
        if production:
            raise ConfigError(
                "LMS_SECRET_KEY is not set: a production start needs a long random secret"
                + (f" ({ignored_file} holds development settings only)" if ignored_file else "")
                + f"; {HOW_TO_MAKE_A_KEY}"
                # LMS_ENV defaults to production: a fresh clone's first command lands here.
                + ("" if ignored_file else " (to try it out locally, run `make setup` first)")
            )
        raise ConfigError(
            "LMS_SECRET_KEY is not set: run `make settings` (writes instance/settings.toml "
            f"with a random key, as `make setup` and `make run` do), or {HOW_TO_MAKE_A_KEY}"
        )
    if len(key) < SECRET_KEY_MIN:
        raise ConfigError(
            f"LMS_SECRET_KEY is too short: use at least {SECRET_KEY_MIN} random characters"
            + ("" if production else " (`make settings` writes a good one)")
        )


def _seconds(config: dict, key: str, default: str) -> float:
    """A number of seconds from 0.1 to 300, or a ConfigError naming the setting."""
    try:
        seconds = float(str(config.get(key, default)).strip())
    except ValueError:
        seconds = -1.0
    if not 0.1 <= seconds <= 300:
        raise ConfigError(
            f"{key} must be a number of seconds from 0.1 to 300, not {config.get(key)!r}"
        )
    return seconds


def _instance_file_values(
    instance: Path, environ: dict[str, str], overrides: dict, read_file: bool
) -> tuple[dict[str, str], Path | None]:
    """The instance settings file's values, and the file's path when it was set aside.

    A file that declares itself development-only is set aside when the environment (or the
    caller) asks for another environment, so a production start never runs on its keys.
    """
    if not read_file:
        return {}, None
    try:
        values = read_settings(instance)
    except SettingsFileError as error:
        raise ConfigError(str(error)) from error
    known = {setting.env for setting in SETTINGS}
    for key in values:
        if key not in known:
            raise ConfigError(f"{settings_path(instance)}: unknown setting {key}")
    wanted = overrides.get("LMS_ENV", environ.get("LMS_ENV"))
    if is_development_file(values) and wanted not in (None, values["LMS_ENV"]):
        return {}, settings_path(instance)
    return values, None
