"""Evaluation pages: the form a clinician fills in after attending, and the offering's results."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from lms.auth.api import staff_required
from lms.db import db
from lms.errors import DomainError
from lms.evaluations import results, services
from lms.evaluations.forms import form_class
from lms.refusals import not_a_refusal, on_refusal, page_again

bp = Blueprint("evaluations", __name__)


@not_a_refusal()  # not attended (or no such offering): the 404 page, nothing to answer with
def _evaluation(offering_id: int) -> services.EvaluationPage:
    """The signed-in person's evaluation page of the offering."""
    return services.evaluation_page(db.session, current_user.id, offering_id)


def _answers_again(error: DomainError, offering_id: int) -> str:
    """The evaluation form again with the answers as they were sent."""
    page = _evaluation(offering_id)
    answers = form_class(page.evaluation.form)()
    return render_template("evaluations/form.html", page=page, answers=answers)


@bp.route("/evaluations/<id:offering_id>", methods=["GET", "POST"])
@login_required
@on_refusal(page_again(_answers_again))
def form(offering_id: int) -> Response | str | tuple[str, int]:
    """The offering's evaluation, for people whose attendance of it is recorded (404 else)."""
    page = _evaluation(offering_id)
    if page.submitted_at is not None:
        status = 409 if request.method == "POST" else 200
        return render_template("evaluations/done.html", page=page), status
    answers = form_class(page.evaluation.form)()
    if answers.validate_on_submit():
        services.submit_evaluation(
            db.session,
            user_id=current_user.id,
            offering_id=offering_id,
            answers=answers.answers(),
        )
        flash(
            "Thank you: your evaluation is in."
            + (" Your certificate is being prepared." if page.evaluation.required else ""),
            "success",
        )
        return redirect(url_for("progress.dashboard"))
    if request.method == "POST":
        flash("Some answers are missing: see the questions marked below.", "error")
        return render_template("evaluations/form.html", page=page, answers=answers), 422
    return render_template("evaluations/form.html", page=page, answers=answers)


@bp.get("/offerings/<id:offering_id>/evaluation")
@staff_required
def results_page(offering_id: int) -> str:
    """The offering's evaluation results, without names (its facilitators and admins)."""
    found = results.results_for(db.session, offering_id, viewer=current_user)
    return render_template(
        "evaluations/results.html",
        results=found,
        minimum=results.MIN_RESPONSES_SHOWN,
        chart_width=results.CHART_WIDTH,
    )
