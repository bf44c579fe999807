"""Offerings' part of a person's privacy requests: their module enrolments, their days
attended (kept when erased, as CE records are) and the participant-report rows that name
them (scrubbed when erased). Retreat applications are the retreats' part."""

from __future__ import annotations

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from lms.auth.models import User
from lms.auth.privacy import Erasure, Export, PrivacyHooks, iso
from lms.catalog.models import CatalogItem, ItemKind
from lms.offerings.models import Attendance, Enrolment, Offering, OfferingDay, ParticipantRow


def export(session: Session, user: User) -> Export:
    """Every day recorded for the person, and what the participant reports said of them."""
    days = session.execute(
        select(
            CatalogItem.code,
            Offering.id,
            OfferingDay.held_on,
            Attendance.present,
            Attendance.minutes,
            Attendance.source,
        )
        .join(Enrolment, Enrolment.id == Attendance.enrolment_id)
        .join(OfferingDay, OfferingDay.id == Attendance.offering_day_id)
        .join(Offering, Offering.id == OfferingDay.offering_id)
        .join(CatalogItem, CatalogItem.id == Offering.item_id)
        .where(Enrolment.user_id == user.id)
        .order_by(OfferingDay.held_on, Offering.id)
    )
    rows = session.execute(
        select(
            OfferingDay.held_on,
            ParticipantRow.name,
            ParticipantRow.email,
            ParticipantRow.minutes,
            ParticipantRow.match,
        )
        .join(OfferingDay, OfferingDay.id == ParticipantRow.offering_day_id)
        .join(Enrolment, Enrolment.id == ParticipantRow.enrolment_id)
        .where(Enrolment.user_id == user.id)
        .order_by(OfferingDay.held_on, ParticipantRow.line)
    )
    enrolments = session.execute(
        select(
            CatalogItem.code,
            Offering.id,
            Offering.starts_on,
            Enrolment.status,
            Enrolment.source,
            Enrolment.applied_at,
            Enrolment.withdrawn_at,
        )
        .join(Offering, Offering.id == Enrolment.offering_id)
        .join(CatalogItem, CatalogItem.id == Offering.item_id)
        .where(Enrolment.user_id == user.id, CatalogItem.kind != ItemKind.RETREAT)
        .order_by(Enrolment.id)
    )
    return Export(
        {
            "enrolments": [
                {
                    "item": code,
                    "offering_id": offering_id,
                    "starts_on": iso(starts_on),
                    "status": status.value,
                    "source": source.value,
                    "enrolled_at": iso(enrolled_at),
                    "withdrawn_at": iso(withdrawn_at),
                }
                for code, offering_id, starts_on, status, source, enrolled_at, withdrawn_at in (
                    enrolments
                )
            ],
            "days": [
                {
                    "item": code,
                    "offering_id": offering_id,
                    "day": iso(held_on),
                    "present": present,
                    "minutes": minutes,
                    "source": source.value,
                }
                for code, offering_id, held_on, present, minutes, source in days
            ],
            "participant_report_rows": [
                {
                    "day": iso(held_on),
                    "name": name,
                    "email": email,
                    "minutes": minutes,
                    "matched": match.value,
                }
                for held_on, name, email, minutes, match in rows
            ],
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
