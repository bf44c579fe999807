"""Forms of the session log and the documents; they check shape, the services check rules.

The session form's year, month and client are not checked against their lists here: the
session log refuses anything that is not the clinician's own code or a past month, with a
message that says why (lms.training.session_log), so a tampered value is told the same thing.
"""

from __future__ import annotations

from flask_wtf.file import FileField, FileRequired, FileSize
from wtforms import RadioField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from lms.bounds import UPLOAD_MAX_TEXT
from lms.forms import Form, RequiredWhen
from lms.training.documents import MAX_COMMENT_LENGTH
from lms.training.documents_files import MAX_DOCUMENT_BYTES, TOO_LARGE
from lms.training.records_models import DocumentKind, SessionRole, SessionSetting
from lms.training.session_log import NEW_CLIENT

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
YEARS_SHOWN = 5  # this year and the four before: the certificate's window is one to two years


class SessionForm(Form):
    """One KAP session: month and year, role, setting, client code. No free text."""

    month = SelectField(
        "Month",
        choices=[SelectChoice(str(n), name) for n, name in enumerate(MONTHS, start=1)],
        validators=[DataRequired("Choose the month.")],
        validate_choice=False,
    )
    year = SelectField(
        "Year", choices=[], validators=[DataRequired("Choose the year.")], validate_choice=False
    )
    role = RadioField(
        "Your role",
        choices=[SelectChoice(r.value, r.label) for r in SessionRole],
        validators=[DataRequired("Choose your role: therapist or co-therapist.")],
        validate_choice=False,
    )
    setting = SelectField(
        "Setting",
        choices=[SelectChoice(s.value, s.label) for s in SessionSetting],
        validators=[DataRequired("Choose the setting.")],
        validate_choice=False,
    )
    client = SelectField(
        "Client",
        choices=[],
        validators=[DataRequired("Choose the client: one of your codes, or “New client”.")],
        validate_choice=False,
        description="“New client” makes a new random code. Never type a name or initials.",
    )

    def offer(self, this_year: int, codes: list[str]) -> SessionForm:
        """Fill the year and client lists (this year first; new client, then one's codes)."""
        self.year.choices = [
            SelectChoice(str(y)) for y in range(this_year, this_year - YEARS_SHOWN, -1)
        ]
        self.client.choices = [SelectChoice(NEW_CLIENT, "New client")] + [
            SelectChoice(code) for code in codes
        ]
        return self


def _document_file(label: str, missing: str) -> FileField:
    """A document's file field: required, within the size limit, PDF or DOCX (checked by its
    bytes when uploaded: lms.training.documents_files)."""
    return FileField(
        label,
        validators=[
            FileRequired(missing),
            FileSize(max_size=MAX_DOCUMENT_BYTES, message=TOO_LARGE),
        ],
        description=f"PDF or Word (DOCX), at most {UPLOAD_MAX_TEXT}.",
    )


class UploadForm(Form):
    """A clinician uploads a version of a document."""

    kind = SelectField(
        "Document",
        choices=[SelectChoice(k.value, k.label) for k in DocumentKind],
        validators=[DataRequired("Choose which document this is.")],
        validate_choice=False,
    )
    file = _document_file("File", "Choose the file to upload.")


class LetterForm(Form):
    """A consultant uploads their letter of recommendation through their link."""

    letter = _document_file("Your letter of recommendation", "Choose the letter to upload.")


class ReviewForm(Form):
    """Staff approve a version or ask for changes."""

    decision = RadioField(
        "Decision",
        choices=[
            SelectChoice("approve", "Approve"),
            SelectChoice("changes", "Ask for changes"),
        ],
        validators=[DataRequired("Choose approve or ask for changes.")],
    )
    comment = TextAreaField(
        "Comment to the clinician",
        validators=[
            RequiredWhen(
                lambda form: form.decision.data == "changes",
                "Say what should change: the clinician reads your comment.",
            ),
            Length(max=MAX_COMMENT_LENGTH),
        ],
        description="Required when you ask for changes: say what should change.",
    )
