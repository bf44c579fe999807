"""Changing the programme's settings from the admin page: what certificates print about the
provider, who signs them (with an uploaded signature image), the accreditations, and the
programme's language; and the sample certificate those settings would make.

Every upload is checked (lms.image_checks) before anything is written, so a refused image
stores nothing and changes no setting. A change is one audit event naming the settings that
changed. Certificates already issued keep their frozen content; the next one issued (or a
reissue) prints the new settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.admin.programme_forms import EXTRA_ACCREDITATIONS, SIGNATORY_SLOTS, ProgrammeSettingsForm
from lms.audit.services import record_event
from lms.certificates.api import programme_facts
from lms.i18n import DEFAULT_LOCALE
from lms.i18n import SETTING as LOCALE_KEY
from lms.image_checks import IMAGE_MAX_BYTES, CheckedImage, ImageRefused, check_image
from lms.programme import PRACTITIONER_DIRECTORY, ProgrammeSetting
from lms.programme_images import data_url, digest_of, load_images, store_image

ACCREDITATIONS_KEY = "accreditation_statements"  # the catalogue file's key, read by offerings too
# Fields an accreditation keeps only when given (the file's partial_credit is carried over).
OPTIONAL_ACCREDITATION_FIELDS = ("credit_type", "number_label", "number", "credit_step")


@dataclass
class Submission:
    """What the form asks for: the settings to write and the checked uploads (by digest)."""

    settings: dict[str, Any]
    uploads: dict[str, CheckedImage] = field(default_factory=dict)


def form_data(settings: dict[str, Any]) -> dict[str, Any]:
    """The form's starting values from the stored settings (older shapes read too)."""
    facts = programme_facts(settings)
    people = list(facts["signatories"])[:SIGNATORY_SLOTS]
    accreditations = [
        {
            "body": entry.get("body", ""),
            "statement": entry.get("statement", ""),
            "number_label": entry.get("number_label", ""),
            "number": entry.get("number", ""),
            "example": bool(entry.get("example", False)),
            "credit_type": entry.get("credit_type", ""),
            "credit_step": str(entry.get("credit_step", "") or ""),
            "rounding": entry.get("rounding") or "nearest",
        }
        for entry in facts["accreditations"]
    ]
    return {
        "provider_name": facts["provider_name"] if settings.get("provider_name") else "",
        "provider_address": "\n".join(facts["provider_address"]),
        "locale": settings.get(LOCALE_KEY) or DEFAULT_LOCALE,
        "practitioner_directory": settings.get(PRACTITIONER_DIRECTORY) is True,
        "signatories": people + [{}] * (SIGNATORY_SLOTS - len(people)),
        "accreditations": accreditations + [{}] * EXTRA_ACCREDITATIONS,
    }


@dataclass
class _Uploads:
    """The images a submission uploads, each checked once, by digest; whether any was refused."""

    images: dict[str, CheckedImage] = field(default_factory=dict)
    refused: bool = False

    def digest(self, upload_field: Any, *, kept: str) -> str:
        """The digest of the image uploaded in `upload_field` (checked and held), or `kept`
        when none was; a refused image leaves its reason on the field."""
        upload = upload_field.data
        if upload is None or not getattr(upload, "filename", ""):
            return kept
        try:
            image = check_image(upload.read(IMAGE_MAX_BYTES + 1), upload.filename)
        except ImageRefused as error:
            upload_field.errors = [*upload_field.errors, str(error)]
            self.refused = True
            return kept
        digest = digest_of(image.data)
        self.images[digest] = image
        return digest


def new_form(settings: dict[str, Any]) -> ProgrammeSettingsForm:
    """The form filled from the stored settings."""
    data = form_data(settings)
    form = ProgrammeSettingsForm(formdata=None, data=data)
    return form


