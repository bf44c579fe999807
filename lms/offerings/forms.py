"""Forms for scheduling offerings and enrolling people in them."""

from __future__ import annotations

from flask_babel import lazy_gettext
from wtforms import (
    BooleanField,
    DateField,
    FileField,
    HiddenField,
    SearchField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from lms.audit.api import REASON_MAX
from lms.forms import FilterForm, Form, MultiCheckboxField, WholeNumberField, whole_id
from lms.offerings.listing import SHOWN_LABELS, Shown
from lms.offerings.models import OfferingFormat
from lms.offerings.schedule import MAX_CAPACITY, MAX_JOIN_URL, MAX_LOCATION

DAYS_HELP = lazy_gettext(
    "One day per line: the date, then optionally the hours (programme time) and the CE hours, "
    "like 2027-01-12 09:00-17:00 7. Live online days need their hours."
)


class OfferingForm(Form):
    """Staff schedule or change a dated run of a module or retreat."""

    item_code = SelectField("Module or retreat", validators=[DataRequired()], choices=[])
    format = SelectField(
        "Format",
        choices=[SelectChoice(f.value, f.label) for f in OfferingFormat],
        validators=[DataRequired()],
    )
    days = TextAreaField(
        "Days", validators=[DataRequired(), Length(max=2000)], description=DAYS_HELP
    )
    location = StringField(
        "Location",
        validators=[Optional(), Length(max=MAX_LOCATION)],
        description="Where it takes place (in person). Leave empty for live online.",
    )
    join_url = StringField(
        "Join link",
        validators=[Optional(), Length(max=MAX_JOIN_URL)],
        description="The video meeting's https:// link: shown to enrolled people only.",
    )
    capacity = WholeNumberField(
        "Places", validators=[InputRequired()], minimum=0, maximum=MAX_CAPACITY
    )
    enrolment_deadline = DateField(
        lazy_gettext("Enrolment deadline"),
        validators=[Optional()],
        description=lazy_gettext(
            "Last day to enrol or apply. Leave empty for “until the day before”."
        ),
    )
    facilitators = MultiCheckboxField("Facilitators", coerce=whole_id, choices=[])
    cancelled = BooleanField(
        lazy_gettext("Cancelled (hidden from clinicians, places kept on record)")
    )
    # Sent only by the confirmation page's button: the calendar SEQUENCE the admin confirmed
    # the change against (a change someone else made meanwhile asks again).
    confirmed = StringField(validators=[Optional(), Length(max=12)])


class BulkEnrolForm(Form):
    """Staff paste e-mail addresses to enrol."""

    emails = TextAreaField(
        "E-mail addresses",
        validators=[DataRequired(), Length(max=40_000)],
        description="One per line, or separated by commas. Unknown addresses are listed; "
        "no account is created.",
    )
    anyway = BooleanField("Enrol them even if some already have this module (repeating it)")


class ImportForm(Form):
    """Staff upload a shop's export (columns email,enrolled_on)."""

    file = FileField("Shop export (CSV)", validators=[DataRequired()])


class FindPersonForm(Form):
    """Staff search for someone to enrol."""

    q = StringField("Name or e-mail", validators=[Optional(), Length(max=200)])


class ReportForm(Form):
    """A facilitator uploads a day's participant report (Zoom's CSV)."""

    file = FileField("Participant report (CSV)", validators=[DataRequired()])


class PeriodForm(Form):
    """The period of a CE award export (both days included)."""

    from_on = DateField("From", validators=[DataRequired()])
    to_on = DateField("To", validators=[DataRequired()])


class OfferingFilterForm(FilterForm):
    """Which offerings the staff's list shows, searched by module or retreat."""

    shown = SelectField(
        "Show",
        choices=[SelectChoice(value.value, label) for value, label in SHOWN_LABELS.items()],
        default=Shown.UPCOMING.value,
    )
    q = SearchField(
        "Module or retreat",
        validators=[Optional(), Length(max=100)],
        description="Part of its title or code.",
    )


class CloseForm(Form):
    """Closing an offering, confirmed on the page that lists what it will record."""

    plan = HiddenField()  # the plan's fingerprint as the page showed it
    reason = TextAreaField(
        "Reason for revoking completions",
        validators=[Optional(), Length(max=REASON_MAX)],
        description="Goes with each revoked completion and its certificate.",
    )


class ReopenForm(Form):
    """An administrator reopens a closed offering to correct its attendance."""

    reason = TextAreaField(
        "Why reopen it",
        validators=[DataRequired("Give a reason for reopening."), Length(max=REASON_MAX)],
        description="What is to be corrected; kept in the audit log and offered as the reason "
        "for any completion revoked when it is closed again.",
    )
