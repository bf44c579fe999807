"""Pages of the consultation log: the clinician's log with the requirement list, the page a
consultant's e-mailed link opens, staff's view of a person's log (to void an entry), and the
admin's approved consultants."""

from __future__ import annotations

import time

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from lms.auth.api import LinkCodeForm, User, admin_required, consultant_required, staff_required
from lms.db import db, row_or_not_found
from lms.errors import DomainError, InvalidInput
from lms.ratelimit import limiter
from lms.refusals import back_to, on_refusal, page_again
from lms.storage import store
from lms.training import consultants as approved_list
from lms.training import consultations as log
from lms.training.consultant_letters import letter_welcome, upload_letter_by_code
from lms.training.documents import DOCUMENTS_AREA
from lms.training.forms import (
    AnswerForm,
    ConsultantForm,
    ConsultationForm,
    VoidForm,
)
from lms.training.models import Consultant, Consultation
from lms.training.records_forms import LetterForm
from lms.training.requirement import requirements_of

bp = Blueprint("training", __name__, url_prefix="/training")

LINK_KEY = "lms_consultation_link"
LINK_SECONDS = 30 * 60  # how long a posted code stays usable in this browser
MISSING_LINK = (
    "Open the link from the e-mail again: this page needs it, and it was not found in this "
    "browser (it is kept for 30 minutes after the link is opened)."
)


# --- the clinician's log -------------------------------------------------------------------


def _consultation_form() -> ConsultationForm:
    """The log form offering the consultants on the approved list today."""
    form = ConsultationForm()
    form.consultant_id.choices = [
        SelectChoice(str(c.id), c.label) for c in approved_list.approved_consultants(db.session)
    ]
    return form


def _log_page(form: ConsultationForm, status: int = 200) -> tuple[str, int]:
    """The log with its form and the requirement list."""
    entries = log.own_consultations(db.session, current_user.id)
    requirements = requirements_of(db.session, current_user)
    return (
        render_template("training/log.html", form=form, entries=entries, requirements=requirements),
        status,
    )


def _log_again(error: DomainError) -> str:
    """The log again with the form as sent and the refusal above it."""
    return _log_page(_consultation_form())[0]


# Each logged entry or resend e-mails an outside consultant: a bound on how often.
MAIL_LIMIT = "30 per hour"


@bp.route("/consultations", methods=["GET", "POST"])
@login_required
@limiter.limit(MAIL_LIMIT, methods=["POST"])
@on_refusal(page_again(_log_again))
def log_page() -> Response | tuple[str, int]:
    """The signed-in clinician's consultation log; POST logs a consultation."""
    form = _consultation_form()
    if form.validate_on_submit():
        entry = log.log_consultation(
            db.session,
            current_user,
            log.ConsultationInput(
                held_on=form.held_on.data,
                consultant_id=int(form.consultant_id.data),
                kind=form.kind.data,
                hours=form.hours.data,
                topic=form.topic.data or "",
            ),
        )
        flash(f"Logged. {entry.consultant.name} has been e-mailed a link to confirm it.", "success")
        return redirect(url_for("training.log_page"), code=303)
    return _log_page(form, 422 if request.method == "POST" else 200)


@bp.post("/consultations/<id:entry_id>/resend")
@login_required
@limiter.limit(MAIL_LIMIT)
@on_refusal(back_to("training.log_page"))
def resend(entry_id: int) -> Response:
    """Send the consultant a fresh link for an entry still awaiting them."""
    entry = log.send_link_again(db.session, entry_id, current_user)
    flash(f"{entry.consultant.name} has been e-mailed a new link.", "success")
    return redirect(url_for("training.log_page"), code=303)


# --- the consultant's link -----------------------------------------------------------------


def _kept_code() -> str | None:
    """The code this browser posted, unless it is older than LINK_SECONDS."""
    entry = session.get(LINK_KEY)
    if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)):
        return None
    if not isinstance(entry[1], int) or not 0 <= time.time() - entry[1] <= LINK_SECONDS:
        session.pop(LINK_KEY, None)
        return None
    return entry[0]


def _problem_page(message: str) -> str:
    """The page for an expired, broken or foreign link (the kept code is forgotten)."""
    session.pop(LINK_KEY, None)
    return render_template("auth/link_problem.html", message=message, again=None)


def _link_problem(error: DomainError) -> tuple[str, int]:
    """That page, with the refusal's status."""
    return _problem_page(error.message), error.status_code


