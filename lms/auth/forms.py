"""Forms for signing in and registering; they check shape, services check rules."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext
from wtforms import BooleanField, DateField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp

from lms.auth.passwords import MIN_PASSWORD_LENGTH
from lms.auth.services import EMAIL_MAX, Licence, normalise_email
from lms.forms import Form, RequiredWhen, optional_line

# The shape of an address (one @, a dot in the domain, no spaces); whether it is really theirs
# is proven by the confirmation link, not by a validator.
EMAIL_SHAPE = Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="Enter a valid e-mail address.")


def _normal_address(value: object) -> object:
    """A field's text in the address's normal form; no data (None) stays none."""
    return normalise_email(value) if isinstance(value, str) else value


def email_field(label: str = "E-mail", *, shaped: bool = True, **options: str) -> EmailField:
    """An address field whose data is the address in its one normal form (normalise_email):
    what the form hands on is exactly what the lookups and the limits per address use.
    `shaped` asks for the shape of an address (where one is given, not where one signs in)."""
    validators = [DataRequired(), *([EMAIL_SHAPE] if shaped else []), Length(max=EMAIL_MAX)]
    return EmailField(label, validators=validators, filters=[_normal_address], **options)


class LoginForm(Form):
    """E-mail and password."""

    email = email_field(shaped=False)
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


def _licensed(form: Any) -> bool:
    """Whether the person says they hold a licence (not pre-licensed)."""
    return not form.pre_licensed.data


class PersonFields(Form):
    """Name, credentials and licence details (or pre-licensed): registration and profile."""

    name = StringField("Full name", validators=[DataRequired(), Length(max=200)])
    credentials = optional_line("Credentials", 100, 'For example "PMHNP", "LCSW", "MD".')
    pre_licensed = BooleanField("I am pre-licensed (I can take modules but not retreats yet)")
    # A licensed clinician gives at least the licence type and number (lms.auth.accounts
    # refuses a licence without them too).
    licence_type = StringField(
        lazy_gettext("Licence type"),
        validators=[
            RequiredWhen(
                _licensed, lazy_gettext("Enter your licence type (for example LCSW, MD, PMHNP).")
            ),
            Length(max=100),
        ],
    )
    licence_number = StringField(
        lazy_gettext("Licence number"),
        validators=[
            RequiredWhen(
                _licensed, lazy_gettext("Enter your licence number, or tick “pre-licensed”.")
            ),
            Length(max=100),
        ],
    )
    licence_state = optional_line("Issuing state", 50)
    licence_expires_on = DateField(lazy_gettext("Licence expires on"), validators=[Optional()])

    def licence(self) -> Licence:
        """The licence as typed, its text trimmed (None where left empty)."""
        return Licence(
            pre_licensed=bool(self.pre_licensed.data),
            type=(self.licence_type.data or "").strip() or None,
            number=(self.licence_number.data or "").strip() or None,
            state=(self.licence_state.data or "").strip() or None,
            expires_on=self.licence_expires_on.data,
        )


class RegistrationForm(PersonFields):
    """A clinician signs up, with licence details or as pre-licensed."""

    email = email_field()
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)],
        description=f"At least {MIN_PASSWORD_LENGTH} characters.",
    )
    confirm = PasswordField(
        "Repeat password", validators=[DataRequired(), EqualTo("password", "The passwords differ.")]
    )


class ForgotPasswordForm(Form):
    """The address a reset link should go to."""

    email = email_field(shaped=False)


class LinkCodeForm(Form):
    """The code of an e-mailed link (the page's script fills it in from the link): accounts'
    links here, consultants' links in lms.training."""

    code = StringField(
        "The link or code from the e-mail",
        validators=[DataRequired(), Length(max=3000)],
        description="Paste the whole link from the e-mail if this box is empty.",
    )


class NewPasswordForm(Form):
    """A new password, typed twice (reset link and invitation acceptance)."""

    password = PasswordField(
        "New password",
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)],
        description=f"At least {MIN_PASSWORD_LENGTH} characters.",
    )
    confirm = PasswordField(
        "Repeat new password",
        validators=[DataRequired(), EqualTo("password", "The passwords differ.")],
    )


class ProfileForm(PersonFields):
    """Name, credentials and licence details."""


def _current_password(**options: str) -> PasswordField:
    """The current password, which authorises a change to one's own address or password."""
    return PasswordField(
        "Current password", validators=[DataRequired(), Length(max=200)], **options
    )


class ChangeEmailForm(Form):
    """A new address, authorised by the current password."""

    new_email = email_field("New e-mail")
    # Its own id: the password form on the same page has a current_password field too.
    current_password = _current_password(id="email_current_password")


class ChangePasswordForm(NewPasswordForm):
    """A new password, authorised by the current one."""

    current_password = _current_password()


class NotificationsForm(Form):
    """Whether optional e-mails are wanted."""

    notify_optional = BooleanField(
        "E-mail me optional news too (a retreat opened, a certificate is ready, daily digest)"
    )


class InviteForm(Form):
    """An administrator invites a member of staff."""

    name = StringField("Full name", validators=[DataRequired(), Length(max=200)])
    email = email_field()
    instructor = BooleanField("Instructor")
    medical_reviewer = BooleanField("Medical reviewer")
