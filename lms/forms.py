"""The base of every form: lms.validation's checks of text and dates bound to each field.

Every form of the tracker derives from `Form`, whose Meta adds the checks by the field's
type when the form is built, so a field added later is covered without anyone remembering:
a one-line field (StringField, EmailField, SearchField, HiddenField) is trimmed and checked
as single-line text; a TextAreaField as multi-line text; a DateField must fall in 1900-2100.
Numbers are typed into WholeNumberField or DecimalNumberField, which read ASCII digits only and
bound them before anything converts or compares them; a form with a plain IntegerField,
DecimalField or FloatField (whose checks overflow on a 400-digit number) fails as it is built.
Passwords are left exactly as typed. A field's own Length(max=...) bounds it; without one,
lms.validation's default bound applies.

Two things of markup the same way, for valid HTML that assistive technology can rely on: hidden
inputs (the CSRF token) carry no id, so pages with several forms repeat none, and a required
single select starts on an empty "Choose…" option (PromptingSelect).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import wtforms
from flask_babel import LazyString
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import (
    DateField,
    DecimalField,
    FloatField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, Optional, StopValidation, ValidationError
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget, NumberInput, Select

from lms import validation
from lms.bounds import MAX_PAGE


def _trim(value: Any) -> Any:
    """Trim text; leave other data (None, a list) alone."""
    return validation.trim(value) if isinstance(value, str) else value


class _TextCheck:
    """Text checked by one of lms.validation's functions naming what is wrong, if anything."""

    def __init__(
        self, problem: Callable[[str, int | None], str | None], max_length: int | None
    ) -> None:
        """Check with `problem`, bounding the length to `max_length` (None: no bound)."""
        self.problem = problem
        self.max_length = max_length

    def __call__(self, form: Any, field: Any) -> None:
        """Raise ValidationError with the reason, if any."""
        if isinstance(field.data, str):
            problem = self.problem(field.data, self.max_length)
            if problem:
                raise ValidationError(problem)


class SingleLine(_TextCheck):
    """Single-line text: no control character, not only invisible characters, bounded."""

    def __init__(self, max_length: int | None = validation.SINGLE_LINE_MAX) -> None:
        """Bound the length (None when a Length validator already does)."""
        super().__init__(validation.line_problem, max_length)


class MultiLine(_TextCheck):
    """Multi-line text: line breaks and tabs, no other control character, bounded."""

    def __init__(self, max_length: int | None = validation.MULTI_LINE_MAX) -> None:
        """Bound the length (None when a Length validator already does)."""
        super().__init__(validation.text_problem, max_length)


class RequiredWhen:
    """`Optional()` unless the rest of the form needs the field: left empty, the field is fine
    (its other checks skipped, as Optional does) while `needed(form)` is false, and refused
    with `message` beside it while true.

    A form's inline `validate_<field>` cannot say this: Optional() stops the chain on an empty
    field before it runs (tests/unit/test_form_checks_run.py).
    """

    field_flags = {"optional": True}

    def __init__(self, needed: Callable[[Any], bool], message: str | LazyString) -> None:
        """The rule that makes the field needed, and what to say when it is left empty (a
        lazy string is read in the locale of the request that validates)."""
        self.needed = needed
        self.message = message

    def __call__(self, form: Any, field: Any) -> None:
        """Stop the chain on an empty field: with the message when it is needed. Empty is
        what the stored value would be: nothing once spaces and zero-width characters are
        trimmed (lms.validation.trim), as every one-line field is."""
        raw = field.raw_data
        if not raw or (isinstance(raw[0], str) and not validation.trim(raw[0])):
            field.errors[:] = []
            if self.needed(form):
                raise StopValidation(str(self.message))
            raise StopValidation()


def given(name: str) -> Callable[[Any], bool]:
    """A RequiredWhen rule: the form's field `name` holds something once trimmed."""
    return lambda form: bool(validation.trim(str(form[name].data or "")))


class SensibleDate:
    """A date between 1900 and 2100."""

    def __call__(self, form: Any, field: Any) -> None:
        """Raise ValidationError when the date lies outside the bounds."""
        if field.data is not None:
            problem = validation.date_problem(field.data)
            if problem:
                raise ValidationError(problem)


