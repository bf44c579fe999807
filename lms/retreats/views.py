"""Retreat pages: applying with screening, medical review (decisions with notes, questions to
the applicant and their answers, past decisions), rosters and attendance.

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
from lms.bounds import query_int
from lms.clock import today as programme_today
from lms.db import db
from lms.errors import DomainError
from lms.offerings.api import (
    WITHDRAWABLE,
    EnrolmentStatus,
    ReopenForm,
    closing_problem,
    closing_result,
    last_reopening,
)
from lms.paging import page_links
from lms.refusals import back_to, back_to_posted, not_a_refusal, on_refusal
from lms.retreats import own_retreats, services
from lms.retreats.forms import (
    AnswerForm,
    ApplicationForm,
    AttendanceForm,
    ChangeDecisionForm,
    QuestionForm,
    ScreeningDecisionForm,
)
from lms.retreats.models import ReviewState
from lms.retreats.past_decisions import revisable
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
    closed = data.session.closed_at is not None
    return render_template(
        "retreats/roster.html",
        roster=data,
        result=closing_result(db.session, session_id) if closed else None,
        reopened=last_reopening(db.session, session_id),
        reopen=ReopenForm(),
        close_problem=closing_problem(data.session, current_user, programme_today(db.session)),
    )


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
        # The choice missing, say so; another field refused (a note too long), its own words.
        others = [errors[0] for name, errors in form.errors.items() if name != field and errors]
        flash(others[0] if others and field not in form.errors else prompt, "error")
        return None
    return form[field].data == yes


# The roster the form was sent from (it says which session), else the offerings.
_back_to_roster = back_to_posted("retreats.roster", "session_id", otherwise="offerings.manage")


@bp.post("/applications/<id:application_id>/attendance")
@staff_required
@on_refusal(_back_to_roster)
def attendance(application_id: int) -> WerkzeugResponse:
    """Mark an enrolled clinician attended (records the completion) or absent."""
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
    """Applications awaiting a medical reviewer, and those waiting for the applicant's answer
    (no answers, notes or questions shown here)."""
    return render_template(
        "retreats/review_queue.html",
        queue=services.review_queue(db.session, reviewer_id=current_user.id),
        more_information=ReviewState.MORE_INFORMATION,
    )


@bp.get("/review/decided")
@reviewer_required
def decided() -> str:
    """Decided screenings, the latest first, 25 a page, each linking to its review."""
    page = services.decided_page(
        db.session, page=query_int("page", default=1), reviewer_id=current_user.id
    )
    return render_template("retreats/decided.html", page=page, links=page_links(page))


def _no_store(response: Response) -> Response:
    """Health data must never be kept by a browser or proxy cache."""
    response.headers["Cache-Control"] = "no-store, max-age=0"
    response.headers["Pragma"] = "no-cache"
    return response


def _screening_page(
    application_id: int,
    *,
    decision_form: ScreeningDecisionForm | None = None,
    question_form: QuestionForm | None = None,
    change_form: ChangeDecisionForm | None = None,
    status: int = 200,
) -> Response:
    """The review page: answers, the thread of notes and questions, the forms (audited)."""
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
        form=decision_form or ScreeningDecisionForm(formdata=None),
        question_form=question_form or QuestionForm(formdata=None),
        change_form=change_form or ChangeDecisionForm(formdata=None),
        revisable=revisable(view.application, programme_today()),
        more_information=ReviewState.MORE_INFORMATION,
        labels=QUESTION_LABELS,
    )
    return _no_store(make_response(page, status))


@bp.get("/review/<id:application_id>")
@reviewer_required
def screening(application_id: int) -> Response:
    """One applicant's screening answers and review thread (decrypted, logged as viewed)."""
    return _screening_page(application_id)


def _back_to_screening(error: DomainError, application_id: int) -> WerkzeugResponse:
    """A refused review action: back to the review page, whose flash says why."""
    return _no_store(redirect(url_for("retreats.screening", application_id=application_id)))


