"""Evaluation pages: the form a clinician fills in after attending, and the offering's results."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from lms.auth.access import staff_required
from lms.db import db
from lms.errors import DomainError
from lms.evaluations import results, services
from lms.evaluations.forms import form_class

bp = Blueprint("evaluations", __name__)


@bp.route("/evaluations/<id:offering_id>", methods=["GET", "POST"])
@login_required
def form(offering_id: int) -> Response | str | tuple[str, int]:
    """The offering's evaluation, for people whose attendance of it is recorded (404 else)."""
    page = services.evaluation_page(db.session, current_user.id, offering_id)
    if page.submitted_at is not None:
        status = 409 if request.method == "POST" else 200
        return render_template("evaluations/done.html", page=page), status
    answers = form_class(page.evaluation.form)()
    if answers.validate_on_submit():
        try:
            services.submit_evaluation(
                db.session,
                user_id=current_user.id,
                offering_id=offering_id,
                answers=answers.answers(),
            )
        except DomainError as error:
            db.rollback()
            flash(error.message, "error")
            return render_template(
                "evaluations/form.html", page=page, answers=answers
            ), error.status_code
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
