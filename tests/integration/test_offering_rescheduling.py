"""Rescheduling tells people: moving days, hours, place or link (or cancelling) gives everyone
holding or waiting for a place a notice and a mail with the calendar entry moved (same UIDs,
higher SEQUENCE); other changes tell nobody; saving the same values again tells nobody."""

from __future__ import annotations

import email
from datetime import date, datetime, time
from decimal import Decimal

import pytest
from clock_support import PACIFIC, pinned
from flask import current_app
from icalendar import Calendar
from mail_support import outbox, smtp_server_fixture  # noqa: F401
from retreats_support import complete
from sqlalchemy import select

from lms.auth.models import Role
from lms.clock import programme_zone
from lms.db import db
from lms.mail.models import Notification, OutboxMessage
from lms.offerings import calendar, enrolment
from lms.offerings.days import DaySpec
from lms.offerings.models import Enrolment, EnrolmentStatus, Offering, OfferingFormat
from lms.offerings.schedule import OfferingInput, create_offering, update_offering

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=PACIFIC)
DEC_12 = (DaySpec(date(2026, 12, 12), time(9), time(17), Decimal(7)),)
DEC_4_5 = (
    DaySpec(date(2026, 12, 4), time(9), time(17), Decimal(7)),
    DaySpec(date(2026, 12, 5), time(9), time(17), Decimal(7)),
)
LINK = "https://video.example/j/123"


@pytest.fixture(autouse=True)
def _november():
    """Every test runs on Nov 2, 2026 (the days below are in December)."""
    with pinned(NOW):
        yield


def _values(days=DEC_12, **changes) -> OfferingInput:
    """A live online offering's values (capacity 4)."""
    values = {
        "days": days,
        "capacity": 4,
        "format": OfferingFormat.LIVE_ONLINE,
        "join_url": LINK,
    }
    return OfferingInput(**(values | changes))


@pytest.fixture
def module(session, make_user, catalog):
    """Module 2 on Dec 12, 2026 with 4 people enrolled and 1 on the waitlist."""
    admin = make_user(Role.ADMIN)
    offering = create_offering(session, item_code="M2", data=_values(), actor_id=admin.id)
    session.commit()
    people = []
    for _ in range(5):
        person = make_user()
        complete(session, person.id, "M1")
        enrolment.enrol_user(session, offering.id, person.id, actor_id=admin.id)
        session.commit()
        people.append(person)
    return offering, admin, people


def _save(session, offering, admin, values) -> int:
    """Save the values as the admin; how many people were told."""
    change = update_offering(session, offering.id, data=values, actor_id=admin.id)
    db.commit()
    return change.people_told


def _messages(session, kind) -> list[OutboxMessage]:
    """The outbox rows of one kind."""
    return [m for m in outbox(session) if m.kind == kind]


def _attached(message: OutboxMessage, filename: str) -> Calendar:
    """An outbox row's calendar attachment, parsed."""
    [found] = [a for a in message.attachments or () if a["filename"] == filename]
    return Calendar.from_ical(found["text"])


def _public_uids(session, offering_id) -> tuple[list[str], list[int]]:
    """The UIDs and SEQUENCEs of the offering's downloadable calendar file."""
    offering = session.get(Offering, offering_id)
    session.refresh(offering)
    body = calendar.offering_calendar(
        offering, zone=programme_zone(session), public_url=current_app.config["LMS_PUBLIC_URL"]
    )
    events = Calendar.from_ical(body).walk("VEVENT")
    return [str(e["uid"]) for e in events], [int(e["sequence"]) for e in events]


def test_moving_the_days_tells_everyone_and_moves_their_calendar_entry(app, session, module):
    offering, admin, people = module
    uids_before, sequence_before = _public_uids(session, offering.id)
    assert sequence_before == [0]
    told = _save(session, offering, admin, _values(days=DEC_4_5))
    assert told == 5
    changed = _messages(session, "offering_changed")
    assert sorted(m.to_address for m in changed) == sorted(p.email for p in people)
    holder, waiting = people[0], people[4]
    for message in changed:
        invite = _attached(message, "invite.ics")
        assert str(invite["method"]) == "REQUEST"
        events = invite.walk("VEVENT")
        # Day 1 keeps its UID (it moved from 12 Dec to 4 Dec); day 2 is new.
        assert str(events[0]["uid"]) == uids_before[0]
        assert [int(e["sequence"]) for e in events] == [1, 1]
        assert [e.decoded("dtstart").date() for e in events] == [
            date(2026, 12, 4),
            date(2026, 12, 5),
        ]
        assert str(events[0]["attendee"]) == f"mailto:{message.to_address}"
        locations = {str(e["location"]) for e in events}
        if message.to_address == waiting.email:
            assert locations.isdisjoint({LINK})  # the waitlist never gets the link
            assert LINK not in message.text_body and "you are waitlisted" in message.text_body
        else:
            assert locations == {LINK}
        assert "Days: Dec 12, 2026 \u2192 Dec 4\u2009\u2013\u20095, 2026" in message.text_body
    # The download carries the same UIDs and the new SEQUENCE.
    uids_after, sequence_after = _public_uids(session, offering.id)
    assert uids_after[0] == uids_before[0] and sequence_after == [1, 1]
    # The clinician's dashboard: the stale enrolment notice is superseded by the new one.
    notices = list(
        session.scalars(
            select(Notification).where(
                Notification.user_id == holder.id, Notification.read_at.is_(None)
            )
        )
    )
    assert [n.kind for n in notices] == ["offering_changed"]
    assert "Dec 12, 2026 \u2192 Dec 4\u2009\u2013\u20095, 2026" in notices[0].message


