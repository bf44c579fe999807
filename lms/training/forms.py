"""Forms of the consultation log, the consultant's answer and the approved consultants."""

from __future__ import annotations

from decimal import Decimal

from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from lms import validation
from lms.forms import DecimalNumberField, Form
from lms.training.models import COMMENT_MAX, TOPIC_MAX, ConsultationKind


class ConsultationForm(Form):
    """A consultation as the clinician logs it."""

    held_on = DateField("Date of the consultation", validators=[DataRequired()])
    consultant_id = SelectField(
        "Consultant", validators=[DataRequired()], choices=[], coerce=str, validate_choice=False
    )
    kind = SelectField(
        "Kind",
        validators=[DataRequired()],
        choices=[SelectChoice(k.value, k.label) for k in ConsultationKind],
    )
    hours = DecimalNumberField(
        "Hours",
        validators=[InputRequired()],
        minimum=Decimal("0.25"),
        maximum=Decimal("1000"),
        places=2,
        description="In quarter hours, at most 24 in one entry.",
    )
    topic = StringField(
        "Topic (optional)",
        validators=[Optional(), Length(max=TOPIC_MAX)],
        description=(
            "A few words on what was discussed. No client information: no names, initials, "
            "dates or details that could identify anyone."
        ),
    )


class AnswerForm(Form):
    """The consultant's answer: confirm, or decline with a comment."""

    comment = TextAreaField(
        "Comment (needed to decline)",
        validators=[Optional(), Length(max=COMMENT_MAX)],
        description="The clinician reads it, so they can correct the entry.",
    )


class VoidForm(Form):
    """Staff void an entry with a reason."""

    reason = StringField("Reason", validators=[DataRequired(), Length(max=COMMENT_MAX)])


class ConsultantForm(Form):
    """A consultant on the approved list."""

    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    credentials = StringField(
        "Credentials", validators=[Optional(), Length(max=200)], description="Like MD, PhD, LMFT."
    )
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=320)])
    approved_on = DateField("Approved from", validators=[DataRequired()])


class RequirementForm(Form):
    """A new version of the credential's requirement: its rule, a note, and whom it holds."""

    rule = TextAreaField(
        "Requirement (a rule in JSON)",
        validators=[DataRequired(), Length(max=validation.MULTI_LINE_MAX)],
        description=(
            'The rule tree retreats use: "all", "any", "at_least" with "of", "completed", '
            '"equivalent", "licensed", and the credential\'s "logged", '
            '"distinct_clients_at_least", "document_approved" and "within_months".'
        ),
    )
    note = StringField(
        "What changed",
        validators=[DataRequired(), Length(max=300)],
        description="Kept with the version and in the audit log.",
    )
    everyone = BooleanField(
        "Hold every present candidate to the new version too",
        description="Otherwise only people who start after today are held to it.",
    )
