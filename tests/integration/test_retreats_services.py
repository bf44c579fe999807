"""Retreat applications: every guard and refusal, screening encryption, places, attendance."""

from __future__ import annotations

from datetime import timedelta

import pytest
from clock_support import programme_today
from retreats_support import add_session, complete, screening
from sqlalchemy import func, select

from lms import signals
from lms.audit.models import AuditEvent
from lms.auth.models import Role
from lms.errors import AlreadyDecided, Conflict, InvalidInput, PrerequisiteNotMet
from lms.offerings import schedule
from lms.offerings.days import every_day
from lms.offerings.models import Enrolment, EnrolmentStatus
from lms.progress.models import Completion, CompletionSource
from lms.progress.services import evaluate_item
from lms.retreats import services
from lms.retreats.models import Screening
from lms.retreats.screening import ScreeningUnavailable, decrypt_screening

KEY = "mJ3cX6d0cQk2i3oR9o6wq0zZ2bq3x8nC5m4Wv1yJt5U="


@pytest.fixture
def people(make_user, catalog):
    """A reviewer, an instructor and a factory for Level-1-eligible clinicians."""

    def eligible(**fields):
        user = make_user(Role.CLINICIAN, **fields)
        complete(_session_of(user), user.id, "M1")
        return user

    return {
        "reviewer": make_user(Role.MEDICAL_REVIEWER, name="Dr Reviewer"),
        "reviewer2": make_user(Role.MEDICAL_REVIEWER, name="Dr Second"),
        "instructor": make_user(Role.INSTRUCTOR, name="Ina Instructor"),
        "eligible": eligible,
    }


def _session_of(user):
    """The test's session (the user object is attached to it)."""
    from sqlalchemy.orm import object_session

    return object_session(user)


def _apply(session, user, retreat_session, **kwargs):
    """Apply with an all-"no" screening unless told otherwise."""
    application = services.apply(
        session,
        user_id=user.id,
        session_id=retreat_session.id,
        screening=kwargs.pop("screening", screening()),
        screening_key=kwargs.pop("screening_key", KEY),
        **kwargs,
    )
    session.commit()
    return application


def _count(session, model=Enrolment):
    """Rows in a table."""
    return session.scalar(select(func.count()).select_from(model))


def test_apply_refused_when_the_rule_is_not_met_with_the_rules_explanation(
    session, make_user, catalog
):
    clinician = make_user(Role.CLINICIAN)
    retreat_session = add_session(session)
    with pytest.raises(PrerequisiteNotMet) as refused:
        _apply(session, clinician, retreat_session)
    assert "Module 1" in refused.value.message
    session.rollback()
    assert _count(session) == 0 and _count(session, Screening) == 0


def test_apply_refused_for_a_pre_licensed_clinician(session, make_user, catalog):
    clinician = make_user(Role.CLINICIAN, licensed=False)
    complete(session, clinician.id, "M1")
    retreat_session = add_session(session)
    with pytest.raises(PrerequisiteNotMet, match="pre-licensed"):
        _apply(session, clinician, retreat_session)
    session.rollback()
    assert _count(session) == 0


@pytest.mark.usefixtures("awkward_instant")
def test_apply_refused_after_the_deadline(session, people):
    clinician = people["eligible"]()
    retreat_session = add_session(session, starts_in=20, deadline_in=-1)
    with pytest.raises(PrerequisiteNotMet, match="deadline"):
        _apply(session, clinician, retreat_session)
    session.rollback()
    assert _count(session) == 0


@pytest.mark.usefixtures("awkward_instant")
def test_apply_refused_once_the_session_has_started(session, people):
    clinician = people["eligible"]()
    retreat_session = add_session(session, starts_in=0)
    with pytest.raises(PrerequisiteNotMet, match="already started"):
        _apply(session, clinician, retreat_session)


def test_apply_refused_for_a_closed_session(session, people):
    clinician = people["eligible"]()
    retreat_session = add_session(session, active=False)
    with pytest.raises(PrerequisiteNotMet, match="not open"):
        _apply(session, clinician, retreat_session)