@bp.get("/respond")
def respond() -> tuple[str, int] | str:
    """What a consultant's link opens: first the code (from the link's '#'), then the entry."""
    code = _kept_code()
    if code is None:
        form = LinkCodeForm(formdata=None)
        return render_template(
            "auth/open_link.html",
            form=form,
            action=url_for("training.open_link"),
            title="Confirm a consultation",
        ), 200
    try:
        entry = log.entry_for_code(db.session, code)
    except DomainError as error:
        return _link_problem(error)
    return _respond_page(entry)


def _respond_page(
    entry: Consultation, form: AnswerForm | None = None, letter: LetterForm | None = None
) -> str:
    """The entry a link opens, with the answer form and, for its clinician, the letter form."""
    return render_template(
        "training/respond.html",
        entry=entry,
        form=form or AnswerForm(),
        letter=letter or LetterForm(),
        letter_welcome=letter_welcome(entry),
        # Another e-mailed link opened in the same browser: its code (after '#') replaces the
        # kept one (links.js posts it), or the consultant pastes it.
        code_form=LinkCodeForm(formdata=None),
    )


@bp.post("/respond/open")
def open_link() -> Response | tuple[str, int]:
    """Keep the posted code in this browser's session and show the entry (303)."""
    form = LinkCodeForm()
    text = (form.code.data or "").strip() if form.validate_on_submit() else ""
    code = text.rsplit("#", 1)[-1]
    if not code:
        return _link_problem(DomainError(log.LINK_INVALID))
    session[LINK_KEY] = [code, int(time.time())]
    return redirect(url_for("training.respond"), code=303)


def _answer_again(error: DomainError) -> str:
    """The link problem page, or the entry again with the refusal."""
    code = _kept_code()
    if code is None:
        return _problem_page(MISSING_LINK)
    try:
        entry = log.entry_for_code(db.session, code)
    except DomainError as problem:
        return _problem_page(problem.message)
    return _respond_page(entry)


@bp.post("/respond")
@on_refusal(page_again(_answer_again))
def answer() -> Response | tuple[str, int]:
    """The consultant confirms or declines the entry their link names."""
    code = _kept_code()
    if code is None:
        return _link_problem(DomainError(MISSING_LINK))
    form = AnswerForm()
    if not form.validate_on_submit():
        return _answer_again(DomainError("Check the comment and send again.")), 422
    if request.form.get("answer") == "decline":
        entry = log.decline_by_code(db.session, code, form.comment.data or "")
        flash("Declined. The clinician will see your comment.", "success")
    else:
        entry = log.confirm_by_code(db.session, code)
        flash("Confirmed. Thank you.", "success")
    return redirect(url_for("training.respond", _anchor=f"entry-{entry.id}"), code=303)


# A consultant's upload is a file of up to 5 MB from someone without an account: a bound.
LETTER_LIMIT = "20 per hour"


@bp.post("/respond/letter")
@limiter.limit(LETTER_LIMIT)
@on_refusal(page_again(_answer_again))
def upload_letter() -> Response | tuple[str, int]:
    """The consultant uploads their letter of recommendation for the clinician of the entry
    their link opens."""
    code = _kept_code()
    if code is None:
        return _link_problem(DomainError(MISSING_LINK))
    letter = LetterForm()
    if not letter.validate_on_submit():
        try:
            entry = log.entry_for_code(db.session, code)
        except DomainError as error:
            return _link_problem(error)
        return _respond_page(entry, letter=letter), 422
    entry, document = upload_letter_by_code(
        db.session,
        code,
        stream=letter.letter.data.stream,
        filename=letter.letter.data.filename,
        store=store(DOCUMENTS_AREA),
    )
    flash(
        f"Your letter for {entry.user.name} is uploaded (version {document.version}); staff "
        "review it before it counts.",
        "success",
    )
    return redirect(url_for("training.respond", _anchor="consultant-letter"), code=303)


# --- a consultant with an account -------------------------------------------------------------


@bp.get("/to-confirm")
@consultant_required
def to_confirm() -> str:
    """The consultations awaiting the signed-in consultant's answer."""
    entries = log.awaiting_for(db.session, current_user)
    known = log.consultant_of(db.session, current_user) is not None
    return render_template(
        "training/to_confirm.html", entries=entries, known=known, form=AnswerForm()
    )


