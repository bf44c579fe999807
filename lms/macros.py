"""Template macros looked up once per process: `macro_from(template, name)` for every page.

Jinja's `{% from "t.html" import m %}` checks at every render whether the imported template
needs the importer's globals (a set difference over every global, about 20 ChainMap look-ups),
which a busy page paid three times per view. A template's module (its macros, rendered with
the environment's globals alone) is made once and cached by Jinja, so looking the macro up
there is all a page needs. A template that is not installed gives None, so a page can offer a
place for another feature's macro without depending on that feature.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from jinja2 import TemplateNotFound


def macro_from(template: str, name: str) -> Any:
    """The macro `name` of `template`, or None when that template is not installed."""
    try:
        module = current_app.jinja_env.get_template(template).module
    except TemplateNotFound:
        return None
    return getattr(module, name, None)


def init_app(app: Flask) -> None:
    """Expose macro_from() to templates."""
    app.jinja_env.globals["macro_from"] = macro_from
