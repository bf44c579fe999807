"""The write boundary: where a view's DomainError becomes its answer, written once.

A view that changes something names, with `on_refusal`, what the person sees when a rule
refuses the change; the decorator rolls the unit of work back, flashes the message and
returns that answer, so no view repeats the try/except. A DomainError that is not the
write's refusal (the record the page is about is missing, or not the person's to see) is
marked with `not_a_refusal` and goes on to the app's error page, as it does for views
without a boundary (lms/__init__.py). Core module: it imports flask, lms.db and lms.errors.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flask import current_app, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from lms.bounds import bounded_int
from lms.db import db
from lms.errors import DomainError

View = TypeVar("View", bound=Callable[..., Any])
Answer = Callable[..., ResponseReturnValue]

_NOT_A_REFUSAL = "lms_not_a_refusal"  # set on an error that must pass every boundary


def on_refusal(
    answer: Answer,
    *,
    flash_as: str | None = "error",
    prefix: str = "",
    error_page_for: Collection[int] = (),
) -> Callable[[View], View]:
    """A DomainError raised in the view rolls back, flashes and returns answer(error, **args).

    `answer` is called with the error and the view's own arguments (its URL arguments).
    `flash_as` is the flash category; None when the answer shows the message itself (on a
    form field, in the page, as JSON). `prefix` comes before the message in the flash.
    Errors whose status is in `error_page_for` get the app's error page instead (after the
    same rollback), e.g. (403, 404) where the page must not tell more than "not yours".
    Put it right above the view function, under the route and access decorators, so that it
    guards the view's own body and nothing else (or on a helper that makes a view's second,
    inner write: its answer then gets the helper's arguments, as lms/auth/link_views.py does).
    """

    def decorator(view: View) -> View:
        """Wrap one view."""

        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            """Run the view; turn its refusal into the answer."""
            try:
                return view(*args, **kwargs)
            except DomainError as error:
                # The refused change, and anything written before it, must not be committed
                # by the request's end (which commits any answer below 400, a redirect say).
                db.rollback()
                if getattr(error, _NOT_A_REFUSAL, False) or error.status_code in error_page_for:
                    raise  # to the app's DomainError page (lms/__init__.py), the same error
                if flash_as is not None:
                    flash(prefix + error.message, flash_as)
                return answer(error, *args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorator


@contextmanager
def not_a_refusal() -> Iterator[None]:
    """A DomainError raised inside (block or decorated function) goes to the error page.

    For what a view reads before it writes, and for drawing a page: if the record is missing
    or not the person's, there is no form to answer with, and the error page says why once.
    An answer that draws such a page then fails the same way, after the refusal's flash.
    """
    try:
        yield
    except DomainError as error:
        setattr(error, _NOT_A_REFUSAL, True)
        raise


def back_to(endpoint: str, **fixed: Any) -> Answer:
    """An answer that redirects to `endpoint`, filled from the view's arguments it takes.

    Only the view arguments the endpoint's URL has are passed on (url_for would put the
    others in the query string); `fixed` adds or overrides values, e.g. `_anchor="reports"`.
    """

    def answer(error: DomainError, **view_args: Any) -> ResponseReturnValue:
        """Redirect to the endpoint."""
        wanted = {
            name for rule in current_app.url_map.iter_rules(endpoint) for name in rule.arguments
        }
        values = {name: value for name, value in view_args.items() if name in wanted}
        return redirect(url_for(endpoint, **(values | fixed)))

    return answer


def back_to_posted(endpoint: str, field: str, *, otherwise: str) -> Answer:
    """An answer that redirects to `endpoint` for the id the form posted in `field` (the
    page the form was sent from, named by its URL argument of that name), else to
    `otherwise` (a form that did not say, or said nonsense)."""

    def answer(error: DomainError | None = None, **view_args: Any) -> ResponseReturnValue:
        """Redirect to the page the form names, or the fallback."""
        if posted := bounded_int(request.form.get(field)):
            return redirect(url_for(endpoint, **{field: posted}))
        return redirect(url_for(otherwise))

    return answer


def page_again(draw: Callable[..., Any]) -> Answer:
    """An answer that draws the page again, draw(error, **view_args), with the error's status.

    `draw` rebuilds the page from the submitted data (a FlaskForm made anew binds to the
    posted form again) and may put the message on a field: `show_on(form.field, error)`.
    """

    def answer(error: DomainError, *args: Any, **kwargs: Any) -> ResponseReturnValue:
        """The page, answered with the refusal's status code."""
        return draw(error, *args, **kwargs), error.status_code

    return answer


def show_on(field: Any, error: DomainError) -> None:
    """Show the refusal's message under a form field (kept with the field's own errors)."""
    # A form made anew has not been validated: its fields' errors are an empty tuple.
    field.errors = [*field.errors, error.message]
