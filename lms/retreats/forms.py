"""Forms for retreat applications with screening, medical review and attendance."""

from __future__ import annotations

from flask_babel import lazy_gettext
from wtforms import (
    FormField,
    RadioField,
    SelectChoice,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from lms.forms import Form, SubForm
from lms.retreats.screening import (
    CONTRAINDICATIONS,
    MAX_DETAIL,
    MAX_MESSAGE,
    ScreeningAnswer,
    ScreeningInput,
)


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


_DECISIONS = [SelectChoice("clear", "Clear to attend"), SelectChoice("not_clear", "Not cleared")]
_NOTE_HELP = "Only medical reviewers read it; it is kept encrypted like the screening answers."


class ScreeningDecisionForm(Form):
    """A medical reviewer clears an applicant or not, with a note for other reviewers."""

    decision = RadioField(
        "Decision", choices=_DECISIONS, validators=[InputRequired("Choose clear or not cleared.")]
    )
    note = TextAreaField(
        "Note (optional)",
        validators=[Optional(), Length(max=MAX_MESSAGE)],
        description=_NOTE_HELP,
    )


class ChangeDecisionForm(Form):
    """A medical reviewer changes an earlier decision, saying why."""

    decision = RadioField(
        "New decision",
        choices=_DECISIONS,
        validators=[InputRequired("Choose clear or not cleared.")],
    )
    note = TextAreaField(
        "Why the decision changes",
        validators=[InputRequired("Say why the decision changes."), Length(max=MAX_MESSAGE)],
        description=_NOTE_HELP,
    )


class QuestionForm(Form):
    """A medical reviewer asks the applicant for more information."""

    question = TextAreaField(
        "Question to the applicant",
        validators=[InputRequired("Write the question."), Length(max=MAX_MESSAGE)],
        description=(
            "The applicant reads it on their retreats page; the e-mail only says a question "
            "is waiting. The application leaves the queue until they answer."
        ),
    )


class AnswerForm(Form):
    """The applicant answers the medical reviewer's question."""

    answer = TextAreaField(
        "Your answer",
        validators=[InputRequired("Write your answer."), Length(max=MAX_MESSAGE)],
        description=lazy_gettext("Only the programme's medical reviewers read it."),
    )


class AttendanceForm(Form):
    """An instructor marks whether an enrolled clinician attended."""

    outcome = RadioField(
        "Attendance",
        choices=[SelectChoice("attended", "Attended"), SelectChoice("absent", "Absent")],
        validators=[InputRequired("Choose attended or absent.")],
    )
