"""Helpers for the accounts, mail and privacy tests: an in-process SMTP server and mail reading."""

from __future__ import annotations

import email
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.auth.models import User
from lms.mail.models import OutboxMessage


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Inbox:
    """What the test SMTP server received."""

    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        """aiosmtpd hook: keep the parsed message."""
        self.messages.append(email.message_from_bytes(envelope.content))  # type: ignore[attr-defined]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Message]:
        """Messages addressed to one person."""
        return [m for m in self.messages if m["To"] == address]


@dataclass
class SmtpServer:
    """A running in-process SMTP server and its URL."""

    url: str
    inbox: Inbox


@pytest.fixture(name="smtp_server")
def smtp_server_fixture(app: Flask) -> Iterator[SmtpServer]:
    """A real SMTP server on a free loopback port; the app sends through it.

    The app reads LMS_SMTP_URL at each delivery, so setting it on the built app is enough.
    """
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config["LMS_SMTP_URL"] = f"smtp://127.0.0.1:{port}?timeout=5"
    try:
        yield SmtpServer(url=app.config["LMS_SMTP_URL"], inbox=inbox)
    finally:
        controller.stop()


def text_of(message: Message) -> str:
    """The plain-text body of a received message."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode()
    raise AssertionError("no text/plain part")


def html_of(message: Message) -> str:
    """The HTML body of a received message."""
    for part in message.walk():
        if part.get_content_type() == "text/html":
            return part.get_payload(decode=True).decode()
    raise AssertionError("no text/html part")


def link_in(text: str, path_part: str) -> str:
    """The first link in a text that contains path_part, as a site-relative path."""
    for url in re.findall(r"https?://\S+", text):
        if path_part in url:
            return re.sub(r"^https?://[^/]+", "", url)
    raise AssertionError(f"no link with {path_part!r} in: {text}")


def open_link(client: object, link: str) -> str:
    """Open an e-mailed link as its page's script does; returns the page's token-free path.

    The code after "#" never reaches the server in the URL: the page posts it to
    `<page>/open`, which keeps it in the session and sends the browser back (303).
    """
    path, _, code = link.partition("#")
    assert code, f"the link {link!r} carries no code in its fragment"
    assert client.get(path).status_code == 200  # type: ignore[attr-defined]
    answer = client.post(f"{path}/open", data={"code": code})  # type: ignore[attr-defined]
    assert answer.status_code == 303 and answer.location.endswith(path), answer.status_code
    return path


def code_of(link: str) -> str:
    """The code (token) an e-mailed link carries."""
    return link.partition("#")[2]


def outbox(session: Session) -> list[OutboxMessage]:
    """Every outbox row, oldest first, as the senders left them.

    The read transaction is ended at once (objects stay loaded): an open SQLite transaction
    outside a request holds the write lock and would block the next sender.
    """
    session.expire_all()
    rows = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    session.commit()
    return rows


def unconfirmed(session: Session, user: User) -> User:
    """The same user with an unconfirmed e-mail address (committed)."""
    user.email_confirmed_at = None
    session.commit()
    return user
