"""Progress pages: the dashboard, the instructor roster, clinician records and cohort marking."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from lms import dates
from lms.auth.api import Role, User, may_see_person, staff_required
from lms.bounds import bounded_int, query_int
from lms.db import db, reads_first
from lms.errors import DomainError, InvalidInput, NotFound
from lms.i18n import hours_text
from lms.progress import services
from lms.progress.explain import why
from lms.progress.forms import CohortForm, MarkForm, RevokeForm
from lms.progress.models import CompletionSource
from lms.progress.pathway_states import marks_of, programme_pathway
from lms.refusals import not_a_refusal, on_refusal

bp = Blueprint("progress", __name__)
bp.add_app_template_global(why, "why")  # what a locked item misses, on every page alike


@bp.app_template_filter("format_hours")
def format_hours(value: Decimal | int | None) -> str:
    """CE hours without trailing zeros, as the programme locale writes numbers: 9, 7.5, 0.25."""
    if value is None:
        return ""
    return hours_text(value)


Page = str | tuple[str, int] | Response


@bp.get("/")
@login_required
def dashboard() -> str:
    """The signed-in person's progress read from the standings; staff get their home page.

    One render: the sections other features contribute are included by the page itself,
    each seeing its own context (all contexts are merged into the page's, as `extras`).
    """
    user: User = current_user._get_current_object()
    progress = None
    sections: list[services.RenderedSection] = []
    extras: dict[str, Any] = {}
    pathway = None
    if Role.CLINICIAN in user.roles:
        # The history is on the clinician record, which the page links to.
        snapshot = services.clinician_snapshot(db.session, user, with_history=False)
        progress = snapshot.progress
        sections, extras = services.dashboard_sections(db.session, user, snapshot)
        drawing = programme_pathway(snapshot.catalogue)
        pathway = drawing.svg(marks_of(snapshot.items.values()))
    page = {
        "progress": progress,
        "sections": sections,
        "extras": extras,
        "home": services.staff_home(db.session, user),
        "pathway": pathway,
    }
    if clash := page.keys() & extras.keys():
        raise RuntimeError(f"a dashboard section's context uses a name the page needs: {clash}")
    return render_template(
        "progress/dashboard.html", clinician=Role.CLINICIAN in user.roles, **extras, **page
    )


def _page_number() -> int:
    """The `page` query parameter (1 when absent; 400 when not a page number)."""
    return query_int("page", default=1)


def _roster_search_only(error: DomainError) -> Page:
    """The roster searched by name only, saying why the filters were not applied."""
    search = services.RosterQuery(search=request.args.get("q", "")[:200])
    return _roster_page(services.roster(db.session, search), error.message), error.status_code


@bp.get("/roster")
@staff_required
@on_refusal(_roster_search_only, flash_as=None)  # the page itself says what was refused
def roster() -> Page:
    """All clinicians with their progress at a glance, searchable and filterable."""
    args = request.args
    query = services.RosterQuery(
        search=args.get("q", "")[:200],
        eligible=args.get("eligible", ""),
        applied=args.get("applied", ""),
        missing=args.get("missing", ""),
        licence=args.get("licence", ""),
        item=args.get("item", ""),
        item_state=args.get("item_state", ""),
        page=_page_number(),
    )
    return _roster_page(services.roster(db.session, query))


def _roster_page(page: services.RosterPage, error: str | None = None) -> str:
    """Render the roster with its filter choices."""
    return render_template(
        "progress/roster.html",
        roster=page,
        error=error,
        applied_choices=services.APPLIED_CHOICES,
        licence_choices=services.LICENCE_CHOICES,
        item_states=services.ITEM_STATES,
    )


def _record_page(
    clinician: User,
    *,
    mark_form: MarkForm | None = None,
    revoke_form: RevokeForm | None = None,
    revoking: int | None = None,
    error: str | None = None,
) -> str:
    """Render a clinician's record with its forms."""
    progress = services.clinician_progress(db.session, clinician)
    if mark_form is None:
        mark_form = MarkForm()
    mark_form.item_code.choices = progress.markable
    return render_template(
        "progress/record.html",
        progress=progress,
        mark_form=mark_form,
        revoke_form=revoke_form or RevokeForm(),
        revoking=revoking,
        error=error,
        may_act=current_user.is_staff,
    )


@bp.get("/clinicians/<id:user_id>")
@login_required
def record(user_id: int) -> str:
    """A clinician's progress and completion history (staff, or the clinician themself)."""
    if not may_see_person(user_id):
        abort(404)  # do not tell others whether the record exists
    return _record_page(services.get_clinician(db.session, user_id))


@not_a_refusal()  # no such clinician: the 404 page, not a refused change
def _clinician(user_id: int) -> User:
    """The clinician whose record a change is asked on."""
    return services.get_clinician(db.session, user_id)


def _mark_form() -> MarkForm:
    """The form marking one module, bound to what was posted."""
    # The choices first: their catalogue read brings the time zone the form's date needs.
    choices = services.markable_items(db.session)
    form = MarkForm()
    form.item_code.choices = choices
    return form


def _marking_refused(error: DomainError, user_id: int) -> Page:
    """The record again, the marking form as sent, and why it was refused."""
    page = _record_page(_clinician(user_id), mark_form=_mark_form(), error=error.message)
    return page, error.status_code


@bp.post("/clinicians/<id:user_id>/completions")
@reads_first
@staff_required
@on_refusal(_marking_refused, flash_as=None)  # the record page shows the message by the form
def mark_one(user_id: int) -> Page:
    """Mark one module complete for this clinician."""
    clinician = _clinician(user_id)
    form = _mark_form()
    if not form.validate_on_submit():
        return _record_page(clinician, mark_form=form, error="Check the form below."), 422
    db.begin_writing()
    completion = services.record_completion(
        db.session,
        user_id=clinician.id,
        item_code=form.item_code.data,
        completed_on=form.completed_on.data,
        source=CompletionSource.INSTRUCTOR,
        actor_id=current_user.id,
        note=form.note.data or "",
    )
    flash(
        f"{completion.item.title} recorded as completed on "
        f"{dates.day(completion.completed_on)} for {clinician.name}.",
        "success",
    )
    return redirect(url_for("progress.record", user_id=clinician.id))


def _revoking_refused(error: DomainError, user_id: int, completion_id: int) -> Page:
    """The record again, the revoke form as sent, and why it was refused."""
    page = _record_page(
        _clinician(user_id), revoke_form=RevokeForm(), revoking=completion_id, error=error.message
    )
    return page, error.status_code


@bp.post("/clinicians/<id:user_id>/completions/<id:completion_id>/revoke")
@staff_required
@on_refusal(_revoking_refused, flash_as=None)  # the record page shows the message by the form
def revoke(user_id: int, completion_id: int) -> Page:
    """Revoke one of this clinician's completions, with a reason."""
    clinician = _clinician(user_id)
    with not_a_refusal():  # another clinician's completion, or none: the 404 page
        owner = services.completion_owner(db.session, completion_id)
    if owner != clinician.id:
        abort(404)
    form = RevokeForm()
    if not form.validate_on_submit():
        message = "; ".join(form.reason.errors) or "Check the form."
        return _record_page(clinician, revoke_form=form, revoking=completion_id, error=message), 422
    completion = services.revoke_completion(
        db.session, completion_id, actor_id=current_user.id, reason=form.reason.data
    )
    flash(f"{completion.item.title} completion revoked; it stays in the history.", "success")
    return redirect(url_for("progress.record", user_id=clinician.id))


_EMAIL_SEPARATORS = re.compile(r"[\s,;]+")


def _ticked_ids() -> list[int] | None:
    """The ticked clinicians of the cohort form; None when the list is not understood."""
    ticked = [bounded_int(value) for value in request.form.getlist("user_id")]
    if None in ticked:
        return None
    return [number for number in ticked if number is not None]


def _selected_ids() -> list[int]:
    """The ticked clinicians of the cohort form (InvalidInput if the list is not understood)."""
    ticked = _ticked_ids()
    if ticked is None:
        raise InvalidInput("The list of clinicians was not understood; reload the page.")
    return ticked


def _cohort_page(
    form: CohortForm, *, error: str | None = None, ticked: set[int] | None = None
) -> tuple[str, int]:
    """Render the cohort marking page: the module chosen (asked, posted, else the first), its
    offerings to pick from, and the people listed with where each stands with it.

    A group's members come ticked (but those who already have the module) until a post says
    otherwise; a search's matches come unticked.
    """
    status = 200
    choices = dict(form.item_code.choices)
    if not choices:  # no catalogue loaded yet: nothing to mark
        page = render_template("progress/mark.html", form=form, picker=None, error=error)
        return page, status
    asked = request.args.get("item") or form.item_code.data or ""
    item = asked if asked in choices else next(iter(choices))
    if asked and asked != item:
        error, status = "Choose a module from the list.", 404
    search = request.args.get("q", "")[:200]
    group_key = request.args.get("group", "")[:40]
    try:
        picker = services.cohort_picker(db.session, item, search=search, group_key=group_key)
    except NotFound as refused:
        picker = services.cohort_picker(db.session, item, search=search)
        error, status, group_key = refused.message, 404, ""
    if ticked is None:
        ticked = {p.user_id for p in picker.people if not p.done} if picker.group else set()
    if request.method == "GET" and picker.group is not None and picker.group.completed_on:
        form.completed_on.data = min(picker.group.completed_on, form.completed_on.data)
    form.item_code.data = item
    page = render_template(
        "progress/mark.html",
        form=form,
        picker=picker,
        search=search,
        group_key=group_key,
        ticked=ticked,
        error=error,
    )
    return page, status


def _cohort_form() -> CohortForm:
    """The cohort marking form, bound to what was posted."""
    choices = services.markable_items(db.session)  # first: it reads the time zone too
    form = CohortForm()
    form.item_code.choices = choices
    return form


def _cohort_refused(error: DomainError) -> Page:
    """The cohort page again as sent (ticks kept when they were understood), and why."""
    page, _ = _cohort_page(_cohort_form(), error=error.message, ticked=set(_ticked_ids() or ()))
    return page, error.status_code


@bp.route("/mark", methods=["GET", "POST"])
@reads_first
@staff_required
@on_refusal(_cohort_refused, flash_as=None)  # the page shows the message above the form
def mark_cohort() -> Page:
    """Mark one module complete for many clinicians at once."""
    form = _cohort_form()
    if request.method == "GET":
        return _cohort_page(form)
    ticked = _selected_ids()
    if not form.validate_on_submit():
        return _cohort_page(form, error="Check the form below.", ticked=set(ticked))[0], 422
    emails = [e for e in _EMAIL_SEPARATORS.split(form.emails.data or "") if e]
    from_emails, unknown = services.find_clinicians_by_email(db.session, emails)
    if unknown:
        message = (
            "These e-mail addresses match no clinician: "
            + ", ".join(unknown)
            + ". Nothing was recorded; correct or remove them."
        )
        return _cohort_page(form, error=message, ticked=set(ticked))[0], 422
    db.begin_writing()
    result = services.record_cohort(
        db.session,
        user_ids=ticked + from_emails,
        item_code=form.item_code.data,
        completed_on=form.completed_on.data,
        actor_id=current_user.id,
        note=form.note.data or "",
    )
    flash(
        f"{result.item_title}: recorded for {len(result.created)}, skipped {len(result.skipped)}.",
        "success",
    )
    return redirect(url_for("progress.cohort_result", event_id=result.event_id))


@bp.get("/mark/results/<id:event_id>")
@staff_required
def cohort_result(event_id: int) -> str:
    """What a cohort mark recorded and skipped, with the reasons."""
    return render_template(
        "progress/mark_result.html", result=services.cohort_result(db.session, event_id)
    )
