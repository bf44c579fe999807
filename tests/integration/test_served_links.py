"""Served as `make run` serves it (gunicorn, 2 gthread workers, an access log, a consumer beside),
e-mailed links leave their codes in no log line, and registration and password-reset mail is
decided and sent by the consumer, off the request.

The test follows a confirmation, a reset, a change-of-address and an invitation link the way
a browser with the page's script does (the code after "#" is posted, never requested), then
reads the real access log, gunicorn's error log (where the app's own logging goes) and the
consumer's log.
"""

from __future__ import annotations

import email.message
import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from mail_support import Inbox, free_port, text_of
from sqlalchemy import create_engine, select

from lms.auth.models import Role, User
from lms.config import PROJECT_ROOT

BIN = Path(sys.executable).parent
PASSWORD = "correct horse battery staple"  # make_user's password (tests/conftest.py)
SCREENING_KEY = "mJ3cX6d0cQk2i3oR9o6wq0zZ2bq3x8nC5m4Wv1yJt5U="
DEADLINE = 60
NEW_PASSWORD = "a served new passphrase"


class Browser:
    """A cookie-keeping HTTP client that follows redirects (no script: it posts codes itself)."""

    def __init__(self, base: str) -> None:
        """A fresh browser with no cookies."""
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> tuple[str, str]:
        """GET a page; (final path, body)."""
        return self._open(urllib.request.Request(self.base + path))  # noqa: S310 - loopback http

    def post(
        self, path: str, data: dict[str, str], *, token_from: str | None = None
    ) -> tuple[str, str]:
        """POST a form with the CSRF token of the page at token_from (default: path)."""
        _, page = self.get(token_from or path)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({**data, "csrf_token": token}).encode()
        request = urllib.request.Request(self.base + path, data=body)  # noqa: S310 - loopback
        return self._open(request)

    def _open(self, request: urllib.request.Request) -> tuple[str, str]:
        """Send a request; (final path, body), whatever the status."""
        try:
            with self.opener.open(request, timeout=30) as response:
                return urllib.parse.urlsplit(response.url).path, response.read().decode()
        except urllib.error.HTTPError as error:
            return urllib.parse.urlsplit(error.url).path, error.read().decode()

    def open_link(self, link: str) -> str:
        """Do what the link's page script does: post the code, land on the token-free page."""
        path, _, code = (
            urllib.parse.urlsplit(link)[2:5:2][0],
            None,
            urllib.parse.urlsplit(link).fragment,
        )
        landed, _ = self.post(f"{path}/open", {"code": code}, token_from=path)
        assert landed == path
        return path


def _wait_for_mail(inbox: Inbox, to: str, subject: str) -> tuple[email.message.Message, str]:
    """The message to an address with a subject, once the consumer has sent it."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        for message in list(inbox.messages):
            if message["To"] == to and message["Subject"] == subject:
                return message, text_of(message)
        time.sleep(0.2)
    raise AssertionError(f"no {subject!r} to {to} within {DEADLINE} s")


def _link(text: str, page: str) -> str:
    """The link to a page in a message's text."""
    return re.search(rf"https?://\S+{re.escape(page)}#\S+", text).group(0)


