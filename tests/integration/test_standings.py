"""The progress read model: maintained rows always equal a full recomputation from history."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from retreats_support import complete, screening
from sqlalchemy import func, select, text, update

from lms import signals
from lms.auth.models import Role, User, UserRole
from lms.catalog.models import CatalogItem
from lms.clock import today
from lms.db import utcnow
from lms.equivalency import services as equivalency
from lms.equivalency.models import EquivalencyRequest, EquivalencyStatus
from lms.errors import DomainError
from lms.offerings import places, schedule
from lms.offerings.closing import close_offering, reopen_offering
from lms.offerings.days import DaySpec, every_day, new_offering
from lms.offerings.models import Enrolment, EnrolmentStatus, OfferingStatus
from lms.progress import roster, services, standings, tracking
from lms.progress.models import Completion, CompletionSource, ItemState, ProgressSummary, Standing
from lms.retreats import services as retreats

DAY = date(2026, 3, 2)
MODULES = ["M1", "M2", "M3", "M5", "HTH", "ETHICS"]
RETREATS = ["RETREAT-L1", "RETREAT-ADV", "RETREAT-DFH"]
KEY = "mJ3cX6d0cQk2i3oR9o6wq0zZ2bq3x8nC5m4Wv1yJt5U="  # the screening key the tests' app has


def assert_consistent(session, on=None):
    """The stored rows say what a recomputation from history says (on the day), and the
    pages' read of the day (rows_on) says what the stored rows say for that day."""
    report = standings.check(session, on=on)
    assert report.differences == []
    day = on or today()
    for user_id in session.scalars(select(ProgressSummary.user_id)):
        stored = tracking.rows_of(session, user_id)
        read = tracking.rows_on(session, user_id, day)
        shown, hours = read.rows, read.ce_hours
        assert set(shown) == set(stored)
        # what each live completion is worth, as the history says it
        worth = select(Completion.id, Completion.ce_hours, Completion.offering_id)
        live = {c_id: (hours, offering) for c_id, hours, offering in session.execute(worth)}
        assert read.live == {
            item_id: live[values.completion_id]
            for item_id, values in stored.items()
            if values.completion_id is not None
        }
        for item_id, values in stored.items():
            verdict = values.on(day)
            if verdict.state != ItemState.LOCKED:  # only a locked verdict's why is shown
                verdict = replace(verdict, explanation="", steps=())
            assert shown[item_id].on(day) == verdict
            assert shown[item_id].shown(day)[1:] == values.shown(day)[1:]
        summary = session.get(ProgressSummary, user_id)
        assert hours == summary.ce_hours
        # whether the person's record has a history to show (revoked completions count)
        ever = select(Completion.id).where(Completion.user_id == user_id).limit(1)
        assert read.has_history == (session.scalar(ever) is not None)


def row(session, user, code):
    """One stored standing, by item code."""
    return session.execute(
        select(Standing)
        .join(CatalogItem, CatalogItem.id == Standing.item_id)
        .where(Standing.user_id == user.id, CatalogItem.code == code)
    ).scalar_one()


# --------------------------------------------------------------------------------------------
# The property: any sequence of changes keeps the rows equal to a recomputation

person = st.integers(min_value=0, max_value=2)
operation = st.one_of(
    st.tuples(st.just("mark"), person, st.sampled_from(MODULES + RETREATS)),
    st.tuples(st.just("revoke"), person, st.sampled_from(MODULES + RETREATS)),
    st.tuples(st.just("credit"), person, st.sampled_from(["M1", "RETREAT-L1"]), st.booleans()),
    st.tuples(st.just("withdraw_credit"), person, st.sampled_from(["M1", "RETREAT-L1"])),
    st.tuples(
        st.just("licence"),
        person,
        st.sampled_from(["verify", "unverify", "expire_soon", "expired", "pre_licensed"]),
    ),
    st.tuples(st.just("apply"), person, st.sampled_from(list(EnrolmentStatus))),
    st.tuples(st.just("rule"), st.sampled_from(["drop_m2_rule", "restore_m2_rule", "rename_m1"])),
    st.tuples(st.just("role"), person, st.booleans()),
    st.tuples(
        st.just("session"),
        st.sampled_from(
            [OfferingStatus.CLOSED, OfferingStatus.CANCELLED, OfferingStatus.SCHEDULED]
        ),
    ),
)


