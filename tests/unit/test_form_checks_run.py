"""A form's own check of a field runs when the field is left empty.

WTForms calls a form's inline `validate_<field>` after the field's validators, and
`Optional()` stops that chain on an empty value: a "required when ..." check on an Optional
field never runs, and the person gets the service's refusal at the top of the page instead
of the reason beside the field. (Found on 7 Dec 2026 in five forms: a decline without a
reason, changes asked for without a comment, a licence left out at registration, a signature
line with credentials but no name, an accreditor's name without its statement.) Such a rule is
`lms.forms.RequiredWhen` instead.
"""

from __future__ import annotations

import importlib

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import Form
from wtforms.fields.core import UnboundField
from wtforms.validators import Optional

# Fields that need Optional() (an empty date is otherwise "Not a valid date value") and whose
# inline check only compares a value that was given.
ONLY_GIVEN_VALUES = {
    "AuditFilterForm.date_to": "a range ending before it starts needs an end date",
}


def _all_forms() -> list[type[Form]]:
    """Every form class of the tracker's (all imported once the app is made)."""
    found, todo = [], [Form]
    while todo:
        for child in todo.pop().__subclasses__():
            todo.append(child)
            if child.__module__.startswith("lms."):
                found.append(child)
    return found


def _validators(field: UnboundField) -> list[object]:
    """The validators an unbound field was declared with."""
    given = field.kwargs.get("validators")
    if given is None and len(field.args) > 1:
        given = field.args[1]
    return list(given or [])


def test_no_inline_check_sits_behind_optional(app) -> None:
    hidden = sorted(
        f"{form.__name__}.{name}"
        for form in _all_forms()
        for name in dir(form)
        if isinstance(getattr(form, name, None), UnboundField)
        and callable(getattr(form, f"validate_{name}", None))
        and any(isinstance(v, Optional) for v in _validators(getattr(form, name)))
    )
    assert len(_all_forms()) > 30  # the app's forms were found
    assert [name for name in hidden if name not in ONLY_GIVEN_VALUES] == []
    assert set(ONLY_GIVEN_VALUES) <= set(hidden), "an allowed entry no longer exists"


@pytest.mark.parametrize(
    ("module", "form_name", "data", "field", "message"),
    [
        (
            "lms.equivalency.forms",
            "DecisionForm",
            {"decision": "decline", "reason": ""},
            "reason",
            "Give the clinician a reason when you decline.",
        ),
        (
            "lms.training.records_forms",
            "ReviewForm",
            {"decision": "changes", "comment": "  "},
            "comment",
            "Say what should change: the clinician reads your comment.",
        ),
        (
            "lms.auth.forms",
            "RegistrationForm",
            {"name": "Ada Lovelace", "licence_type": "LCSW"},
            "licence_number",
            "Enter your license number, or check “pre-licensed”.",  # en-US, the default
        ),
        (
            "lms.auth.forms",
            "RegistrationForm",
            {"name": "Ada Lovelace", "licence_number": "LC 123"},
            "licence_type",
            "Enter your license type (for example LCSW, MD, PMHNP).",
        ),
        (
            "lms.admin.programme_forms",
            "SignatoryForm",
            {"credentials": "PhD"},
            "name",
            "Give the name of the person who signs.",
        ),
        (
            "lms.admin.programme_forms",
            "AccreditationForm",
            {"body": "California Board of Behavioral Sciences"},
            "statement",
            "Give the statement the accreditor approved.",
        ),
        (
            "lms.admin.programme_forms",
            "AccreditationForm",
            {"statement": "Approved to sponsor continuing education."},
            "body",
            "Name the accrediting body.",
        ),
        (
            "lms.equivalency.forms",
            "RequestForm",
            {"programme": "Other", "programme_other": ""},
            "programme_other",
            "Name the other program.",
        ),
    ],
)
def test_a_required_when_check_names_the_empty_field(
    app, module: str, form_name: str, data: dict, field: str, message: str
) -> None:
    form_class = getattr(importlib.import_module(module), form_name)
    with app.test_request_context(method="POST"):
        form = form_class(MultiDict(data), meta={"csrf": False})
        form.validate()
        assert form.errors[field] == [message]


@pytest.mark.parametrize(
    ("module", "form_name", "data", "field"),
    [
        ("lms.equivalency.forms", "DecisionForm", {"decision": "approve", "reason": " "}, "reason"),
        ("lms.training.records_forms", "ReviewForm", {"decision": "approve"}, "comment"),
        ("lms.auth.forms", "RegistrationForm", {"pre_licensed": "y"}, "licence_number"),
        ("lms.admin.programme_forms", "SignatoryForm", {}, "name"),
        ("lms.admin.programme_forms", "AccreditationForm", {}, "statement"),
    ],
)
def test_left_empty_where_nothing_needs_it_is_fine(
    app, module: str, form_name: str, data: dict, field: str
) -> None:
    form_class = getattr(importlib.import_module(module), form_name)
    with app.test_request_context(method="POST"):
        form = form_class(MultiDict(data), meta={"csrf": False})
        form.validate()
        assert field not in form.errors
