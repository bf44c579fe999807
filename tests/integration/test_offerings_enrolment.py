"""Enrolling in module offerings: the prerequisite, the waitlist, withdrawal, staff in bulk,
the shop's CSV, and days as the form writes them."""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal

import pytest
from clock_support import programme_today
from offerings_support import add_offering
from retreats_support import complete
from sqlalchemy import func, select, text

from lms.audit.models import AuditEvent
from lms.auth.models import Role
from lms.errors import Conflict, InvalidInput, PrerequisiteNotMet
from lms.mail.models import Notification
from lms.offerings import closing, enrolment, listing, places, schedule
from lms.offerings.days import DaySpec
from lms.offerings.models import Enrolment, EnrolmentSource, EnrolmentStatus, OfferingStatus


@pytest.fixture
def admin(make_user):
    """An administrator."""
    return make_user(Role.ADMIN)


def _ready(make_user, session):
    """A clinician who has done Module 1 (so Module 2 is open to them)."""
    person = make_user(Role.CLINICIAN)
    complete(session, person.id, "M1")
    return person


def test_a_clinician_who_meets_the_prerequisite_enrols_and_one_who_does_not_is_told_why(
    session, make_user, catalog, admin
):
    offering = add_offering(session, admin.id)
    ready, new = _ready(make_user, session), make_user(Role.CLINICIAN)
    made = enrolment.enrol(session, user_id=ready.id, offering_id=offering.id)
    session.commit()
    assert made.status == EnrolmentStatus.ENROLLED and made.source == EnrolmentSource.SELF
    with pytest.raises(PrerequisiteNotMet, match="Module 1"):
        enrolment.enrol(session, user_id=new.id, offering_id=offering.id)
    session.rollback()
    with pytest.raises(Conflict, match="already enrolled"):
        enrolment.enrol(session, user_id=ready.id, offering_id=offering.id)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Enrolment)) == 1


def test_a_full_offering_waitlists_and_a_withdrawal_promotes_the_first_waiting_and_tells_them(
    session, make_user, catalog, admin
):
    offering = add_offering(session, admin.id, capacity=1)
    first, second, third = (_ready(make_user, session) for _ in range(3))
    statuses = []
    for person in (first, second, third):
        statuses.append(enrolment.enrol(session, user_id=person.id, offering_id=offering.id).status)
        session.commit()
    assert statuses == [
        EnrolmentStatus.ENROLLED,
        EnrolmentStatus.WAITLISTED,
        EnrolmentStatus.WAITLISTED,
    ]
    mine = session.scalar(select(Enrolment).where(Enrolment.user_id == first.id))
    enrolment.withdraw(session, mine.id, user_id=first.id)
    session.commit()
    by_user = dict(session.execute(select(Enrolment.user_id, Enrolment.status)).all())
    assert by_user == {
        first.id: EnrolmentStatus.WITHDRAWN,
        second.id: EnrolmentStatus.ENROLLED,
        third.id: EnrolmentStatus.WAITLISTED,
    }
    told = session.scalars(select(Notification.message).where(Notification.user_id == second.id))
    assert any("A place opened" in m for m in told)
    # One's own withdrawal is not news to oneself.
    assert not session.scalars(select(Notification).where(Notification.user_id == first.id)).all()


def test_a_cancelled_offering_moves_nobody_up_from_its_waitlist(session, make_user, catalog, admin):
    """Its waitlist is nobody's queue any more: a place given up in it promotes no one (who
    would otherwise be told a place opened in an offering called off)."""
    offering = add_offering(session, admin.id, capacity=1)
    first, second = (_ready(make_user, session) for _ in range(2))
    held = enrolment.enrol(session, user_id=first.id, offering_id=offering.id)
    waiting = enrolment.enrol(session, user_id=second.id, offering_id=offering.id)
    offering.status = OfferingStatus.CANCELLED
    session.commit()
    assert places.promote_waitlisted(session, offering, actor_id=admin.id, noun="enrolment") == []
    enrolment.withdraw(session, held.id, user_id=first.id)
    session.commit()
    assert session.get(Enrolment, waiting.id).status == EnrolmentStatus.WAITLISTED
    assert places.waitlist_positions(session, [waiting.id]) == {}  # no place in a dead queue