def _apply_operation(session, people, reviewer, retreat_session, step):
    """Carry out one generated change through the services, or by plain ORM writes that send
    the domain event the services send (the standings hear of a change only that way)."""
    kind = step[0]
    if kind == "mark":
        _, who, code = step
        source = CompletionSource.IMPORT if code.startswith("RETREAT") else "instructor"
        with contextlib.suppress(DomainError):
            services.record_completion(
                session,
                user_id=people[who].id,
                item_code=code,
                completed_on=DAY,
                source=source,
                actor_id=reviewer.id,
            )
    elif kind == "revoke":
        _, who, code = step
        live = session.scalar(
            select(Completion.id)
            .join(CatalogItem)
            .where(
                Completion.user_id == people[who].id,
                CatalogItem.code == code,
                Completion.revoked_at.is_(None),
            )
        )
        if live is not None:
            services.revoke_completion(session, live, actor_id=reviewer.id, reason="mistake")
    elif kind == "credit":
        _, who, code, approve = step
        item = session.scalar(select(CatalogItem).where(CatalogItem.code == code))
        pending = session.scalar(
            select(EquivalencyRequest).where(
                EquivalencyRequest.user_id == people[who].id,
                EquivalencyRequest.item_id == item.id,
                EquivalencyRequest.status.in_(
                    [EquivalencyStatus.PENDING, EquivalencyStatus.APPROVED]
                ),
            )
        )
        if pending is None:
            request = EquivalencyRequest(
                user_id=people[who].id, item_id=item.id, outside_programme="KRIYA"
            )
            session.add(request)
            session.flush()
            signals.equivalency_requested.send(request, session=session)
        elif pending.status == EquivalencyStatus.PENDING:
            equivalency.decide_request(
                session,
                pending.id,
                reviewer_id=reviewer.id,
                approve=approve,
                reason="" if approve else "not equivalent",
            )
    elif kind == "withdraw_credit":
        _, who, code = step
        pending = session.scalar(
            select(EquivalencyRequest.id)
            .join(CatalogItem)
            .where(
                EquivalencyRequest.user_id == people[who].id,
                CatalogItem.code == code,
                EquivalencyRequest.status == EquivalencyStatus.PENDING,
            )
        )
        if pending is not None:
            equivalency.withdraw_request(session, pending, user_id=people[who].id)
    elif kind == "licence":
        _, who, change = step
        user = people[who]
        if change == "verify":
            user.pre_licensed, user.licence_number = False, user.licence_number or "LC1"
            user.licence_verified_at = utcnow()
        elif change == "unverify":
            user.licence_verified_at = None
        elif change == "expire_soon":
            user.licence_expires_on = today() + timedelta(days=30)
        elif change == "expired":
            user.licence_expires_on = today() - timedelta(days=1)
        else:
            user.pre_licensed = not user.pre_licensed
        signals.account_changed.send(user, session=session)
    elif kind == "apply":
        _, who, status = step
        existing = session.scalar(
            select(Enrolment).where(
                Enrolment.user_id == people[who].id,
                Enrolment.status != EnrolmentStatus.WITHDRAWN,
            )
        )
        if existing is None:
            existing = Enrolment(
                user_id=people[who].id, offering_id=retreat_session.id, status=status
            )
            session.add(existing)
            session.flush()
        else:
            # A compare-and-set UPDATE, as the retreat services do: it bypasses the flush.
            session.execute(
                update(Enrolment)
                .where(Enrolment.id == existing.id)
                .values(status=status)
                .execution_options(synchronize_session=False)
            )
        signals.enrolment_changed.send(existing, session=session, previous=None, actor_id=None)
    elif kind == "rule":
        _, change = step
        m1 = session.scalar(select(CatalogItem).where(CatalogItem.code == "M1"))
        m2 = session.scalar(select(CatalogItem).where(CatalogItem.code == "M2"))
        if change == "drop_m2_rule":
            m2.prerequisite = None
        elif change == "restore_m2_rule":
            m2.prerequisite = {"any": [{"completed": "M1"}, {"equivalent": "M1"}]}
        else:
            m1.title = "Module 1 — renamed " + utcnow().strftime("%f")
        field = "title" if change == "rename_m1" else "prerequisite"
        signals.catalogue_changed.send(m1, session=session, fields={field})
    elif kind == "session":
        # Closed, cancelled, reopened or reinstated, as the offerings' services say it.
        _, status = step
        previous, retreat_session.status = retreat_session.status, status
        session.flush()
        places.status_changed(session, retreat_session, previous)
    elif kind == "role":
        _, who, clinician = step
        user = people[who]
        held = session.scalar(
            select(UserRole).where(UserRole.user_id == user.id, UserRole.role == Role.CLINICIAN)
        )
        if clinician and held is None:
            session.add(UserRole(user_id=user.id, role=Role.CLINICIAN))
        elif not clinician and held is not None:
            session.delete(held)
        signals.account_changed.send(user, session=session)
    session.flush()


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(operation, min_size=1, max_size=10), commit_each=st.booleans())
def test_maintained_standings_always_equal_a_full_recomputation(
    session, catalog, make_user, steps, commit_each
):
    people = [make_user(Role.CLINICIAN) for _ in range(3)]
    reviewer = make_user(Role.INSTRUCTOR, Role.MEDICAL_REVIEWER, licensed=False)
    retreat_session = new_offering(
        catalog["RETREAT-L1"].id,
        every_day(DAY + timedelta(days=400), DAY + timedelta(days=404)),
        location=f"Portland, OR {uuid.uuid4().hex[:8]}",  # one session per example
        capacity=10,
    )
    session.add(retreat_session)
    session.commit()
    for step in steps:
        _apply_operation(session, people, reviewer, retreat_session, step)
        if commit_each:
            session.commit()
        else:
            tracking.sync(session)  # what a page reads mid-transaction is current too
        assert_consistent(session)
    session.commit()
    assert_consistent(session)
    # Time passes: a licence that lapses is read as lapsed with no write at all.
    assert_consistent(session, on=today() + timedelta(days=45))