class _ParsedNumber:
    """A number field's reading of the posted text: its own `parse` (one of lms.validation's,
    bounded before anything converts), never wtforms' conversion."""

    message: str

    def parse(self, text: str | None) -> Any:
        """The number the text holds within the field's bounds, or None."""
        raise NotImplementedError

    def process_formdata(self, valuelist: list[Any]) -> None:
        """The number, or None with the field's error when the text is not one in range."""
        if not valuelist:
            return
        raw = valuelist[0]
        number = self.parse(raw if isinstance(raw, str) else None)
        self.data = number
        if number is None and (not isinstance(raw, str) or raw.strip()):
            raise ValueError(self.message)


class WholeNumberField(_ParsedNumber, IntegerField):
    """A whole number from `minimum` to `maximum` in ASCII digits (an optional minus).

    The one number field of the tracker: the text is bounded by its length before it is
    converted, so a 400-digit number is a field error like any other, and the bounds must fit
    a database INTEGER (lms.validation refuses wider ones when the field is declared).
    """

    def __init__(
        self,
        label: str | None = None,
        validators: Any = None,
        *,
        minimum: int,
        maximum: int,
        message: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Declare the bounds; the input shows them to the browser as min and max."""
        validation.check_integer_bounds(minimum, maximum)
        kwargs.setdefault("widget", NumberInput(min=minimum, max=maximum))
        super().__init__(label, validators, **kwargs)
        self.minimum, self.maximum = minimum, maximum
        self.message = message or validation.whole_number_message(minimum, maximum)

    def parse(self, text: str | None) -> int | None:
        """The whole number the text holds within the bounds, or None."""
        return validation.whole_number_or_none(text, minimum=self.minimum, maximum=self.maximum)


class DecimalNumberField(_ParsedNumber, DecimalField):
    """A decimal from `minimum` to `maximum` with at most `places` decimals, in ASCII digits.

    No exponent (1e999999999 would take hours to turn into an integer), no NaN (a signalling
    NaN breaks wtforms' range check) and no digits of other scripts.
    """

    def __init__(
        self,
        label: str | None = None,
        validators: Any = None,
        *,
        minimum: Decimal,
        maximum: Decimal,
        places: int = 2,
        **kwargs: Any,
    ) -> None:
        """Declare the bounds; the input shows them to the browser as min and max."""
        step = f"0.{'0' * (places - 1)}1" if places else "1"
        kwargs.setdefault("widget", NumberInput(step=step, min=minimum, max=maximum))
        super().__init__(label, validators, places=places, **kwargs)
        self.minimum, self.maximum, self.decimals = minimum, maximum, places
        self.message = (
            f"Enter a number from {minimum} to {maximum}, with at most {places} decimals."
        )

    def parse(self, text: str | None) -> Decimal | None:
        """The decimal the text holds within the bounds and places, or None."""
        return validation.decimal_or_none(
            text, minimum=self.minimum, maximum=self.maximum, places=self.decimals
        )


def whole_id(value: Any) -> int:
    """A select's coerce for database ids: ASCII digits from 1 to the largest INTEGER."""
    if isinstance(value, int) and not isinstance(value, bool):
        number: int | None = value if 1 <= value <= validation.INTEGER_MAX else None
    else:
        number = validation.whole_number_or_none(
            value if isinstance(value, str) else None, minimum=1, maximum=validation.INTEGER_MAX
        )
    if number is None:
        raise ValueError("not an id")
    return number


_UNBOUNDED_NUMBERS = (IntegerField, DecimalField, FloatField)
_BOUNDED_NUMBERS = (WholeNumberField, DecimalNumberField)


def _has_length_bound(validators: list[Any]) -> bool:
    """Whether a Length(max=...) validator already bounds the field."""
    return any(isinstance(v, Length) and v.max is not None and v.max >= 0 for v in validators)


def shared_checks(field_class: type, validators: list[Any]) -> tuple[list[Any], list[Any]]:
    """(extra validators, extra filters) the tracker binds to a field of this class."""
    if issubclass(field_class, PasswordField):
        return [], []
    bounded = _has_length_bound(validators)
    if issubclass(field_class, TextAreaField):
        return [MultiLine(None if bounded else validation.MULTI_LINE_MAX)], []
    if issubclass(field_class, StringField):
        return [SingleLine(None if bounded else validation.SINGLE_LINE_MAX)], [_trim]
    if issubclass(field_class, DateField):
        return [SensibleDate()], []
    return [], []


def optional_line(label: str, max_length: int, description: str = "") -> StringField:
    """A one-line text field that may be left empty, at most `max_length` characters."""
    return StringField(
        label, validators=[Optional(), Length(max=max_length)], description=description
    )


PLACEHOLDER_CHOICE = "Choose…"


class PromptingSelect(Select):
    """A one-choice select that, when required, starts on an empty "Choose…" option.

    HTML asks it of a required select (its first option must be empty, or the browser's
    required check can never fail), and the person picks a module or a retreat on purpose
    instead of sending whatever happened to come first. A choice already made stays selected.
    """

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        """The select, with the empty first option when it is required and lacks one."""
        html = super().__call__(field, **kwargs)
        required = kwargs.get("required", getattr(field.flags, "required", False))
        choices = list(field.iter_choices())
        if self.multiple or not required or (choices and choices[0].value == ""):
            return html
        chosen = any(choice.selected for choice in choices)
        prompt = Markup('<option value=""{}>{}</option>').format(
            "" if chosen else Markup(" selected"), PLACEHOLDER_CHOICE
        )
        # The first ">" closes the <select> tag: attribute values have theirs escaped.
        opening, options = html.split(">", 1)  # Markup parts: format keeps them as they are
        return Markup("{}>{}{}").format(opening, prompt, options)


class SharedChecksMeta:
    """Form Meta that binds the shared checks to every field as the form is built."""

    def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
        """Bind the field with the shared validators and filters appended to its own.

        A single select gets PromptingSelect unless it names a widget of its own.
        """
        if len(unbound_field.args) > 1:
            raise TypeError("pass a field's validators as validators=[...], not by position")
        field_class = unbound_field.field_class
        if issubclass(field_class, _UNBOUNDED_NUMBERS) and not issubclass(
            field_class, _BOUNDED_NUMBERS
        ):
            raise TypeError(
                f"{field_class.__name__} does not bound its number: use lms.forms."
                "WholeNumberField or DecimalNumberField"
            )
        validators = list(unbound_field.kwargs.get("validators") or [])
        filters = list(unbound_field.kwargs.get("filters") or [])
        extra_validators, extra_filters = shared_checks(unbound_field.field_class, validators)
        if (
            issubclass(unbound_field.field_class, SelectField)
            and not issubclass(unbound_field.field_class, SelectMultipleField)
            and "widget" not in unbound_field.kwargs
        ):
            options = {**options, "widget": PromptingSelect()}
        return unbound_field.bind(
            form=form,
            validators=validators + extra_validators,
            filters=extra_filters + filters,
            **options,
        )


class Form(FlaskForm):
    """A FlaskForm whose fields all carry the shared checks (CSRF as FlaskForm does it)."""

    Meta = SharedChecksMeta

    def hidden_tag(self, *fields: Any) -> Markup:
        """The form's hidden inputs (its CSRF token among them), written without an id.

        Nothing labels or targets a hidden input, and with ids a page holding several forms
        repeats id="csrf_token", which is invalid HTML.
        """
        chosen = [getattr(self, f) if isinstance(f, str) else f for f in fields] or list(self)
        hidden = [f for f in chosen if isinstance(f.widget, HiddenInput)]
        return Markup("\n").join(f(id=False) for f in hidden)


class SubForm(wtforms.Form):
    """A form nested in another with FormField (no CSRF of its own), with the shared checks."""

    Meta = SharedChecksMeta


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class FilterForm(Form):
    """A GET form read from the query string: it changes nothing, so it carries no token."""

    class Meta:
        """Filters are links people bookmark and share; CSRF tokens do not belong in them."""

        csrf = False

    page = WholeNumberField(
        "Page",
        validators=[Optional()],
        minimum=1,
        maximum=MAX_PAGE,
        default=1,
        widget=HiddenInput(),
    )
