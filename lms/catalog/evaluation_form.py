"""Evaluation forms as catalogue data: checking them when the file loads, building one item's form.

A form is the programme-wide questions (`[[programme.evaluation_questions]]`: Likert questions
with their labels, free-text questions) after the item's learning objectives (`objectives`),
each rated on the programme's objective scale ("this activity met the objective"). Whether an
item's certificate waits for it is `evaluation_required`, settled when the catalogue loads:
the file's value, or by default true for items with CE hours that have a form to fill in.
Pure code: no Flask, no database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from lms import validation
from lms.errors import InvalidInput

QUESTIONS_SETTING = "evaluation_questions"
OBJECTIVE_LABELS_SETTING = "evaluation_objective_labels"
PROGRAMME_KEYS = frozenset({QUESTIONS_SETTING, OBJECTIVE_LABELS_SETTING})
ITEM_FIELDS = ("objectives", "evaluation_required")

LIKERT = "likert"
TEXT = "text"
KINDS = (LIKERT, TEXT)
QUESTION_FIELDS = {"id", "kind", "text", "labels", "required", "example"}
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_QUESTIONS = 30
MAX_OBJECTIVES = 20
MAX_LABELS = 10
QUESTION_MAX = 500
LABEL_MAX = 80
ANSWER_MAX = 5000
DEFAULT_OBJECTIVE_LABELS = (
    "Strongly disagree",
    "Disagree",
    "Neither agree nor disagree",
    "Agree",
    "Strongly agree",
)
OBJECTIVE_PROMPT = "This activity met the objective:"

Problem = Callable[[str], None]


# --------------------------------------------------------------------------- the rule


def required_by_default(ce_hours: Decimal | float | int | None, has_questions: bool) -> bool:
    """The default when the file does not say: CE items with a form to fill in."""
    return ce_hours is not None and Decimal(str(ce_hours)) > 0 and has_questions


# --------------------------------------------------------------------------- loading


def check_programme_value(key: str, value: Any, problem: Problem) -> Any:
    """A checked, JSON-ready `[programme]` evaluation setting, or None after reporting why."""
    if key == OBJECTIVE_LABELS_SETTING:
        return _check_labels(value, "", problem)
    return _check_questions(value, problem)


def _check_labels(value: Any, where: str, problem: Problem) -> list[str] | None:
    """A Likert scale: 2-10 distinct one-line labels, lowest first."""
    prefix = f"{where}: " if where else ""
    if not isinstance(value, list) or not 2 <= len(value) <= MAX_LABELS:
        problem(f"{prefix}expected a list of 2 to {MAX_LABELS} labels, lowest first")
        return None
    labels: list[str] = []
    for index, label in enumerate(value):
        if not isinstance(label, str) or not validation.trim(label):
            problem(f"{prefix}label {index + 1}: expected non-empty text")
            return None
        label = validation.trim(label)
        if reason := validation.line_problem(label, LABEL_MAX):
            problem(f"{prefix}label {index + 1}: {_lower(reason)}")
            return None
        labels.append(label)
    if len(set(labels)) != len(labels):
        problem(f"{prefix}each label must differ from the others")
        return None
    return labels


def _check_questions(value: Any, problem: Problem) -> list[dict[str, Any]] | None:
    """The programme's questions: a list of tables with id, kind, text (and labels)."""
    if not isinstance(value, list):
        problem("expected a list of [[programme.evaluation_questions]] tables")
        return None
    if len(value) > MAX_QUESTIONS:
        problem(f"at most {MAX_QUESTIONS} questions (this has {len(value)})")
        return None
    questions: list[dict[str, Any]] = []
    seen: set[str] = set()
    ok = True
    for index, raw in enumerate(value):
        question = _check_question(raw, f"[{index}]", problem)
        if question is None:
            ok = False
            continue
        if question["id"] in seen:
            problem(f"[{index}]: field id: {question['id']!r} is used by an earlier question")
            ok = False
            continue
        seen.add(question["id"])
        questions.append(question)
    return questions if ok else None


