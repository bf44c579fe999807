"""The admin's item form: it checks the shape of input; the catalogue service checks rules."""

from __future__ import annotations

from flask_babel import lazy_gettext
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from lms.forms import Form, WholeNumberField, optional_line


class ItemForm(Form):
    """Editable fields of a catalogue item (code, kind and rules come from the file)."""

    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    short_title = optional_line(
        "Short title", 80, 'Used in explanations, for example "Complete Module 1".'
    )
    description = TextAreaField("Description", validators=[Optional(), Length(max=20_000)])
    format = optional_line("Format", 80, 'For example "Live online" or "In person".')
    ce_hours = optional_line("CE hours", 20, "Leave empty for none. Retreats carry no CE hours.")
    position = WholeNumberField(
        "Position",
        validators=[InputRequired(message="Give a whole number.")],
        minimum=-1_000_000,
        maximum=1_000_000,
        description="Items are listed in increasing order of position.",
    )
    active = BooleanField(lazy_gettext("Active (offered in the programme)"))
    recommended_note = optional_line(
        "Recommendation note", 300, "Shown beside the item while its recommended rule is not met."
    )
    equivalent_label = optional_line(
        "Equivalent training label", 200, 'Completes "Have an equivalent … approved".'
    )

    def changes(self) -> dict[str, object]:
        """The submitted values, keyed like the service's editable fields."""
        return {
            "title": self.title.data,
            "short_title": self.short_title.data or "",
            "description": self.description.data or "",
            "format": self.format.data or "",
            "ce_hours": self.ce_hours.data or "",
            "position": self.position.data,
            "active": bool(self.active.data),
            "recommended_note": self.recommended_note.data or "",
            "equivalent_label": self.equivalent_label.data or "",
        }
