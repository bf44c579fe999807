"""The evaluation form, built from the offering's questions: a radio group per rating, a text
area per free-text question (lms.forms gives every field the shared text checks)."""

from __future__ import annotations

from typing import Any

from wtforms import RadioField, SelectChoice, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from lms.catalog.api import ANSWER_MAX, EvaluationForm, Question
from lms.forms import Form

CHOOSE_ONE = "Choose one answer."


class ScaleField(RadioField):
    """A Likert rating: one of the scale's answers, or nothing when the question is optional."""

    def pre_validate(self, form: Any) -> None:
        """An unanswered optional rating is fine; any other value must be one of the answers."""
        if self.data in (None, ""):
            return
        super().pre_validate(form)


class AnswersForm(Form):
    """The base of each offering's evaluation form; `answers()` is what the service takes."""

    def answers(self) -> dict[str, Any]:
        """Each question's answer by its key (None or "" when left empty)."""
        return {name: field.data for name, field in self._fields.items() if name != "csrf_token"}


def _field(question: Question) -> Any:
    """The form field that asks one question."""
    if question.is_likert:
        required = [InputRequired(message=CHOOSE_ONE)] if question.required else [Optional()]
        return ScaleField(
            question.text,
            choices=[
                SelectChoice(str(n), label) for n, label in enumerate(question.labels, start=1)
            ],
            validators=required,
        )
    checks = [InputRequired(message="Write an answer.")] if question.required else [Optional()]
    return TextAreaField(question.text, validators=[*checks, Length(max=ANSWER_MAX)])


def form_class(evaluation: EvaluationForm) -> type[AnswersForm]:
    """A form class with a field per question, named by the question's key."""
    fields = {question.key: _field(question) for question in evaluation.all}
    return type("OfferingEvaluationForm", (AnswersForm,), fields)
