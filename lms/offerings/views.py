"""Offering pages: what is scheduled, enrolling and withdrawing, staff scheduling and rosters."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as WerkzeugResponse
from wtforms import SelectChoice

from lms import dates
from lms.auth.api import admin_required, staff_required
from lms.bounds import bounded_int
from lms.clock import programme_zone
from lms.clock import today as programme_today
from lms.db import db
from lms.errors import DomainError, InvalidInput, NotFound
from lms.i18n import translate
from lms.offerings import calendar, enrolment, listing, pages, schedule
from lms.offerings.forms import (
    BulkEnrolForm,
    FindPersonForm,
    ImportForm,
    OfferingFilterForm,
    OfferingForm,
)
from lms.offerings.models import EnrolmentStatus, Offering, OfferingFormat, OfferingStatus
from lms.paging import page_links
from lms.progress.api import standing_words
from lms.refusals import back_to, back_to_posted, not_a_refusal, on_refusal, page_again, show_on

bp = Blueprint("offerings", __name__, url_prefix="/offerings")

MAX_IMPORT_BYTES = 2 * 1024 * 1024


# --------------------------------------------------------------------------- clinicians


@bp.get("/")
@login_required
def index() -> str:
    """Upcoming offerings by item, and the signed-in person's own enrolments."""
    today = programme_today(db.session)
    upcoming = listing.upcoming_offerings(db.session, today=today)
    items = {i.id: i for i in schedule.schedulable_items(db.session)}
    mine = pages.own_enrolments(db.session, current_user.id)
    live = {
        e.enrolment.offering_id: e for e in mine if e.enrolment.status != EnrolmentStatus.WITHDRAWN
    }
    return render_template(
        "offerings/index.html",
        upcoming=[s for s in upcoming if s.offering.item_id in items],
        items=items,
        mine=[e for e in mine if not e.enrolment.offering.ended(today) or e.holds_place],
        live=live,
        today=today,
    )


@bp.get("/<id:offering_id>")
@login_required
def detail(offering_id: int) -> str:
    """One offering: days, format, places, and this person's place in it."""
    page = pages.offering_page(db.session, current_user, offering_id)
    if page.offering.status == OfferingStatus.CANCELLED and not (
        current_user.is_staff or page.mine
    ):
        raise NotFound("No such offering.")
    return render_template("offerings/detail.html", page=page)


@bp.post("/<id:offering_id>/enrol")
@login_required
@on_refusal(back_to("offerings.detail"))
def enrol(offering_id: int) -> WerkzeugResponse:
    """Enrol oneself: a place when one is free, else the waitlist."""
    made = enrolment.enrol(db.session, user_id=current_user.id, offering_id=offering_id)
    if made.status == EnrolmentStatus.WAITLISTED:
        flash(
            "The offering is full: you are on its waitlist and will be told if a place opens.",
            "success",
        )
    else:
        flash("You are enrolled. The join details are on this page.", "success")
    return redirect(url_for("offerings.detail", offering_id=offering_id))


@bp.post("/enrolments/<id:enrolment_id>/withdraw")
@login_required
@on_refusal(back_to("offerings.index"))
def withdraw(enrolment_id: int) -> WerkzeugResponse:
    """Withdraw one's own enrolment before the offering starts."""
    done = enrolment.withdraw(db.session, enrolment_id, user_id=current_user.id)
    flash("You are withdrawn; your place went to the next person waiting, if any.", "success")
    return redirect(url_for("offerings.detail", offering_id=done.offering_id))


@bp.get("/<id:offering_id>.ics")
@login_required
def offering_ics(offering_id: int) -> Response:
    """An offering's days as an iCalendar file (no join link)."""
    offering = schedule.get_offering(db.session, offering_id)
    body = calendar.offering_calendar(
        offering,
        zone=programme_zone(db.session),
        public_url=current_app.config["LMS_PUBLIC_URL"],
    )
    return _ics(body, f"offering-{offering.id}.ics")


