"""Pages for credit for outside training: request, list, withdraw, evidence, review, decide."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from lms.auth.api import staff_required
from lms.db import db
from lms.equivalency import consultation_credit, services
from lms.equivalency.evidence import EXTENSIONS
from lms.equivalency.forms import ConsultationCreditForm, DecisionForm, RequestForm
from lms.equivalency.models import EquivalencyRequest, EquivalencyStatus
from lms.equivalency.preview import PREVIEW_AREA
from lms.errors import DomainError
from lms.inert_files import send_download, send_picture
from lms.refusals import back_to, not_a_refusal, on_refusal, page_again
from lms.storage import Storage, store

bp = Blueprint("equivalency", __name__, url_prefix="/equivalency")


def _evidence_store() -> Storage:
    """Where evidence files live (a folder outside the web root, or private S3 objects)."""
    return store("evidence")


def _preview_store() -> Storage:
    """Where the pictures of evidence PDFs' first pages are kept (as private as the evidence)."""
    return store(PREVIEW_AREA)


def _evidence(form: RequestForm) -> dict[str, Any]:
    """The evidence a request form sent, as the services take it: where it goes, and the
    file (none when no file came)."""
    upload = form.evidence.data
    return {
        "evidence_store": _evidence_store(),
        "evidence_stream": upload.stream if upload else None,
        "evidence_filename": upload.filename if upload else None,
    }


@bp.get("/")
@login_required
def mine() -> str:
    """The signed-in clinician's requests and their status."""
    requests = services.own_requests(db.session, current_user.id)
    return render_template("equivalency/mine.html", requests=requests)


def _request_form() -> RequestForm:
    """The request form, bound to what was posted, offering the items one may ask credit for."""
    form = RequestForm()
    items = services.requestable_items(db.session)
    form.item_code.choices = [SelectChoice(item.code, item.title) for item in items]
    return form


def _new_again(error: DomainError) -> str:
    """The request form again, as it was sent."""
    return render_template("equivalency/new.html", form=_request_form())


@bp.route("/new", methods=["GET", "POST"])
@login_required
@on_refusal(page_again(_new_again))
def new() -> Response | tuple[str, int] | str:
    """Ask for credit for training taken elsewhere."""
    form = _request_form()
    if request.method == "GET" and request.args.get("item"):
        form.item_code.data = request.args["item"]
    if form.validate_on_submit():
        data = services.RequestInput(
            item_code=form.item_code.data,
            outside_programme=form.programme_name,
            attended_from=form.attended_from.data,
            attended_to=form.attended_to.data,
            hours=form.hours.data,
            description=form.description.data or "",
        )
        created = services.submit_request(
            db.session, user_id=current_user.id, data=data, **_evidence(form)
        )
        flash(
            f"Your request for {created.counts_for} is pending approval. "
            "It unlocks nothing until a reviewer approves it.",
            "success",
        )
        return redirect(url_for("equivalency.detail", request_id=created.id))
    status = 422 if request.method == "POST" else 200
    return render_template("equivalency/new.html", form=form), status


def _consultations_again(error: DomainError) -> str:
    """The consultation credit form again, as it was sent."""
    return render_template("equivalency/new_consultations.html", form=ConsultationCreditForm())


@bp.route("/consultations/new", methods=["GET", "POST"])
@login_required
@on_refusal(page_again(_consultations_again))
def new_consultations() -> Response | tuple[str, int] | str:
    """Ask that consultations held with another programme count for the Certificate of
    Training."""
    form = ConsultationCreditForm()
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("equivalency/new_consultations.html", form=form), status
    created = consultation_credit.submit_consultation_credit(
        db.session,
        user_id=current_user.id,
        data=consultation_credit.ConsultationCreditInput(
            kind=form.kind.data or "",
            consultations=form.consultations.data,
            hours=form.hours.data,
            outside_programme=form.programme_name,
            attended_from=form.attended_from.data,
            attended_to=form.attended_to.data,
            description=form.description.data or "",
        ),
        **_evidence(form),
    )
    flash(
        f"Your request for {created.counts_for} is pending approval. "
        "They count for nothing until a reviewer approves it.",
        "success",
    )
    return redirect(url_for("equivalency.detail", request_id=created.id))


