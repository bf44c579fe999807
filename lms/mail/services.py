"""The outbox: messages are written in the unit of work they announce and sent after commit.

The outbox row is the durable record; after commit a `deliver_messages` job (lms.jobs) sends
it, outside the request. The once-a-minute sweep enqueues any row still due, and
`flask lms mail send-pending` sends them at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app, g
from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from lms.auth.api import User
from lms.db import db, read, row_or_not_found, utcnow
from lms.errors import NotFound
from lms.jobs import checkpoint
from lms.mail.models import Notification, OutboxMessage, OutboxStatus
from lms.mail.transport import (
    Envelope,
    FolderTransport,
    SmtpTransport,
    build_email,
    header_text,
    new_message_id,
    parse_smtp_url,
)
from lms.urls import public_url, site_path

log = logging.getLogger(__name__)

# A claim older than this belongs to a sender that died mid-way; the message is retried.
STALE_CLAIM = timedelta(minutes=10)
DEFAULT_SENDER = "KAP Training <no-reply@example.org>"
# Written on a row taken back from a sender that died between claiming and recording it.
INTERRUPTED = (
    "An earlier attempt was interrupted before its result was recorded; "
    "sent again with the same Message-ID."
)
BATCH_SIZE = 200
OUTBOX_PAGE_SIZE = 50


# --------------------------------------------------------------------------- addresses


# --------------------------------------------------------------------------- queueing


def render_message(template: str, context: dict[str, Any]) -> tuple[str, str]:
    """Render templates/mail/<template>.txt and .html (the HTML one autoescaped)."""
    env = current_app.jinja_env
    values = {
        "public_url": current_app.config["LMS_PUBLIC_URL"],
        "account_link": public_url("account.profile"),
        **context,
    }
    text = env.get_template(f"mail/{template}.txt").render(values)
    html = env.get_template(f"mail/{template}.html").render(values)
    return text.strip() + "\n", html


def may_receive(user: User, *, optional: bool) -> bool:
    """Anonymised and deactivated people get nothing; optional mail follows their choice."""
    if user.anonymised_at is not None or not user.active:
        return False
    return not optional or user.notify_optional


def queue_message(
    session: Session,
    *,
    user: User,
    kind: str,
    subject: str,
    template: str,
    context: dict[str, Any],
    optional: bool,
    to_address: str | None = None,
    attachments: list[dict[str, str]] | None = None,
) -> OutboxMessage | None:
    """Write one outbox row in the caller's transaction; a job sends it once that commits.

    Returns None (and writes nothing) when the person must not or chose not to get it.
    The response never waits for the mail server, so its timing cannot reveal, say,
    whether an account exists.
    """
    if not may_receive(user, optional=optional):
        return None
    text, html = render_message(template, {"name": user.name, **context})
    message = OutboxMessage(
        user_id=user.id,
        to_address=to_address or user.email,
        subject=header_text(subject),
        message_id=new_message_id(current_app.config.get("LMS_MAIL_FROM", DEFAULT_SENDER)),
        text_body=text,
        html_body=html,
        kind=kind[:60],
        status=OutboxStatus.PENDING,
        attempts=0,
        attachments=attachments or None,
    )
    session.add(message)  # flushed with the rest of the unit of work (a cohort writes hundreds)
    _send_after_commit(message)
    return message


def _send_after_commit(message: OutboxMessage) -> None:
    """Remember the row and make sure a delivery job is enqueued once the unit of work commits."""
    g.setdefault("_lms_mail_queue", []).append(message)
    # One callback per queued row; the first one to run takes the whole batch (one job, one
    # connection to the server), the rest find it empty. Rows that were rolled back have no
    # id, or one that matches nothing, when delivered.
    db.after_commit(_enqueue_queued)


def _enqueue_queued() -> None:
    """After-commit hook: one delivery job for what this unit of work queued."""
    from lms.jobs import jobs

    messages = g.pop("_lms_mail_queue", None)
    ids = [m.id for m in messages or () if m.id is not None]  # ids exist once committed
    if ids:
        jobs().enqueue("deliver_messages", ids)


def due_message_ids(session: Session, *, before: datetime | None = None) -> list[int]:
    """Outbox rows a sender may take now (optionally only those written before a moment)."""
    now = utcnow()
    query = select(OutboxMessage.id).where(_claimable(now)).order_by(OutboxMessage.id)
    if before is not None:
        query = query.where(OutboxMessage.created_at < before)
    return list(session.scalars(query))


# --------------------------------------------------------------------------- delivery


@dataclass(frozen=True)
class DeliveryReport:
    """What one delivery run did."""

    sent: int
    failed: int
    waiting: int


def _claimable(now: datetime) -> Any:
    """Rows a sender may take: never tried, failed before, or claimed by a sender that died."""
    return or_(
        OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.FAILED]),
        and_(
            OutboxMessage.status == OutboxStatus.SENDING,
            OutboxMessage.last_attempt_at < now - STALE_CLAIM,
        ),
    )


def deliver(*, ids: list[int] | None = None, now: datetime | None = None) -> DeliveryReport:
    """Claim unsent rows (all, or the given ids), send them, record each result.

    Runs on its own session so it never touches a request's unit of work. A claim is an
    UPDATE ... RETURNING guarded by the status, so two senders never send the same row.
    """
    now = now or utcnow()
    lms_db = current_app.extensions["lms"].db
    session: Session = lms_db.factory()
    try:
        return _deliver_with(session, ids=ids, now=now)
    finally:
        session.close()


def _deliver_with(session: Session, *, ids: list[int] | None, now: datetime) -> DeliveryReport:
    """The body of deliver(), on the given session.

    Each result is committed the moment the server answers, so a sender killed mid-batch
    leaves every message it handed over marked sent; only the one in flight stays "sending".
    That row is taken back after STALE_CLAIM and sent again with its stored Message-ID
    (receivers treat a repeated Message-ID as the same message), and the row says so.
    """
    sent = failed = 0
    while True:
        batch = select(OutboxMessage.id, OutboxMessage.status).where(_claimable(now))
        if ids is not None:
            batch = batch.where(OutboxMessage.id.in_(ids))
        rows = session.execute(batch.order_by(OutboxMessage.id).limit(BATCH_SIZE)).all()
        if not rows:
            break
        candidates = [row.id for row in rows]
        interrupted = {row.id for row in rows if row.status == OutboxStatus.SENDING}
        claimed = list(
            session.scalars(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(candidates), _claimable(now))
                .values(
                    status=OutboxStatus.SENDING,
                    last_attempt_at=now,
                    attempts=OutboxMessage.attempts + 1,
                )
                .returning(OutboxMessage.id)
            )
        )
        checkpoint(session)  # the claim holds before the server is asked
        if claimed:
            batch_sent, batch_failed = _send_rows(session, claimed, interrupted)
            sent, failed = sent + batch_sent, failed + batch_failed
        if ids is not None or len(candidates) < BATCH_SIZE:
            break
        if failed and not sent:
            break  # the server is down: do not hammer it with the rest of the queue
    waiting = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.status != OutboxStatus.SENT)
    )
    checkpoint(session)
    return DeliveryReport(sent=sent, failed=failed, waiting=waiting or 0)


def _record(session: Session, message_id: int, **values: Any) -> None:
    """Write one row's result and commit it at once (a crash later cannot undo it)."""
    session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values))
    checkpoint(session)


