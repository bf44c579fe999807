"""The admin's page for the credential's requirement: every version in words with how many
candidates it holds, and a new version checked, previewed in words, then published (for new
candidates, or for everyone when the admin says so and confirms)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from lms.auth.api import admin_required
from lms.catalog.api import describe, in_locale
from lms.db import db
from lms.errors import InvalidInput
from lms.i18n import translate
from lms.progress.services import shared_programme
from lms.refusals import on_refusal, page_again, show_on
from lms.training.forms import RequirementForm
from lms.training.models import Credential, RequirementVersion
from lms.training.requirement import (
    CERTIFICATE_TITLE,
    DEFAULT_RULE,
    FIRST_NOTE,
    candidates_held,
    latest_version,
    publish_requirement,
    rule_problems,
    stored_credential,
)

bp = Blueprint("training_requirement", __name__, url_prefix="/training/requirement")


@dataclass(frozen=True)
class VersionShown:
    """One version as the page lists it."""

    number: int
    note: str
    published: Any
    held: int
    parts: tuple[str, ...]


def parts_in_words(rule: Any) -> tuple[str, ...]:
    """The rule's parts in words, one per line (a top-level "all" is split into its parts)."""
    names = shared_programme(db.session).names
    parts = rule["all"] if isinstance(rule, dict) and set(rule) == {"all"} else [rule]
    return tuple(in_locale(describe(part, names)) for part in parts)


def _versions(credential: Credential | None) -> list[VersionShown]:
    """Every version, newest first (version 1 as it ships when none is stored yet)."""
    if credential is None:
        return [VersionShown(1, translate(FIRST_NOTE), None, 0, parts_in_words(DEFAULT_RULE))]
    held = candidates_held(db.session, credential)
    rows = db.session.scalars(
        select(RequirementVersion)
        .where(RequirementVersion.credential_id == credential.id)
        .order_by(RequirementVersion.number.desc())
    )
    return [
        VersionShown(
            v.number,
            translate(FIRST_NOTE) if v.note == FIRST_NOTE else v.note,
            v.created_at,
            held.get(v.id, 0),
            parts_in_words(v.rule),
        )
        for v in rows
    ]


def _page(form: RequirementForm, preview: dict[str, Any] | None = None) -> str:
    """The versions, the form, and the preview of what was posted when there is one."""
    versions = _versions(stored_credential(db.session))
    return render_template(
        "training/requirement.html",
        title=CERTIFICATE_TITLE,
        versions=versions,
        candidates=sum(v.held for v in versions),
        form=form,
        preview=preview,
    )


def _posted_rule(form: RequirementForm) -> Any:
    """The posted rule, parsed and checked; a problem is shown under the field."""
    try:
        rule = json.loads(form.rule.data or "")
    except json.JSONDecodeError as error:
        raise InvalidInput(
            f"The requirement is not JSON: {error.msg} (line {error.lineno})."
        ) from None
    problems = rule_problems(db.session, rule)
    if problems:
        raise InvalidInput("The requirement cannot be published: " + "; ".join(problems))
    return rule


def _again(error: InvalidInput) -> str:
    """The page with what was posted and the refusal under the rule."""
    form = RequirementForm()
    show_on(form.rule, error)
    return _page(form)


@bp.route("", methods=["GET", "POST"])
@admin_required
@on_refusal(page_again(_again))
def page() -> Response | tuple[str, int] | str:
    """GET: the versions and the form. POST: preview (step=preview) or publish (step=publish)."""
    form = RequirementForm()
    if request.method == "GET":
        credential = stored_credential(db.session)
        rule = latest_version(db.session, credential).rule if credential else DEFAULT_RULE
        form.rule.data = json.dumps(rule, indent=2)
        return _page(form)
    if not form.validate_on_submit():
        return _page(form), 422
    rule = _posted_rule(form)
    if request.form.get("step") != "publish":
        return _page(form, preview={"parts": parts_in_words(rule), "rule": rule})
    version = publish_requirement(
        db.session,
        rule=rule,
        actor_id=current_user.id,
        note=form.note.data,
        everyone=bool(form.everyone.data),
    )
    if form.everyone.data:
        flash(
            f"Version {version.number} is published; it holds every candidate. Each one is being"
            " judged against it in the background: the queues say when that is done.",
            "success",
        )
    else:
        flash(
            f"Version {version.number} is published; it holds people who start from now on.",
            "success",
        )
    return redirect(url_for("training_requirement.page"), code=303)