# --------------------------------------------------------------------------------------------
# Licences lapse by the date, not by a write


def test_a_licence_lapses_at_midnight_without_any_write(session, catalog, make_user):
    last_day = today() + timedelta(days=10)
    clinician = make_user(Role.CLINICIAN, licence_expires_on=last_day)
    services.record_completion(
        session,
        user_id=clinician.id,
        item_code="M1",
        completed_on=DAY,
        source="instructor",
        actor_id=None,
    )
    session.commit()
    stored = standings.RowValues.of(row(session, clinician, "RETREAT-L1"))
    assert stored.on(last_day).state == ItemState.AVAILABLE
    after = stored.on(last_day + timedelta(days=1))
    assert after.state == ItemState.LOCKED and "licen" in after.explanation.lower()
    # So does the pages' read of each day, which picks the verdict in SQL.
    level1 = catalog["RETREAT-L1"].id
    assert tracking.rows_on(session, clinician.id, last_day).rows[level1].now == stored.on(last_day)
    shown_after = tracking.rows_on(session, clinician.id, last_day + timedelta(days=1)).rows
    assert shown_after[level1].now == after
    # The roster's SQL filter agrees with the row on each day.
    for day, expected in ((last_day, True), (last_day + timedelta(days=1), False)):
        eligible = session.scalar(
            select(func.count())
            .select_from(Standing)
            .where(
                Standing.user_id == clinician.id,
                Standing.item_id == catalog["RETREAT-L1"].id,
                tracking.met_on(day),
            )
        )
        assert bool(eligible) is expected


