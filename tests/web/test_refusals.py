"""The write boundary (lms.refusals): what a refused change leaves behind and answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, Response, session
from flask.testing import FlaskClient
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import StringField

from lms.auth.models import User
from lms.db import db
from lms.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from lms.refusals import back_to, not_a_refusal, on_refusal, page_again, show_on

EMAIL = "refused@example.test"


def _answered(error: DomainError, **view_args: Any) -> tuple[str, int]:
    """An answer that says what it was given (a 200, so the request's end would commit)."""
    args = ",".join(f"{name}={value!r}" for name, value in sorted(view_args.items()))
    return f"answered {type(error).__name__}: {args}", 200


def _write_then(error: Exception) -> Callable[..., str]:
    """A view that adds an account, flushes it, queues an after-commit step, then raises."""

    def after_commit() -> None:
        raise AssertionError("an after-commit step ran after a refusal")

    def view(**_: Any) -> str:
        db.session.add(User(email=EMAIL, name="Refused", password_hash="x"))
        db.session.flush()
        db.after_commit(after_commit)
        raise error

    return view


def _route(app: Flask, rule: str, view: Callable[..., Any]) -> str:
    """Add a test view under an endpoint of its own (before the first request); its name."""
    endpoint = "refusal_test_" + str(len(app.view_functions))
    app.add_url_rule(rule, endpoint, view, methods=["GET", "POST"])
    return endpoint


def _accounts(app: Flask) -> int:
    """How many accounts with EMAIL the database holds, read outside the request."""
    with app.app_context():
        count = db.session.scalar(select(func.count()).where(User.email == EMAIL))
        db.rollback()
        return count


def _flashes(client: FlaskClient) -> list[tuple[str, str]]:
    """The messages waiting in the client's session for the next page."""
    with client.session_transaction() as session:
        return list(session.get("_flashes", []))


def test_a_refusal_rolls_back_what_the_view_wrote(app: Flask, client: FlaskClient) -> None:
    # The answer is a 200: without the boundary's rollback the request's end would commit
    # the account, and run the after-commit step.
    _route(app, "/t/write", on_refusal(_answered)(_write_then(Conflict("Full."))))
    response = client.post("/t/write")
    assert response.status_code == 200
    assert response.text == "answered Conflict: "
    assert _accounts(app) == 0


def test_without_a_refusal_the_same_write_is_committed(app: Flask, client: FlaskClient) -> None:
    # The control for the test above: the account does reach the database when all goes well.
    def view() -> str:
        db.session.add(User(email=EMAIL, name="Kept", password_hash="x"))
        return "done"

    _route(app, "/t/kept", on_refusal(_answered)(view))
    assert client.post("/t/kept").text == "done"
    assert _accounts(app) == 1


def test_the_message_is_flashed_as_an_error(app: Flask, client: FlaskClient) -> None:
    _route(app, "/t/flash", on_refusal(_answered)(_write_then(Conflict("The offering is full."))))
    client.post("/t/flash")
    assert _flashes(client) == [("error", "The offering is full.")]


def test_the_flash_takes_the_category_and_prefix_asked_for(app: Flask, client: FlaskClient) -> None:
    guarded = on_refusal(_answered, flash_as="info", prefix="Nothing was saved: ")
    _route(app, "/t/info", guarded(_write_then(Conflict("Already asked."))))
    client.post("/t/info")
    assert _flashes(client) == [("info", "Nothing was saved: Already asked.")]


def test_no_flash_when_the_answer_shows_the_message(app: Flask, client: FlaskClient) -> None:
    _route(app, "/t/quiet", on_refusal(_answered, flash_as=None)(_write_then(Conflict("No."))))
    client.post("/t/quiet")
    assert _flashes(client) == []
    assert _accounts(app) == 0


def test_the_answer_gets_the_error_and_the_view_arguments(app: Flask, client: FlaskClient) -> None:
    seen: dict[str, Any] = {}

    def answer(error: DomainError, **view_args: Any) -> str:
        seen.update(view_args, error=error)
        return "answered"

    refusal = InvalidInput("Bad day line.")
    _route(app, "/t/<int:offering_id>/<word>", on_refusal(answer)(_write_then(refusal)))
    assert client.post("/t/42/ok").text == "answered"
    assert seen == {"error": refusal, "offering_id": 42, "word": "ok"}


def test_an_answer_may_rebuild_its_form_from_what_was_posted(
    app: Flask, client: FlaskClient
) -> None:
    class DaysForm(FlaskForm):
        days = StringField()

    def draw(error: DomainError) -> str:
        form = DaysForm()  # bound to request.form again
        show_on(form.days, error)
        return f"{form.days.data}|{form.days.errors}"

    _route(app, "/t/form", on_refusal(page_again(draw))(_write_then(InvalidInput("No such day."))))
    response = client.post("/t/form", data={"days": "2030-02-30"})
    assert response.status_code == 422  # InvalidInput's status
    assert response.text == "2030-02-30|['No such day.']"


@pytest.mark.parametrize("error", [ValueError("a bug"), KeyError("missing")])
def test_an_error_that_is_not_a_refusal_passes_untouched(app: Flask, error: Exception) -> None:
    answers: list[DomainError] = []

    def answer(refusal: DomainError) -> str:
        answers.append(refusal)
        return "answered"

    guarded = on_refusal(answer)(_write_then(error))
    with app.test_request_context("/", method="POST"):
        with pytest.raises(type(error)) as raised:
            guarded()
        assert raised.value is error  # the very exception, for the app's 500 handling
        assert answers == []
        assert "_flashes" not in session


def test_a_bug_still_gets_the_error_page_and_commits_nothing(
    app: Flask, client: FlaskClient
) -> None:
    _route(app, "/t/bug", on_refusal(_answered)(_write_then(RuntimeError("a bug"))))
    response = client.post("/t/bug")
    assert response.status_code == 500
    assert _flashes(client) == []
    assert _accounts(app) == 0


@pytest.mark.parametrize("error", [NotFound("No such offering."), Forbidden("Not yours.")])
def test_statuses_left_to_the_error_page_are_not_answered(
    app: Flask, client: FlaskClient, error: DomainError
) -> None:
    guarded = on_refusal(_answered, error_page_for=(403, 404))
    _route(app, "/t/page", guarded(_write_then(error)))
    response = client.post("/t/page")
    assert response.status_code == error.status_code
    assert error.message in response.text
    assert "answered" not in response.text
    assert _flashes(client) == []  # the error page said it: no second copy waits
    assert _accounts(app) == 0


def test_not_a_refusal_goes_to_the_error_page(app: Flask, client: FlaskClient) -> None:
    def view(offering_id: int) -> str:
        with not_a_refusal():
            raise NotFound("No such offering.")

    _route(app, "/t/lookup/<int:offering_id>", on_refusal(_answered)(view))
    response = client.post("/t/lookup/7")
    assert response.status_code == 404
    assert "No such offering." in response.text
    assert "answered" not in response.text
    assert _flashes(client) == []


def test_not_a_refusal_also_marks_a_whole_function(app: Flask, client: FlaskClient) -> None:
    @not_a_refusal()
    def lookup() -> None:
        raise NotFound("No such account.")

    def view() -> str:
        lookup()
        return "unreachable"

    _route(app, "/t/marked", on_refusal(_answered)(view))
    assert client.post("/t/marked").status_code == 404


def test_back_to_passes_on_only_the_arguments_its_endpoint_takes(
    app: Flask, client: FlaskClient
) -> None:
    target = _route(app, "/t/detail/<int:offering_id>", lambda offering_id: "detail")
    guarded = on_refusal(back_to(target, _anchor="reports"))
    _route(app, "/t/rows/<int:offering_id>/<int:row_id>", guarded(_write_then(Conflict("No."))))
    response = client.post("/t/rows/5/9")
    assert response.status_code == 302
    # row_id is not the target's: it must not turn up in the query string.
    assert response.location == "/t/detail/5#reports"


def test_the_decorated_view_keeps_its_name_and_marks() -> None:
    def enrol(offering_id: int) -> Response:
        """Enrol oneself."""
        raise AssertionError

    enrol.lms_reads_first = True  # type: ignore[attr-defined]
    guarded = on_refusal(_answered)(enrol)
    assert guarded.__name__ == "enrol"
    assert guarded.__doc__ == "Enrol oneself."
    assert guarded.lms_reads_first is True  # type: ignore[attr-defined]
