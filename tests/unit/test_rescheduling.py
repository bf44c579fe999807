"""What a change to an offering tells its people: the words (old → new, the programme's date
style), which changes notify, and when staff must confirm first. Pure rules, no database."""

from __future__ import annotations

import email
from datetime import date, time

from icalendar import Calendar

from lms.mail.transport import Envelope, build_email
from lms.offerings.models import OfferingFormat
from lms.offerings.rescheduling import Preview, Seen, dates_text, hours_text, what_changed

NINE_TO_FIVE = (time(9), time(17))


def _seen(*days: date, hours=NINE_TO_FIVE, **changes) -> Seen:
    """An online offering's view on these days."""
    values = {
        "days": tuple((d, *hours) for d in days),
        "format": OfferingFormat.LIVE_ONLINE,
        "location": "",
        "join_url": "https://video.example/j/1",
        "cancelled": False,
    }
    return Seen(**(values | changes))


def test_dates_read_as_ranges_in_the_programmes_style():
    assert dates_text([date(2026, 12, 12)]) == "Dec 12, 2026"
    assert dates_text([date(2026, 12, 5), date(2026, 12, 4)]) == "Dec 4\u2009\u2013\u20095, 2026"
    assert (
        dates_text([date(2026, 12, 4), date(2026, 12, 6), date(2026, 12, 7)])
        == "Dec 4, 2026, Dec 6\u2009\u2013\u20097, 2026"
    )


def test_hours_read_as_one_span_or_day_by_day():
    same = ((date(2026, 12, 4), *NINE_TO_FIVE), (date(2026, 12, 5), *NINE_TO_FIVE))
    assert hours_text(same) == "09:00\u201317:00"
    mixed = (same[0], (date(2026, 12, 5), time(10), time(16)))
    assert hours_text(mixed) == "Dec 4 09:00\u201317:00, Dec 5 10:00\u201316:00"


def test_moving_days_says_old_and_new_dates():
    before = _seen(date(2026, 12, 12))
    after = _seen(date(2026, 12, 4), date(2026, 12, 5))
    assert [str(line) for line in what_changed(before, after)] == [
        "Days: Dec 12, 2026 \u2192 Dec 4\u2009\u2013\u20095, 2026"
    ]


def test_hours_place_format_and_link_are_each_a_line_and_the_link_is_private():
    before = _seen(date(2026, 12, 12))
    after = _seen(
        date(2026, 12, 12),
        hours=(time(10), time(18)),
        format=OfferingFormat.IN_PERSON,
        location="Portland, OR",
        join_url="",
    )
    lines = what_changed(before, after)
    assert [str(line) for line in lines] == [
        "Hours (program time): 09:00\u201317:00 \u2192 10:00\u201318:00",
        "Format: Live online \u2192 In person",
        "Place: live online \u2192 Portland, OR",
        "The join link was removed",
    ]
    assert [line.private for line in lines] == [False, False, False, True]


def test_nothing_seen_changed_is_nothing_to_tell():
    day = date(2026, 12, 12)
    assert what_changed(_seen(day), _seen(day)) == []


def test_cancelling_is_one_line_and_reinstating_says_so():
    day = date(2026, 12, 12)
    cancelled = what_changed(_seen(day), _seen(day, cancelled=True))
    assert [str(line) for line in cancelled] == ["Canceled"]  # en-US by default
    back = what_changed(_seen(day, cancelled=True), _seen(date(2026, 12, 13)))
    assert [str(line) for line in back][:2] == [
        "No longer canceled",
        "Days: Dec 12, 2026 \u2192 Dec 13, 2026",
    ]


def _preview(**values) -> Preview:
    """A preview with defaults: nothing changes, nobody enrolled."""
    defaults = {
        "changes": (),
        "holding": 0,
        "waiting": 0,
        "past_days": (),
        "days_moved": False,
        "cancelling": False,
    }
    return Preview(**(defaults | values))


def test_staff_confirm_moving_or_cancelling_days_people_hold_and_any_day_in_the_past():
    assert _preview(days_moved=True, holding=1).needs_confirmation
    assert _preview(days_moved=True, waiting=1).needs_confirmation
    assert _preview(cancelling=True, holding=3).needs_confirmation
    assert _preview(past_days=(date(2026, 1, 1),), days_moved=True).needs_confirmation
    assert not _preview(days_moved=True).needs_confirmation  # nobody to tell, nothing past
    assert not _preview(holding=4).needs_confirmation  # places or deadline only


def test_a_new_link_alone_is_told_to_those_holding_a_place():
    before = _seen(date(2026, 12, 12))
    link_only = tuple(what_changed(before, _seen(date(2026, 12, 12), join_url="https://v.ex/2")))
    assert _preview(changes=link_only, holding=4, waiting=2).told == 4
    moved = tuple(what_changed(before, _seen(date(2026, 12, 13))))
    assert _preview(changes=moved, holding=4, waiting=2).told == 6
    assert _preview(holding=4, waiting=2).told == 0


def test_a_calendar_attachment_is_text_calendar_with_its_method():
    envelope = Envelope(
        outbox_id=1,
        message_id="<m1@example.test>",
        sender="KAP Training <no-reply@example.org>",
        to="a@example.test",
        subject="Changed",
        text="Hello",
        html="<p>Hello</p>",
        attachments=(
            {
                "filename": "invite.ics",
                "subtype": "calendar",
                "method": "REQUEST",
                "text": "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n",
            },
        ),
    )
    parsed = email.message_from_bytes(bytes(build_email(envelope)))
    [part] = [p for p in parsed.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "REQUEST" and part.get_filename() == "invite.ics"
    assert str(Calendar.from_ical(part.get_payload(decode=True))["method"]) == "REQUEST"
    assert {p.get_content_type() for p in parsed.walk()} >= {"text/plain", "text/html"}
