"""Forms for retreat applications with screening, medical review and attendance."""

from __future__ import annotations

from wtforms import (
    FormField,
    RadioField,
    SelectChoice,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from lms.forms import Form, SubForm
from lms.retreats.screening import CONTRAINDICATIONS, MAX_DETAIL, ScreeningAnswer, ScreeningInput


class _Question(SubForm):
    """One contraindication: yes/no and room for detail (no CSRF: part of the outer form)."""

    answer = RadioField(
        "Answer",
        choices=[SelectChoice("no", "No"), SelectChoice("yes", "Yes")],
        validators=[InputRequired("Answer yes or no.")],
    )
    detail = TextAreaField("Details (optional)", validators=[Optional(), Length(max=MAX_DETAIL)])


def _screening_form_class() -> type[Form]:
    """The application form: one sub-form per contraindication, plus a free-text question."""

    class ApplicationForm(Form):
        """A clinician applies to a session and answers the medical screening."""

        anything_else = TextAreaField(
            "Anything else a physician should know",
            validators=[Optional(), Length(max=MAX_DETAIL * 2)],
            description="Medication, recent surgery, pregnancy, or anything you are unsure about.",
        )

        @property
        def questions(self) -> list[tuple[str, str, FormField]]:
            """(code, label, sub-form) in the order of the screening."""
            return [(code, label, self[code]) for code, label in CONTRAINDICATIONS]

        def screening(self) -> ScreeningInput:
            """The answers as the service takes them."""
            return ScreeningInput(
                answers=tuple(
                    ScreeningAnswer(
                        code=code,
                        yes=sub.form.answer.data == "yes",
                        detail=(sub.form.detail.data or "").strip(),
                    )
                    for code, _label, sub in self.questions
                ),
                anything_else=(self.anything_else.data or "").strip(),
            )

    for code, label in CONTRAINDICATIONS:
        setattr(ApplicationForm, code, FormField(_Question, label=label))
    return ApplicationForm


ApplicationForm = _screening_form_class()


class ScreeningDecisionForm(Form):
    """A medical reviewer clears an applicant or not."""

    decision = RadioField(
        "Decision",
        choices=[
            SelectChoice("clear", "Clear to attend"),
            SelectChoice("not_clear", "Not cleared"),
        ],
        validators=[InputRequired("Choose clear or not cleared.")],
    )


class AttendanceForm(Form):
    """An instructor marks whether an accepted clinician attended."""

    outcome = RadioField(
        "Attendance",
        choices=[SelectChoice("attended", "Attended"), SelectChoice("absent", "Absent")],
        validators=[InputRequired("Choose attended or absent.")],
    )
