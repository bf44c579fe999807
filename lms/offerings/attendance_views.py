"""Attendance pages of module offerings: the grid, participant reports, reports (closing is
lms.offerings.closing_views).

Instructors and admins see every grid; an offering's facilitators and admins change it.
The grid saves cell by cell when JavaScript runs (templates/static/attendance.js posts the
same form, asking for JSON) and as one form without it.
"""

from __future__ import annotations

import re
from datetime import date

from flask import (
    Blueprint,
    Response,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers import Response as WerkzeugResponse

from lms.auth.api import staff_required
from lms.bounds import bounded_int
from lms.clock import today as programme_today
from lms.db import db
from lms.errors import DomainError, Forbidden, InvalidInput
from lms.offerings import attendance, closing, participants, reports, sheet
from lms.offerings.evaluated import evaluated_user_ids
from lms.offerings.forms import PeriodForm, ReopenForm, ReportForm
from lms.refusals import back_to, not_a_refusal, on_refusal

bp = Blueprint("attendance", __name__, url_prefix="/offerings")

_WAS = re.compile(r"^was-([0-9]{1,10})-([0-9]{1,10})$")
MAX_CELLS = 60 * 31 * 4  # more than any grid the page can draw


def _wants_json() -> bool:
    """The grid's script asks for JSON; a plain form post gets a page."""
    return request.accept_mimetypes.best == "application/json"


@not_a_refusal()  # no grid to answer with (a missing offering): the error page
def _grid_page(offering_id: int, *, status: int = 200, typed: dict | None = None) -> tuple:
    """The grid page (with what was typed, when a save was refused, shown again)."""
    today = programme_today(db.session)
    grid = sheet.attendance_grid(db.session, offering_id, viewer=current_user, today=today)
    return render_template(
        "offerings/attendance.html",
        grid=grid,
        typed=typed or {},
        upload=ReportForm(),
        result=closing.closing_result(db.session, offering_id) if grid.offering.closed_at else None,
        reopened=closing.last_reopening(db.session, offering_id),
        close_problem=closing.closing_problem(grid.offering, current_user, today),
        reopen=ReopenForm(),
        verdict_text=sheet.verdict_text,
    ), status


@bp.get("/<id:offering_id>/attendance")
@staff_required
def grid(offering_id: int) -> tuple:
    """The offering's enrolled people by days: present, absent, minutes; its reports."""
    return _grid_page(offering_id)


def _cells() -> list[sheet.CellInput]:
    """The cells the form carries (each has its drawn value in a `was-` field)."""
    cells = []
    for name in request.form:
        match = _WAS.match(name)
        if match is None:
            continue
        enrolment_id, day_id = bounded_int(match[1]), bounded_int(match[2])
        if enrolment_id is None or day_id is None:
            continue
        key = f"{match[1]}-{match[2]}"
        cells.append(
            sheet.CellInput(
                enrolment_id=enrolment_id,
                day_id=day_id,
                choice=request.form.get(f"present-{key}", ""),
                minutes=sheet.parse_minutes(
                    request.form.get(f"minutes-{key}"), f"Row {len(cells) + 1}"
                ),
                was=request.form.get(name, ""),
            )
        )
        if len(cells) > MAX_CELLS:
            raise InvalidInput("Too many cells in one save.")
    return cells


def _typed() -> dict[str, tuple[str, str]]:
    """{cell key: (choice, minutes)} as posted, to draw a refused grid again as typed."""
    typed = {}
    for name in request.form:
        if (match := _WAS.match(name)) is not None:
            key = f"{match[1]}-{match[2]}"
            typed[key] = (
                request.form.get(f"present-{key}", ""),
                request.form.get(f"minutes-{key}", ""),
            )
    return typed


def _not_saved(error: DomainError, offering_id: int) -> WerkzeugResponse | tuple:
    """The script reads the refusal as JSON; a form post gets the grid again, as typed."""
    if _wants_json():
        return jsonify(error=error.message), error.status_code
    if error.status_code in (403, 404):
        raise error  # the error page: not the person's grid, or no such offering
    flash(f"Nothing was saved: {error.message}", "error")
    return _grid_page(offering_id, status=error.status_code, typed=_typed())


@bp.post("/<id:offering_id>/attendance")
@staff_required
@on_refusal(_not_saved, flash_as=None)  # a JSON answer must leave no flash for a later page
def save(offering_id: int) -> WerkzeugResponse | tuple:
    """Save the cells changed since the page was drawn (one cell from the script, or all)."""
    report = sheet.save_cells(db.session, offering_id, _cells(), actor=current_user)
    if _wants_json():
        return jsonify(
            message=report.message,
            conflicts=report.conflicts,
            cells=[
                {
                    "key": c.key,
                    "token": c.token,
                    "choice": c.choice,
                    "minutes": c.minutes,
                    "source": c.source.label if c.source else "",
                }
                for c in [*report.saved, *report.current]
            ],
            verdicts={str(k): sheet.verdict_text(v) for k, v in report.verdicts.items()},
        )
    flash(report.message, "warning" if report.conflicts else "success")
    if report.conflicts:
        flash("Changed by someone else meanwhile: " + "; ".join(report.conflicts), "warning")
    return redirect(url_for("attendance.grid", offering_id=offering_id))


def _grid_again(error: DomainError, offering_id: int, **_: int) -> tuple:
    """The grid again with the refusal's status (its flash says why)."""
    return _grid_page(offering_id, status=error.status_code)


@bp.post("/<id:offering_id>/attendance/<id:day_id>/import")
@staff_required
@on_refusal(_grid_again, prefix="Nothing was imported. ", error_page_for=(403, 404))
def import_report(offering_id: int, day_id: int) -> WerkzeugResponse | tuple:
    """Fill a day's attendance from its participant report (CSV upload): all or nothing."""
    offering = attendance.load_offering(db.session, offering_id)
    if not attendance.may_edit(current_user, offering):
        raise Forbidden("Only this offering's facilitators and administrators take attendance.")
    form = ReportForm()
    upload = request.files.get("file")
    if not form.validate_on_submit() or upload is None or not upload.filename:
        flash("Choose the day's participant report (a CSV file).", "error")
        return _grid_page(offering_id, status=422)
    raw = upload.read(participants.MAX_BYTES + 1)
    if len(raw) > participants.MAX_BYTES:
        flash("The file is over 2 MB; a day's participant report is much smaller.", "error")
        return _grid_page(offering_id, status=413)
    result = participants.import_report(db.session, offering_id, day_id, raw, actor=current_user)
    flash(result.message, "success")
    return redirect(url_for("attendance.grid", offering_id=offering_id, _anchor="reports"))


@bp.post("/<id:offering_id>/attendance/rows/<id:row_id>/match")
@staff_required
@on_refusal(back_to("attendance.grid", _anchor="reports"), error_page_for=(403, 404))
def match_row(offering_id: int, row_id: int) -> WerkzeugResponse:
    """Tie a participant report's row to an enrolled person by hand (or untie it)."""
    chosen = request.form.get("enrolment_id", "")
    enrolment_id = bounded_int(chosen) if chosen else None
    if chosen and enrolment_id is None:
        flash("Choose someone from the list.", "error")
        return redirect(url_for("attendance.grid", offering_id=offering_id, _anchor="reports"))
    row = participants.match_row(db.session, offering_id, row_id, enrolment_id, actor=current_user)
    who = row.name or row.email
    flash(
        f"{who}: matched; their minutes count now." if enrolment_id else f"{who}: not matched.",
        "success",
    )
    return redirect(url_for("attendance.grid", offering_id=offering_id, _anchor="reports"))


# --------------------------------------------------------------------------- reports


def _download(body: bytes | str, filename: str, mimetype: str) -> Response:
    """A file download that no cache keeps (it names people and licences)."""
    response = make_response(body)
    response.headers["Content-Type"] = mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<id:offering_id>/attendance.csv")
@staff_required
def roster_csv(offering_id: int) -> Response:
    """The offering's attendance and CE roster as CSV."""
    today = programme_today(db.session)
    grid = sheet.attendance_grid(db.session, offering_id, viewer=current_user, today=today)
    evaluated = evaluated_user_ids(db.session, offering_id)
    return _download(
        reports.roster_csv(grid, evaluated),
        reports.roster_filename(grid) + ".csv",
        "text/csv; charset=utf-8",
    )


@bp.get("/<id:offering_id>/attendance.pdf")
@staff_required
def record_pdf(offering_id: int) -> Response:
    """The printable attendance record of the offering (PDF)."""
    today = programme_today(db.session)
    grid, content = reports.offering_record(
        db.session, offering_id, viewer=current_user, today=today
    )
    return _download(
        reports.record_pdf(content), reports.roster_filename(grid) + ".pdf", "application/pdf"
    )


@bp.get("/reports/ce-awards")
@staff_required
def ce_awards() -> str:
    """Choose the period whose CE awards to export."""
    today = programme_today(db.session)
    form = PeriodForm(request.args, meta={"csrf": False})
    if not request.args:
        form.from_on.data = date(today.year, 1, 1)
        form.to_on.data = today
    return render_template("offerings/ce_awards.html", form=form)


@bp.get("/reports/ce-awards.csv")
@staff_required
@on_refusal(back_to("attendance.ce_awards"))
def ce_awards_csv() -> WerkzeugResponse | Response:
    """Every CE award (live completion with CE hours) of the period, as CSV."""
    form = PeriodForm(request.args, meta={"csrf": False})
    if not form.validate():
        raise InvalidInput("Give the period as two dates, From and To.")
    period = reports.Period.of(form.from_on.data, form.to_on.data)
    body = reports.ce_awards_csv(db.session, period)
    name = f"ce-awards-{period.starts_on.isoformat()}-to-{period.ends_on.isoformat()}.csv"
    return _download(body, name, "text/csv; charset=utf-8")