def submitted(form: ProgrammeSettingsForm, current: dict[str, Any]) -> Submission | None:
    """The settings a valid form asks for, its uploads checked; None when an upload is refused
    (the refusal is on that field, nothing is stored)."""
    stored = programme_facts(current)["signatories"]
    uploads = _Uploads()
    people: list[dict[str, str]] = []
    for index, entry in enumerate(form.signatories.entries):
        sub = entry.form
        name = (sub.name.data or "").strip()
        signature = ""
        if index < len(stored) and not sub.remove_signature.data:
            signature = stored[index].get("signature", "")
        signature = uploads.digest(sub.signature, kept=signature)
        if name:
            people.append(
                {
                    "name": name,
                    "credentials": (sub.credentials.data or "").strip(),
                    "title": (sub.title.data or "").strip(),
                    "signature": signature,
                }
            )
    logo = "" if form.remove_logo.data else str(current.get("provider_logo") or "")
    logo = uploads.digest(form.logo, kept=logo)
    if uploads.refused:
        return None
    kept = {p["signature"] for p in people} | {logo}
    # Off is the default: the switch is stored once it was ever turned on.
    directory = bool(form.practitioner_directory.data)
    switch = (
        {PRACTITIONER_DIRECTORY: directory}
        if directory or PRACTITIONER_DIRECTORY in current
        else {}
    )
    return Submission(
        settings={
            "provider_name": (form.provider_name.data or "").strip(),
            "provider_address": "\n".join(
                line.strip()
                for line in (form.provider_address.data or "").splitlines()
                if line.strip()
            ),
            LOCALE_KEY: form.locale.data,
            "provider_logo": logo,
            "signatories": people,
            ACCREDITATIONS_KEY: _accreditations(form, current),
            **switch,
        },
        uploads={digest: image for digest, image in uploads.images.items() if digest in kept},
    )


def _accreditations(form: ProgrammeSettingsForm, current: dict[str, Any]) -> list[dict[str, Any]]:
    """The accreditations the form lists (both body and statement empty removes one); each
    keeps the catalogue file's partial_credit of the same body."""
    before = {
        entry.get("body", ""): entry
        for entry in current.get(ACCREDITATIONS_KEY) or []
        if isinstance(entry, dict)
    }
    found = []
    for entry in form.accreditations.entries:
        sub = entry.form
        body, statement = (sub.body.data or "").strip(), (sub.statement.data or "").strip()
        if not body and not statement:
            continue
        table: dict[str, Any] = {"body": body, "statement": statement}
        for name in OPTIONAL_ACCREDITATION_FIELDS:
            value = (getattr(sub, name).data or "").strip()
            if value:
                table[name] = value
        if sub.rounding.data and sub.rounding.data != "nearest":
            table["rounding"] = sub.rounding.data
        table["example"] = bool(sub.example.data)
        if "partial_credit" in before.get(body, {}):
            table["partial_credit"] = before[body]["partial_credit"]
        found.append(table)
    return found


def save(session: Session, submission: Submission, *, actor_id: int) -> list[str]:
    """Store the uploads and the settings that changed; audit the change; return the names
    of the settings that changed (none: nothing written, nothing audited)."""
    for image in submission.uploads.values():
        store_image(session, image)
    rows = {
        row.key: row
        for row in session.scalars(
            select(ProgrammeSetting).where(ProgrammeSetting.key.in_(list(submission.settings)))
        )
    }
    changed = []
    for key, value in submission.settings.items():
        row = rows.get(key)
        if row is None:
            session.add(ProgrammeSetting(key=key, value=value))
            changed.append(key)
        elif row.value != value:
            row.value = value
            changed.append(key)
    if changed:
        record_event(
            session,
            actor_id=actor_id,
            action="programme.settings_changed",
            subject_type="programme",
            settings=sorted(changed),
            images=sorted(submission.uploads),
        )
        session.flush()
    return changed


def preview(
    session: Session, submission: Submission, current: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The settings the sample is made from (the stored ones with the form's over them) and
    the images it shows as `data:` URLs: stored ones and this form's uploads (not stored)."""
    settings = {**current, **submission.settings}
    digests = {p.get("signature", "") for p in submission.settings.get("signatories", [])}
    digests.add(str(settings.get("provider_logo") or ""))
    images = {d: data_url(image) for d, image in load_images(session, digests).items()}
    images.update({d: data_url(image) for d, image in submission.uploads.items()})
    return settings, images
