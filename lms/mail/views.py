"""Pages for messages: the administrators' outbox and marking dashboard notices read."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from lms.auth.api import admin_required, safe_next
from lms.bounds import query_int
from lms.db import db
from lms.mail import services
from lms.mail.models import OutboxStatus
from lms.mail.transport import parse_smtp_url

bp = Blueprint("mail", __name__)


@bp.record_once
def _check_settings(state: object) -> None:
    """Refuse to start with a nonsensical LMS_SMTP_URL (a one-line ConfigError)."""
    app = state.app  # type: ignore[attr-defined]
    parse_smtp_url(app.config.get("LMS_SMTP_URL"))


@bp.get("/admin/outbox")
@admin_required
def outbox() -> str:
    """Every message the tracker wrote, newest first, with where it stands."""
    wanted = request.args.get("status", "")
    status = OutboxStatus(wanted) if wanted in {s.value for s in OutboxStatus} else None
    page = query_int("page", default=1)
    data = services.outbox_page(db.session, page=page, status=status)
    settings = parse_smtp_url(current_app.config.get("LMS_SMTP_URL"))
    return render_template(
        "mail_admin/outbox.html",
        data=data,
        status=status,
        statuses=list(OutboxStatus),
        delivery=settings.describe()
        if settings
        else f"no SMTP server: written to {current_app.config.get('LMS_OUTBOX_DIR')}",
    )


@bp.get("/admin/outbox/<id:message_id>")
@admin_required
def outbox_message(message_id: int) -> str:
    """One message: headers, plain text, and the HTML version as source."""
    message = services.get_outbox_message(db.session, message_id)
    return render_template("mail_admin/message.html", message=message)


@bp.post("/notices/<id:notice_id>/read")
@login_required
def mark_read(notice_id: int) -> Response:
    """Mark one of my notices read."""
    services.mark_notice_read(db.session, user_id=current_user.id, notice_id=notice_id)
    return redirect(safe_next(request.form.get("next"), url_for("progress.dashboard")))


@bp.post("/notices/read")
@login_required
def mark_all_read() -> Response:
    """Mark all my notices read."""
    count = services.mark_all_notices_read(db.session, user_id=current_user.id)
    if count:
        flash(f"{count} notice{'s' if count != 1 else ''} marked read.", "info")
    return redirect(safe_next(request.form.get("next"), url_for("progress.dashboard")))
