"""Forms of the admin pages: list filters (GET, no token) and the account actions (POST)."""

from __future__ import annotations

from flask_babel import lazy_gettext
from wtforms import (
    BooleanField,
    DateField,
    SearchField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import Optional, ValidationError
from wtforms.widgets import HiddenInput

from lms.auth.api import Role
from lms.bounds import MAX_ID
from lms.forms import FilterForm, Form, MultiCheckboxField, WholeNumberField

ROLE_CHOICES = [SelectChoice(role.value, role.label) for role in Role]


class UserFilterForm(FilterForm):
    """Search and filters of the users list."""

    q = SearchField(
        "Search",
        validators=[Optional()],
        description=lazy_gettext("Part of a name, an e-mail address or a licence number."),
    )
    role = SelectField("Role", choices=[SelectChoice("", "Any role"), *ROLE_CHOICES], default="")
    status = SelectField(
        "Account",
        choices=[
            SelectChoice("", "Active or not"),
            SelectChoice("active", "Active"),
            SelectChoice("inactive", "Deactivated"),
        ],
        default="",
    )
    licence_unverified = BooleanField(lazy_gettext("Only licences waiting for verification"))


class AuditFilterForm(FilterForm):
    """Filters of the audit log browser."""

    action = SelectField("Action", choices=[SelectChoice("", "Any action")], default="")
    actor = StringField("Done by", validators=[Optional()], description="Name or e-mail.")
    person = StringField("Concerning", validators=[Optional()], description="Name or e-mail.")
    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])
    actor_id = WholeNumberField(
        "Actor id", validators=[Optional()], minimum=1, maximum=MAX_ID, widget=HiddenInput()
    )
    person_id = WholeNumberField(
        "Person id", validators=[Optional()], minimum=1, maximum=MAX_ID, widget=HiddenInput()
    )

    def set_actions(self, actions: list[str]) -> None:
        """Offer the actions present in the trail (plus the one asked for, kept visible)."""
        known = list(actions)
        if self.action.data and self.action.data not in known:
            known.append(self.action.data)
        self.action.choices = [SelectChoice("", "Any action"), *[SelectChoice(a) for a in known]]

    def validate_date_to(self, field: DateField) -> None:
        """A range must not end before it starts."""
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The end date is before the start date.")


class RolesForm(Form):
    """The roles a person holds."""

    roles = MultiCheckboxField("Roles", choices=ROLE_CHOICES)

    def validate_roles(self, field: MultiCheckboxField) -> None:
        """A person keeps at least one role."""
        if not field.data:
            raise ValidationError("Tick at least one role.")