def test_changes_nobody_sees_tell_nobody_and_keep_the_sequence(session, module):
    offering, admin, _people = module
    before = len(outbox(session))
    told = _save(session, offering, admin, _values(capacity=10))  # more room: one promoted
    assert told == 0
    kinds = [m.kind for m in outbox(session)[before:]]
    assert kinds == ["enrolment_enrolled"]  # the waitlisted person's place, nothing else
    told = _save(
        session,
        offering,
        admin,
        _values(
            capacity=10,
            enrolment_deadline=date(2026, 12, 1),
            days=(DaySpec(date(2026, 12, 12), time(9), time(17), Decimal("6.5")),),
        ),
    )
    assert told == 0 and len(outbox(session)) == before + 1
    session.refresh(offering)
    assert offering.calendar_sequence == 0


def test_saving_the_same_change_twice_tells_people_once(session, module):
    offering, admin, _people = module
    assert _save(session, offering, admin, _values(days=DEC_4_5)) == 5
    assert _save(session, offering, admin, _values(days=DEC_4_5)) == 0
    assert len(_messages(session, "offering_changed")) == 5
    session.refresh(offering)
    assert offering.calendar_sequence == 1


def test_a_new_join_link_goes_to_those_holding_a_place_only(session, module):
    offering, admin, people = module
    new_link = "https://video.example/j/456"
    assert _save(session, offering, admin, _values(join_url=new_link)) == 4
    changed = _messages(session, "offering_changed")
    assert people[4].email not in {m.to_address for m in changed}
    for message in changed:
        assert new_link in message.text_body
        [event] = _attached(message, "invite.ics").walk("VEVENT")
        assert str(event["location"]) == new_link and int(event["sequence"]) == 1
    notice = session.scalar(select(Notification).where(Notification.kind == "offering_changed"))
    assert new_link not in notice.message  # notices show no link; the page does


def test_cancelling_sends_a_cancel_entry_to_everyone(session, module, catalog):
    offering, admin, people = module
    uids_before, _ = _public_uids(session, offering.id)
    assert _save(session, offering, admin, _values(cancelled=True)) == 5
    cancelled = _messages(session, "offering_cancelled")
    assert sorted(m.to_address for m in cancelled) == sorted(p.email for p in people)
    for message in cancelled:
        entry = _attached(message, "cancelled.ics")
        assert str(entry["method"]) == "CANCEL"
        [event] = entry.walk("VEVENT")
        assert str(event["uid"]) == uids_before[0]
        assert int(event["sequence"]) == 1 and str(event["status"]) == "CANCELLED"
        assert LINK not in entry.to_ical().decode()
    notices = session.scalars(select(Notification).where(Notification.kind == "offering_cancelled"))
    assert {n.message for n in notices} == {f"{catalog['M2'].title} (Dec 12, 2026) is canceled."}


def test_a_day_taken_away_is_cancelled_in_the_calendar(session, module):
    offering, admin, _people = module
    _save(session, offering, admin, _values(days=DEC_4_5))
    uids, _ = _public_uids(session, offering.id)
    _save(session, offering, admin, _values(days=DEC_4_5[:1]))
    message = [m for m in _messages(session, "offering_changed") if m.id][-1]
    removed = _attached(message, "removed-days.ics")
    assert str(removed["method"]) == "CANCEL"
    [event] = removed.walk("VEVENT")
    assert str(event["uid"]) == uids[1] and int(event["sequence"]) == 2
    assert str(event["status"]) == "CANCELLED"
    [kept] = _attached(message, "invite.ics").walk("VEVENT")
    assert str(kept["uid"]) == uids[0] and int(kept["sequence"]) == 2


