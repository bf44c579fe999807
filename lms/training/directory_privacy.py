"""The directory's part of a person's privacy requests: their listing in the export; erasure
takes them out of the directory."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from lms.auth.api import Erasure, Export, PrivacyHooks, User, iso
from lms.training.models import DirectoryListing


def export(session: Session, user: User) -> Export:
    """The person's listing (city, state, since when), if they opted in."""
    listing = session.get(DirectoryListing, user.id)
    if listing is None:
        return Export({"listed": False})
    return Export(
        {
            "listed": True,
            "city": listing.city,
            "state": listing.state,
            "listed_at": iso(listing.listed_at),
        }
    )


def erase(session: Session, erasure: Erasure) -> None:
    """Remove the listing."""
    removed = session.execute(
        delete(DirectoryListing)
        .where(DirectoryListing.user_id == erasure.person.id)
        .execution_options(synchronize_session="fetch")
    ).rowcount
    erasure.facts["directory_listing_removed"] = bool(removed)


HOOKS = PrivacyHooks("practitioner_directory", export, erase)
