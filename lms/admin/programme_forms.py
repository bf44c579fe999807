"""The programme settings form: provider, language, signatories and accreditations."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from lms.forms import Form, MultiLine, RequiredWhen, SingleLine, SubForm, given
from lms.i18n import DEFAULT_LOCALE, SUPPORTED_LOCALES

LOCALE_WORDS = {
    "en-US": "English (United States): License, December 5, 2026",
    "en-GB": "English (United Kingdom): Licence, 5 December 2026",
}
LOCALES = tuple(SelectChoice(code, LOCALE_WORDS[code]) for code in SUPPORTED_LOCALES)
ROUNDINGS = (
    SelectChoice("nearest", "To the nearest step"),
    SelectChoice("down", "Down to a whole step"),
)
SIGNATORY_SLOTS = 2
# Room for one more accreditation than the programme has.
EXTRA_ACCREDITATIONS = 1


def _credit_step(form: Any, field: Any) -> None:
    """A step of hours such as 0.25 (empty: the accreditor's usual step)."""
    text = (field.data or "").strip()
    if not text:
        return
    try:
        if not 0 < Decimal(text) <= 10:
            raise InvalidOperation
    except InvalidOperation:
        raise ValidationError("Give the step as a number of hours, such as 0.25.") from None


class SignatoryForm(SubForm):
    """One person who signs certificates."""

    name = StringField(
        "Name",
        validators=[
            # A title or credentials without a name would print a signature line for nobody.
            RequiredWhen(
                lambda form: bool(given("title")(form) or given("credentials")(form)),
                "Give the name of the person who signs.",
            ),
            SingleLine(120),
        ],
    )
    credentials = StringField(
        "Credentials", validators=[Optional(), SingleLine(80)], description="For example PhD, LMFT."
    )
    title = StringField(
        "Title",
        validators=[Optional(), SingleLine(160)],
        description="For example Director of Training.",
    )
    signature = FileField(
        "Signature image",
        description="A PNG or SVG of the signature (at most 512 KB); it prints above the name.",
    )
    remove_signature = BooleanField("Remove the signature image")


class AccreditationForm(SubForm):
    """One accreditor's statement, its number and its credits."""

    # A statement needs its body, and a body its statement (both empty removes it).
    body = StringField(
        "Accrediting body",
        validators=[
            RequiredWhen(given("statement"), "Name the accrediting body."),
            SingleLine(200),
        ],
    )
    statement = TextAreaField(
        "Statement",
        validators=[
            RequiredWhen(given("body"), "Give the statement the accreditor approved."),
            MultiLine(5000),
        ],
    )
    number_label = StringField(
        "Number label",
        validators=[Optional(), SingleLine(60)],
        description="For example Approval number or Provider number.",
    )
    number = StringField("Number", validators=[Optional(), SingleLine(60)])
    example = BooleanField("This statement and number are examples, not a real approval")
    credit_type = StringField(
        "Credit type",
        validators=[Optional(), SingleLine(200)],
        description="For example AMA PRA Category 1 Credits™ or CE hours for LMFTs.",
    )
    credit_step = StringField(
        "Credit step",
        validators=[Optional(), Length(max=10), _credit_step],
        description="Hours the credits go in, such as 0.25 (empty: hundredths; AMA PRA: 0.25).",
    )
    rounding = SelectField("Rounding", choices=ROUNDINGS, default="nearest")


class ProgrammeSettingsForm(Form):
    """What every certificate prints about the provider, and the programme's language."""

    provider_name = StringField(
        "Provider name", validators=[DataRequired("Give the provider's name."), SingleLine(200)]
    )
    provider_address = TextAreaField(
        "Provider address",
        validators=[Optional(), MultiLine(500)],
        description="The postal address boards expect, one line per line.",
    )
    logo = FileField(
        "Provider logo",
        description="A PNG or SVG (at most 512 KB), printed above the provider's name on "
        "certificates and shown on the public verification page.",
    )
    remove_logo = BooleanField("Remove the logo")
    locale = SelectField(
        "Language of pages, certificates and mail",
        choices=LOCALES,
        default=DEFAULT_LOCALE,
        description="Spelling and the way dates and numbers are written.",
    )
    practitioner_directory = BooleanField(
        "Publish the directory of certified practitioners",
        description="A public page listing holders of the Certificate of Training who chose "
        "to be listed (name, credentials, city and state). Nobody is listed unless they ask.",
    )
    signatories = FieldList(
        FormField(SignatoryForm), min_entries=SIGNATORY_SLOTS, max_entries=SIGNATORY_SLOTS
    )
    accreditations = FieldList(FormField(AccreditationForm), max_entries=20)
