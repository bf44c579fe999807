"""Telling an offering's people that it moved or was cancelled: a notice that supersedes what
they were told before, and a mail with the calendar entry updated (a REQUEST with the same
UIDs and a higher SEQUENCE) or cancelled (a CANCEL), in the unit of work of the change."""

from __future__ import annotations

from email.utils import parseaddr
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from lms import dates
from lms.clock import programme_zone
from lms.i18n import translate
from lms.mail.services import DEFAULT_SENDER, notify
from lms.offerings.api import (
    PLACE_HOLDING,
    Enrolment,
    OfferingFormat,
    ScheduleNotice,
    dropped_days,
    invitation,
    topic,
)


def _organizer() -> str:
    """The address calendar entries name as their organizer: the one mail comes from."""
    address = parseaddr(current_app.config.get("LMS_MAIL_FROM") or DEFAULT_SENDER)[1]
    return address or parseaddr(DEFAULT_SENDER)[1]


def _calendars(notice: ScheduleNotice, enrolment: Enrolment, *, session: Session) -> list[dict]:
    """The calendar attachments for one person: the entry as it stands (the join link only
    for a place held), and a cancellation of entries the offering no longer has."""
    offering = notice.offering
    holds = enrolment.status in PLACE_HOLDING
    public = current_app.config["LMS_PUBLIC_URL"]
    attendee, organizer = enrolment.user.email, _organizer()
    entry = invitation(
        offering,
        organizer=organizer,
        attendee=attendee,
        join_url=offering.join_url if holds else "",
        note="" if holds else enrolment.status.label.lower(),
        zone=programme_zone(session),
        public_url=public,
    )
    method = "CANCEL" if notice.cancelled else "REQUEST"
    files = [_file("cancelled.ics" if notice.cancelled else "invite.ics", method, entry)]
    if notice.dropped_uid_keys:  # a cancellation too: days taken away in the same save
        gone = dropped_days(
            offering,
            notice.dropped_uid_keys,
            organizer=organizer,
            attendee=attendee,
            public_url=public,
        )
        files.append(_file("removed-days.ics", "CANCEL", gone))
    return files


def _file(filename: str, method: str, body: bytes) -> dict[str, str]:
    """An outbox attachment of a calendar entry."""
    return {
        "filename": filename,
        "subtype": "calendar",
        "method": method,
        "text": body.decode("utf-8"),
    }


def on_offering_rescheduled(notice: ScheduleNotice, *, session: Session, **_: Any) -> None:
    """Tell each person holding or waiting for a place what changed (always sent: it is
    about their place); a change of the join link alone only those holding a place."""
    offering = notice.offering
    title = offering.item.title
    when = dates.day(offering.starts_on, offering.ends_on)
    for enrolment in notice.people:
        lines = notice.changes_for(enrolment)
        if not lines or enrolment.user is None:
            continue
        holds = enrolment.status in PLACE_HOLDING
        if notice.cancelled:
            said, heading = translate("cancelled"), translate("Cancelled")
            message = f"{title} ({when}) is {said}."
            subject = f"{heading}: {title}, {when}"
        else:
            # The notice replaces older ones about this offering (their dates are stale), so
            # it restates the person's place with it.
            message = (
                f"{title} has changed. "
                + "; ".join(f"{line}" for line in lines)
                + f". Your place: {enrolment.status.label}."
            )
            subject = f"Changed: {title}, now {when}"
        online = offering.format == OfferingFormat.LIVE_ONLINE
        notify(
            session,
            user=enrolment.user,
            kind="offering_cancelled" if notice.cancelled else "offering_changed",
            message=message,
            endpoint="offerings.detail",
            endpoint_values={"offering_id": offering.id},
            subject=subject,
            template="offering_changed",
            context={
                "title": title,
                "cancelled": notice.cancelled,
                "changes": [str(line) for line in lines],
                "status": "" if holds else enrolment.status.label.lower(),
                "join_url": offering.join_url if holds and online and not notice.cancelled else "",
            },
            optional=False,
            topic=topic(offering.id),
            supersede=True,
            attachments=_calendars(notice, enrolment, session=session),
        )
