"""Forms for marking and revoking completions; they check shape, services check rules."""

from __future__ import annotations

from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from lms.clock import today
from lms.forms import Form
from lms.progress.marking import NOTE_MAX, REASON_MAX


def _module() -> SelectField:
    """The module marked complete (its choices are set by the page)."""
    return SelectField("Module", validators=[InputRequired("Choose a module.")])


def _training_day(description: str = "") -> DateField:
    """The day the training happened, today unless given."""
    return DateField(
        "Date the training happened",
        default=today,
        validators=[InputRequired("Give the date (YYYY-MM-DD).")],
        description=description,
    )


class MarkForm(Form):
    """Mark one module complete for one clinician."""

    item_code = _module()
    completed_on = _training_day("Today unless the training happened on another day.")
    note = TextAreaField(
        "Note (optional)",
        validators=[Optional(), Length(max=NOTE_MAX)],
        description="For example the cohort or the instructor who taught it.",
    )


class RevokeForm(Form):
    """Revoke a mistaken completion; the reason is kept in the history."""

    reason = StringField(
        "Reason",
        validators=[DataRequired("Give a reason for revoking."), Length(max=REASON_MAX)],
        description="Shown in the history, for example “marked for the wrong person”.",
    )


class CohortForm(Form):
    """Mark one module complete for many clinicians at once."""

    item_code = _module()
    completed_on = _training_day()
    note = TextAreaField("Note (optional)", validators=[Optional(), Length(max=NOTE_MAX)])
    emails = TextAreaField(
        "Or paste e-mail addresses",
        validators=[Optional(), Length(max=100_000)],
        description="One per line, or separated by commas or spaces. Added to the ticked ones.",
    )