def test_the_mail_carries_the_calendar_entry_as_text_calendar_with_its_method(
    smtp_server, session, module
):
    offering, admin, people = module
    _save(session, offering, admin, _values(days=DEC_4_5))
    [received] = smtp_server.inbox.to(people[0].email)[-1:]
    message = email.message_from_bytes(received.as_bytes())
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    # The entry moved, and (first news only) the entries older files named by date cancelled.
    assert [p.get_param("method") for p in parts] == ["REQUEST", "CANCEL"]
    assert parts[1].get_filename() == "removed-days.ics"
    assert parts[0].get_filename() == "invite.ics"
    entry = Calendar.from_ical(parts[0].get_payload(decode=True))
    assert [int(e["sequence"]) for e in entry.walk("VEVENT")] == [1, 1]


def test_withdrawn_people_are_not_told(session, module):
    offering, admin, people = module
    gone = session.scalar(select(Enrolment).where(Enrolment.user_id == people[1].id))
    enrolment.withdraw(session, gone.id, user_id=people[1].id)
    db.commit()
    assert gone.status == EnrolmentStatus.WITHDRAWN
    _save(session, offering, admin, _values(days=DEC_4_5))
    assert people[1].email not in {m.to_address for m in _messages(session, "offering_changed")}


def test_an_offering_without_hours_keeps_its_one_uid_when_its_place_changes(
    session, make_user, catalog
):
    admin = make_user(Role.ADMIN)
    days = (DaySpec(date(2026, 12, 12)), DaySpec(date(2026, 12, 13)))
    in_person = {"format": OfferingFormat.IN_PERSON, "join_url": "", "days": days}
    offering = create_offering(
        session,
        item_code="M2",
        data=_values(location="Portland, OR", **in_person),
        actor_id=admin.id,
    )
    session.commit()
    person = make_user()
    complete(session, person.id, "M1")
    enrolment.enrol_user(session, offering.id, person.id, actor_id=admin.id)
    session.commit()
    [uid], _ = _public_uids(session, offering.id)
    assert _save(session, offering, admin, _values(location="Ojai, CA", **in_person)) == 1
    [message] = _messages(session, "offering_changed")
    assert "Place: Portland, OR \u2192 Ojai, CA" in message.text_body
    [event] = _attached(message, "invite.ics").walk("VEVENT")
    assert str(event["uid"]) == uid and int(event["sequence"]) == 1
    assert str(event["location"]) == "Ojai, CA"
    assert event.decoded("dtstart") == date(2026, 12, 12)  # one all-day event for both days


def test_the_first_news_cancels_the_entries_older_calendar_files_named_by_date(session, module):
    """Before UIDs were kept by a day's position, a day's UID carried its date: the first
    change cancels those entries too, so the old day does not stay beside the moved one."""
    offering, admin, _people = module
    _save(session, offering, admin, _values(days=DEC_4_5))
    first = [m for m in _messages(session, "offering_changed") if m.id][-1]
    removed = _attached(first, "removed-days.ics")
    assert str(removed["method"]) == "CANCEL"
    gone = {str(e["uid"]).split("@")[0]: str(e["status"]) for e in removed.walk("VEVENT")}
    assert gone == {f"offering-{offering.id}-day-20261212": "CANCELLED"}

    _save(session, offering, admin, _values(days=DEC_4_5, location="", join_url=LINK + "9"))
    later = max(_messages(session, "offering_changed"), key=lambda m: m.id)
    assert "removed-days.ics" not in {a["filename"] for a in later.attachments or ()}


def test_cancelling_while_taking_days_away_cancels_those_days_too(session, module):
    offering, admin, _people = module
    _save(session, offering, admin, _values(days=DEC_4_5))
    uids, _ = _public_uids(session, offering.id)
    _save(session, offering, admin, _values(days=DEC_4_5[:1], cancelled=True))
    message = max(_messages(session, "offering_cancelled"), key=lambda m: m.id)
    [removed] = _attached(message, "removed-days.ics").walk("VEVENT")
    assert str(removed["uid"]) == uids[1] and str(removed["status"]) == "CANCELLED"
    assert str(_attached(message, "cancelled.ics")["method"]) == "CANCEL"


def test_the_change_notice_restates_each_persons_place_it_replaces(session, module):
    """The change notice hides older unread ones about the offering (their dates are stale):
    it says where the person stands, enrolled or waitlisted."""
    offering, admin, people = module
    _save(session, offering, admin, _values(days=DEC_4_5))
    said = {
        n.user_id: n.message
        for n in session.scalars(
            select(Notification).where(Notification.kind == "offering_changed")
        )
    }
    assert said[people[0].id].endswith("Your place: Enrolled.")
    assert said[people[4].id].endswith("Your place: Waitlisted.")
