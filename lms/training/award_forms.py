"""Forms of the award and of the directory listing."""

from __future__ import annotations

from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length

from lms.forms import Form
from lms.training.directory import CITY_MAX, STATE_MAX


class AwardForm(Form):
    """Staff confirm the award."""

    confirm = BooleanField(
        "I have checked the record: award the Certificate of Training",
        validators=[DataRequired()],
    )


class ListingForm(Form):
    """Where a certified practitioner is listed: a city and a state, nothing more."""

    city = StringField("City", validators=[DataRequired(), Length(max=CITY_MAX)])
    state = StringField(
        "State",
        validators=[DataRequired(), Length(max=STATE_MAX)],
        description="For example CA or Oregon.",
    )


class UnlistForm(Form):
    """Take oneself out of the directory (the CSRF token only)."""