def _send_rows(session: Session, message_ids: list[int], interrupted: set[int]) -> tuple[int, int]:
    """Send the claimed rows through the configured transport; (sent, failed)."""
    rows = session.scalars(
        select(OutboxMessage).where(OutboxMessage.id.in_(message_ids)).order_by(OutboxMessage.id)
    ).all()
    config = current_app.config
    sender = config.get("LMS_MAIL_FROM", DEFAULT_SENDER)
    envelopes = [
        Envelope(
            outbox_id=row.id,
            message_id=row.message_id,
            sender=sender,
            to=row.to_address,
            subject=row.subject,
            text=row.text_body,
            html=row.html_body,
            attachments=tuple(row.attachments or ()),
        )
        for row in rows
    ]
    checkpoint(session)  # release the read transaction while we talk to the server
    settings = parse_smtp_url(config.get("LMS_SMTP_URL"))
    transport: SmtpTransport | FolderTransport = (
        SmtpTransport(settings) if settings is not None else FolderTransport(_outbox_folder(config))
    )
    done: set[int] = set()
    sent = failed = 0
    try:
        with transport:
            for envelope in envelopes:
                note = INTERRUPTED if envelope.outbox_id in interrupted else None
                try:
                    reply = transport.send(envelope, build_email(envelope))
                except Exception as exc:  # one refused recipient must not stop the batch
                    log.warning("outbox message %s not sent: %s", envelope.outbox_id, exc)
                    values = {"status": OutboxStatus.FAILED, "last_error": _describe(exc)}
                    failed += 1
                else:
                    values = {
                        "status": OutboxStatus.SENT,
                        "sent_at": utcnow(),
                        "server_reply": header_text(reply, 500),
                        "last_error": note,
                    }
                    sent += 1
                _record(session, envelope.outbox_id, **values)
                done.add(envelope.outbox_id)
    except Exception as exc:  # could not connect or log in: every row left waits for a retry
        log.warning("mail server unavailable: %s", _describe(exc))
        for envelope in envelopes:
            if envelope.outbox_id not in done:
                failed += 1
                _record(
                    session,
                    envelope.outbox_id,
                    status=OutboxStatus.FAILED,
                    last_error=_describe(exc),
                )
    return sent, failed


def _outbox_folder(config: Any) -> Path:
    """The folder .eml files go to when no SMTP server is configured."""
    return Path(config.get("LMS_OUTBOX_DIR") or Path(config["LMS_INSTANCE_PATH"]) / "outbox")


