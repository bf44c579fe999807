"""Evaluation forms as catalogue data: what the loader accepts and refuses, the default rule,
how answers are checked and stored, and how results are counted and laid out."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lms.catalog import evaluation_form as ef
from lms.errors import InvalidInput
from lms.evaluations.results import BAR_MAX, ROW_HEIGHT, aggregate, bars_for

SCALE = ["Low", "Middle", "High"]


def check(raw):
    """(checked value, problems) of an evaluation_questions setting."""
    problems: list[str] = []
    return ef.check_programme_value(ef.QUESTIONS_SETTING, raw, problems.append), problems


def test_questions_take_their_defaults_likert_required_text_optional():
    value, problems = check(
        [
            {"id": "relevance", "kind": "likert", "text": "  Relevant?  ", "labels": SCALE},
            {"id": "comments", "kind": "text", "text": "Anything else?"},
        ]
    )
    assert problems == []
    assert value == [
        {
            "id": "relevance",
            "kind": "likert",
            "text": "Relevant?",
            "labels": SCALE,
            "required": True,
            "example": False,
        },
        {
            "id": "comments",
            "kind": "text",
            "text": "Anything else?",
            "labels": [],
            "required": False,
            "example": False,
        },
    ]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"kind": "likert", "text": "Q", "labels": SCALE}, "field id: expected 1-40"),
        ({"id": "Bad-Id", "kind": "text", "text": "Q"}, "field id: expected 1-40"),
        ({"id": "q", "kind": "stars", "text": "Q"}, "field kind: expected likert or text"),
        ({"id": "q", "kind": "text", "text": " "}, "field text: expected the question"),
        ({"id": "q", "kind": "likert", "text": "Q"}, "field labels: expected a list of 2 to 10"),
        ({"id": "q", "kind": "likert", "text": "Q", "labels": ["One"]}, "2 to 10 labels"),
        ({"id": "q", "kind": "likert", "text": "Q", "labels": ["A", "A"]}, "must differ"),
        ({"id": "q", "kind": "text", "text": "Q", "labels": SCALE}, "only Likert questions"),
        ({"id": "q", "kind": "text", "text": "Q", "required": "yes"}, "field required"),
        ({"id": "q", "kind": "text", "text": "Q", "colour": "red"}, "unknown field 'colour'"),
        ({"id": "q", "kind": "text", "text": "Line\nbreak"}, "field text: use one line"),
    ],
)
def test_a_bad_question_is_refused_with_its_field_named(raw, expected):
    value, problems = check([raw])
    assert value is None
    assert any(expected in p for p in problems), problems
    assert all(p.startswith("[0]") for p in problems)


def test_question_ids_must_be_unique_and_the_list_bounded():
    value, problems = check(
        [{"id": "q", "kind": "text", "text": "A"}, {"id": "q", "kind": "text", "text": "B"}]
    )
    assert value is None and "used by an earlier question" in problems[0]
    assert check({"id": "q"})[1] == ["expected a list of [[programme.evaluation_questions]] tables"]
    many = [{"id": f"q{n}", "kind": "text", "text": "A"} for n in range(ef.MAX_QUESTIONS + 1)]
    assert "at most 30 questions" in check(many)[1][0]


def test_the_objective_scale_is_checked_like_any_scale():
    problems: list[str] = []
    labels = ef.check_programme_value(ef.OBJECTIVE_LABELS_SETTING, ["No", " Yes "], problems.append)
    assert labels == ["No", "Yes"] and problems == []
    assert ef.check_programme_value(ef.OBJECTIVE_LABELS_SETTING, "Yes", problems.append) is None
    assert problems == ["expected a list of 2 to 10 labels, lowest first"]


def test_item_objectives_are_trimmed_and_checked():
    problems: list[str] = []
    values = ef.check_item_fields({"objectives": [" Describe X. ", "Explain Y."]}, problems.append)
    assert values == {"objectives": ["Describe X.", "Explain Y."], "evaluation_required": None}
    assert problems == []
    ef.check_item_fields(
        {"objectives": ["A", "A", "", 3], "evaluation_required": "yes"}, problems.append
    )
    assert problems == [
        "field objectives[1]: listed twice",
        "field objectives[2]: expected non-empty text",
        "field objectives[3]: expected non-empty text",
        "field evaluation_required: expected true or false",
    ]


def settle(programme, **items):
    """Each item's settled evaluation_required, and the problems found."""
    problems: list[str] = []
    pairs = [(code, dict(values)) for code, values in items.items()]
    ef.settle_required(programme, pairs, lambda code, m: problems.append(f"{code}: {m}"))
    return {code: values["evaluation_required"] for code, values in pairs}, problems


def test_by_default_ce_items_with_a_form_require_the_evaluation():
    questions = {ef.QUESTIONS_SETTING: [{"id": "q", "kind": "text", "text": "Q"}]}
    required, problems = settle(
        questions,
        CE={"ce_hours": Decimal("8"), "evaluation_required": None},
        ZERO={"ce_hours": Decimal("0"), "evaluation_required": None},
        RETREAT={"ce_hours": None, "evaluation_required": None},
        OPTED_OUT={"ce_hours": Decimal("3"), "evaluation_required": False},
        RETREAT_ASKED={"ce_hours": None, "evaluation_required": True},
    )
    assert required == {
        "CE": True,
        "ZERO": False,
        "RETREAT": False,
        "OPTED_OUT": False,
        "RETREAT_ASKED": True,
    }
    assert problems == []