def test_a_place_on_the_waitlist_counts_those_ahead_ties_broken_by_arrival(
    session, make_user, catalog, admin
):
    offering = add_offering(session, admin.id, capacity=1)
    other = add_offering(session, admin.id, capacity=1, starts_in=40)
    people = [_ready(make_user, session) for _ in range(5)]
    made = []
    for person in people:
        made.append(enrolment.enrol(session, user_id=person.id, offering_id=offering.id))
        session.commit()
    waiting = made[1:]
    # Two applied in the same instant: the earlier row is ahead.
    waiting[2].applied_at = waiting[1].applied_at
    elsewhere = enrolment.enrol(session, user_id=people[0].id, offering_id=other.id)
    session.commit()
    ids = [e.id for e in made] + [elsewhere.id]
    assert places.waitlist_positions(session, ids) == {e.id: n for n, e in enumerate(waiting, 1)}
    enrolment.withdraw(session, waiting[0].id, user_id=people[1].id)
    session.commit()
    assert places.waitlist_positions(session, [e.id for e in waiting]) == {
        waiting[1].id: 1,
        waiting[2].id: 2,
        waiting[3].id: 3,
    }
    assert places.waitlist_positions(session, []) == {}


def test_a_place_on_the_waitlist_is_counted_in_the_waitlist_index(session):
    bind = session.get_bind()
    statement = places._WAITLIST_PLACES.params(ids=[1, 2])
    compiled = statement.compile(
        dialect=bind.dialect, compile_kwargs={"literal_binds": True, "render_postcompile": True}
    )
    if bind.dialect.name == "sqlite":
        plan = " ".join(str(r[-1]) for r in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    else:  # tiny tables: ask what it can use
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(str(r[0]) for r in session.execute(text(f"EXPLAIN {compiled}")))
    assert "ix_enrolments_waitlist" in plan


@pytest.mark.usefixtures("awkward_instant")
def test_enrolment_closes_at_the_deadline_for_clinicians_but_staff_may_still_enrol(
    session, make_user, catalog, admin
):
    offering = add_offering(session, admin.id, starts_in=10, deadline_in=-1)
    person = _ready(make_user, session)
    with pytest.raises(PrerequisiteNotMet, match="Enrollment closed"):
        enrolment.enrol(session, user_id=person.id, offering_id=offering.id)
    session.rollback()
    made = enrolment.enrol_user(session, offering.id, person.id, actor_id=admin.id)
    session.commit()
    assert made.status == EnrolmentStatus.ENROLLED and made.source == EnrolmentSource.STAFF
    told = session.scalars(select(Notification.message).where(Notification.user_id == person.id))
    assert any("You are enrolled in" in m for m in told)


def test_staff_enrol_walk_ins_and_late_shop_rows_until_the_offering_is_closed(
    session, make_user, catalog, admin
):
    """On the first day and after the last (not yet closed) staff enrol, by hand and by the
    shop's file; a clinician's own enrolment is closed; once closed, nobody joins."""
    offering = add_offering(session, admin.id, starts_in=3, days=2)
    first_day, after = offering.starts_on, offering.ends_on + timedelta(days=2)
    walk_in, late, own = (_ready(make_user, session) for _ in range(3))
    session.commit()
    with pytest.raises(PrerequisiteNotMet, match="enrollment is closed"):
        enrolment.enrol(session, user_id=own.id, offering_id=offering.id, today=first_day)
    session.rollback()
    made = enrolment.enrol_user(
        session, offering.id, walk_in.id, actor_id=admin.id, today=first_day
    )
    assert made.status == EnrolmentStatus.ENROLLED
    shop = f"email,enrolled_on\n{late.email},{first_day.isoformat()}\n".encode()
    report = enrolment.import_shop_csv(session, offering.id, shop, actor_id=admin.id, today=after)
    assert report.ok
    session.commit()
    closing.close_offering(session, offering.id, actor=admin, today=after)
    session.commit()
    again = _ready(make_user, session)
    session.commit()
    with pytest.raises(PrerequisiteNotMet, match="This offering is closed"):
        enrolment.enrol_user(session, offering.id, again.id, actor_id=admin.id, today=after)
    session.rollback()


@pytest.mark.usefixtures("awkward_instant")
def test_withdrawing_after_the_start_is_refused(session, make_user, catalog, admin):
    offering = add_offering(session, admin.id, starts_in=5)
    person = _ready(make_user, session)
    made = enrolment.enrol(session, user_id=person.id, offering_id=offering.id)
    session.commit()
    with pytest.raises(Conflict, match="can no longer be withdrawn"):
        enrolment.withdraw(
            session, made.id, user_id=person.id, today=programme_today() + timedelta(days=6)
        )


def test_pasted_emails_enrol_everyone_or_list_unknown_addresses_and_change_nothing(
    session, make_user, catalog, admin
):
    offering = add_offering(session, admin.id, capacity=2)
    people = [_ready(make_user, session) for _ in range(3)]
    not_ready = make_user(Role.CLINICIAN)
    text = f"{people[0].email}, {people[1].email}\nnobody@example.test\n{not_ready.email}"
    report = enrolment.enrol_emails(session, offering.id, text, actor_id=admin.id)
    assert not report.ok
    assert report.unknown == ["line 2: nobody@example.test"]
    assert len(report.refused) == 1 and not_ready.email in report.refused[0]
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Enrolment)) == 0
    emails = "\n".join(p.email.upper() for p in people)  # any case
    report = enrolment.enrol_emails(session, offering.id, emails, actor_id=admin.id)
    session.commit()
    assert report.ok and len(report.enrolled) == 2 and len(report.waitlisted) == 1
    again = enrolment.enrol_emails(session, offering.id, people[0].email, actor_id=admin.id)
    assert again.already == [people[0].email]


