"""An offering's evaluation results for facilitators and admins: counts, distributions, comments.

Answers are read in aggregate and never with a name: responses hold none. Below
MIN_RESPONSES_SHOWN responses only the counts are shown, so that a facilitator who knows who
answered first cannot read that person's answers. Bar charts are laid out here (plain
numbers for an SVG the template draws with classes, no inline style), each with its table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from lms.auth.api import Role, User
from lms.catalog.api import LIKERT, EvaluationForm, Question, form_for
from lms.errors import Forbidden, NotFound
from lms.evaluations.models import EvaluationResponse
from lms.offerings.api import Offering
from lms.progress.api import Completion

MIN_RESPONSES_SHOWN = 3
# The chart's drawing units (its viewBox): a row per answer, its label above its bar.
CHART_WIDTH = 400
BAR_MAX = 300  # room to the right of a full bar for its count
ROW_HEIGHT = 44
LABEL_BASELINE = 15
BAR_TOP = 21
BAR_HEIGHT = 16


@dataclass(frozen=True)
class Bar:
    """One answer of a Likert question: how many chose it, and where its bar is drawn."""

    label: str
    count: int
    percent: int
    top: int  # of its row, in chart units
    width: float

    height = BAR_HEIGHT
    track_width = BAR_MAX  # the bar's background: the whole scale

    @property
    def label_y(self) -> int:
        """Baseline of the answer's label."""
        return self.top + LABEL_BASELINE

    @property
    def bar_y(self) -> int:
        """Top of the bar."""
        return self.top + BAR_TOP

    @property
    def value_x(self) -> float:
        """Where the count is written, just past the bar's end."""
        return round(self.width + 6, 1)

    @property
    def value_y(self) -> int:
        """Baseline of the count, level with the bar."""
        return self.top + BAR_TOP + BAR_HEIGHT - 3


@dataclass(frozen=True)
class QuestionResult:
    """What every question's result names: its key, its text and whether it is an example."""

    key: str
    question: str
    example: bool


@dataclass(frozen=True)
class Distribution(QuestionResult):
    """How the answers of one Likert question spread over its scale."""

    bars: tuple[Bar, ...]
    answered: int
    mean: str  # on the scale, 1 = its first label ("" when nobody answered)

    @property
    def height(self) -> int:
        """The chart's height in chart units."""
        return ROW_HEIGHT * len(self.bars)

    @property
    def scale_size(self) -> int:
        """How many answers the scale offers."""
        return len(self.bars)


@dataclass(frozen=True)
class Comments(QuestionResult):
    """The answers to one free-text question, in no particular order and without names."""

    answers: tuple[str, ...]


@dataclass(frozen=True)
class EvaluationResults:
    """Everything the results page shows of one offering."""

    offering_id: int
    title: str
    starts_on: date
    ends_on: date
    attended: int  # live completions earned by attending it
    received: int  # evaluations received
    objectives: tuple[Distribution, ...]
    questions: tuple[Distribution | Comments, ...]
    retired: tuple[Distribution | Comments, ...]  # answered once, no longer on the form

    @property
    def shown(self) -> bool:
        """Enough responses to show answers without exposing anyone's."""
        return self.received >= MIN_RESPONSES_SHOWN


def bars_for(labels: Sequence[str], counts: Sequence[int]) -> tuple[Bar, ...]:
    """The bars of a distribution; the longest possible bar is everyone choosing one answer."""
    total = sum(counts)
    return tuple(
        Bar(
            label=label,
            count=count,
            percent=round(100 * count / total) if total else 0,
            top=index * ROW_HEIGHT,
            width=round(BAR_MAX * count / total, 1) if total else 0.0,
        )
        for index, (label, count) in enumerate(zip(labels, counts, strict=True))
    )


def _distribution(question: Question, values: Iterable[Any]) -> Distribution:
    """Count a Likert question's answers (values outside its scale are left out)."""
    size = len(question.labels)
    tally = Counter(v for v in values if isinstance(v, int) and 1 <= v <= size)
    counts = [tally.get(n, 0) for n in range(1, size + 1)]
    answered = sum(counts)
    mean = f"{sum(n * c for n, c in enumerate(counts, start=1)) / answered:.1f}" if answered else ""
    return Distribution(
        key=question.key,
        question=question.text,
        example=question.example,
        bars=bars_for(question.labels, counts),
        answered=answered,
        mean=mean,
    )


def _result(question: Question, values: list[Any]) -> Distribution | Comments:
    """One question's result."""
    if question.is_likert:
        return _distribution(question, values)
    texts = tuple(v for v in values if isinstance(v, str) and v.strip())
    return Comments(question.key, question.text, question.example, texts)


def aggregate(
    form: EvaluationForm, responses: Iterable[Sequence[dict[str, Any]]]
) -> tuple[tuple[Distribution, ...], tuple[Distribution | Comments, ...], tuple[Any, ...]]:
    """Results per question of the form, then of questions answered but no longer asked.

    A retired question is shown with the text and scale its answers were given with.
    """
    values: dict[str, list[Any]] = {}
    seen: dict[str, Question] = {}
    for answers in responses:
        for entry in answers:
            key = entry.get("key")
            if not isinstance(key, str):
                continue
            values.setdefault(key, []).append(entry.get("value"))
            seen[key] = Question(
                key=key,
                kind=entry.get("kind", LIKERT),
                text=str(entry.get("question", key)),
                labels=tuple(entry.get("labels") or ()),
            )
    asked = {q.key for q in form.all}
    objectives = tuple(_distribution(q, values.get(q.key, [])) for q in form.objectives)
    questions = tuple(_result(q, values.get(q.key, [])) for q in form.questions)
    retired = tuple(_result(q, values[key]) for key, q in seen.items() if key not in asked)
    return objectives, questions, retired


def may_see_results(user: User, facilitator_ids: Iterable[int]) -> bool:
    """Admins see every offering's results; an instructor those of offerings they facilitate."""
    if user.has_role(Role.ADMIN):
        return True
    return user.has_role(Role.INSTRUCTOR) and user.id in set(facilitator_ids)


def results_for(session: Session, offering_id: int, *, viewer: User) -> EvaluationResults:
    """The offering's results for a facilitator or an admin (Forbidden for anyone else).

    Five queries whatever the number of responses: the offering with its item, its
    facilitators, the programme's questions, the attendance count and the answers.
    """
    from lms.catalog.services import programme_settings

    offering = session.scalar(
        select(Offering)
        .options(joinedload(Offering.item), selectinload(Offering.facilitators))
        .where(Offering.id == offering_id)
    )
    if offering is None:
        raise NotFound("No such offering.")
    if not may_see_results(viewer, (f.user_id for f in offering.facilitators)):
        raise Forbidden("Only this offering's facilitators and administrators see its evaluation.")
    item = offering.item
    form = form_for(item.objectives or (), programme_settings(session))
    attended = session.scalar(
        select(func.count())
        .select_from(Completion)
        .where(Completion.offering_id == offering_id, Completion.is_live)
    )
    responses = session.scalars(
        select(EvaluationResponse.answers)
        .where(EvaluationResponse.offering_id == offering_id)
        .order_by(EvaluationResponse.id)  # random ids: no order of arrival to read
    ).all()
    objectives, questions, retired = aggregate(form, responses)
    return EvaluationResults(
        offering_id=offering.id,
        title=item.title,
        starts_on=offering.starts_on,
        ends_on=offering.ends_on,
        attended=attended or 0,
        received=len(responses),
        objectives=objectives,
        questions=questions,
        retired=retired,
    )
