"""Pages of the award and of the public directory: staff's award page for a candidate (the
requirement judged today, then a confirmation), the public directory of certified
practitioners, and a holder's listing from their account page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from lms.auth.api import register_account_section, staff_required
from lms.bounds import query_int
from lms.db import db
from lms.errors import DomainError, InvalidInput
from lms.paging import page_links
from lms.refusals import back_to, on_refusal, page_again
from lms.training import directory
from lms.training.award import award_credential, award_state
from lms.training.award_forms import AwardForm, ListingForm, UnlistForm

bp = Blueprint("award", __name__)


# --- the award (staff) ---------------------------------------------------------------------


def _award_page(user_id: int, form: AwardForm | None = None) -> str:
    """The award page: the requirement judged today and the award or its confirmation."""
    state = award_state(db.session, user_id)
    return render_template("training/award.html", state=state, form=form or AwardForm())


def _award_again(error: DomainError, user_id: int) -> str:
    """The award page again, the refusal flashed above it."""
    return _award_page(user_id)


@bp.route("/training/people/<id:user_id>/award", methods=["GET", "POST"])
@staff_required
@on_refusal(page_again(_award_again))
def person_award(user_id: int) -> Response | str:
    """GET: what the award would rest on; POST: award it (met today, once; audited)."""
    form = AwardForm()
    if not form.is_submitted():
        return _award_page(user_id, form)
    if not form.validate_on_submit():
        raise InvalidInput("Tick the confirmation to award the Certificate of Training.")
    certificate = award_credential(db.session, user_id, actor=current_user)
    flash(
        f"Awarded. Certificate {certificate.serial} is being prepared; the holder is told "
        "when it is ready.",
        "success",
    )
    return redirect(url_for("award.person_award", user_id=user_id), code=303)


# --- the public directory ------------------------------------------------------------------

SEARCH_MAX = directory.QUERY_MAX


@bp.get("/directory")
def public_directory() -> str:
    """The certified practitioners who chose to be listed (only while the directory is open)."""
    query = (request.args.get("q") or "").strip()[:SEARCH_MAX]
    state = (request.args.get("state") or "").strip()[: directory.STATE_MAX]
    is_open = directory.directory_open(db.session)
    found = (
        directory.listed_practitioners(
            db.session, query=query, state=state, page=query_int("page", default=1)
        )
        if is_open
        else None
    )
    return render_template(
        "training/directory.html",
        is_open=is_open,
        found=found,
        links=page_links(found) if found is not None else {},
        query=query,
        state=state,
        states=directory.directory_states(db.session) if is_open else [],
    )


# --- a holder's listing (their account page) -----------------------------------------------


def account_section(session: Any, user: Any) -> tuple[str, dict[str, Any]] | None:
    """The directory panel of the account page, for holders of the credential only."""
    state = directory.listing_state(session, user)
    if not state.eligible and state.listing is None:
        return None
    listing = state.listing
    form = ListingForm(
        formdata=None,
        data={"city": listing.city, "state": listing.state} if listing is not None else {},
    )
    return "training/_directory_account.html", {
        "listing_state": state,
        "listing_form": form,
        "unlist_form": UnlistForm(formdata=None),
    }


@bp.post("/account/directory")
@login_required
@on_refusal(back_to("account.profile"))
def list_me() -> Response:
    """List the signed-in holder in the directory, or change their city and state."""
    form = ListingForm()
    if not form.validate_on_submit():
        raise InvalidInput("Give a city and a state (plain words, at most a line each).")
    directory.opt_in(db.session, current_user, city=form.city.data, state=form.state.data)
    flash("You are listed in the directory.", "success")
    return redirect(url_for("account.profile"), code=303)


@bp.post("/account/directory/remove")
@login_required
@on_refusal(back_to("account.profile"))
def unlist_me() -> Response:
    """Take the signed-in person out of the directory at once."""
    if not UnlistForm().validate_on_submit():
        raise InvalidInput("The form had expired; please try again.")
    directory.opt_out(db.session, current_user)
    flash("You are no longer listed in the directory.", "success")
    return redirect(url_for("account.profile"), code=303)


def subscribe() -> None:
    """Show the directory panel on the account page."""
    register_account_section(account_section)
