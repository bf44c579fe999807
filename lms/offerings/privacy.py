"""Offerings' part of a person's privacy requests: their module enrolments, their days
attended (kept when erased, as CE records are) and the participant-report rows that name
them (scrubbed when erased). Retreat applications are the retreats' part."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session

from lms.auth.api import Erasure, Export, PrivacyHooks, User, records, select_section
from lms.catalog.api import CatalogItem, ItemKind
from lms.offerings.models import Attendance, Enrolment, Offering, OfferingDay, ParticipantRow

# What each section of the export holds: its keys and the columns they come from.
ENROLMENT_FIELDS = {
    "item": CatalogItem.code,
    "offering_id": Offering.id,
    "starts_on": Offering.starts_on,
    "status": Enrolment.status,
    "source": Enrolment.source,
    "enrolled_at": Enrolment.applied_at,
    "withdrawn_at": Enrolment.withdrawn_at,
}
DAY_FIELDS = {
    "item": CatalogItem.code,
    "offering_id": Offering.id,
    "day": OfferingDay.held_on,
    "present": Attendance.present,
    "minutes": Attendance.minutes,
    "source": Attendance.source,
}
REPORT_ROW_FIELDS = {
    "day": OfferingDay.held_on,
    "name": ParticipantRow.name,
    "email": ParticipantRow.email,
    "minutes": ParticipantRow.minutes,
    "matched": ParticipantRow.match,
}


def offering_section(fields: Mapping[str, Any], offering_id: Any) -> Select:
    """An export section of rows that each name an offering (in the column `offering_id`):
    the offering and its catalogue item joined, so the fields may name theirs."""
    return (
        select_section(fields)
        .join(Offering, Offering.id == offering_id)
        .join(CatalogItem, CatalogItem.id == Offering.item_id)
    )


def export(session: Session, user: User) -> Export:
    """Every day recorded for the person, and what the participant reports said of them."""
    enrolments = (
        offering_section(ENROLMENT_FIELDS, Enrolment.offering_id)
        .where(Enrolment.user_id == user.id, CatalogItem.kind != ItemKind.RETREAT)
        .order_by(Enrolment.id)
    )
    days = (
        select_section(DAY_FIELDS)
        .join(Enrolment, Enrolment.id == Attendance.enrolment_id)
        .join(OfferingDay, OfferingDay.id == Attendance.offering_day_id)
        .join(Offering, Offering.id == OfferingDay.offering_id)
        .join(CatalogItem, CatalogItem.id == Offering.item_id)
        .where(Enrolment.user_id == user.id)
        .order_by(OfferingDay.held_on, Offering.id)
    )
    report_rows = (
        select_section(REPORT_ROW_FIELDS)
        .join(OfferingDay, OfferingDay.id == ParticipantRow.offering_day_id)
        .join(Enrolment, Enrolment.id == ParticipantRow.enrolment_id)
        .where(Enrolment.user_id == user.id)
        .order_by(OfferingDay.held_on, ParticipantRow.line)
    )
    return Export(
        {
            "enrolments": records(session, enrolments),
            "days": records(session, days),
            "participant_report_rows": records(session, report_rows),
        }
    )


def erase(session: Session, erasure: Erasure) -> None:
    """Attendance stays (the provider's CE record); report rows naming the person lose the
    name and address the video platform wrote."""
    mine = select(Enrolment.id).where(Enrolment.user_id == erasure.person.id)
    result = session.execute(
        update(ParticipantRow)
        .where(
            or_(
                ParticipantRow.enrolment_id.in_(mine),
                func.lower(ParticipantRow.email) == erasure.old_email.lower(),
            )
        )
        .values(name=erasure.placeholder, email="")
        .execution_options(synchronize_session=False)
    )
    erasure.facts["participant_report_rows"] = result.rowcount


HOOKS = PrivacyHooks("offerings", export, erase)