@bp.get("/mine.ics")
@login_required
def my_ics() -> Response:
    """Every offering the person holds a place in or waits for, as one calendar file."""
    places = []
    for own in pages.own_enrolments(db.session, current_user.id):
        status = own.enrolment.status
        if status in (EnrolmentStatus.WITHDRAWN, EnrolmentStatus.NOT_CLEARED):
            continue
        note = "" if own.holds_place else status.label.lower()
        places.append((own.enrolment.offering, note))
    body = calendar.personal_calendar(
        places, zone=programme_zone(db.session), public_url=current_app.config["LMS_PUBLIC_URL"]
    )
    return _ics(body, "my-training.ics")


def _ics(body: bytes, filename: str) -> Response:
    """A calendar download."""
    response = make_response(body)
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --------------------------------------------------------------------------- staff


@bp.get("/manage")
@staff_required
def manage() -> tuple[str, int]:
    """The offerings with their counts, upcoming (or to close, past, all) and searched by
    item, a page at a time; admins schedule, staff open rosters."""
    form = OfferingFilterForm(formdata=request.args)
    today = programme_today(db.session)
    if not form.validate():
        return render_template(
            "offerings/manage.html", form=form, page=None, links={}, today=today
        ), 422
    page = listing.find_offerings(
        db.session,
        shown=listing.Shown(form.shown.data),
        text=form.q.data or "",
        page=form.page.data or 1,
        today=today,
    )
    return render_template(
        "offerings/manage.html", form=form, page=page, links=page_links(page), today=today
    ), 200


def _offering_form(offering: Offering | None = None) -> OfferingForm:
    """The scheduling form (bound to what was posted) with the choices it offers."""
    form = OfferingForm()
    _form_choices(form)
    if offering is not None:  # its item is fixed once scheduled
        form.item_code.choices = [SelectChoice(offering.item.code, offering.item.title)]
        form.item_code.data = offering.item.code
    return form


def _form_choices(form: OfferingForm) -> None:
    """Items and facilitators the form offers."""
    form.item_code.choices = [SelectChoice("", "Choose…")] + [
        SelectChoice(i.code, i.title) for i in schedule.schedulable_items(db.session)
    ]
    form.facilitators.choices = schedule.facilitator_choices(db.session)


def _input(form: OfferingForm) -> schedule.OfferingInput:
    """The form's values as the service takes them (InvalidInput for bad day lines)."""
    return schedule.OfferingInput(
        days=tuple(schedule.parse_days(form.days.data or "")),
        capacity=int(form.capacity.data),
        format=OfferingFormat(form.format.data),
        location=form.location.data or "",
        join_url=form.join_url.data or "",
        enrolment_deadline=form.enrolment_deadline.data,
        cancelled=bool(form.cancelled.data),
        facilitator_ids=tuple(form.facilitators.data or ()),
    )


def _new_form_again(error: DomainError) -> str:
    """The scheduling form as posted; a bad day line is also shown under the days."""
    form = _offering_form()
    if isinstance(error, InvalidInput):
        show_on(form.days, error)
    return render_template("offerings/form.html", form=form, editing=None)


@bp.route("/new", methods=["GET", "POST"])
@admin_required
@on_refusal(page_again(_new_form_again))
def new() -> WerkzeugResponse | tuple[str, int] | str:
    """Schedule an offering of a module or retreat."""
    form = _offering_form()
    if request.method == "GET" and (code := request.args.get("item")):
        form.item_code.data = code
    if form.validate_on_submit():
        created = schedule.create_offering(
            db.session,
            item_code=form.item_code.data,
            data=_input(form),
            actor_id=current_user.id,
        )
        flash(f"Scheduled: {created.item.title}, {dates.day(created.starts_on)}.", "success")
        return redirect(url_for("offerings.detail", offering_id=created.id))
    status = 422 if request.method == "POST" else 200
    return render_template("offerings/form.html", form=form, editing=None), status


def _edit_form_again(error: DomainError, offering_id: int) -> str:
    """The offering's form as posted."""
    offering = _offering_to_edit(offering_id)
    form = _offering_form(offering)
    return render_template("offerings/form.html", form=form, editing=offering)


@not_a_refusal()
def _offering_to_edit(offering_id: int) -> Offering:
    """The offering the edit page is about (a missing one is the 404 page)."""
    return schedule.get_offering(db.session, offering_id)


