"""The public directory of certified practitioners: opt-in only, off until the admin opens it.

A person who holds the Certificate of Training (awarded, its certificate not revoked) may list
themself with a city and a state; the public page shows their name, credentials, city and
state and a link to their certificate's verify page, and nothing else (no e-mail, no licence
number). Opting out, a revoked award and an erasure each remove the listing at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from lms.audit.services import record_event
from lms.auth.api import User
from lms.certificates.api import Certificate
from lms.errors import Conflict, InvalidInput
from lms.paging import Page, contains_pattern
from lms.programme import PRACTITIONER_DIRECTORY, programme_setting
from lms.training.models import Candidate, DirectoryListing
from lms.training.requirement import stored_credential

DIRECTORY_SETTING = PRACTITIONER_DIRECTORY  # the admin's switch; off when absent
CITY_MAX = 100
STATE_MAX = 60
PER_PAGE = 25
QUERY_MAX = 100


@dataclass(frozen=True)
class ListedPractitioner:
    """One line of the public directory (plain values: nothing more is ever shown)."""

    name: str
    credentials: str
    city: str
    state: str
    verify_code: str


def directory_open(session: Session) -> bool:
    """Whether the admin has opened the public directory for the programme."""
    return programme_setting(session, DIRECTORY_SETTING) is True


def _holds_credential(session: Session, user_id: int) -> bool:
    """The person was awarded the Certificate of Training and the award stands."""
    credential = stored_credential(session)
    if credential is None:
        return False
    candidate = session.get(Candidate, (user_id, credential.id))
    return candidate is not None and candidate.awarded_at is not None


@dataclass(frozen=True)
class ListingState:
    """What a person's account page shows of the directory."""

    eligible: bool
    open: bool
    listing: DirectoryListing | None


def listing_state(session: Session, user: User) -> ListingState:
    """Whether the person may list themself, whether the directory is open, their listing."""
    return ListingState(
        eligible=_holds_credential(session, user.id),
        open=directory_open(session),
        listing=session.get(DirectoryListing, user.id),
    )


def _clean(value: str | None, what: str, limit: int) -> str:
    """A short line of plain text, required."""
    text = " ".join((value or "").split())
    if not text:
        raise InvalidInput(f"Give your {what}.")
    if len(text) > limit:
        raise InvalidInput(f"The {what} may be at most {limit} characters.")
    return text


def _record(session: Session, user: User, action: str) -> None:
    """Audit the person's own choice about their listing: they are actor, subject and person
    (the place stays out of the trail)."""
    record_event(
        session,
        actor_id=user.id,
        action=action,
        subject_type="user",
        subject_id=user.id,
        person_id=user.id,
    )


def opt_in(session: Session, user: User, *, city: str, state: str) -> DirectoryListing:
    """List the person (or change their city and state); only a holder of the credential,
    only while the directory is open. Audited, without the place."""
    city = _clean(city, "city", CITY_MAX)
    state = _clean(state, "state", STATE_MAX)
    if not _holds_credential(session, user.id):
        raise Conflict("Only a holder of the Certificate of Training can be listed.")
    if not directory_open(session):
        raise Conflict("The directory is not open yet.")
    listing = session.get(DirectoryListing, user.id)
    action = "directory.listing_changed"
    if listing is None:
        listing = DirectoryListing(user_id=user.id, city=city, state=state)
        session.add(listing)
        action = "directory.opted_in"
    else:
        listing.city, listing.state = city, state
    session.flush()
    _record(session, user, action)
    return listing


def opt_out(session: Session, user: User) -> bool:
    """Take the person out of the directory at once (False when they were not in it)."""
    listing = session.get(DirectoryListing, user.id)
    if listing is None:
        return False
    session.delete(listing)
    session.flush()
    _record(session, user, "directory.opted_out")
    return True


def _listed(credential_id: int) -> Select:
    """Listings of holders whose award and current certificate stand, with what the public
    page shows (the one definition of "listed" that the page and its state choice read)."""
    return (
        select(User.name, User.credentials, DirectoryListing.city, DirectoryListing.state)
        .add_columns(Certificate.code)
        .join(User, User.id == DirectoryListing.user_id)
        .join(
            Candidate,
            (Candidate.user_id == DirectoryListing.user_id)
            & (Candidate.credential_id == credential_id),
        )
        .join(
            Certificate,
            (Certificate.user_id == DirectoryListing.user_id)
            & (Certificate.credential_id == credential_id)
            & Certificate.is_current,
        )
        .where(
            User.active.is_(True),
            User.anonymised_at.is_(None),
            Candidate.awarded_at.is_not(None),
        )
    )


def listed_practitioners(
    session: Session, *, query: str = "", state: str = "", page: int = 1
) -> Page[ListedPractitioner]:
    """One page of the directory, by name, matching the name and the state when given (two
    queries: the count and the page)."""
    credential = stored_credential(session)
    if credential is None:
        return Page([], 1, PER_PAGE, 0)
    base = _listed(credential.id)
    if query.strip():
        pattern = contains_pattern(query.strip()[:QUERY_MAX])
        base = base.where(func.lower(User.name).like(pattern, escape="\\"))
    if state.strip():
        base = base.where(func.lower(DirectoryListing.state) == state.strip()[:STATE_MAX].lower())
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    page = max(1, min(page, max(1, -(-total // PER_PAGE))))
    rows = session.execute(
        base.order_by(User.name, DirectoryListing.user_id)
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE)
    ).all()
    return Page(
        [ListedPractitioner(r.name, r.credentials or "", r.city, r.state, r.code) for r in rows],
        page,
        PER_PAGE,
        total,
    )


def directory_states(session: Session) -> list[str]:
    """The states of the practitioners listed, for the search's choice (one query)."""
    credential = stored_credential(session)
    if credential is None:
        return []
    listed = _listed(credential.id).subquery()
    found = session.scalars(select(listed.c.state).distinct())
    return sorted({state for state in found if state}, key=str.lower)
