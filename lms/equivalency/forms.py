"""Forms for equivalency requests and their review; they check shape, services check rules."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext
from flask_wtf.file import FileField, FileRequired, FileSize
from wtforms import (
    DateField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from lms.bounds import UPLOAD_MAX_TEXT
from lms.catalog.api import ConsultationKind
from lms.equivalency.evidence import MAX_EVIDENCE_BYTES, TOO_LARGE
from lms.equivalency.models import MAX_CREDITED_CONSULTATIONS
from lms.equivalency.services import MAX_REASON_LENGTH, SUGGESTED_PROGRAMMES
from lms.forms import DecimalNumberField, Form, RequiredWhen, WholeNumberField

OTHER = "Other"


class RequestForm(Form):
    """A clinician asks that training elsewhere count for a catalogue item."""

    item_code = SelectField("Counts for", validators=[DataRequired()], choices=[])
    programme = SelectField(
        lazy_gettext("Outside programme"),
        choices=[SelectChoice(p) for p in SUGGESTED_PROGRAMMES]
        + [SelectChoice(OTHER, "Other (name it below)")],
        validators=[DataRequired()],
    )
    programme_other = StringField(
        lazy_gettext("Other programme's name"),
        validators=[
            RequiredWhen(
                lambda form: form.programme.data == OTHER,
                lazy_gettext("Name the other programme."),
            ),
            Length(max=200),
        ],
    )
    attended_from = DateField("First day of the training", validators=[DataRequired()])
    attended_to = DateField("Last day of the training", validators=[DataRequired()])
    hours = DecimalNumberField(
        "Hours of training",
        validators=[InputRequired()],
        minimum=Decimal("0.25"),
        maximum=Decimal("1000"),
        places=2,
    )
    description = TextAreaField(
        "What the training covered",
        validators=[DataRequired(), Length(max=5000)],
        description="Topics, format (live, online, in person) and who taught it.",
    )
    evidence = FileField(
        "Evidence",
        # The size is checked here, so a file a little too large gets the form back filled
        # in with the error at this field (the server reads bodies well past the limit).
        validators=[
            FileRequired("Attach a certificate or transcript."),
            FileSize(max_size=MAX_EVIDENCE_BYTES, message=TOO_LARGE),
        ],
        description=f"A certificate or transcript: PDF, PNG or JPEG, at most {UPLOAD_MAX_TEXT}.",
    )

    @property
    def programme_name(self) -> str:
        """The programme as it will be recorded."""
        if self.programme.data == OTHER:
            return (self.programme_other.data or "").strip()
        return self.programme.data or ""


class ConsultationCreditForm(RequestForm):
    """A clinician asks that consultations held with another programme count for the
    Certificate of Training: group or individual, how many, their hours, with evidence."""

    item_code = None  # consultation credit counts for no catalogue item
    kind = SelectField(
        "Kind of consultations",
        choices=[SelectChoice(kind.value, kind.source_label) for kind in ConsultationKind],
        validators=[DataRequired("Choose group or individual consultations.")],
    )
    consultations = WholeNumberField(
        "How many consultations",
        validators=[InputRequired()],
        minimum=1,
        maximum=MAX_CREDITED_CONSULTATIONS,
    )
    hours = DecimalNumberField(
        "Hours in all",
        validators=[InputRequired()],
        minimum=Decimal("0.25"),
        maximum=Decimal(24 * MAX_CREDITED_CONSULTATIONS),
        places=2,
        description="At most 24 hours a consultation on average.",
    )
    description = TextAreaField(
        "What the consultations covered",
        validators=[DataRequired(), Length(max=5000)],
        description="Who led them (name and credentials), the format, and the topics. "
        "No client information.",
    )
    evidence = FileField(
        "Evidence",
        validators=[
            FileRequired("Attach a letter or record of your consultations."),
            FileSize(max_size=MAX_EVIDENCE_BYTES, message=TOO_LARGE),
        ],
        description=f"A letter or record of the consultations: PDF, PNG or JPEG, at most "
        f"{UPLOAD_MAX_TEXT}.",
    )

    def validate_hours(self, field: DecimalNumberField) -> None:
        """At most a day's hours a consultation, on average."""
        count = self.consultations.data
        if field.data is not None and count and field.data > 24 * count:
            raise ValidationError(f"{count} consultations can hold at most {24 * count} hours.")


class DecisionForm(Form):
    """A reviewer approves or declines a pending request."""

    decision = RadioField(
        "Decision",
        choices=[SelectChoice("approve", "Approve"), SelectChoice("decline", "Decline")],
        validators=[DataRequired("Choose approve or decline.")],
    )
    reason = TextAreaField(
        "Reason",
        validators=[
            RequiredWhen(
                lambda form: form.decision.data == "decline",
                "Give the clinician a reason when you decline.",
            ),
            Length(max=MAX_REASON_LENGTH),
        ],
        description="Shown to the clinician. Required when you decline.",
    )
