"""Pages of Certificate of Training progress: the clinician's page (each part of the
requirement, its picture, the window), and the staff's queues (awaiting confirmation, ready to
award, window closing) with their counts; plus the dashboard card and the staff home's counts,
registered by `subscribe()`."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from lms.auth.api import staff_required
from lms.bounds import query_int
from lms.db import db
from lms.paging import Page, page_links
from lms.training import queues
from lms.training.overview import dashboard_card, overview_of
from lms.training.standing import due_since

bp = Blueprint("training_progress", __name__, url_prefix="/training")


@bp.get("/")
@login_required
def overview() -> str:
    """The signed-in clinician's Certificate of Training: where they stand on each part."""
    return render_template("training/overview.html", overview=overview_of(db.session, current_user))


@bp.get("/queues")
@staff_required
def queues_index() -> str:
    """How much waits in each of the Certificate of Training's queues."""
    return render_template(
        "training/queues.html",
        counts=queues.queue_counts(db.session),
        said=queues.said,
        warning_days=queues.WARNING_DAYS,
    )


@bp.get("/queues/awaiting")
@staff_required
def awaiting() -> str:
    """Consultations awaiting their consultant's answer, oldest first."""
    page = queues.awaiting_page(db.session, query_int("page", default=1))
    return render_template(
        "training/queue_awaiting.html", page=page, links=page_links(page), said=queues.said
    )


def _candidates_page(which: str, page: Page[queues.CandidateRow]) -> str:
    """A queue of candidates, "ready" or "closing", and its links to the pages beside it."""
    return render_template(
        "training/queue_candidates.html",
        page=page,
        links=page_links(page),
        which=which,
        warning_days=queues.WARNING_DAYS,
        said=queues.said,
        due_since=due_since(db.session),
    )


@bp.get("/queues/ready")
@staff_required
def ready() -> str:
    """Candidates who meet the requirement and are not awarded yet."""
    return _candidates_page("ready", queues.ready_page(db.session, query_int("page", default=1)))


@bp.get("/queues/closing")
@staff_required
def closing() -> str:
    """Candidates whose window closes soon without the requirement met."""
    page = queues.closing_page(db.session, query_int("page", default=1))
    return _candidates_page("closing", page)


def subscribe() -> None:
    """Register the dashboard card and the staff home's counts once."""
    from lms.progress.api import STAFF_HOME
    from lms.progress.services import DASHBOARD_SECTIONS

    if dashboard_card not in DASHBOARD_SECTIONS:
        DASHBOARD_SECTIONS.append(dashboard_card)
    if queues.staff_home_part not in STAFF_HOME:
        STAFF_HOME.append(queues.staff_home_part)