def _check_question(raw: Any, where: str, problem: Problem) -> dict[str, Any] | None:
    """One question table, with its defaults filled in."""
    if not isinstance(raw, dict):
        problem(f"{where}: expected a table")
        return None
    before = _Counter(problem)
    for key in sorted(set(raw) - QUESTION_FIELDS):
        before(f"{where}: unknown field {key!r}; expected {', '.join(sorted(QUESTION_FIELDS))}")
    identifier = raw.get("id")
    if not isinstance(identifier, str) or not ID_PATTERN.match(identifier):
        before(
            f"{where}: field id: expected 1-40 small letters, digits or '_', starting "
            f"with a letter (got {identifier!r})"
        )
    kind = raw.get("kind")
    if kind not in KINDS:
        before(f"{where}: field kind: expected {' or '.join(KINDS)} (got {kind!r})")
    text = raw.get("text")
    if not isinstance(text, str) or not validation.trim(text):
        before(f"{where}: field text: expected the question as non-empty text")
    elif reason := validation.line_problem(validation.trim(text), QUESTION_MAX):
        before(f"{where}: field text: {_lower(reason)}")
    labels: list[str] | None = []
    if kind == LIKERT:
        labels = _check_labels(raw.get("labels"), f"{where}: field labels", before)
    elif "labels" in raw:
        before(f"{where}: field labels: only Likert questions have labels")
    for flag in ("required", "example"):
        if flag in raw and not isinstance(raw[flag], bool):
            before(f"{where}: field {flag}: expected true or false")
    if before.count:
        return None
    return {
        "id": identifier,
        "kind": kind,
        "text": validation.trim(text),
        "labels": labels or [],
        "required": raw.get("required", kind == LIKERT),
        "example": raw.get("example", False),
    }


def check_item_fields(raw: Mapping[str, Any], problem: Problem) -> dict[str, Any]:
    """An item's `objectives` and `evaluation_required` as model values.

    `evaluation_required` stays None when the file leaves it out: `settle_required` fills in
    the default once the programme's questions are known.
    """
    objectives: list[str] = []
    value = raw.get("objectives", [])
    if not isinstance(value, list):
        problem("field objectives: expected a list of learning objectives (text)")
    elif len(value) > MAX_OBJECTIVES:
        problem(f"field objectives: at most {MAX_OBJECTIVES} (this has {len(value)})")
    else:
        for index, objective in enumerate(value):
            if not isinstance(objective, str) or not validation.trim(objective):
                problem(f"field objectives[{index}]: expected non-empty text")
                continue
            objective = validation.trim(objective)
            if reason := validation.line_problem(objective, QUESTION_MAX):
                problem(f"field objectives[{index}]: {_lower(reason)}")
            elif objective in objectives:
                problem(f"field objectives[{index}]: listed twice")
            else:
                objectives.append(objective)
    required = raw.get("evaluation_required")
    if required is not None and not isinstance(required, bool):
        problem("field evaluation_required: expected true or false")
        required = None
    return {"objectives": objectives, "evaluation_required": required}


def settle_required(
    programme: Mapping[str, Any],
    items: Sequence[tuple[str, dict[str, Any]]],
    problem: Callable[[str, str], None],
) -> None:
    """Fill in each item's `evaluation_required` (code, values) and refuse an empty form.

    An item the file marks required must have something to answer: objectives of its own or
    programme questions. Otherwise its certificates would wait for a form with no question.
    """
    has_programme_questions = bool(programme.get(QUESTIONS_SETTING))
    for code, values in items:
        has_questions = has_programme_questions or bool(values.get("objectives"))
        if values.get("evaluation_required") is None:
            values["evaluation_required"] = required_by_default(
                values.get("ce_hours"), has_questions
            )
        elif values["evaluation_required"] and not has_questions:
            problem(
                code,
                "field evaluation_required: the evaluation would have no question; give the "
                "item objectives or the programme [[programme.evaluation_questions]]",
            )