def test_the_daily_refresh_folds_lapsed_licences_into_the_rows(session, catalog, make_user):
    clinician = make_user(Role.CLINICIAN, licence_expires_on=today() + timedelta(days=3))
    later = today() + timedelta(days=5)
    assert standings.refresh_lapsed(session, on=today()).people == 0
    report = standings.refresh_lapsed(session, on=later)
    session.commit()
    assert report.people == 1 and report.rows_written > 0
    folded = row(session, clinician, "RETREAT-DFH")
    assert folded.state == ItemState.LOCKED and folded.lapses_on is None
    summary = session.get(ProgressSummary, clinician.id)
    assert summary.licensed is False and summary.lapses_on is None


# --------------------------------------------------------------------------------------------
# What each kind of change does to the rows


def test_a_new_clinician_gets_a_row_per_active_item_and_a_summary(session, catalog, make_user):
    clinician = make_user(Role.CLINICIAN)
    active = session.scalar(select(func.count()).where(CatalogItem.active.is_(True)))
    stored = session.scalar(
        select(func.count()).select_from(Standing).where(Standing.user_id == clinician.id)
    )
    assert stored == active
    assert session.get(ProgressSummary, clinician.id).modules_done == 0


def test_staff_without_the_clinician_role_have_no_rows(session, catalog, make_user):
    admin = make_user(Role.ADMIN)
    assert session.get(ProgressSummary, admin.id) is None


def test_a_catalogue_rule_change_recomputes_everyone(session, catalog, make_user):
    people = [make_user(Role.CLINICIAN) for _ in range(3)]
    assert all(row(session, p, "M2").state == ItemState.LOCKED for p in people)
    catalog["M2"].prerequisite = None
    signals.catalogue_changed.send(catalog["M2"], session=session, fields={"prerequisite"})
    session.commit()
    assert all(row(session, p, "M2").state == ItemState.AVAILABLE for p in people)
    assert_consistent(session)


def test_a_deactivated_item_loses_its_rows(session, catalog, make_user):
    clinician = make_user(Role.CLINICIAN)
    catalog["ACT"].active = False
    signals.catalogue_changed.send(catalog["ACT"], session=session, fields={"active"})
    session.commit()
    left = session.scalar(
        select(func.count())
        .select_from(Standing)
        .where(Standing.user_id == clinician.id, Standing.item_id == catalog["ACT"].id)
    )
    assert left == 0


def test_a_rolled_back_change_leaves_the_rows_as_they_were(session, catalog, make_user):
    clinician = make_user(Role.CLINICIAN)
    services.record_completion(
        session,
        user_id=clinician.id,
        item_code="M1",
        completed_on=DAY,
        source="instructor",
        actor_id=None,
    )
    session.rollback()
    assert row(session, clinician, "M1").state == ItemState.AVAILABLE
    assert_consistent(session)


# --------------------------------------------------------------------------------------------
# check and rebuild


def test_check_reports_a_tampered_row_and_rebuild_repairs_it(session, catalog, make_user):
    clinician = make_user(Role.CLINICIAN)
    session.execute(
        text("UPDATE standings SET state = 'completed' WHERE user_id = :u"), {"u": clinician.id}
    )
    session.execute(text("DELETE FROM progress_summaries WHERE user_id = :u"), {"u": clinician.id})
    session.commit()
    report = standings.check(session)
    assert len(report.differences) >= 2
    assert any(f"person {clinician.id}" in line for line in report.differences)
    standings.refresh(session)
    session.commit()
    assert_consistent(session)


def test_progress_check_and_rebuild_commands(app, session, catalog, make_user):
    clinician = make_user(Role.CLINICIAN)
    session.execute(
        text("UPDATE standings SET met = NOT met WHERE user_id = :u"), {"u": clinician.id}
    )
    session.commit()
    runner = app.test_cli_runner()
    broken = runner.invoke(args=["lms", "progress", "check"])
    assert broken.exit_code == 1
    assert f"person {clinician.id}" in broken.output
    repaired = runner.invoke(args=["lms", "progress", "rebuild"])
    assert repaired.exit_code == 0, repaired.output
    fine = runner.invoke(args=["lms", "progress", "check"])
    assert fine.exit_code == 0 and "match their history" in fine.output


