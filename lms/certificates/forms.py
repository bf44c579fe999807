"""Forms of the certificate pages: revoking with a reason, and checking an uploaded PDF."""

from __future__ import annotations

from flask_wtf.file import FileField, FileRequired, FileSize
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from lms.certificates.services import REASON_MAX, UPLOAD_MAX_BYTES
from lms.forms import Form


class RevokeForm(Form):
    """An admin revokes a certificate; the reason is shown on the verification page."""

    reason = TextAreaField(
        "Reason",
        validators=[
            DataRequired("Give a reason for revoking the certificate."),
            Length(max=REASON_MAX),
        ],
        description="Shown publicly on the verification page. Do not include health information.",
    )


class UploadForm(Form):
    """Anyone checks whether a PDF is an unaltered certificate issued here."""

    pdf = FileField(
        "Certificate PDF",
        validators=[
            FileRequired("Choose the PDF file to check."),
            FileSize(
                UPLOAD_MAX_BYTES, message="That file is too large to be one of our certificates."
            ),
        ],
        description="The file is compared with the certificates issued here and then discarded.",
    )