def _wait_until_serving(base: str, server: subprocess.Popen) -> None:
    """Wait for /healthz (a bounded wait)."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        assert server.poll() is None, "gunicorn exited"
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2):  # noqa: S310 - loopback
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not answer")


@pytest.fixture
def served(database_url, make_user, tmp_path):
    """gunicorn and a job consumer (on a Redis queue of their own) on the test database,
    sending through an SMTP server in this process, with their logs in files."""
    import redis

    queue = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(queue, socket_connect_timeout=1).ping()
    except redis.exceptions.RedisError as error:
        pytest.skip(f"Redis at 127.0.0.1:6379 does not answer ({error}); start it to run this")
    make_user(Role.ADMIN, email="admin@served.test")  # password: conftest.PASSWORD
    inbox = Inbox()
    smtp_port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    logs = tmp_path / "logs"
    logs.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMS_")}
    env.update(
        LMS_ENV="development",
        LMS_SECRET_KEY="served-test-secret-key-long-enough-for-it",
        LMS_SCREENING_KEY=SCREENING_KEY,
        LMS_PUBLIC_URL=base,
        LMS_DATABASE_URL=database_url,
        LMS_QUEUE_URL=queue,
        LMS_QUEUE_NAME=f"lms-served-{uuid.uuid4().hex[:12]}",
        LMS_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}?timeout=10",
        # Counters of this run only: the default file in the project's instance folder would
        # carry the registration limit over from earlier runs.
        LMS_RATELIMIT_STORAGE_URL=f"lms+sqlite://{tmp_path / 'ratelimit.sqlite3'}",
    )
    consumer_log = (logs / "consumer.log").open("w")
    server_log = (logs / "stdout.log").open("w")
    consumer = subprocess.Popen(
        [BIN / "flask", "--app", "wsgi", "lms", "jobs", "worker", "--workers", "1",
         "--worker-type", "thread"],
        cwd=PROJECT_ROOT, env=env,
        stdout=consumer_log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    server = subprocess.Popen(
        [BIN / "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--worker-class", "gthread", "--threads", "8",
         "--access-logfile", str(logs / "access.log"), "--error-logfile", str(logs / "error.log"),
         "wsgi:app"],
        cwd=PROJECT_ROOT, env=env,
        stdout=server_log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        _wait_until_serving(base, server)
        yield base, inbox, logs
    finally:
        server.send_signal(signal.SIGTERM)
        consumer.send_signal(signal.SIGINT)
        for process in (server, consumer):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        consumer_log.close()
        server_log.close()
        smtp.stop()


def test_link_codes_appear_in_no_log_and_the_consumer_does_the_account_work(served, database_url):
    base, mail, logs = served
    codes: list[str] = []

    # Registration: the request answers at once; the consumer creates the account and mails.
    visitor = Browser(base)
    details = {
        "name": "Sam Served", "email": "sam@served.test", "password": PASSWORD,
        "confirm": PASSWORD, "licence_type": "LCSW", "licence_number": "L-1",
    }  # fmt: skip
    landed, page = visitor.post("/register", details)
    assert landed == "/register/sent" and "Check your e-mail" in page
    _, text = _wait_for_mail(mail, "sam@served.test", "Confirm your e-mail address")
    link = _link(text, "/confirm-email")
    codes.append(link.partition("#")[2])
    page_path = visitor.open_link(link)
    landed, page = visitor.post(page_path, {})
    assert landed == "/login" and "confirmed" in page

    # The same address again: the same answer, and the owner is told by the consumer.
    landed, again = Browser(base).post("/register", details)
    assert landed == "/register/sent" and again == page_for(visitor, "/register/sent")
    _wait_for_mail(mail, "sam@served.test", "You already have a KAP Training account")

    # Forgotten password: reset through the link.
    landed, _ = visitor.post("/forgot-password", {"email": "sam@served.test"})
    assert landed == "/login"
    _, text = _wait_for_mail(mail, "sam@served.test", "Reset your KAP Training password")
    link = _link(text, "/reset-password")
    codes.append(link.partition("#")[2])
    page_path = visitor.open_link(link)
    landed, page = visitor.post(page_path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert landed == "/" and "Your password is changed" in page

    # A new address: the link sent there makes the change (signed in), the old one is told.
    landed, page = visitor.post(
        "/account/email",
        {"new_email": "sam.new@served.test", "current_password": NEW_PASSWORD},
        token_from="/account",
    )
    assert landed == "/account" and "We sent a link to sam.new@served.test" in page
    _, text = _wait_for_mail(mail, "sam.new@served.test", "Confirm your new e-mail address")
    link = _link(text, "/confirm-email-change")
    codes.append(link.partition("#")[2])
    page_path = visitor.open_link(link)
    landed, page = visitor.post(page_path, {})
    assert landed == "/account" and "Your e-mail address is now sam.new@served.test" in page
    _wait_for_mail(mail, "sam@served.test", "Your e-mail address was changed")

    # Invitation: an admin invites, the invitee sets a password.
    admin = Browser(base)
    landed, _ = admin.post("/login", {"email": "admin@served.test", "password": PASSWORD})
    assert landed == "/"
    admin.post(
        "/admin/invite", {"name": "Ivy Served", "email": "ivy@served.test", "instructor": "y"}
    )
    _, text = _wait_for_mail(mail, "ivy@served.test", "You are invited to the KAP Training Tracker")
    link = _link(text, "/invitation")
    codes.append(link.partition("#")[2])
    invitee = Browser(base)
    page_path = invitee.open_link(link)
    landed, page = invitee.post(page_path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert landed == "/" and "Your password is set" in page

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            sam = conn.execute(select(User).where(User.email == "sam.new@served.test")).one()
            ivy = conn.execute(select(User).where(User.email == "ivy@served.test")).one()
    finally:
        engine.dispose()
    assert sam.email_confirmed_at is not None and ivy.password_hash is not None

    time.sleep(0.5)  # let gunicorn flush the last access-log lines (buffered writes)
    access = (logs / "access.log").read_text()
    assert "POST /reset-password/open" in access and "GET /invitation " in access
    every_log = "".join(p.read_text() for p in sorted(logs.iterdir()))
    assert all(len(code) > 40 for code in codes)
    for code in codes:
        # Also no fragment of it long enough to matter (a truncated or wrapped log line).
        assert code not in every_log and code[:24] not in every_log and code[-24:] not in every_log


def page_for(browser: Browser, path: str) -> str:
    """The body of a page as a browser sees it."""
    return browser.get(path)[1]
