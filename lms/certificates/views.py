"""Certificate pages: downloads for holders and staff, the admin list, public verification."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required

from lms.auth.api import admin_required, may_see_person, person_visible
from lms.bounds import query_int
from lms.certificates import services
from lms.certificates.codes import normalise_code
from lms.certificates.forms import RevokeForm, UploadForm
from lms.certificates.holds import holds_of_person
from lms.certificates.pictures import AREA as PICTURE_AREA
from lms.certificates.pictures import MEDIA_TYPE as PICTURE_TYPE
from lms.certificates.pictures import WIDTH as PICTURE_WIDTH
from lms.clock import today
from lms.db import db
from lms.errors import DomainError, NotFound
from lms.programme import PRACTITIONER_DIRECTORY, programme_setting
from lms.ratelimit import limiter
from lms.refusals import on_refusal, show_on
from lms.storage import store

bp = Blueprint("certificates", __name__)


VERIFY_LIMIT = "60 per minute"
UPLOAD_LIMIT = "10 per minute"


def _pdf_response(data: bytes, filename: str) -> Response:
    """A PDF sent as a download with a safe file name."""
    response = send_file(
        BytesIO(data), mimetype="application/pdf", as_attachment=True, download_name=filename
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/certificates/<id:certificate_id>.pdf")
@login_required
def download(certificate_id: int) -> Response:
    """The stored PDF of a certificate, for its holder and for staff (404 for anyone else).

    While the PDF is being prepared the answer is 202 with a page that reloads itself.
    """
    certificate = services.stored_pdf(db.session, certificate_id)
    if certificate.user_id is None or not may_see_person(certificate.user_id):
        abort(404)
    if certificate.pdf is None:
        # Accepted, not ready: the render job stores the PDF in a moment; the page reloads.
        page = render_template("certificates/preparing.html", row=services.as_row(certificate))
        return Response(page, status=202)
    # A revoked certificate downloads stamped "REVOKED on <date>"; the stored bytes stay.
    data = services.download_bytes(certificate)
    return _pdf_response(data, services.download_name(certificate))


@bp.get("/people/<id:user_id>/transcript.pdf")
@person_visible
def transcript(user_id: int) -> Response:
    """A transcript of every live completion, rendered now, for the person and for staff."""
    data = services.transcript_pdf(db.session, user_id)
    return _pdf_response(data, f"transcript-{user_id}-{today().isoformat()}.pdf")


@bp.get("/people/<id:user_id>/certificates")
@person_visible
def person(user_id: int) -> str:
    """A person's certificates with download links (the person themself and staff only)."""
    holder = services.person_summary(db.session, user_id)
    rows = services.certificates_of(db.session, user_id)
    return render_template(
        "certificates/person.html",
        holder=holder,
        rows=rows,
        holds=holds_of_person(db.session, user_id),
        own=current_user.id == user_id,
    )