def test_a_shop_csv_imports_all_rows_in_purchase_order_or_none_naming_bad_lines(
    session, make_user, catalog, admin
):
    offering = add_offering(session, admin.id, capacity=1)
    early, late = _ready(make_user, session), _ready(make_user, session)
    bad = (
        "Order,EMAIL,Enrolled_On\n"
        f"1,{late.email},2026-11-20\n"
        "2,not-an-address,2026-11-21\n"
        f"3,{early.email},21/11/2026\n"
        "4,stranger@example.test,2026-11-19\n"
    )
    with pytest.raises(enrolment.ShopImportError) as refused:
        enrolment.import_shop_csv(session, offering.id, bad, actor_id=admin.id)
    assert refused.value.problems[0].startswith("line 3:")
    assert refused.value.problems[1].startswith("line 4:")
    session.rollback()
    unknown = f"email,enrolled_on\nstranger@example.test,2026-11-19\n{late.email},2026-11-20\n"
    with pytest.raises(enrolment.ShopImportError, match="line 2: stranger@example.test"):
        enrolment.import_shop_csv(session, offering.id, unknown, actor_id=admin.id)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Enrolment)) == 0
    good = f"email,enrolled_on\n{late.email},2026-11-20\n{early.email},2026-11-02\n"
    report = enrolment.import_shop_csv(session, offering.id, good, actor_id=admin.id)
    session.commit()
    # The earlier purchase gets the one place; the later one waits.
    assert report.enrolled == [early.email] and report.waitlisted == [late.email]
    sources = set(session.scalars(select(Enrolment.source)))
    assert sources == {EnrolmentSource.IMPORT}
    events = session.scalars(
        select(AuditEvent.action).where(AuditEvent.subject_type == "enrolment")
    ).all()
    assert sorted(events) == ["enrolment.created", "enrolment.waitlisted"]


def test_days_text_round_trips_and_bad_lines_are_named():
    text = "2027-01-12 09:00-17:00 7\n2027-01-13 9:30-16:00 6.5\n2027-01-14"
    days = schedule.parse_days(text)
    assert days[0] == DaySpec(date(2027, 1, 12), time(9), time(17), Decimal("7"))
    assert days[2] == DaySpec(date(2027, 1, 14))
    assert schedule.parse_days(schedule.format_days(days)) == days
    with pytest.raises(InvalidInput, match="line 2"):
        schedule.parse_days("2027-01-12\n2027-02-30")
    with pytest.raises(InvalidInput, match="line 1"):
        schedule.parse_days("next monday")


def test_live_online_days_need_hours_and_the_date_range_follows_the_days(
    session, make_user, catalog, admin
):
    start = programme_today() + timedelta(days=40)
    with pytest.raises(InvalidInput, match="start and end time"):
        schedule.create_offering(
            session,
            item_code="M3",
            data=schedule.OfferingInput(
                days=(DaySpec(start),),
                capacity=10,
                format=schedule.OfferingFormat.LIVE_ONLINE,
            ),
            actor_id=admin.id,
        )
    session.rollback()
    offering = add_offering(session, admin.id, "M3", starts_in=40, days=3)
    assert (offering.starts_on, offering.ends_on) == (start, start + timedelta(days=2))
    schedule.update_offering(
        session,
        offering.id,
        data=schedule.OfferingInput(
            days=(DaySpec(start + timedelta(days=7), time(10), time(16), Decimal("5")),),
            capacity=10,
            format=schedule.OfferingFormat.LIVE_ONLINE,
        ),
        actor_id=admin.id,
    )
    session.commit()
    session.refresh(offering)
    assert offering.starts_on == offering.ends_on == start + timedelta(days=7)
    assert [d.held_on for d in offering.days] == [start + timedelta(days=7)]
    updated = session.scalar(select(AuditEvent).where(AuditEvent.action == "offering.updated"))
    assert updated.facts["days"] == "changed" and "join_url" in updated.facts
    assert "video.example" not in str(updated.facts)  # the link stays out of the log


