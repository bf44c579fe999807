"""What every paged, searchable list shares: one page of results, links to its neighbours
that keep the filters, and the LIKE pattern of a search.

A core module: no feature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask import request, url_for
from sqlalchemy import ColumnElement, func, or_
from werkzeug.datastructures import MultiDict

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results and where it sits among all of them."""

    items: list[T]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        """How many pages there are (at least one, so "page 1 of 1" reads right when empty)."""
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        """Whether a previous page exists."""
        return self.page > 1

    @property
    def has_next(self) -> bool:
        """Whether a next page exists."""
        return self.page < self.pages

    @property
    def first_number(self) -> int:
        """1-based position of the first item shown (0 when there are none)."""
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last_number(self) -> int:
        """1-based position of the last item shown."""
        return (self.page - 1) * self.per_page + len(self.items)


def page_links(page: Page) -> dict[str, str | None]:
    """Links to the previous and next pages of the current list that keep its filters."""

    def url(number: int) -> str:
        args = MultiDict(request.args)
        args["page"] = str(number)
        return url_for(request.endpoint or "", **request.view_args, **args.to_dict(flat=True))

    return {
        "prev": url(page.page - 1) if page.has_prev else None,
        "next": url(page.page + 1) if page.has_next else None,
    }


def contains_pattern(text: str) -> str:
    """A lower-cased LIKE pattern matching the text anywhere, its wildcards taken literally
    (use with `escape="\\"`)."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contains_text(text: str, *columns: Any) -> ColumnElement[bool]:
    """A condition: one of the columns, lower-cased, contains the text (a search box's
    wildcards taken literally)."""
    pattern = contains_pattern(text)
    return or_(*(func.lower(column).like(pattern, escape="\\") for column in columns))