def test_without_any_question_nothing_waits_and_asking_for_it_is_refused():
    required, problems = settle(
        {},
        CE={"ce_hours": Decimal("8"), "evaluation_required": None},
        OWN={"ce_hours": Decimal("8"), "objectives": ["Describe X."], "evaluation_required": None},
        ASKED={"ce_hours": Decimal("8"), "evaluation_required": True},
    )
    assert required == {"CE": False, "OWN": True, "ASKED": True}
    assert len(problems) == 1 and problems[0].startswith("ASKED: field evaluation_required")


SETTINGS = {
    ef.OBJECTIVE_LABELS_SETTING: ["No", "Partly", "Yes"],
    ef.QUESTIONS_SETTING: [
        {"id": "overall", "kind": "likert", "text": "Overall?", "labels": ["Poor", "Good"]},
        {"id": "extra", "kind": "likert", "text": "Extra?", "labels": SCALE, "required": False},
        {"id": "comments", "kind": "text", "text": "Comments?", "required": False},
    ],
}


def test_the_form_asks_the_objectives_first_on_the_objective_scale():
    form = ef.form_for(["Describe X.", "Explain Y."], SETTINGS)
    assert [q.key for q in form.all] == [
        "objective_1",
        "objective_2",
        "q_overall",
        "q_extra",
        "q_comments",
    ]
    assert form.objectives[0].labels == ("No", "Partly", "Yes")
    assert ef.form_for([], {}).empty
    assert ef.form_for(["X"], {}).objectives[0].labels == ef.DEFAULT_OBJECTIVE_LABELS


def test_answers_are_stored_with_their_question_and_scale():
    form = ef.form_for(["Describe X."], SETTINGS)
    stored = form.clean(
        {"objective_1": "3", "q_overall": "1", "q_extra": "", "q_comments": " Great day. "}
    )
    assert stored == [
        {
            "key": "objective_1",
            "kind": "likert",
            "question": "Describe X.",
            "value": 3,
            "labels": ["No", "Partly", "Yes"],
        },
        {
            "key": "q_overall",
            "kind": "likert",
            "question": "Overall?",
            "value": 1,
            "labels": ["Poor", "Good"],
        },
        {"key": "q_comments", "kind": "text", "question": "Comments?", "value": "Great day."},
    ]


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"q_overall": "2"}, "Answer “Describe X.”."),
        ({"objective_1": "4", "q_overall": "2"}, "“Describe X.”: choose one of the answers."),
        ({"objective_1": "one", "q_overall": "2"}, "choose one of the answers"),
        ({"objective_1": "1", "q_overall": "2", "q_other": "1"}, "does not ask"),
        ({"objective_1": "1", "q_overall": "2", "q_comments": "a\x00b"}, "control characters"),
    ],
)
def test_answers_that_do_not_fit_the_form_are_refused(answers, message):
    form = ef.form_for(["Describe X."], SETTINGS)
    with pytest.raises(InvalidInput) as refused:
        form.clean(answers)
    assert message in refused.value.message


def test_bars_share_out_the_longest_bar_and_round_the_percentages():
    bars = bars_for(["A", "B", "C"], [1, 2, 0])
    assert [(b.count, b.percent, b.width) for b in bars] == [
        (1, 33, round(BAR_MAX / 3, 1)),
        (2, 67, round(2 * BAR_MAX / 3, 1)),
        (0, 0, 0.0),
    ]
    assert [b.top for b in bars] == [0, ROW_HEIGHT, 2 * ROW_HEIGHT]
    assert all(b.value_x == round(b.width + 6, 1) for b in bars)
    assert [b.width for b in bars_for(["A", "B"], [0, 0])] == [0.0, 0.0]


def test_results_count_each_question_and_keep_retired_ones_apart():
    form = ef.form_for(["Describe X."], SETTINGS)
    responses = [
        form.clean({"objective_1": "3", "q_overall": "2", "q_comments": "Loved it"}),
        form.clean({"objective_1": "1", "q_overall": "2"}),
        form.clean({"objective_1": "3", "q_overall": "1", "q_extra": "2"}),
        [
            {"key": "q_gone", "kind": "likert", "question": "Old?", "value": 2, "labels": SCALE},
            {"key": "objective_1", "kind": "likert", "question": "Describe X.", "value": 9},
        ],
    ]
    objectives, questions, retired = aggregate(form, responses)
    (objective,) = objectives
    assert [b.count for b in objective.bars] == [1, 0, 2]  # the 9 is off the scale
    assert objective.answered == 3 and objective.mean == "2.3"
    overall, extra, comments = questions
    assert [b.count for b in overall.bars] == [1, 2] and overall.mean == "1.7"
    assert extra.answered == 1
    assert comments.answers == ("Loved it",)
    (gone,) = retired
    assert gone.question == "Old?" and [b.label for b in gone.bars] == SCALE
    assert [b.count for b in gone.bars] == [0, 1, 0]