def test_the_reminder_goes_once_to_enrolled_people_with_the_join_link_and_respects_opt_out(
    app, session, make_user, catalog, admin
):
    from lms.mail.models import OutboxMessage

    soon = add_offering(session, admin.id, starts_in=2)
    later = add_offering(session, admin.id, "M3", starts_in=20)
    keen, quiet, waiting = (_ready(make_user, session) for _ in range(3))
    quiet.notify_optional = False
    session.commit()
    for person in (keen, quiet):
        enrolment.enrol(session, user_id=person.id, offering_id=soon.id)
        enrolment.enrol(session, user_id=person.id, offering_id=later.id)
    soon.capacity = 2
    session.commit()
    enrolment.enrol(session, user_id=waiting.id, offering_id=soon.id)
    session.commit()
    queue = app.extensions["lms"].jobs
    assert queue.run("reminders") == 1  # quiet opted out; the waitlist is not reminded
    assert queue.run("reminders") == 0  # once
    reminders = session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "offering_reminder")
    ).all()
    assert [m.user_id for m in reminders] == [keen.id]
    assert "https://video.example/j/123" in reminders[0].text_body
    assert "Module 2" in reminders[0].subject
    reminded = session.scalars(
        select(Enrolment.user_id).where(Enrolment.reminded_at.is_not(None))
    ).all()
    assert sorted(reminded) == sorted([keen.id, quiet.id])


def test_a_persons_export_lists_module_enrolments_apart_from_retreat_applications(
    session, make_user, catalog, admin
):
    from lms.offerings.privacy import HOOKS as OFFERINGS
    from lms.retreats.privacy import HOOKS as RETREATS

    offering = add_offering(session, admin.id)
    person = _ready(make_user, session)
    enrolment.enrol(session, user_id=person.id, offering_id=offering.id)
    session.commit()
    mine = OFFERINGS.export(session, person).data["enrolments"]
    assert [(e["item"], e["status"], e["source"]) for e in mine] == [("M2", "enrolled", "self")]
    assert RETREATS.export(session, person).data["applications"] == []


def test_upcoming_offerings_count_only_the_places_taken_soonest_first(
    session, make_user, catalog, admin
):
    """Enrolled, attended and absent hold a place; waitlisted and withdrawn do not. An offering
    that has started, or was cancelled, is not upcoming."""
    later = add_offering(session, admin.id, capacity=2, starts_in=40)
    sooner = add_offering(session, admin.id, capacity=5, starts_in=20)
    started = add_offering(session, admin.id, starts_in=-1)
    cancelled = add_offering(session, admin.id, starts_in=10)
    cancelled.status = schedule.OfferingStatus.CANCELLED
    people = [_ready(make_user, session) for _ in range(4)]
    for person in people:
        enrolment.enrol(session, user_id=person.id, offering_id=later.id)
        session.commit()
    enrolment.withdraw(session, _enrolment_of(session, people[0], later).id, user_id=people[0].id)
    session.commit()  # the first waiting person takes the freed place
    enrolment.enrol(session, user_id=people[0].id, offering_id=sooner.id)
    _enrolment_of(session, people[0], sooner).status = EnrolmentStatus.ABSENT
    session.commit()

    mine = {later.id, sooner.id, started.id, cancelled.id}
    found = [
        s
        for s in listing.upcoming_offerings(session, today=programme_today())
        if s.offering.id in mine
    ]

    assert [s.offering.id for s in found] == [sooner.id, later.id]
    by_id = {s.offering.id: s for s in found}
    assert (by_id[later.id].taken, by_id[later.id].counts) == (2, {"enrolled": 2})
    assert by_id[later.id].places_left == 0
    assert (by_id[sooner.id].taken, by_id[sooner.id].counts) == (1, {"absent": 1})
    assert by_id[sooner.id].places_left == 4


def _enrolment_of(session, person, offering):
    """The person's live enrolment in the offering."""
    return session.scalars(
        select(Enrolment).where(
            Enrolment.user_id == person.id,
            Enrolment.offering_id == offering.id,
            Enrolment.status != EnrolmentStatus.WITHDRAWN,
        )
    ).one()
