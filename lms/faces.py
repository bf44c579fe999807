"""A feature's public face (its `api.py`): the names other features may use, each imported
from the module it lives in only when first asked for.

Lazy on purpose: a face names much of its feature, but a caller that needs one enum (the
certificate renderer's sandboxed process, a models module) imports that enum's module and no
more, exactly as if it had reached in, and the import graph stays what the callers use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def public_face(
    face: str, offered: Mapping[str, tuple[str, ...]]
) -> tuple[Callable[[str], Any], list[str]]:
    """The `__getattr__` and `__all__` of the face module `face`, offering each module's
    names (`{"lms.progress.models": ("Completion", ...)}`)."""
    home = {name: module for module, names in offered.items() for name in names}
    space = import_module(face).__dict__

    def attribute(name: str) -> Any:
        """Import the public name from its module on first use, and keep it on the face."""
        module = home.get(name)
        if module is None:
            raise AttributeError(f"module {face!r} offers no {name!r}")
        value = space[name] = getattr(import_module(module), name)
        return value

    return attribute, sorted(home)