@bp.post("/to-confirm/<id:entry_id>")
@consultant_required
@on_refusal(back_to("training.to_confirm"), error_page_for=(404,))
def answer_in_account(entry_id: int) -> Response:
    """The signed-in consultant confirms or declines one of their entries."""
    form = AnswerForm()
    if not form.validate_on_submit():
        raise InvalidInput("Check the comment and send again.")
    if request.form.get("answer") == "decline":
        log.decline_in_account(db.session, entry_id, current_user, form.comment.data or "")
        flash("Declined. The clinician will see your comment.", "success")
    else:
        log.confirm_in_account(db.session, entry_id, current_user)
        flash("Confirmed. Thank you.", "success")
    return redirect(url_for("training.to_confirm"), code=303)


# --- staff ---------------------------------------------------------------------------------


@bp.get("/people/<id:user_id>/consultations")
@staff_required
def person_log(user_id: int) -> str:
    """A clinician's consultation log as staff see it, to void an entry."""
    person = row_or_not_found(db.session, User, user_id, missing="No such person.")
    entries = log.own_consultations(db.session, person.id)
    return render_template(
        "training/person_log.html", person=person, entries=entries, form=VoidForm()
    )


def _void_again(error: DomainError, entry_id: int) -> str:
    """The person's log again, with the refusal flashed above it."""
    entry = row_or_not_found(db.session, Consultation, entry_id, missing="No such consultation.")
    return person_log(entry.user_id)


@bp.post("/consultations/<id:entry_id>/void")
@staff_required
@on_refusal(page_again(_void_again))
def void(entry_id: int) -> Response:
    """Void an entry with a reason (audited); it stops counting."""
    form = VoidForm()
    if not form.validate_on_submit():
        # The form's shared checks refuse what a text column cannot hold (NUL, controls).
        raise InvalidInput("Give a reason for voiding the entry, in plain words.")
    entry = log.void_consultation(db.session, entry_id, actor=current_user, reason=form.reason.data)
    flash("The entry is voided.", "success")
    return redirect(url_for("training.person_log", user_id=entry.user_id), code=303)


# --- the approved consultants (admin) ------------------------------------------------------


def _consultants_page(form: ConsultantForm, status: int = 200) -> tuple[str, int]:
    """The list with the form to add one."""
    return (
        render_template(
            "training/consultants.html",
            consultants=approved_list.consultants(db.session),
            form=form,
        ),
        status,
    )


@bp.route("/consultants", methods=["GET", "POST"])
@admin_required
@on_refusal(page_again(lambda error: _consultants_page(ConsultantForm())[0]))
def consultants() -> Response | tuple[str, int]:
    """The approved consultants; POST adds one."""
    form = ConsultantForm()
    if form.validate_on_submit():
        added = approved_list.add_consultant(
            db.session, _consultant_input(form), actor_id=current_user.id
        )
        flash(f"{added.name} is on the approved list.", "success")
        return redirect(url_for("training.consultants"), code=303)
    return _consultants_page(form, 422 if request.method == "POST" else 200)


def _consultant_input(form: ConsultantForm) -> approved_list.ConsultantInput:
    """The typed consultant."""
    return approved_list.ConsultantInput(
        name=form.name.data or "",
        credentials=form.credentials.data or "",
        email=form.email.data or "",
        approved_on=form.approved_on.data,
    )


def _edit_page(consultant_id: int, form: ConsultantForm, status: int = 200) -> tuple[str, int]:
    """One consultant's form."""
    consultant = row_or_not_found(
        db.session, Consultant, consultant_id, missing="No such consultant."
    )
    return render_template("training/consultant.html", consultant=consultant, form=form), status


@bp.route("/consultants/<id:consultant_id>", methods=["GET", "POST"])
@admin_required
@on_refusal(page_again(lambda error, consultant_id: _edit_page(consultant_id, ConsultantForm())[0]))
def consultant(consultant_id: int) -> Response | tuple[str, int]:
    """Correct a consultant's details."""
    found = row_or_not_found(db.session, Consultant, consultant_id, missing="No such consultant.")
    form = ConsultantForm(obj=found if request.method == "GET" else None)
    if form.validate_on_submit():
        approved_list.edit_consultant(
            db.session, consultant_id, _consultant_input(form), actor_id=current_user.id
        )
        flash("Saved.", "success")
        return redirect(url_for("training.consultants"), code=303)
    return _edit_page(consultant_id, form, 422 if request.method == "POST" else 200)


@bp.post("/consultants/<id:consultant_id>/retire")
@admin_required
@on_refusal(back_to("training.consultants"))
def retire(consultant_id: int) -> Response:
    """Take a consultant off the approved list from today."""
    found = approved_list.retire_consultant(db.session, consultant_id, actor_id=current_user.id)
    flash(f"{found.name} is off the approved list; their past entries still count.", "success")
    return redirect(url_for("training.consultants"), code=303)