@bp.post("/review/<id:application_id>")
@reviewer_required
@on_refusal(back_to("retreats.review_queue"))
def decide(application_id: int) -> WerkzeugResponse:
    """Clear or not clear an applicant, once, with an optional note for reviewers."""
    form = ScreeningDecisionForm()
    clear = _chosen(form, "decision", "clear", "Choose clear or not cleared.")
    if clear is None:
        return _no_store(redirect(url_for("retreats.screening", application_id=application_id)))
    decided = services.decide_screening(
        db.session,
        application_id,
        reviewer_id=current_user.id,
        clear=clear,
        note=form.note.data or "",
        screening_key=_screening_key(),
    )
    flash(f"{decided.user.name}: {_DECIDED[decided.status]}.", "success")
    return redirect(url_for("retreats.review_queue"))


@bp.post("/review/<id:application_id>/question")
@reviewer_required
@on_refusal(_back_to_screening)
def ask(application_id: int) -> WerkzeugResponse | Response:
    """Ask the applicant for more information; the application waits for their answer."""
    form = QuestionForm()
    if not form.validate_on_submit():
        return _screening_page(application_id, question_form=form, status=422)
    asked = services.ask_question(
        db.session,
        application_id,
        reviewer_id=current_user.id,
        question=form.question.data or "",
        screening_key=_screening_key(),
    )
    waiting = ReviewState.MORE_INFORMATION.label.lower()
    flash(f"Question sent. The application waits for the applicant ({waiting}).", "success")
    return redirect(url_for("retreats.screening", application_id=asked.enrolment_id))


@bp.post("/review/<id:application_id>/change")
@reviewer_required
@on_refusal(_back_to_screening)
def change(application_id: int) -> WerkzeugResponse | Response:
    """Change an earlier decision before the session starts, with a note saying why."""
    form = ChangeDecisionForm()
    if not form.validate_on_submit():
        return _screening_page(application_id, change_form=form, status=422)
    changed = services.change_decision(
        db.session,
        application_id,
        reviewer_id=current_user.id,
        clear=form.decision.data == "clear",
        note=form.note.data or "",
        screening_key=_screening_key(),
    )
    flash(f"Decision changed. {changed.user.name}: {_DECIDED[changed.status]}.", "success")
    return redirect(url_for("retreats.screening", application_id=changed.id))


# What a reviewer's decision came to, in the words of retreat applications.
_DECIDED = {
    EnrolmentStatus.ENROLLED: "cleared, enrolled",
    EnrolmentStatus.WAITLISTED: "cleared, waitlisted (the session is full)",
    EnrolmentStatus.NOT_CLEARED: "not cleared",
}


# --------------------------------------------------------------------------- the applicant


def _questions_page(
    application_id: int, form: AnswerForm | None = None, status: int = 200
) -> Response:
    """The applicant's page of the reviewer's questions and their answers (never cached)."""
    try:
        thread = services.applicant_questions(
            db.session, application_id, user_id=current_user.id, screening_key=_screening_key()
        )
    except ScreeningUnavailable as error:
        abort(503, error.message)
    page = render_template(
        "retreats/questions.html", thread=thread, form=form or AnswerForm(formdata=None)
    )
    return _no_store(make_response(page, status))


@bp.get("/applications/<id:application_id>/questions")
@login_required
def questions(application_id: int) -> Response:
    """The medical reviewer's questions on one's own application, and one's answers."""
    return _questions_page(application_id)


@bp.post("/applications/<id:application_id>/questions")
@login_required
@on_refusal(back_to("retreats.index"), error_page_for=(404,))
def answer(application_id: int) -> WerkzeugResponse | Response:
    """Answer the medical reviewer's question; the application goes back to the reviewers."""
    form = AnswerForm()
    if not form.validate_on_submit():
        return _questions_page(application_id, form, 422)
    services.answer_question(
        db.session,
        application_id,
        user_id=current_user.id,
        answer=form.answer.data or "",
        screening_key=_screening_key(),
    )
    flash("Thank you. Your answer is with the medical reviewer.", "success")
    return redirect(url_for("retreats.index"))
