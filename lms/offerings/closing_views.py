"""Closing an offering (a module's or a retreat session's) after a confirmation page that
lists what closing will record, and reopening a closed one (administrators, with a reason).

The confirmation page and the close itself are one plan (lms.offerings.closing_plan): the
form carries the plan's fingerprint, and a plan that changed meanwhile is shown again
instead of being carried out. Everything works without JavaScript.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as WerkzeugResponse

from lms.auth.api import admin_required, staff_required
from lms.db import db
from lms.errors import DomainError, InvalidInput
from lms.offerings import closing
from lms.offerings.closing_plan import Outcome
from lms.offerings.forms import CloseForm, ReopenForm
from lms.offerings.schedule import get_offering
from lms.refusals import not_a_refusal, on_refusal, show_on

bp = Blueprint("closing", __name__, url_prefix="/offerings")


def attendance_page(offering_id: int, *, anchor: str = "closing") -> str:
    """Where an offering's attendance is kept: a module's grid, a retreat session's roster."""
    with not_a_refusal():
        offering = get_offering(db.session, offering_id)
    if offering.item.is_retreat:
        return url_for("retreats.roster", session_id=offering_id, _anchor=anchor)
    return url_for("attendance.grid", offering_id=offering_id, _anchor=anchor)


def _back(error: DomainError | None, offering_id: int) -> WerkzeugResponse:
    """Back to the offering's attendance page (the flash says why)."""
    return redirect(attendance_page(offering_id))


def _confirm_page(offering_id: int, form: CloseForm, *, status: int = 200) -> tuple[str, int]:
    """The confirmation page: what closing will record, keep, revoke, and who reads absent."""
    plan = closing.plan_closing(db.session, offering_id, actor=current_user)
    reopened = closing.last_reopening(db.session, offering_id)
    if request.method == "GET" or not form.plan.data:
        form.plan.data = plan.fingerprint
    if plan.needs_reason and not form.reason.data and reopened is not None:
        form.reason.data = reopened.reason  # what the reopening was for, to confirm or edit
    return render_template(
        "offerings/close.html",
        plan=plan,
        form=form,
        reopened=reopened,
        outcome=Outcome,
        back=attendance_page(offering_id, anchor="closing"),
    ), status


def _confirm_again(error: DomainError, offering_id: int) -> WerkzeugResponse | tuple[str, int]:
    """A refused close: the page again (a changed plan, a missing reason), or back to the
    attendance page when it cannot be closed at all (closed already, not yet over)."""
    if isinstance(error, closing.CLOSING_REFUSED):
        flash(error.message, "error")
        return _back(error, offering_id)
    form = CloseForm()
    if isinstance(error, InvalidInput):
        show_on(form.reason, error)
    else:
        flash(error.message, "warning")
        form.plan.data = ""  # draw the new plan's fingerprint
    return _confirm_page(offering_id, form, status=error.status_code)


@bp.get("/<id:offering_id>/close")
@staff_required
@on_refusal(_back, error_page_for=(403, 404))
def confirm(offering_id: int) -> tuple[str, int]:
    """What closing the offering will do, and the button that does it."""
    return _confirm_page(offering_id, CloseForm())


@bp.post("/<id:offering_id>/close")
@staff_required
@on_refusal(_confirm_again, flash_as=None, error_page_for=(403, 404))
def close(offering_id: int) -> WerkzeugResponse | tuple[str, int]:
    """Close the offering as its confirmation page listed (the form says it was confirmed)."""
    form = CloseForm()
    closing.plan_closing(db.session, offering_id, actor=current_user)  # may they, may it?
    if not form.validate_on_submit() or request.form.get("confirm") != "yes":
        flash("Nothing was closed: confirm on this page, after checking the list.", "error")
        return redirect(url_for("closing.confirm", offering_id=offering_id))
    result = closing.close_offering(
        db.session,
        offering_id,
        actor=current_user,
        reason=form.reason.data or "",
        expected=form.plan.data or None,
    )
    revoked = sum(1 for x in [*result.attended, *result.absent] if x.revoked_id)
    flash(
        f"Closed: {len(result.attended)} attended, {len(result.absent)} absent"
        + (f", {revoked} completion{'s' if revoked != 1 else ''} revoked." if revoked else "."),
        "success",
    )
    return redirect(attendance_page(offering_id))


@bp.post("/<id:offering_id>/reopen")
@admin_required
@on_refusal(_back, error_page_for=(403, 404))
def reopen(offering_id: int) -> WerkzeugResponse:
    """Reopen a closed offering so its attendance can be corrected (with a reason)."""
    form = ReopenForm()
    if not form.validate_on_submit():
        raise InvalidInput("; ".join(form.reason.errors) or "Give a reason for reopening.")
    closing.reopen_offering(db.session, offering_id, actor=current_user, reason=form.reason.data)
    flash(
        "Reopened: correct the attendance, then close it again; completions follow the "
        "corrected attendance.",
        "success",
    )
    return redirect(attendance_page(offering_id))