def test_second_application_to_the_same_session_is_refused_and_changes_nothing(session, people):
    clinician = people["eligible"]()
    retreat_session = add_session(session)
    _apply(session, clinician, retreat_session)
    with pytest.raises(Conflict, match="already applied"):
        _apply(session, clinician, retreat_session)
    session.rollback()
    assert _count(session) == 1 and _count(session, Screening) == 1


def test_database_refuses_a_second_live_application_even_without_the_check(session, people):
    from sqlalchemy.exc import IntegrityError

    clinician = people["eligible"]()
    retreat_session = add_session(session)
    _apply(session, clinician, retreat_session)
    session.add(Enrolment(user_id=clinician.id, offering_id=retreat_session.id))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_apply_without_a_screening_key_is_refused_before_anything_is_written(session, people):
    clinician = people["eligible"]()
    retreat_session = add_session(session)
    with pytest.raises(ScreeningUnavailable, match="LMS_SCREENING_KEY"):
        _apply(session, clinician, retreat_session, screening_key=None)
    with pytest.raises(ScreeningUnavailable, match="not a valid Fernet key"):
        _apply(session, clinician, retreat_session, screening_key="not-a-key")
    session.rollback()
    assert _count(session) == 0


def test_incomplete_screening_is_refused(session, people):
    from lms.retreats.screening import ScreeningInput

    clinician = people["eligible"]()
    retreat_session = add_session(session)
    partial = ScreeningInput(answers=screening().answers[:3])
    with pytest.raises(InvalidInput, match="Answer every screening question"):
        _apply(session, clinician, retreat_session, screening=partial)
    session.rollback()
    assert _count(session) == 0


def test_screening_answers_are_encrypted_at_rest_and_flag_risk(session, people):
    marker = "ZEBRA-MARKER-7731"
    low, high = people["eligible"](), people["eligible"]()
    retreat_session = add_session(session)
    quiet = _apply(session, low, retreat_session)
    flagged = _apply(
        session,
        high,
        retreat_session,
        screening=screening(yes=("sleep_apnea",), detail=marker, anything_else=marker),
    )
    assert quiet.status == EnrolmentStatus.MEDICAL_REVIEW and quiet.low_risk is True
    assert flagged.status == EnrolmentStatus.MEDICAL_REVIEW and flagged.low_risk is False
    stored = session.get(Screening, flagged.id)
    assert stored.any_yes is True
    assert marker.encode() not in stored.answers_encrypted
    assert marker not in repr(stored)
    assert decrypt_screening(KEY, stored.answers_encrypted).anything_else == marker


def test_clearing_accepts_up_to_capacity_then_waitlists_in_application_order(session, people):
    retreat_session = add_session(session, capacity=1)
    first, second, third = (people["eligible"]() for _ in range(3))
    apps = [_apply(session, person, retreat_session) for person in (first, second, third)]
    reviewer = people["reviewer"]
    # Cleared out of order: the place goes to whoever is cleared first, the waitlist keeps
    # application order.
    for application in (apps[2], apps[0], apps[1]):
        services.decide_screening(session, application.id, reviewer_id=reviewer.id, clear=True)
        session.commit()
    statuses = [session.get(Enrolment, a.id).status for a in apps]
    assert statuses == [
        EnrolmentStatus.WAITLISTED,
        EnrolmentStatus.WAITLISTED,
        EnrolmentStatus.ENROLLED,
    ]
    rows = services.roster(session, retreat_session.id).rows
    positions = {row.application.user_id: row.waitlist_position for row in rows}
    assert positions[first.id] == 1 and positions[second.id] == 2


