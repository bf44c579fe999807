"""A licence's standing on a programme day: the one ladder every page, guard and export asks.

Pure: it reads a person's licence columns (a User, or a row with the same names) and a date,
nothing else. The read model's SQL twin (lms.progress.tracking.licensed_on) is tested equal
to `licence_standing(...) is LicenceStanding.VERIFIED`.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any


class LicenceStanding(StrEnum):
    """Where a person's licence stands on a day; only VERIFIED counts for retreats."""

    UNLICENSED = "pre-licensed"  # no licence on file (a clinician in training, or staff)
    UNVERIFIED = "unverified"
    EXPIRED = "expired"
    VERIFIED = "verified"


def licence_standing(person: Any, on: date) -> LicenceStanding:
    """The standing of the person's licence on the programme date `on`.

    A licence counts when it is held, verified by staff and not expired that day (it is good
    through its expiry date).
    """
    if person.pre_licensed or not person.licence_number:
        return LicenceStanding.UNLICENSED
    if person.licence_verified_at is None:
        return LicenceStanding.UNVERIFIED
    expires_on = person.licence_expires_on
    if expires_on is not None and expires_on < on:
        return LicenceStanding.EXPIRED
    return LicenceStanding.VERIFIED


def licensed_on(person: Any, on: date) -> bool:
    """Whether the person's licence counts on that day."""
    return licence_standing(person, on) is LicenceStanding.VERIFIED