@bp.get("/admin/certificates")
@admin_required
def admin_list() -> str:
    """Every certificate, searchable by holder name, serial or code."""
    query = (request.args.get("q") or "").strip()[:200]
    page = query_int("page", default=1)
    rows, total = services.search_certificates(db.session, query, page=page)
    pages = max(1, -(-total // services.SEARCH_PAGE_SIZE))
    return render_template(
        "certificates/admin_list.html",
        rows=rows,
        total=total,
        query=query,
        page=page,
        pages=pages,
        revoke_form=RevokeForm(),
    )


def _back_to_list(error: DomainError | None = None, **_: int) -> Response:
    """Redirect to the admin list, keeping the search (also the answer to a refusal)."""
    query = (request.form.get("q") or "").strip()[:200]
    return redirect(url_for("certificates.admin_list", q=query or None))


@bp.post("/admin/certificates/<id:certificate_id>/revoke")
@admin_required
@on_refusal(_back_to_list)
def revoke(certificate_id: int) -> Any:
    """Revoke one certificate with a reason."""
    form = RevokeForm()
    if not form.validate():
        flash(" ".join(e for errors in form.errors.values() for e in errors), "error")
        return _back_to_list()
    certificate = services.revoke_certificate(
        db.session, certificate_id, actor_id=current_user.id, reason=form.reason.data
    )
    flash(f"Certificate {certificate.serial} revoked.", "success")
    return _back_to_list()


@bp.post("/admin/certificates/<id:certificate_id>/reissue")
@admin_required
@on_refusal(_back_to_list)
def reissue(certificate_id: int) -> Any:
    """Reissue a certificate: a new code and today's name; the old one shows superseded."""
    new = services.reissue_certificate(db.session, certificate_id, actor_id=current_user.id)
    flash(f"Reissued as {new.serial} with verification code {new.code}.", "success")
    return redirect(url_for("certificates.admin_list", q=new.serial))


# ---------------------------------------------------------------------------------------
# Public verification (no sign-in)


def _public(response: Any, status: int = 200) -> Response:
    """A verification page: never indexed by search engines."""
    response = Response(response, status=status) if isinstance(response, str) else response
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.get("/verify")
@limiter.limit(VERIFY_LIMIT)
def verify_form() -> Response:
    """The form to type a code; a typed code goes to its page."""
    typed = request.args.get("code")
    if typed is not None:
        code = normalise_code(typed)
        if code is not None:
            return redirect(url_for("certificates.verify", code=code))
        page = render_template(
            "certificates/verify_form.html",
            typed=typed[:60],
            error="That is not a verification code. Codes have 20 letters and digits, "
            "printed in groups of four, e.g. 7KQ4-M2XH-9RTB-C6PW-3NZA.",
            upload_form=UploadForm(),
        )
        return _public(page, 422)
    return _public(
        render_template(
            "certificates/verify_form.html",
            typed="",
            error="",
            upload_form=UploadForm(),
            # The public directory of certified practitioners, once the programme publishes it.
            directory_open="award.public_directory" in current_app.view_functions
            and programme_setting(db.session, PRACTITIONER_DIRECTORY) is True,
        )
    )


@bp.get("/verify/<code>")
@limiter.limit(VERIFY_LIMIT)
def verify(code: str) -> Response:
    """Who, what, when and the status of the certificate with this code; 404 if unknown."""
    canonical = normalise_code(code)
    if canonical is not None and canonical != code:
        return redirect(url_for("certificates.verify", code=canonical))
    try:
        result = services.verify_code(db.session, code)
    except NotFound:
        return _public(render_template("certificates/verify_unknown.html"), 404)
    page_url = _public_url(url_for("certificates.verify", code=result.code))
    return _public(
        render_template(
            "certificates/verify.html",
            result=result,
            page_url=page_url,
            picture_url=_public_url(url_for("certificates.picture", code=result.code))
            if result.has_picture
            else "",
            picture_type=PICTURE_TYPE,
            picture_width=PICTURE_WIDTH,
            description=services.share_description(result),
            linkedin_url=services.linkedin_add_url(result, page_url),
            may_download=result.user_id is not None and may_see_person(result.user_id),
        )
    )


def _public_url(path: str) -> str:
    """The address of a page of ours as the world reaches it (LMS_PUBLIC_URL)."""
    return current_app.config["LMS_PUBLIC_URL"].rstrip("/") + path


PICTURE_CACHE = "public, max-age=300"  # a revocation reaches shared copies within minutes


@bp.get("/verify/<code>/picture.jpg")
@limiter.limit(VERIFY_LIMIT)
def picture(code: str) -> Response:
    """The first page of the certificate as a JPEG (stamped once revoked); 404 without one.

    Public like the verify page, and without the licence number the PDF prints.
    """
    source = services.picture_source(db.session, code)
    etag = services.picture_etag(source)
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        picture = services.certificate_picture(db.session, store(PICTURE_AREA), source)
        response = Response(picture, mimetype=PICTURE_TYPE)
    response.set_etag(etag)
    response.headers["Cache-Control"] = PICTURE_CACHE
    return _public(response)


@bp.get("/verify/<code>/picture.png")
@limiter.limit(VERIFY_LIMIT)
def legacy_picture(code: str) -> Response:
    """The address pictures had while they were PNGs: Open Badges signed then name it as the
    achievement's image, and link previews already shared keep it; a permanent redirect."""
    canonical = normalise_code(code)
    if canonical is None:
        raise NotFound("No such certificate picture.")
    return _public(redirect(url_for("certificates.picture", code=canonical), 301))


def _upload_refused(error: DomainError) -> Response:
    """The verification form again, the reason under the file field."""
    form = UploadForm()
    show_on(form.pdf, error)
    page = render_template("certificates/verify_form.html", typed="", error="", upload_form=form)
    return _public(page, error.status_code)


@bp.post("/verify/upload")
@limiter.limit(UPLOAD_LIMIT)
@on_refusal(_upload_refused, flash_as=None)  # the message is shown on the form's file field
def verify_upload() -> Response:
    """Check an uploaded PDF byte for byte against the certificates issued here."""
    form = UploadForm()
    if not form.validate():
        page = render_template(
            "certificates/verify_form.html", typed="", error="", upload_form=form
        )
        return _public(page, 422)
    data = form.pdf.data.read(services.UPLOAD_MAX_BYTES + 1)
    result = services.verify_upload(db.session, data)
    return _public(render_template("certificates/verify_upload.html", result=result))
