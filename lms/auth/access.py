"""Who may reach a view: sign-in and role checks, and safe post-login redirects."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort
from flask_login import current_user, login_required

from lms.auth.models import Role

F = TypeVar("F", bound=Callable[..., Any])


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Allow the view only to signed-in people holding one of the roles (403 otherwise)."""

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


staff_required = roles_required(Role.INSTRUCTOR, Role.ADMIN)
admin_required = roles_required(Role.ADMIN)
reviewer_required = roles_required(Role.MEDICAL_REVIEWER)
consultant_required = roles_required(Role.CONSULTANT)


def may_see_person(person_id: int) -> bool:
    """A person sees their own record; instructors and admins see everyone's."""
    return current_user.is_authenticated and (current_user.id == person_id or current_user.is_staff)


def person_visible(view: F) -> F:
    """Allow a view of one person's record (its URL names `user_id`) to that person and to
    staff, once signed in; anyone else gets 404, not learning whether the record exists."""

    @wraps(view)
    @login_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        """Run the view when the signed-in person may see the record."""
        if not may_see_person(kwargs["user_id"]):
            abort(404)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def safe_next(target: str | None, default: str) -> str:
    """A redirect target that stays on this site: a local path or the default.

    Browsers read `//host`, `/\\host` and control characters inside URLs in lenient ways, so
    anything but a plain absolute path is refused rather than cleaned up.
    """
    if not target:
        return default
    target = target.strip()
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 32 or ord(c) == 127 for c in target)
    ):
        return default
    return target