def test_progress_refresh_command_reports_what_it_folded(app, session, catalog, make_user):
    make_user(Role.CLINICIAN)
    result = app.test_cli_runner().invoke(args=["lms", "progress", "refresh"])
    assert result.exit_code == 0, result.output
    assert "Refreshed 0 clinician(s)" in result.output


# --------------------------------------------------------------------------------------------
# The roster's queries use the indexes


def _plan(session, statement) -> str:
    """The backend's query plan of a statement, as one lower-cased string."""
    compiled = statement.compile(
        dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}
    )
    if session.get_bind().dialect.name == "sqlite":
        rows = session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
        return " ".join(str(r[-1]) for r in rows).lower()
    # Tiny tables: a scan or a sort is cheaper than any index there; ask what it can use.
    session.execute(text("SET LOCAL enable_seqscan = off"))
    session.execute(text("SET LOCAL enable_sort = off"))
    rows = session.execute(text(f"EXPLAIN {compiled}")).all()
    return " ".join(str(r[0]) for r in rows).lower()


def test_the_eligible_filter_counts_from_the_covering_index(session, catalog, make_user):
    for _ in range(3):
        make_user(Role.CLINICIAN)
    query = services.RosterQuery(eligible="RETREAT-L1", applied="no")
    filters = roster._filters(query, services.shared_programme(session), today())
    plan = _plan(session, filters.joined().limit(roster.ROSTER_COUNT_CAP + 1))
    assert "ix_standings_item_" in plan  # one item's rows, read by index
    assert "scan standings" not in plan and "seq scan on standings" not in plan


def test_a_long_match_list_is_paged_in_name_order(session, catalog, make_user):
    make_user(Role.CLINICIAN)
    query = services.RosterQuery(eligible="RETREAT-L1")
    filters = roster._filters(query, services.shared_programme(session), today())
    plan = _plan(session, filters.in_order().limit(50))
    assert "ix_progress_summaries_sort" in plan


def test_the_unfiltered_roster_reads_in_index_order(session, catalog, make_user):
    make_user(Role.CLINICIAN)
    filters = roster._filters(services.RosterQuery(), services.shared_programme(session), today())
    assert "ix_progress_summaries_sort" in _plan(session, filters.in_order().limit(50))


def test_the_roster_counts_exactly_up_to_the_cap_then_says_more(
    session, catalog, make_user, monkeypatch
):
    people = [make_user(Role.CLINICIAN) for _ in range(5)]
    monkeypatch.setattr(roster, "ROSTER_COUNT_CAP", 3)
    monkeypatch.setattr(roster, "ROSTER_PAGE_SIZE", 2)
    query = services.RosterQuery(eligible="RETREAT-DFH")
    first = services.roster(session, query)
    assert first.more and first.matched == 3 and len(first.rows) == 2
    names = sorted(p.name for p in people)
    assert [r.name.split(",")[0] for r in first.rows] == names[:2]
    third = services.roster(session, replace(query, page=3))
    assert [r.name.split(",")[0] for r in third.rows] == names[4:]
    beyond = services.roster(session, replace(query, page=9))  # past the end: the last page
    assert beyond.page == 3 and not beyond.more and beyond.matched == 5
    few = services.roster(session, replace(query, search=people[0].email))
    assert not few.more and few.matched == 1 and few.pages == 1


@pytest.mark.parametrize(
    ("table", "index"),
    [
        (Enrolment, "ix_enrolments_user_id"),
        (EquivalencyRequest, "ix_equivalency_requests_user_id"),
        (Completion, "ix_completions_user_id"),
    ],
)
def test_a_persons_history_is_read_by_index(session, table, index):
    plan = _plan(session, select(table.id).where(table.user_id == 7))
    assert index in plan


