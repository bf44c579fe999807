"""The Certificate of Training's documents: the clinician uploads, staff review in a queue.

Files are never shown inline as they are: a PDF's first page is a picture drawn apart, a
DOCX's text is shown as text, and the file itself is a download with a sandboxing CSP.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from lms.auth.api import staff_required
from lms.db import db
from lms.errors import DomainError
from lms.inert_files import send_download, send_picture
from lms.refusals import not_a_refusal, on_refusal, page_again
from lms.storage import Storage, store
from lms.training import documents, session_log
from lms.training.documents_files import EXTENSIONS
from lms.training.documents_preview import first_page_for, preview_of
from lms.training.records_forms import ReviewForm, UploadForm
from lms.training.records_models import TrainingDocument

bp = Blueprint("training_documents", __name__, url_prefix="/training/documents")


def _files() -> Storage:
    """Where the documents live (a private folder outside the web root, or private S3)."""
    return store(documents.DOCUMENTS_AREA)


def _previews() -> Storage:
    """Where the pictures of PDF documents' first pages are kept."""
    return store(documents.PREVIEWS_AREA)


def _mine_page(form: UploadForm) -> str:
    """The clinician's documents: each kind's versions and the upload form."""
    return render_template(
        "training/document_mine.html",
        form=form,
        versions=documents.versions_of(db.session, current_user.id),
    )


@bp.get("/")
@login_required
def mine() -> str:
    """The signed-in clinician's documents and their reviews."""
    return _mine_page(UploadForm())


def _upload_again(error: DomainError) -> str:
    """The documents page again with the upload form as sent."""
    return _mine_page(UploadForm())


@bp.post("/upload")
@login_required
@on_refusal(page_again(_upload_again))
def upload() -> Response | tuple[str, int]:
    """The clinician uploads a version of their reflection paper or the consultant's letter."""
    form = UploadForm()
    if not form.validate_on_submit():
        return _mine_page(form), 422
    document = documents.upload_document(
        db.session,
        user_id=current_user.id,
        kind=form.kind.data,
        stream=form.file.data.stream,
        filename=form.file.data.filename,
        uploaded_by="clinician",
        actor_id=current_user.id,
        store=_files(),
    )
    flash(
        f"Version {document.version} of your {document.kind.label.lower()} is uploaded; "
        "it waits for review.",
        "success",
    )
    return redirect(url_for("training_documents.mine"))


@bp.get("/review")
@staff_required
def review() -> str:
    """Staff's queue: documents to review, oldest first."""
    waiting = documents.documents_to_review(db.session)
    return render_template("training/document_review.html", waiting=waiting)


def _detail_page(document: TrainingDocument, form: ReviewForm | None) -> str:
    """One version: what it is, its preview, its review, and the form for staff."""
    history = documents.versions_of(db.session, document.user_id)[document.kind]
    counts = None
    if current_user.is_staff and document.user_id != current_user.id:
        counts = session_log.counts_for(db.session, document.user_id)
    return render_template(
        "training/document_detail.html",
        document=document,
        history=history,
        preview=preview_of(document, _files(), _previews()),
        form=form,
        counts=counts,
    )


@bp.get("/<id:document_id>")
@login_required
def detail(document_id: int) -> str:
    """A version of a document: its clinician's, or staff's to review."""
    document = documents.get_document_for(db.session, document_id, current_user)
    reviewing = current_user.is_staff and document.user_id != current_user.id
    return _detail_page(document, ReviewForm() if reviewing else None)


@bp.get("/<id:document_id>/file")
@login_required
def download(document_id: int) -> Response:
    """Download the file: the clinician and staff only, never shown inline."""
    data, document = documents.file_for(db.session, document_id, current_user, _files())
    name = f"{document.kind.value.replace('_', '-')}-v{document.version}"
    return send_download(data, document.media_type, name, EXTENSIONS)


@bp.get("/<id:document_id>/page")
@login_required
def first_page(document_id: int) -> Response:
    """A PDF version's first page as an image: the clinician and staff only."""
    picture = first_page_for(db.session, document_id, current_user, _files(), _previews())
    return send_picture(picture.data, picture.media_type, f"document-{document_id}-first-page")


@not_a_refusal()  # a document one may not see, or none: the error page
def _review_page(document_id: int, form: ReviewForm) -> str:
    """The version's page with the review form as sent."""
    return _detail_page(documents.get_document_for(db.session, document_id, current_user), form)


def _review_again(error: DomainError, document_id: int) -> str:
    """The version's page again, the review form as it was sent."""
    return _review_page(document_id, ReviewForm())


@bp.post("/<id:document_id>/review")
@staff_required
@on_refusal(page_again(_review_again))
def decide(document_id: int) -> Response | tuple[str, int]:
    """Approve a waiting version or ask for changes (once; never one's own)."""
    form = ReviewForm()
    if not form.validate_on_submit():
        return _review_page(document_id, form), 422
    document = documents.review_document(
        db.session,
        document_id,
        reviewer=current_user,
        approve=form.decision.data == "approve",
        comment=form.comment.data or "",
    )
    flash(
        f"{document.kind.label} of {document.user.display_name}: {document.status.label}.",
        "success",
    )
    return redirect(url_for("training_documents.review"))
