"""How a rendered message leaves the building: SMTP from LMS_SMTP_URL, or .eml files on disk."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from lms.config import ConfigError

SMTP_TIMEOUT_SECONDS = 15
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class SmtpSettings:
    """A parsed LMS_SMTP_URL."""

    host: str
    port: int
    ssl: bool
    starttls: bool
    username: str | None
    password: str | None
    timeout: float = SMTP_TIMEOUT_SECONDS

    def describe(self) -> str:
        """A one-line description without the password, for logs and the outbox page."""
        mode = "SMTPS" if self.ssl else ("SMTP+STARTTLS" if self.starttls else "SMTP")
        who = f"{self.username}@" if self.username else ""
        return f"{mode} {who}{self.host}:{self.port}"


def parse_smtp_url(url: str | None) -> SmtpSettings | None:
    """Read `smtp://[user:pass@]host[:port][?starttls=1&timeout=S]` or `smtps://...`.

    None or an empty value means "no SMTP server": mail is written to the outbox folder.
    Anything else that does not make sense raises a one-line ConfigError.
    """
    if url is None or not url.strip():
        return None
    try:
        parts = urlsplit(url.strip())
        port_text = parts.port
    except ValueError as exc:
        raise ConfigError(f"LMS_SMTP_URL is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in {"smtp", "smtps"}:
        raise ConfigError(f"LMS_SMTP_URL must start with smtp:// or smtps://, not {scheme!r}")
    if not parts.hostname:
        raise ConfigError("LMS_SMTP_URL names no host: write smtp://host:port")
    if parts.path not in {"", "/"}:
        raise ConfigError("LMS_SMTP_URL must not have a path; options go after '?'")
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = set(query) - {"starttls", "timeout"}
    if unknown:
        raise ConfigError(f"LMS_SMTP_URL has unknown option(s): {', '.join(sorted(unknown))}")
    starttls_text = query.get("starttls", ["0"])[-1].strip().lower()
    if starttls_text not in _TRUE | _FALSE:
        raise ConfigError(f"LMS_SMTP_URL starttls must be 0 or 1, not {starttls_text!r}")
    starttls = starttls_text in _TRUE
    if scheme == "smtps" and starttls:
        raise ConfigError("LMS_SMTP_URL: smtps:// is already encrypted; drop starttls=1")
    timeout = float(SMTP_TIMEOUT_SECONDS)
    if "timeout" in query:
        try:
            timeout = float(query["timeout"][-1])
        except ValueError:
            raise ConfigError("LMS_SMTP_URL timeout must be a number of seconds") from None
        if not 0 < timeout <= 300:
            raise ConfigError("LMS_SMTP_URL timeout must be between 0 and 300 seconds")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and not username:
        raise ConfigError("LMS_SMTP_URL has a password but no user name")
    return SmtpSettings(
        host=parts.hostname,
        port=port_text or (465 if scheme == "smtps" else 25),
        ssl=scheme == "smtps",
        starttls=starttls,
        username=username,
        password=password,
        timeout=timeout,
    )


@dataclass(frozen=True)
class Envelope:
    """A message ready to go: addresses, subject and both bodies."""

    message_id: int
    sender: str
    to: str
    subject: str
    text: str
    html: str


def build_email(envelope: Envelope, domain: str | None = None) -> EmailMessage:
    """A MIME message with a plain-text part and, when there is one, an HTML alternative."""
    message = EmailMessage()
    message["From"] = envelope.sender
    message["To"] = envelope.to
    message["Subject"] = envelope.subject
    message["Message-ID"] = make_msgid(f"outbox-{envelope.message_id}", domain=domain)
    message.set_content(envelope.text)
    if envelope.html:
        message.add_alternative(envelope.html, subtype="html")
    return message


class SmtpTransport:
    """Sends messages through one SMTP connection per batch."""

    def __init__(self, settings: SmtpSettings) -> None:
        """Remember where to connect."""
        self.settings = settings
        self.connection: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpTransport:
        """Connect, secure the line and log in."""
        s = self.settings
        if s.ssl:
            self.connection = smtplib.SMTP_SSL(
                s.host, s.port, timeout=s.timeout, context=ssl.create_default_context()
            )
        else:
            self.connection = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            if s.starttls:
                self.connection.starttls(context=ssl.create_default_context())
        if s.username:
            self.connection.login(s.username, s.password or "")
        return self

    def send(self, envelope: Envelope, message: EmailMessage) -> None:
        """Hand one message to the server."""
        assert self.connection is not None
        self.connection.send_message(message)

    def __exit__(self, *exc: object) -> None:
        """Say goodbye; a server that already hung up is not an error."""
        if self.connection is not None:
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                self.connection.close()


class FolderTransport:
    """Writes each message as an .eml file a newcomer can open (used without LMS_SMTP_URL)."""

    def __init__(self, folder: Path) -> None:
        """Remember the folder; it is created on first use."""
        self.folder = folder

    def __enter__(self) -> FolderTransport:
        """Make sure the folder exists."""
        self.folder.mkdir(parents=True, exist_ok=True)
        return self

    def send(self, envelope: Envelope, message: EmailMessage) -> None:
        """Write the message to `<outbox id>.eml` (atomically, so a reader never sees half)."""
        target = self.folder / f"{envelope.message_id:06d}.eml"
        partial = target.with_suffix(".eml.part")
        partial.write_bytes(bytes(message))
        partial.replace(target)

    def __exit__(self, *exc: object) -> None:
        """Nothing to close."""