def test_a_write_past_the_services_is_kept_once_announced_and_check_finds_it_if_not(
    session, catalog, make_user
):
    """Only the domain events keep the rows: a bulk statement that sends none leaves them as
    they were, `check` names the difference, and announcing the change mends it."""
    clinician = make_user(Role.CLINICIAN)
    assert row(session, clinician, "RETREAT-DFH").state == ItemState.AVAILABLE
    session.execute(
        update(User)
        .where(User.id == clinician.id)
        .values(licence_verified_at=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    assert row(session, clinician, "RETREAT-DFH").state == ItemState.AVAILABLE
    assert any(f"person {clinician.id} " in d for d in standings.check(session).differences)
    signals.account_changed.send(clinician, session=session)
    session.commit()
    assert row(session, clinician, "RETREAT-DFH").state == ItemState.LOCKED
    assert_consistent(session)


def test_closing_or_cancelling_a_session_rewrites_its_peoples_places_in_the_same_transaction(
    session, catalog, make_user
):
    """A session that closes takes away the places it did not settle (the waitlist, the
    application still in review) and one that is cancelled every place; the rows say so
    before the change commits, and say the places again when it is reopened or reinstated."""
    reviewer = make_user(Role.INSTRUCTOR, Role.MEDICAL_REVIEWER, licensed=False)
    admin = make_user(Role.ADMIN)
    start = today() + timedelta(days=20)
    retreat_session = new_offering(
        catalog["RETREAT-L1"].id,
        every_day(start, start + timedelta(days=2)),
        location="Big Sur, CA",
        capacity=1,
    )
    session.add(retreat_session)
    session.commit()
    applicants = []
    for clear in (True, True, False):  # a place, a waitlist place, one still in review
        person = make_user(Role.CLINICIAN)
        complete(session, person.id, "M1")
        application = retreats.apply(
            session,
            user_id=person.id,
            session_id=retreat_session.id,
            screening=screening(),
            screening_key=KEY,
        )
        if clear:
            retreats.decide_screening(session, application.id, reviewer_id=reviewer.id, clear=True)
        session.commit()
        applicants.append(person)

    def kept() -> list[tuple[bool, str | None]]:
        """Each applicant's Level 1 row as the kept rows say it now (synced, not committed)."""
        tracking.sync(session)
        session.expire_all()
        rows = [row(session, person, "RETREAT-L1") for person in applicants]
        return [(r.applied, r.application_status) for r in rows]

    live = [(True, "enrolled"), (True, "waitlisted"), (True, "medical_review")]
    assert kept() == live
    close_offering(session, retreat_session.id, actor=admin, today=retreat_session.ends_on)
    # The holder is settled (absent: attendance was not marked), the others hold nothing now.
    assert kept() == [(True, None), (False, None), (False, None)]
    assert_consistent(session)
    session.rollback()
    assert kept() == live  # rolled back with the closing
    close_offering(session, retreat_session.id, actor=admin, today=retreat_session.ends_on)
    session.commit()
    reopen_offering(session, retreat_session.id, actor=admin, reason="attendance to correct")
    assert kept()[1:] == live[1:]
    assert_consistent(session)
    session.commit()
    cancelled = replace(_values_of(retreat_session), cancelled=True)
    schedule.update_offering(session, retreat_session.id, data=cancelled, actor_id=admin.id)
    assert kept()[1:] == [(False, None), (False, None)]
    assert_consistent(session)
    session.commit()
    reinstated = replace(cancelled, cancelled=False)
    schedule.update_offering(session, retreat_session.id, data=reinstated, actor_id=admin.id)
    assert kept()[1:] == live[1:]
    session.commit()
    assert_consistent(session)


def _values_of(offering) -> schedule.OfferingInput:
    """An offering's values as its form holds them."""
    return schedule.OfferingInput(
        days=tuple(DaySpec(d.held_on, d.starts_at, d.ends_at, d.ce_hours) for d in offering.days),
        capacity=offering.capacity,
        format=offering.format,
        location=offering.location,
        enrolment_deadline=offering.enrolment_deadline,
    )
