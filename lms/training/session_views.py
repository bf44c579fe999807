"""The clinician's KAP session log: log a session, see one's own log and counts, take one back.

Only the clinician sees their log; nobody else has a page of it (staff see counts on the
documents' review page).
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from lms.clock import today as programme_today
from lms.db import db
from lms.errors import DomainError
from lms.refusals import back_to, on_refusal, page_again
from lms.training import session_log
from lms.training.records_forms import MONTHS, SessionForm

bp = Blueprint("training_sessions", __name__, url_prefix="/training/sessions")


def _form() -> SessionForm:
    """The session form, bound to what was posted, offering this clinician's own codes."""
    codes = [c.code for c in session_log.client_codes(db.session, current_user.id)]
    return SessionForm().offer(programme_today(db.session).year, codes)


def _page(form: SessionForm) -> str:
    """The log page: the form, the counts and the clinician's own rows."""
    return render_template(
        "training/session_log.html",
        form=form,
        entries=session_log.own_log(db.session, current_user.id),
        counts=session_log.counts_for(db.session, current_user.id),
        months=MONTHS,
    )


def _log_again(error: DomainError) -> str:
    """The page again, the form as it was sent (the refusal flashed above it)."""
    return _page(_form())


@bp.route("/", methods=["GET", "POST"])
@login_required
@on_refusal(page_again(_log_again))
def log() -> Response | tuple[str, int] | str:
    """The clinician's session log, and logging one more session."""
    form = _form()
    if request.method == "GET":
        today = programme_today(db.session)
        form.month.data, form.year.data = str(today.month), str(today.year)
    if form.validate_on_submit():
        session_log.log_session(
            db.session,
            user_id=current_user.id,
            data=session_log.SessionInput(
                year=form.year.data,
                month=form.month.data,
                role=form.role.data,
                setting=form.setting.data,
                client=form.client.data,
            ),
        )
        flash("The session is in your log.", "success")
        return redirect(url_for("training_sessions.log"))
    return _page(form), 422 if request.method == "POST" else 200


@bp.post("/<id:session_entry_id>/remove")
@login_required
@on_refusal(back_to("training_sessions.log"))
def remove(session_entry_id: int) -> Response:
    """Take a session back out of one's own log."""
    session_log.remove_session(db.session, session_entry_id, user_id=current_user.id)
    flash("The session is removed from your log.", "success")
    return redirect(url_for("training_sessions.log"))