# --------------------------------------------------------------------------- the form


@dataclass(frozen=True)
class Question:
    """One question of a form as pages show it and answers record it."""

    key: str  # "objective_1", "q_relevance": the form field's name and the answer's key
    kind: str  # LIKERT or TEXT
    text: str
    labels: tuple[str, ...] = ()
    required: bool = True
    example: bool = False

    @property
    def is_likert(self) -> bool:
        """Rated on a scale (else free text)."""
        return self.kind == LIKERT


@dataclass(frozen=True)
class EvaluationForm:
    """An item's evaluation: its objectives to rate, then the programme's questions."""

    objectives: tuple[Question, ...]
    questions: tuple[Question, ...]

    @property
    def all(self) -> tuple[Question, ...]:
        """Every question in the order the form asks them."""
        return self.objectives + self.questions

    @property
    def empty(self) -> bool:
        """Nothing to answer."""
        return not self.all

    def clean(self, answers: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Answers as stored: one entry per answered question (InvalidInput naming the first
        problem). Each entry carries its question's text and labels, so results stay readable
        after the catalogue changes."""
        stored: list[dict[str, Any]] = []
        for question in self.all:
            raw = answers.get(question.key)
            raw = raw.strip() if isinstance(raw, str) else raw
            if raw in (None, ""):
                if question.required:
                    raise InvalidInput(f"Answer “{question.text}”.")
                continue
            entry: dict[str, Any] = {
                "key": question.key,
                "kind": question.kind,
                "question": question.text,
            }
            if question.is_likert:
                entry["value"] = _rating(raw, question)
                entry["labels"] = list(question.labels)
            else:
                entry["value"] = validation.multi_line(
                    str(raw), question.text, max_length=ANSWER_MAX
                )
            stored.append(entry)
        unknown = set(answers) - {q.key for q in self.all}
        if unknown:
            raise InvalidInput("The form holds answers to questions it does not ask.")
        return stored


def _rating(raw: Any, question: Question) -> int:
    """A Likert answer as its position on the scale, 1 = the first label."""
    try:
        value = int(str(raw))
    except ValueError:
        raise InvalidInput(f"“{question.text}”: choose one of the answers.") from None
    if not 1 <= value <= len(question.labels):
        raise InvalidInput(f"“{question.text}”: choose one of the answers.")
    return value


def form_for(objectives: Sequence[str], settings: Mapping[str, Any]) -> EvaluationForm:
    """The evaluation form of an item with these objectives under these programme settings."""
    scale = tuple(settings.get(OBJECTIVE_LABELS_SETTING) or DEFAULT_OBJECTIVE_LABELS)
    rated = tuple(
        Question(key=f"objective_{n}", kind=LIKERT, text=text, labels=scale)
        for n, text in enumerate(objectives, start=1)
    )
    asked = tuple(
        Question(
            key=f"q_{q['id']}",
            kind=q["kind"],
            text=q["text"],
            labels=tuple(q.get("labels") or ()),
            required=bool(q.get("required", q["kind"] == LIKERT)),
            example=bool(q.get("example", False)),
        )
        for q in settings.get(QUESTIONS_SETTING) or ()
    )
    return EvaluationForm(objectives=rated, questions=asked)


class _Counter:
    """A problem callback that also counts what it reported."""

    def __init__(self, problem: Problem) -> None:
        """Pass problems on to `problem`."""
        self.problem = problem
        self.count = 0

    def __call__(self, message: str) -> None:
        """Report one problem."""
        self.count += 1
        self.problem(message)


def _lower(message: str) -> str:
    """A validation message continued after "field x: "."""
    return message[:1].lower() + message[1:].rstrip(".")