def test_withdrawing_an_accepted_place_promotes_the_first_waitlisted_at_once(session, people):
    retreat_session = add_session(session, capacity=1)
    holder, waiting_first, waiting_second = (people["eligible"]() for _ in range(3))
    apps = [_apply(session, p, retreat_session) for p in (holder, waiting_first, waiting_second)]
    for application in apps:
        services.decide_screening(
            session, application.id, reviewer_id=people["reviewer"].id, clear=True
        )
    session.commit()
    services.withdraw(session, apps[0].id, user_id=holder.id)
    session.commit()
    assert session.get(Enrolment, apps[1].id).status == EnrolmentStatus.ENROLLED
    assert session.get(Enrolment, apps[2].id).status == EnrolmentStatus.WAITLISTED
    actions = session.scalars(select(AuditEvent.action)).all()
    assert "application.promoted" in actions and "application.withdrawn" in actions


def test_withdrawal_is_refused_once_the_session_has_started(session, people):
    clinician = people["eligible"]()
    retreat_session = add_session(session, starts_in=3)
    application = _apply(session, clinician, retreat_session)
    with pytest.raises(Conflict, match="started"):
        services.withdraw(
            session,
            application.id,
            user_id=clinician.id,
            today=retreat_session.starts_on,
        )


def test_someone_else_cannot_withdraw_an_application(session, people):
    from lms.errors import NotFound

    clinician, other = people["eligible"](), people["eligible"]()
    application = _apply(session, clinician, add_session(session))
    with pytest.raises(NotFound):
        services.withdraw(session, application.id, user_id=other.id)


def test_a_screening_is_decided_once_and_the_second_reviewer_is_told_who_decided(session, people):
    clinician = people["eligible"]()
    application = _apply(session, clinician, add_session(session))
    services.decide_screening(
        session, application.id, reviewer_id=people["reviewer"].id, clear=False
    )
    session.commit()
    with pytest.raises(AlreadyDecided, match="already decided by Dr Reviewer on"):
        services.decide_screening(
            session, application.id, reviewer_id=people["reviewer2"].id, clear=True
        )
    session.rollback()
    assert session.get(Enrolment, application.id).status == EnrolmentStatus.NOT_CLEARED


def test_capacity_cannot_drop_below_accepted_places_and_raising_it_promotes(session, people):
    retreat_session = add_session(session, capacity=1)
    apps = [_apply(session, people["eligible"](), retreat_session) for _ in range(2)]
    for application in apps:
        services.decide_screening(
            session, application.id, reviewer_id=people["reviewer"].id, clear=True
        )
    session.commit()
    admin_id = people["instructor"].id
    values = {
        "days": tuple(every_day(retreat_session.starts_on, retreat_session.ends_on)),
        "location": retreat_session.location,
    }
    with pytest.raises(Conflict, match="cannot be lower"):
        schedule.update_offering(
            session,
            retreat_session.id,
            data=schedule.OfferingInput(capacity=0, **values),
            actor_id=admin_id,
        )
    session.rollback()
    schedule.update_offering(
        session,
        retreat_session.id,
        data=schedule.OfferingInput(capacity=2, **values),
        actor_id=admin_id,
    )
    session.commit()
    assert session.get(Enrolment, apps[1].id).status == EnrolmentStatus.ENROLLED


def test_attendance_records_completion_on_the_last_day_and_unlocks_the_advanced_retreat(
    session, people
):
    clinician = people["eligible"]()
    retreat_session = add_session(session, starts_in=20)
    application = _apply(session, clinician, retreat_session)
    services.decide_screening(
        session, application.id, reviewer_id=people["reviewer"].id, clear=True
    )
    # Time passes: the session is over.
    retreat_session.starts_on = programme_today() - timedelta(days=5)
    retreat_session.ends_on = programme_today() - timedelta(days=1)
    session.commit()
    assert not evaluate_item(session, clinician, "RETREAT-ADV").met
    unlocked = []

    def receiver(user, session, item):
        unlocked.append(item.code)

    signals.item_unlocked.connect(receiver)
    try:
        with pytest.raises(Conflict, match="last day"):
            services.mark_attendance(
                session,
                application.id,
                actor_id=people["instructor"].id,
                attended=True,
                today=retreat_session.ends_on - timedelta(days=1),
            )
        session.rollback()
        services.mark_attendance(
            session, application.id, actor_id=people["instructor"].id, attended=True
        )
        session.commit()
    finally:
        signals.item_unlocked.disconnect(receiver)
    completion = session.scalar(
        select(Completion).where(
            Completion.user_id == clinician.id, Completion.item_id == retreat_session.item_id
        )
    )
    assert completion.source == CompletionSource.ATTENDANCE
    assert completion.completed_on == retreat_session.ends_on
    assert evaluate_item(session, clinician, "RETREAT-ADV").met
    assert "RETREAT-ADV" in unlocked
    assert session.get(Enrolment, application.id).status == EnrolmentStatus.ATTENDED