@bp.get("/<id:request_id>")
@login_required
def detail(request_id: int) -> str:
    """One request: what was asked, the evidence, the decision trail."""
    item = services.get_request_for(db.session, request_id, current_user)
    form = DecisionForm() if current_user.is_staff and item.user_id != current_user.id else None
    return _detail_page(item, form)


def _detail_page(item: EquivalencyRequest, form: DecisionForm | None) -> str:
    """A request's page: what was asked, the evidence's first page inline when it has one."""
    picture = services.evidence_picture_ready(item, _evidence_store(), _preview_store())
    return render_template("equivalency/detail.html", req=item, form=form, picture=picture)


@bp.get("/<id:request_id>/evidence")
@login_required
def evidence(request_id: int) -> Response:
    """Download the evidence file: owner and reviewers only, never shown inline."""
    data, item = services.evidence_file_for(db.session, request_id, current_user, _evidence_store())
    # Read whole (at most 5 MB): a store that fails mid-file answers 503, not half a file.
    return send_download(data, item.evidence_type, f"evidence-request-{item.id}", EXTENSIONS)


@bp.get("/<id:request_id>/evidence/page")
@login_required
def evidence_page(request_id: int) -> Response:
    """The evidence's first page as an image, shown inline: owner and reviewers only."""
    picture = services.evidence_picture_for(
        db.session, request_id, current_user, _evidence_store(), _preview_store()
    )
    return send_picture(
        picture.data, picture.media_type, f"evidence-request-{request_id}-first-page"
    )


@bp.post("/<id:request_id>/withdraw")
@login_required
@on_refusal(back_to("equivalency.mine"))
def withdraw(request_id: int) -> Response:
    """The clinician withdraws a pending request."""
    services.withdraw_request(db.session, request_id, user_id=current_user.id)
    flash("Your request is withdrawn.", "success")
    return redirect(url_for("equivalency.mine"))


@bp.get("/review")
@staff_required
def review() -> str:
    """Instructors' and admins' queue of requests."""
    wanted = request.args.get("status", EquivalencyStatus.PENDING.value)
    if wanted not in {s.value for s in EquivalencyStatus} | {"all"}:
        wanted = EquivalencyStatus.PENDING.value
    status = None if wanted == "all" else EquivalencyStatus(wanted)
    requests = services.review_queue(db.session, status)
    return render_template(
        "equivalency/review.html",
        requests=requests,
        status=wanted,
        statuses=list(EquivalencyStatus),
    )


@not_a_refusal()  # a request one may not see, or none: the error page
def _decision_page(request_id: int, form: DecisionForm) -> str:
    """The request's page with the decision form as sent."""
    item = services.get_request_for(db.session, request_id, current_user)
    return _detail_page(item, form)


def _decision_again(error: DomainError, request_id: int) -> str:
    """The request's page again, the decision form as it was sent."""
    return _decision_page(request_id, DecisionForm())


@bp.post("/<id:request_id>/decide")
@staff_required
@on_refusal(page_again(_decision_again))
def decide(request_id: int) -> Response | tuple[str, int]:
    """Approve or decline a pending request (once; a second reviewer is told who did)."""
    form = DecisionForm()
    if not form.validate_on_submit():
        return _decision_page(request_id, form), 422
    decided = services.decide_request(
        db.session,
        request_id,
        reviewer_id=current_user.id,
        approve=form.decision.data == "approve",
        reason=form.reason.data or "",
    )
    flash(f"Request {decided.status.value}: {decided.user.name} — {decided.counts_for}.", "success")
    return redirect(url_for("equivalency.review"))
