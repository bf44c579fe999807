"""How a rendered message leaves the building: SMTP from LMS_SMTP_URL, or .eml files on disk."""

from __future__ import annotations

import re
import smtplib
import ssl
import unicodedata
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from lms.config import ConfigError
from lms.private_files import private_folder, write_private_bytes

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


SUBJECT_LIMIT = 200
_SPACES = re.compile(r"\s+")


def header_text(text: str, limit: int = SUBJECT_LIMIT) -> str:
    """One clean line for a mail header: every control or line-breaking character becomes a
    space (so CR/LF in, say, a catalogue title can neither inject a header nor make the
    message unbuildable), runs of space shrink to one, and the length is bounded.
    """
    cleaned = "".join(
        " " if unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Zl", "Zp"} else ch
        for ch in str(text)
    )
    return _SPACES.sub(" ", cleaned).strip()[:limit]


def new_message_id(sender: str | None = None) -> str:
    """A globally unique Message-ID, made once per outbox row and stored with it."""
    domain = parseaddr(header_text(sender or "", 320))[1].rpartition("@")[2]
    if not re.fullmatch(r"[A-Za-z0-9.-]{1,200}", domain or ""):
        domain = "kap-training.invalid"
    return f"<outbox.{uuid.uuid4().hex}@{domain}>"


@dataclass(frozen=True)
class Envelope:
    """A message ready to go: its outbox row, Message-ID, addresses, subject and bodies."""

    outbox_id: int
    message_id: str
    sender: str
    to: str
    subject: str
    text: str
    html: str
    # Files sent with it, as the outbox row keeps them: {"filename", "subtype", "method",
    # "text"} (calendar entries: text/calendar with the iTIP method).
    attachments: tuple[dict[str, str], ...] = ()


def _address(value: str, what: str) -> str:
    """An address header's value, refused when it holds a control character."""
    if any(unicodedata.category(ch) in {"Cc", "Zl", "Zp"} for ch in value):
        raise ValueError(f"the {what} address contains a line break or control character")
    return value


def build_email(envelope: Envelope) -> EmailMessage:
    """A MIME message with a plain-text part and, when there is one, an HTML alternative;
    attachments after them (a calendar entry as text/calendar with its method, as RFC 6047
    asks, so mail clients offer to update the event).

    Header values are cleaned (header_text) or refused (addresses) before they are set: the
    email package would raise on CR/LF, and the message would fail on every retry.
    """
    message = EmailMessage()
    message["From"] = _address(envelope.sender, "sender")
    message["To"] = _address(envelope.to, "recipient")
    message["Subject"] = header_text(envelope.subject) or "(no subject)"
    message["Message-ID"] = _address(envelope.message_id, "Message-ID")
    message.set_content(envelope.text)
    if envelope.html:
        message.add_alternative(envelope.html, subtype="html")
    for attachment in envelope.attachments:
        params = {"method": attachment["method"]} if attachment.get("method") else None
        message.add_attachment(
            attachment["text"],
            subtype=attachment["subtype"],
            filename=header_text(attachment["filename"], 100),
            params=params,
        )
    return message


class _KeepsDataReply:
    """Keeps the server's answer to DATA ("250 ... queued as X"); smtplib's sendmail drops it."""

    last_reply = ""

    def data(self, msg: object) -> tuple[int, bytes]:
        """Send DATA and keep the reply."""
        code, reply = super().data(msg)  # type: ignore[misc]
        self.last_reply = f"{code} {reply.decode('utf-8', 'replace')}"[:500]
        return code, reply


class _SMTP(_KeepsDataReply, smtplib.SMTP):
    """Plain or STARTTLS SMTP that keeps the DATA reply."""


class _SMTPS(_KeepsDataReply, smtplib.SMTP_SSL):
    """SMTP over TLS that keeps the DATA reply."""


class SmtpTransport:
    """Sends messages through one SMTP connection per batch."""

    def __init__(self, settings: SmtpSettings) -> None:
        """Remember where to connect."""
        self.settings = settings
        self.connection: _SMTP | _SMTPS | None = None

    def __enter__(self) -> SmtpTransport:
        """Connect, secure the line and log in."""
        s = self.settings
        if s.ssl:
            self.connection = _SMTPS(
                s.host, s.port, timeout=s.timeout, context=ssl.create_default_context()
            )
        else:
            self.connection = _SMTP(s.host, s.port, timeout=s.timeout)
            if s.starttls:
                self.connection.starttls(context=ssl.create_default_context())
        if s.username:
            self.connection.login(s.username, s.password or "")
        return self

    def send(self, envelope: Envelope, message: EmailMessage) -> str:
        """Hand one message to the server; returns what the server answered on accepting it."""
        assert self.connection is not None
        self.connection.send_message(message)
        return self.connection.last_reply or "accepted"

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
        """Make sure the folder exists, owner-only (messages hold live reset links)."""
        private_folder(self.folder)
        return self

    def send(self, envelope: Envelope, message: EmailMessage) -> str:
        """Write the message to `<outbox id>.eml`, owner-only and atomically.

        Sending a row again rewrites the same file: the folder never holds a duplicate.
        """
        target = self.folder / f"{envelope.outbox_id:06d}.eml"
        write_private_bytes(target, bytes(message))
        return f"written to {target.name}"

    def __exit__(self, *exc: object) -> None:
        """Nothing to close."""