@bp.route("/<id:offering_id>/edit", methods=["GET", "POST"])
@admin_required
@on_refusal(page_again(_edit_form_again))
def edit(offering_id: int) -> WerkzeugResponse | tuple[str, int] | str:
    """Change an offering's days, format, place, link, capacity, deadline or facilitators."""
    offering = _offering_to_edit(offering_id)
    form = _offering_form(offering)
    if request.method == "GET":
        form.format.data = offering.format.value
        form.days.data = schedule.format_days(offering.days)
        form.location.data = offering.location
        form.join_url.data = offering.join_url
        form.capacity.data = offering.capacity
        form.enrolment_deadline.data = offering.enrolment_deadline
        form.facilitators.data = [f.user_id for f in offering.facilitators]
        form.cancelled.data = offering.status == OfferingStatus.CANCELLED
    if form.validate_on_submit() and not request.form.get("revise"):
        values = _input(form)
        change = schedule.preview_update(
            db.session, offering_id, data=values, today=programme_today(db.session)
        )
        if change.needs_confirmation and form.confirmed.data != str(offering.calendar_sequence):
            return render_template(
                "offerings/confirm_change.html",
                offering=offering,
                change=change,
                carried=_carried_values(),
            ), 200
        saved = schedule.update_offering(
            db.session, offering_id, data=values, actor_id=current_user.id
        )
        told = saved.people_told
        flash(
            f"Offering saved; {told} {'person was' if told == 1 else 'people were'} told of "
            "the change (a notice and an e-mail with the updated calendar entry)."
            if told
            else "Offering saved.",
            "success",
        )
        if count := saved.attendance_rejudged:
            cells = "cell" if count == 1 else "cells"
            flash(
                f"The new hours changed {count} attendance {cells} taken from participant "
                "reports (cells typed by hand are kept). Check the attendance grid.",
                "info",
            )
        return redirect(url_for("offerings.detail", offering_id=offering_id))
    status = 422 if request.method == "POST" and form.errors else 200
    return render_template("offerings/form.html", form=form, editing=offering), status


# The posted fields the confirmation page does not carry on: its own button and the token.
_NOT_CARRIED = {"csrf_token", "confirmed", "revise"}


def _carried_values() -> list[tuple[str, str]]:
    """The edit form's posted values, to post again from the confirmation page."""
    return [
        (name, value)
        for name, values in request.form.lists()
        if name not in _NOT_CARRIED
        for value in values
    ]


@not_a_refusal()  # a missing offering has no roster to answer with: the 404 page
def _people_page(
    offering_id: int,
    *,
    status: int = 200,
    report: enrolment.BulkReport | None = None,
    problems: list[str] | None = None,
    bulk: BulkEnrolForm | None = None,
) -> tuple[str, int]:
    """The roster page with its forms (and what the last bulk action refused, if anything)."""
    search = FindPersonForm(request.args, meta={"csrf": False})
    query = (search.q.data or "").strip() if search.validate() else ""
    found = pages.people_matching(db.session, query) if query else []
    roster = pages.offering_roster(db.session, offering_id)
    # Where each person found stands with the item: who already has it is warned about.
    standing = standing_words(db.session, roster.offering.item, [p.id for p in found])
    today = programme_today(db.session)
    return render_template(
        "offerings/people.html",
        roster=roster,
        # The one rule decides whether the enrol forms show (staff: until it is closed).
        staff_may_enrol=roster.offering.refusal_to_join(today, by_staff=True) is None,
        bulk=bulk or BulkEnrolForm(),
        upload=ImportForm(),
        search=search,
        query=query,
        found=found,
        standing=standing,
        report=report,
        problems=problems or [],
        today=today,
    ), status


@bp.get("/<id:offering_id>/people")
@staff_required
def people(offering_id: int) -> tuple[str, int]:
    """The offering's own roster: enrolled people, the waitlist, and ways to enrol more."""
    return _people_page(offering_id)


def _roster_again(error: DomainError, offering_id: int) -> tuple[str, int]:
    """The roster page again; its paste form (made anew) shows what was sent."""
    return _people_page(offering_id, status=error.status_code)