def _describe(exc: BaseException) -> str:
    """A short, single-line description of a delivery error (never the message body)."""
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ").strip()
    return text[:500]


# --------------------------------------------------------------------------- outbox page


@dataclass(frozen=True)
class OutboxRow:
    """One line of the outbox page."""

    id: int
    subject: str
    to_address: str
    kind: str
    status: OutboxStatus
    created_at: datetime
    sent_at: datetime | None
    attempts: int
    last_error: str | None


@dataclass(frozen=True)
class OutboxPage:
    """One page of the outbox, newest first."""

    rows: list[OutboxRow]
    page: int
    pages: int
    total: int
    counts: dict[str, int]


def outbox_page(
    session: Session, *, page: int = 1, status: OutboxStatus | None = None
) -> OutboxPage:
    """A page of outbox rows (three queries whatever the size) and the count per status."""
    counts = {s.value: 0 for s in OutboxStatus}
    for value, number in session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ):
        counts[OutboxStatus(value).value] = number
    total = counts[status.value] if status else sum(counts.values())
    pages = max(1, -(-total // OUTBOX_PAGE_SIZE))
    page = min(max(1, page), pages)
    query = select(
        OutboxMessage.id,
        OutboxMessage.subject,
        OutboxMessage.to_address,
        OutboxMessage.kind,
        OutboxMessage.status,
        OutboxMessage.created_at,
        OutboxMessage.sent_at,
        OutboxMessage.attempts,
        OutboxMessage.last_error,
    ).order_by(OutboxMessage.id.desc())
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    rows = [
        OutboxRow(*row)
        for row in session.execute(
            query.limit(OUTBOX_PAGE_SIZE).offset((page - 1) * OUTBOX_PAGE_SIZE)
        )
    ]
    return OutboxPage(rows=rows, page=page, pages=pages, total=total, counts=counts)


def get_outbox_message(session: Session, message_id: int) -> OutboxMessage:
    """One outbox message, or NotFound."""
    return row_or_not_found(session, OutboxMessage, message_id, missing="No such message.")


# --------------------------------------------------------------------------- notices


def notify(
    session: Session,
    *,
    user: User,
    kind: str,
    message: str,
    endpoint: str,
    endpoint_values: dict[str, Any] | None = None,
    subject: str,
    template: str,
    context: dict[str, Any] | None = None,
    optional: bool,
    topic: str = "",
    supersede: bool = False,
    attachments: list[dict[str, str]] | None = None,
) -> Notification | None:
    """A dashboard notice plus an e-mail (the e-mail respects the person's optional choice).

    `topic` names what the notice is about; with `supersede`, the person's older unread
    notices on that topic are marked read, so the dashboard shows no stale version of it.
    """
    if user.anonymised_at is not None:
        return None
    values = endpoint_values or {}
    link = site_path(endpoint, **values)
    if supersede and topic:
        session.execute(
            update(Notification)
            .where(
                Notification.user_id == user.id,
                Notification.topic == topic,
                Notification.read_at.is_(None),
            )
            .values(read_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    notice = Notification(
        user_id=user.id, kind=kind[:60], message=message[:500], link=link, topic=topic[:60]
    )
    session.add(notice)
    queue_message(
        session,
        user=user,
        kind=kind,
        subject=subject,
        template=template,
        context={"message": message, "link": public_url(endpoint, **values), **(context or {})},
        optional=optional,
        attachments=attachments,
    )
    return notice


@dataclass(frozen=True)
class Notice:
    """An unread dashboard notice."""

    id: int
    message: str
    link: str
    created_at: datetime


UNREAD_SHOWN = 10


# Built once (the dashboard runs it on every view). The window count is taken before LIMIT,
# so it is the number of unread notices in all: one query instead of a count and a list.
_UNREAD = (
    select(
        Notification.id,
        Notification.message,
        Notification.link,
        Notification.created_at,
        func.count().over().label("total"),
    )
    .where(Notification.user_id == bindparam("user_id"), Notification.read_at.is_(None))
    .order_by(Notification.id.desc())
    .limit(UNREAD_SHOWN)
)


def unread_notices(session: Session, user_id: int) -> tuple[list[Notice], int]:
    """The newest unread notices of a person and how many are unread in all (one query)."""
    rows = read(session, _UNREAD, {"user_id": user_id}).all()
    total = rows[0].total if rows else 0
    return [Notice(*row[:4]) for row in rows], total


def mark_notice_read(
    session: Session, *, user_id: int, notice_id: int, now: datetime | None = None
) -> None:
    """Mark one of the person's own notices read (someone else's is NotFound)."""
    notice = session.get(Notification, notice_id)
    if notice is None or notice.user_id != user_id:
        raise NotFound("No such notice.")
    if notice.read_at is None:
        notice.read_at = now or utcnow()
    session.flush()


def mark_all_notices_read(session: Session, *, user_id: int, now: datetime | None = None) -> int:
    """Mark every unread notice of the person read; returns how many."""
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=now or utcnow())
    )
    return result.rowcount or 0
