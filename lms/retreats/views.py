"""Retreat pages: applying with screening, medical review, rosters and attendance.

A retreat's sessions are offerings: they are scheduled and listed by lms.offerings.views.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as WerkzeugResponse

from lms.auth.api import reviewer_required, staff_required
from lms.db import db
from lms.errors import DomainError
from lms.offerings.api import WITHDRAWABLE, EnrolmentStatus
from lms.refusals import back_to, back_to_posted, not_a_refusal, on_refusal
from lms.retreats import own_retreats, services
from lms.retreats.forms import ApplicationForm, AttendanceForm, ScreeningDecisionForm
from lms.retreats.screening import QUESTION_LABELS, ScreeningUnavailable

bp = Blueprint("retreats", __name__, url_prefix="/retreats")


def _screening_key() -> str | None:
    """LMS_SCREENING_KEY from the app's settings."""
    return current_app.config.get("LMS_SCREENING_KEY")


# --------------------------------------------------------------------------- clinicians


@bp.get("/")
@login_required
def index() -> str:
    """Each retreat: where the signed-in clinician stands, its sessions, their applications."""
    standings = own_retreats.retreat_standings(db.session, current_user)
    applications = own_retreats.own_applications(db.session, current_user.id)
    return render_template(
        "retreats/index.html",
        standings=standings,
        applications=applications,
        withdrawable=WITHDRAWABLE,
    )


@not_a_refusal()  # no session to apply to: the 404 page
def _apply_page(session_id: int, form: ApplicationForm, status: int = 200) -> tuple[str, int]:
    """The application page: where the person stands, the session, the screening form."""
    state = services.apply_page(
        db.session, current_user, session_id, screening_key=_screening_key()
    )
    return render_template("retreats/apply.html", page=state, form=form), status


def _apply_again(error: DomainError, session_id: int) -> tuple[str, int]:
    """The application page with the answers as they were sent."""
    return _apply_page(session_id, ApplicationForm(), error.status_code)


@bp.route("/sessions/<id:session_id>/apply", methods=["GET", "POST"])
@login_required
@on_refusal(_apply_again)
def apply(session_id: int) -> WerkzeugResponse | tuple[str, int] | str:
    """Apply to a session with the medical screening (the guard re-runs on the server)."""
    form = ApplicationForm()
    if request.method == "GET":
        return _apply_page(session_id, form)
    if not form.validate_on_submit():
        flash("Answer every screening question with yes or no.", "error")
        return _apply_page(session_id, form, 422)
    services.apply(
        db.session,
        user_id=current_user.id,
        session_id=session_id,
        screening=form.screening(),
        screening_key=_screening_key(),
    )
    flash(
        "Your application is in. A medical reviewer will look at your screening; "
        "you will see the outcome here.",
        "success",
    )
    return redirect(url_for("retreats.index"))


@bp.post("/applications/<id:application_id>/withdraw")
@login_required
@on_refusal(back_to("retreats.index"))
def withdraw(application_id: int) -> WerkzeugResponse:
    """Withdraw one's own application (until the session starts)."""
    services.withdraw(db.session, application_id, user_id=current_user.id)
    flash("Your application is withdrawn.", "success")
    return redirect(url_for("retreats.index"))


# --------------------------------------------------------------------------- rosters


@bp.get("/sessions/<id:session_id>/roster")
@staff_required
def roster(session_id: int) -> str:
    """Applicants of one session: statuses, counts, waitlist, attendance (no health data)."""
    data = services.roster(db.session, session_id)
    return render_template("retreats/roster.html", roster=data)


@bp.get("/sessions/<id:session_id>/roster.csv")
@staff_required
def roster_csv(session_id: int) -> Response:
    """The roster as CSV (screening decision only, never answers)."""
    data = services.roster(db.session, session_id)
    response = make_response(services.roster_csv(data))
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="roster-{data.session.item.code}-{data.session.starts_on}.csv"'
    )
    return response


def _chosen(
    form: AttendanceForm | ScreeningDecisionForm, field: str, yes: str, prompt: str
) -> bool | None:
    """Whether the posted two-way choice in `field` is `yes`; None, with `prompt` flashed,
    when the form is not valid (nothing chosen, say)."""
    if not form.validate_on_submit():
        flash(prompt, "error")
        return None
    return form[field].data == yes


# The roster the form was sent from (it says which session), else the offerings.
_back_to_roster = back_to_posted("retreats.roster", "session_id", otherwise="offerings.manage")


@bp.post("/applications/<id:application_id>/attendance")
@staff_required
@on_refusal(_back_to_roster)
def attendance(application_id: int) -> WerkzeugResponse:
    """Mark an accepted clinician attended (records the completion) or absent."""
    attended = _chosen(AttendanceForm(), "outcome", "attended", "Choose attended or absent.")
    if attended is None:
        return _back_to_roster()
    marked = services.mark_attendance(
        db.session, application_id, actor_id=current_user.id, attended=attended
    )
    flash(f"{marked.user.name}: {marked.status.label.lower()}.", "success")
    return redirect(url_for("retreats.roster", session_id=marked.offering_id))


# --------------------------------------------------------------------------- medical review


@bp.get("/review")
@reviewer_required
def review_queue() -> str:
    """Applications awaiting a medical reviewer (no answers shown here)."""
    return render_template(
        "retreats/review_queue.html", applications=services.review_queue(db.session)
    )


def _no_store(response: Response) -> Response:
    """Health data must never be kept by a browser or proxy cache."""
    response.headers["Cache-Control"] = "no-store, max-age=0"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.get("/review/<id:application_id>")
@reviewer_required
def screening(application_id: int) -> Response:
    """One applicant's screening answers (decrypted, logged as viewed)."""
    try:
        view = services.open_screening(
            db.session,
            application_id,
            reviewer_id=current_user.id,
            screening_key=_screening_key(),
        )
    except ScreeningUnavailable as error:
        db.rollback()
        abort(503, error.message)
    page = render_template(
        "retreats/screening.html",
        view=view,
        form=ScreeningDecisionForm(),
        labels=QUESTION_LABELS,
    )
    return _no_store(make_response(page))


@bp.post("/review/<id:application_id>")
@reviewer_required
@on_refusal(back_to("retreats.review_queue"))
def decide(application_id: int) -> WerkzeugResponse:
    """Clear or not clear an applicant, once."""
    clear = _chosen(ScreeningDecisionForm(), "decision", "clear", "Choose clear or not cleared.")
    if clear is None:
        return _no_store(redirect(url_for("retreats.screening", application_id=application_id)))
    decided = services.decide_screening(
        db.session, application_id, reviewer_id=current_user.id, clear=clear
    )
    flash(f"{decided.user.name}: {_DECIDED[decided.status]}.", "success")
    return redirect(url_for("retreats.review_queue"))


# What a reviewer's decision came to, in the words of retreat applications.
_DECIDED = {
    EnrolmentStatus.ENROLLED: "cleared and accepted",
    EnrolmentStatus.WAITLISTED: "cleared and waitlisted (the session is full)",
    EnrolmentStatus.NOT_CLEARED: "not cleared",
}