def test_attendance_cannot_be_marked_for_someone_not_enrolled(session, people):
    clinician = people["eligible"]()
    retreat_session = add_session(session, starts_in=20)
    application = _apply(session, clinician, retreat_session)
    with pytest.raises(Conflict, match="Only enrolled"):
        services.mark_attendance(
            session,
            application.id,
            actor_id=people["instructor"].id,
            attended=True,
            today=retreat_session.ends_on + timedelta(days=1),
        )


def test_purge_erases_answers_of_long_ended_sessions_and_keeps_decisions(session, people):
    clinician = people["eligible"]()
    old = add_session(session, starts_in=10, location="Old")
    recent = add_session(session, starts_in=10, location="Recent", days=1)
    old_app = _apply(session, clinician, old)
    recent_app = _apply(session, people["eligible"](), recent)
    for application in (old_app, recent_app):
        services.decide_screening(
            session, application.id, reviewer_id=people["reviewer"].id, clear=True
        )
    session.commit()
    # Judged from a day far enough after both sessions that only "old" qualifies.
    old.ends_on = programme_today() - timedelta(days=400)
    old.starts_on = old.ends_on - timedelta(days=4)
    session.commit()
    count = services.purge_screenings(session, older_than_days=365)
    session.commit()
    assert count == 1
    purged = session.get(Screening, old_app.id)
    assert purged.answers_encrypted is None and purged.purged_at is not None
    assert session.get(Screening, recent_app.id).answers_encrypted is not None
    assert session.get(Enrolment, old_app.id).status == EnrolmentStatus.ENROLLED
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "screening.purged"))
    assert event.facts["count"] == 1


def test_every_application_change_is_audited_and_signalled(session, people):
    clinician = people["eligible"]()
    seen = []

    def receiver(application, session, previous, actor_id):
        seen.append((previous, application.status))

    signals.enrolment_changed.connect(receiver)
    try:
        application = _apply(session, clinician, add_session(session))
        services.decide_screening(
            session, application.id, reviewer_id=people["reviewer"].id, clear=True
        )
        services.withdraw(session, application.id, user_id=clinician.id)
        session.commit()
    finally:
        signals.enrolment_changed.disconnect(receiver)
    assert seen == [
        (None, EnrolmentStatus.MEDICAL_REVIEW),
        (EnrolmentStatus.MEDICAL_REVIEW, EnrolmentStatus.ENROLLED),
        (EnrolmentStatus.ENROLLED, EnrolmentStatus.WITHDRAWN),
    ]
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.subject_type == "application")
    ).all()
    assert actions == ["application.submitted", "screening.cleared", "application.withdrawn"]


def test_one_who_attended_the_retreat_has_nothing_to_apply_for(session, people):
    """The retreats page offers no Apply once the retreat is attended (or credited); applying
    anyway is refused by the same standing, and changes nothing."""
    clinician = people["eligible"]()
    complete(session, clinician.id, "RETREAT-L1")
    session.commit()
    with pytest.raises(PrerequisiteNotMet, match="You already have this retreat: Completed on"):
        _apply(session, clinician, add_session(session))
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Enrolment)) == 0
