"""The programme settings page (admins): provider, language, signatories with their signature
images, accreditations, and a sample certificate made from the form before it is saved."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from flask import Blueprint, flash, redirect, render_template, send_file, url_for
from flask_login import current_user

from lms.admin import programme_settings as settings_service
from lms.admin.programme_forms import ProgrammeSettingsForm
from lms.admin.programme_settings import Submission
from lms.auth.api import admin_required
from lms.catalog.api import programme_settings
from lms.certificates.api import programme_facts, sample_pdf
from lms.clock import today
from lms.db import db
from lms.programme_images import image_url

bp = Blueprint("programme_settings", __name__, url_prefix="/admin/programme")


def _page(form: ProgrammeSettingsForm, current: dict[str, Any], status: int = 200) -> Any:
    """The settings page with the form as it stands."""
    people = programme_facts(current)["signatories"]
    signatures = [image_url(person.get("signature")) for person in people]
    logo = image_url(str(current.get("provider_logo") or ""))
    return render_template(
        "admin/programme_settings.html", form=form, signatures=signatures, logo=logo
    ), status


def _submission(refusal: str) -> tuple[dict[str, Any], Submission | None, Any]:
    """The stored settings and what the posted form asks for; when a field or an upload is
    refused, no submission but the page again (422), its message opening with `refusal`."""
    current = programme_settings(db.session)
    form = ProgrammeSettingsForm()
    submission = settings_service.submitted(form, current) if form.validate() else None
    if submission is not None:
        return current, submission, None
    flash(f"{refusal}: correct the fields marked below.", "error")
    return current, None, _page(form, current, 422)


@bp.get("")
@admin_required
def edit() -> Any:
    """The programme's settings as certificates print them, ready to change."""
    current = programme_settings(db.session)
    return _page(settings_service.new_form(current), current)


@bp.post("")
@admin_required
def save() -> Any:
    """Save the settings (a refused upload or field stores nothing and says why)."""
    current, submission, refused = _submission("Nothing was saved")
    if submission is None:
        return refused
    changed = settings_service.save(db.session, submission, actor_id=current_user.id)
    if changed:
        flash(
            "Programme settings saved. Certificates issued from now on print them; "
            "certificates already issued keep what they said.",
            "success",
        )
    else:
        flash("Nothing changed.", "info")
    return redirect(url_for("programme_settings.edit"))


@bp.post("/sample.pdf")
@admin_required
def sample() -> Any:
    """A sample certificate from the form as filled in, marked SAMPLE; nothing is saved."""
    current, submission, refused = _submission("No sample was made")
    if submission is None:
        return refused
    settings, images = settings_service.preview(db.session, submission, current)
    verify_url = url_for("certificates.verify_form", _external=True)
    data = sample_pdf(settings, images, today=today(db.session), verify_url=verify_url)
    response = send_file(
        BytesIO(data),
        mimetype="application/pdf",
        as_attachment=False,
        download_name="sample-certificate.pdf",
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
