"""Recording, revoking and unlocking: the progress services against a real database."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from clock_support import programme_today
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from lms import signals
from lms.audit.models import AuditEvent
from lms.auth.models import Role
from lms.db import db, utcnow
from lms.equivalency.models import EquivalencyRequest, EquivalencyStatus
from lms.errors import AlreadyDecided, Conflict, InvalidInput, NotFound
from lms.progress import marking, services
from lms.progress.models import Completion, CompletionSource
from lms.signals import completion_recorded, completion_revoked, item_unlocked

DAY = date(2024, 3, 2)


@pytest.fixture
def instructor(make_user):
    """An instructor who records completions."""
    return make_user(Role.INSTRUCTOR)


@pytest.fixture
def clinician(make_user):
    """A licensed clinician who has completed nothing."""
    return make_user(Role.CLINICIAN)


@pytest.fixture
def received():
    """Collects the progress signals sent while the test runs."""
    seen: dict[str, list] = {"recorded": [], "revoked": [], "unlocked": []}

    def on_recorded(completion, **kwargs):
        seen["recorded"].append((completion.id, kwargs["bulk"], kwargs["actor_id"]))

    def on_revoked(completion, **kwargs):
        seen["revoked"].append((completion.id, kwargs["reason"]))

    def on_unlocked(user, **kwargs):
        seen["unlocked"].append((user.id, kwargs["item"].code))

    completion_recorded.connect(on_recorded)
    completion_revoked.connect(on_revoked)
    item_unlocked.connect(on_unlocked)
    yield seen
    completion_recorded.disconnect(on_recorded)
    completion_revoked.disconnect(on_revoked)
    item_unlocked.disconnect(on_unlocked)


def record(session, user, code="M1", on=DAY, actor=None, source=CompletionSource.INSTRUCTOR):
    """Record a completion the way an instructor does."""
    return services.record_completion(
        session,
        user_id=user.id,
        item_code=code,
        completed_on=on,
        source=source,
        actor_id=actor.id if actor else None,
    )


def live_rows(session, user, code="M1"):
    """How many live completions of the item the person has."""
    return session.scalar(
        select(func.count())
        .select_from(Completion)
        .join(Completion.item)
        .where(Completion.user_id == user.id, Completion.revoked_at.is_(None))
        .where(Completion.item.has(code=code))
    )


def test_recording_a_completion_stores_the_real_date_audits_and_signals(
    session, catalog, clinician, instructor, received
):
    completion = record(session, clinician, actor=instructor)
    session.commit()

    assert completion.completed_on == DAY
    assert completion.recorded_by_id == instructor.id
    assert received["recorded"] == [(completion.id, False, instructor.id)]
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "completion.recorded"))
    assert event.subject_id == completion.id
    assert event.person_id == clinician.id
    assert event.facts["item"] == "M1"
    assert event.facts["completed_on"] == DAY.isoformat()


def test_recording_twice_is_a_conflict_naming_the_existing_date(
    session, catalog, clinician, instructor
):
    record(session, clinician, on=DAY, actor=instructor)
    session.commit()

    with pytest.raises(Conflict, match="already recorded as completed on Mar 2, 2024"):
        record(session, clinician, on=DAY + timedelta(days=5), actor=instructor)
    session.rollback()
    assert live_rows(session, clinician) == 1


def test_the_database_itself_refuses_a_second_live_completion(session, catalog, clinician):
    record(session, clinician)
    session.commit()

    session.add(
        Completion(
            user_id=clinician.id,
            item_id=catalog["M1"].id,
            completed_on=DAY,
            source=CompletionSource.IMPORT,
        )
    )
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_losing_the_insert_race_becomes_a_conflict_and_keeps_the_transaction_usable(
    session, catalog, clinician, monkeypatch
):
    record(session, clinician)
    session.commit()
    # As if another request inserted between our check and our insert.
    monkeypatch.setattr(marking, "_live_completed_on", lambda *args: None)
    with pytest.raises(Conflict, match="already recorded as completed on Mar 2, 2024"):
        record(session, clinician)
    monkeypatch.undo()
    # The savepoint rolled back only the failed insert: the session still works.
    record(session, clinician, code="HTH")
    session.commit()
    assert live_rows(session, clinician) == 1
    assert live_rows(session, clinician, "HTH") == 1


def test_two_instructors_recording_the_same_completion_at_once_yield_one_row(
    app, session, catalog, clinician, make_user
):
    instructors = [make_user(Role.INSTRUCTOR).id, make_user(Role.INSTRUCTOR).id]
    clinician_id = clinician.id
    session.close()
    barrier = threading.Barrier(2)
    outcomes: list[object] = [None, None]

    def run(index: int) -> None:
        with app.app_context():
            barrier.wait(timeout=30)
            try:
                outcomes[index] = services.record_completion(
                    db.session,
                    user_id=clinician_id,
                    item_code="M1",
                    completed_on=DAY,
                    source=CompletionSource.INSTRUCTOR,
                    actor_id=instructors[index],
                ).id
                db.commit()
            except Exception as error:  # collected and asserted on below
                db.rollback()
                outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    conflicts = [o for o in outcomes if isinstance(o, Conflict)]
    created = [o for o in outcomes if isinstance(o, int)]
    assert len(created) == 1 and len(conflicts) == 1, outcomes
    assert session.scalar(select(func.count()).select_from(Completion)) == 1


@pytest.mark.parametrize(
    ("completed_on", "message"),
    [
        (programme_today() + timedelta(days=3), "in the future"),
        (date(1989, 12, 31), "before 1990"),
    ],
)
def test_impossible_dates_are_refused(session, catalog, clinician, completed_on, message):
    with pytest.raises(InvalidInput, match=message):
        record(session, clinician, on=completed_on)
    assert live_rows(session, clinician) == 0


def test_an_instructor_mark_cannot_complete_a_retreat_but_attendance_can(
    session, catalog, clinician, instructor
):
    record(session, clinician, "M1")
    with pytest.raises(InvalidInput, match="attendance"):
        record(session, clinician, "RETREAT-L1", actor=instructor)
    completion = record(
        session, clinician, "RETREAT-L1", actor=instructor, source=CompletionSource.ATTENDANCE
    )
    assert completion.source == CompletionSource.ATTENDANCE


def test_inactive_items_unknown_items_and_non_clinicians_are_refused(
    session, catalog, clinician, instructor
):
    catalog["MUSIC"].active = False
    session.commit()
    with pytest.raises(InvalidInput, match="no longer offered"):
        record(session, clinician, "MUSIC")
    with pytest.raises(NotFound):
        record(session, clinician, "NOPE")
    with pytest.raises(InvalidInput, match="not a clinician"):
        record(session, instructor, "M1")


def test_a_module_whose_prerequisite_is_unmet_is_still_recorded(session, catalog, clinician):
    # Instructors record what really happened; the dashboard still shows Module 1 missing.
    completion = record(session, clinician, "M3")
    assert completion.id is not None
    facts = services.facts_for(session, [clinician.id])[clinician.id]
    assert facts.completed == {"M3"}


def test_revoking_keeps_the_row_and_a_later_mark_adds_a_new_one(
    session, catalog, clinician, instructor, received
):
    first = record(session, clinician, actor=instructor)
    session.commit()

    with pytest.raises(InvalidInput, match="reason"):
        services.revoke_completion(session, first.id, actor_id=instructor.id, reason="  ")
    services.revoke_completion(
        session, first.id, actor_id=instructor.id, reason="Marked for the wrong person"
    )
    session.commit()
    with pytest.raises(AlreadyDecided):
        services.revoke_completion(session, first.id, actor_id=instructor.id, reason="again")
    session.rollback()
    assert "M1" not in services.facts_for(session, [clinician.id])[clinician.id].completed

    second = record(session, clinician, on=DAY + timedelta(days=7), actor=instructor)
    session.commit()

    history = services.clinician_progress(session, clinician).history
    assert [(h.completion_id, h.live) for h in history] == [(second.id, True), (first.id, False)]
    assert history[1].revoke_reason == "Marked for the wrong person"
    assert history[1].revoked_by == instructor.name
    assert received["revoked"] == [(first.id, "Marked for the wrong person")]
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions.count("completion.revoked") == 1
    assert actions.count("completion.recorded") == 2


def test_a_completion_unlocks_its_dependants_at_once(session, catalog, clinician):
    before = services.evaluate_item(session, clinician, "RETREAT-L1")
    assert not before.met and "Module 1" in before.explanation

    record(session, clinician, "M1")

    assert services.evaluate_item(session, clinician, "RETREAT-L1").met
    assert services.evaluate_item(session, clinician, "M2").met


def test_item_unlocked_is_sent_once_per_item_that_opens(session, catalog, clinician, received):
    record(session, clinician, "M1")
    unlocked = [code for _, code in received["unlocked"]]
    assert "RETREAT-L1" in unlocked and "M2" in unlocked
    assert len(unlocked) == len(set(unlocked))
    # Items without a prerequisite were open already; completing another opens nothing new.
    assert "ETHICS" not in unlocked and "M1" not in unlocked
    received["unlocked"].clear()
    record(session, clinician, "M2")
    assert received["unlocked"] == []


def test_watch_unlocks_reports_an_approved_equivalency_once_even_when_nested(
    session, catalog, clinician, received
):
    outer, inner = (services.watch_unlocks(session, clinician.id) for _ in range(2))
    with outer, inner:
        session.add(
            EquivalencyRequest(
                user_id=clinician.id,
                item_id=catalog["M1"].id,
                outside_programme="KRIYA",
                status=EquivalencyStatus.APPROVED,
                decided_at=utcnow(),
            )
        )
    codes = [code for _, code in received["unlocked"]]
    assert "M2" in codes
    assert codes.count("M2") == 1


def test_a_pending_equivalency_unlocks_nothing(session, catalog, clinician):
    request = EquivalencyRequest(
        user_id=clinician.id, item_id=catalog["M1"].id, outside_programme="SAGE"
    )
    session.add(request)
    session.flush()
    signals.equivalency_requested.send(request, session=session)
    assert not services.evaluate_item(session, clinician, "RETREAT-L1").met
    progress = services.clinician_progress(session, clinician)
    assert [p.code for p in progress.pending] == ["M1"]


def test_a_pending_request_shows_even_for_an_item_no_longer_offered(session, catalog, clinician):
    """The dashboard reads requests only when a standing row names one, or an item is
    inactive (it has no row to name it)."""
    assert services.clinician_progress(session, clinician).pending == []
    request = EquivalencyRequest(
        user_id=clinician.id, item_id=catalog["M7"].id, outside_programme="X"
    )
    session.add(request)
    session.flush()
    signals.equivalency_requested.send(request, session=session)
    assert [p.code for p in services.clinician_progress(session, clinician).pending] == ["M7"]
    catalog["M7"].active = False
    session.flush()
    signals.catalogue_changed.send(catalog["M7"], session=session, fields={"active"})
    assert [p.code for p in services.clinician_progress(session, clinician).pending] == ["M7"]


def test_facts_for_loads_many_people_in_six_queries(
    session, catalog, make_user, engine, count_queries
):

    people = [make_user(Role.CLINICIAN) for _ in range(6)]
    unlicensed = make_user(Role.CLINICIAN, licensed=False)
    for person in people[:3]:
        record(session, person, "M1")
        record(session, person, "M2")
    session.add(
        EquivalencyRequest(
            user_id=people[4].id,
            item_id=catalog["M1"].id,
            outside_programme="KTC",
            status=EquivalencyStatus.APPROVED,
            decided_at=utcnow(),
        )
    )
    session.commit()

    with count_queries() as statements:
        facts = services.facts_for(session, [p.id for p in people] + [unlicensed.id, 999_999])

    # The six: the programme's time zone (for today's licence), the catalogue, the accounts,
    # completions, equivalencies and applications.
    assert len(statements) == 6
    assert set(facts) == {p.id for p in people} | {unlicensed.id}
    assert facts[people[0].id].completed == {"M1", "M2"}
    assert facts[people[0].id].ce_hours == catalog["M1"].ce_hours + catalog["M2"].ce_hours
    assert facts[people[4].id].equivalent == {"M1"}
    assert facts[people[5].id].completed == frozenset()
    assert facts[people[0].id].licensed and not facts[unlicensed.id].licensed


def test_a_cohort_records_the_new_and_skips_the_done_with_reasons(
    session, catalog, make_user, instructor, received
):
    done, fresh, other_fresh = (make_user(Role.CLINICIAN) for _ in range(3))
    record(session, done, on=date(2024, 1, 5))
    session.commit()
    received["unlocked"].clear()

    result = services.record_cohort(
        session,
        user_ids=[done.id, fresh.id, other_fresh.id, fresh.id, instructor.id],
        item_code="M1",
        completed_on=DAY,
        actor_id=instructor.id,
        note="Spring cohort",
    )
    session.commit()

    assert [e.user_id for e in result.created] == [fresh.id, other_fresh.id]
    skipped = {e.user_id: e.reason for e in result.skipped}
    assert skipped == {
        done.id: "Already completed on Jan 5, 2024.",
        instructor.id: "Not a clinician.",
    }
    unlocked = [(uid, code) for uid, code in received["unlocked"] if code == "RETREAT-L1"]
    assert sorted(unlocked) == sorted([(fresh.id, "RETREAT-L1"), (other_fresh.id, "RETREAT-L1")])
    again = services.cohort_result(session, result.event_id)
    assert [e.name for e in again.created] == [fresh.name, other_fresh.name]
    assert {e.user_id for e in again.skipped} == {done.id, instructor.id}


def test_a_cohort_for_a_retreat_or_a_future_date_records_nobody(
    session, catalog, clinician, instructor
):
    with pytest.raises(InvalidInput, match="retreat"):
        services.record_cohort(
            session,
            user_ids=[clinician.id],
            item_code="RETREAT-L1",
            completed_on=DAY,
            actor_id=instructor.id,
        )
    with pytest.raises(InvalidInput, match="future"):
        services.record_cohort(
            session,
            user_ids=[clinician.id],
            item_code="M1",
            completed_on=programme_today() + timedelta(days=5),
            actor_id=instructor.id,
        )
    assert live_rows(session, clinician) == 0


@pytest.mark.parametrize(
    "latest", ["revoked completion", "declined request", "withdrawn application"]
)
def test_last_activity_is_the_latest_moment_of_any_history_row_even_one_that_no_longer_counts(
    session, clinician, catalog, latest
) -> None:
    """A revoked mark, a declined request or a withdrawn application is still activity."""
    from datetime import UTC, datetime

    from retreats_support import add_session

    from lms.offerings.models import Enrolment, EnrolmentStatus
    from lms.progress.facts import histories_of

    early, late = datetime(2025, 1, 2, 9, tzinfo=UTC), datetime(2025, 6, 7, 17, tzinfo=UTC)
    when = {
        name: late if name == latest else early
        for name in ("revoked completion", "declined request", "withdrawn application")
    }
    retreat = add_session(session)
    session.add_all(
        [
            Completion(
                user_id=clinician.id,
                item_id=catalog["M1"].id,
                completed_on=DAY,
                source=CompletionSource.INSTRUCTOR,
                recorded_at=datetime(2024, 5, 1, tzinfo=UTC),
            ),
            Completion(
                user_id=clinician.id,
                item_id=catalog["M2"].id,
                completed_on=DAY,
                source=CompletionSource.INSTRUCTOR,
                recorded_at=when["revoked completion"],
                revoked_at=late,
                revoke_reason="wrong person",
            ),
            EquivalencyRequest(
                user_id=clinician.id,
                item_id=catalog["M3"].id,
                outside_programme="Elsewhere",
                status=EquivalencyStatus.DECLINED,
                created_at=when["declined request"],
                decided_at=when["declined request"],
            ),
            Enrolment(
                user_id=clinician.id,
                offering_id=retreat.id,
                status=EnrolmentStatus.WITHDRAWN,
                withdrawn_at=when["withdrawn application"],
                applied_at=when["withdrawn application"],
            ),
        ]
    )
    session.flush()
    (history,) = histories_of(session, [clinician.id]).values()
    assert history.last_activity_at == late
    assert set(history.completions) == {catalog["M1"].id}  # the revoked one does not count
    assert not history.approved and not history.pending and not history.applied