@bp.post("/<id:offering_id>/people")
@staff_required
@on_refusal(_roster_again)
def enrol_people(offering_id: int) -> WerkzeugResponse | tuple[str, int]:
    """Enrol pasted e-mail addresses: all of them, or (listing why) none."""
    form = BulkEnrolForm()
    if not form.validate_on_submit():
        flash("Paste at least one e-mail address.", "error")
        return _people_page(offering_id, status=422, bulk=form)
    report = enrolment.enrol_emails(
        db.session,
        offering_id,
        form.emails.data,
        actor_id=current_user.id,
        repeats_allowed=bool(form.anyway.data),
    )
    if not report.ok:
        # All or none: the addresses that were fine must not be enrolled either.
        db.rollback()
        if report.unknown or report.refused:
            flash("Nobody was enrolled: fix the addresses listed below and try again.", "error")
        else:
            flash(
                "Nobody was enrolled: some already have this module (listed below). Tick "
                "“Enrol them even if …” and send the list again if they are repeating it.",
                "error",
            )
        return _people_page(offering_id, status=422, report=report, bulk=form)
    flash(_summary(report), "success")
    return redirect(url_for("offerings.people", offering_id=offering_id))


@bp.post("/<id:offering_id>/people/add")
@staff_required
@on_refusal(back_to("offerings.people"))
def enrol_person(offering_id: int) -> WerkzeugResponse:
    """Enrol one person found by search."""
    user_id = bounded_int(request.form.get("user_id"))
    if user_id is None:
        flash(translate("Choose someone to enrol."), "error")
        return redirect(url_for("offerings.people", offering_id=offering_id))
    try:
        made = enrolment.enrol_user(
            db.session,
            offering_id,
            user_id,
            actor_id=current_user.id,
            repeat_allowed=request.form.get("anyway") == "1",
        )
    except enrolment.RepeatNeedsConfirming as warning:
        # Back to the same search, where their line now asks "Enrol anyway".
        db.rollback()
        flash(warning.message, "warning")
        searched = (request.form.get("q") or "")[:200] or None
        return redirect(url_for("offerings.people", offering_id=offering_id, q=searched))
    flash(f"{made.user.name}: {made.status.label.lower()}.", "success")
    return redirect(url_for("offerings.people", offering_id=offering_id))


@bp.post("/<id:offering_id>/people/import")
@staff_required
@on_refusal(_roster_again)
def import_people(offering_id: int) -> WerkzeugResponse | tuple[str, int]:
    """Import a shop's CSV export (email,enrolled_on): all rows or none."""
    form = ImportForm()
    upload = request.files.get("file")
    if not form.validate_on_submit() or upload is None or not upload.filename:
        flash("Choose the shop's CSV file.", "error")
        return _people_page(offering_id, status=422)
    raw = upload.read(MAX_IMPORT_BYTES + 1)
    if len(raw) > MAX_IMPORT_BYTES:
        flash("The file is over 2 MB; export one offering at a time.", "error")
        return _people_page(offering_id, status=413)
    try:
        report = enrolment.import_shop_csv(db.session, offering_id, raw, actor_id=current_user.id)
    except enrolment.ShopImportError as error:  # an InvalidInput with the lines' problems
        db.rollback()
        flash("Nothing was imported: fix the lines listed below.", "error")
        return _people_page(offering_id, status=422, problems=error.problems)
    flash(_summary(report), "success")
    return redirect(url_for("offerings.people", offering_id=offering_id))


@bp.post("/enrolments/<id:enrolment_id>/remove")
@staff_required
# Back to the roster the removal was asked from (the form says which), else the offerings.
@on_refusal(back_to_posted("offerings.people", "offering_id", otherwise="offerings.manage"))
def remove(enrolment_id: int) -> WerkzeugResponse:
    """Staff withdraw someone before the offering starts."""
    done = enrolment.remove(db.session, enrolment_id, actor_id=current_user.id)
    flash(f"{done.user.name} is withdrawn.", "success")
    return redirect(url_for("offerings.people", offering_id=done.offering_id))


def _summary(report: enrolment.BulkReport) -> str:
    """'3 enrolled, 1 waitlisted, 2 already in.'"""
    parts = [f"{len(report.enrolled)} enrolled"]
    if report.waitlisted:
        parts.append(f"{len(report.waitlisted)} waitlisted")
    if report.already:
        parts.append(f"{len(report.already)} already in")
    if report.repeating:
        parts.append(f"{len(report.repeating)} repeating the module (they already have it)")
    return ", ".join(parts) + "."
