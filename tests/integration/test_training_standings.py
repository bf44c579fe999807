"""The kept Certificate of Training standings: each fact the requirement reads rewrites the
candidate's row before commit, the staff queues read the rows against today's date (a window
closes with no event), a rebuild writes the same rows, the judging is batched, and migration
0021 fills the rows of candidates that exist before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from clock_support import programme_today
from sqlalchemy import delete, inspect, select, text, update
from sqlalchemy.engine import Engine

from lms.auth.models import Role
from lms.clock import utcnow
from lms.jobs import sweep_due_work
from lms.migrate import downgrade, upgrade
from lms.training import consultants as approved_list
from lms.training import consultations as log
from lms.training import queues, session_log, standing_jobs
from lms.training import standing as kept
from lms.training.models import Candidate, Credential, TrainingStanding
from lms.training.requirement import ensure_credential, publish_requirement, start_candidate
from lms.training.session_log import NEW_CLIENT, SessionInput
from lms.training.standing_jobs import CLAIM_LAPSES, rejudge_everyone

# A short requirement, so a test can meet it: one confirmed group consultation, one session
# as therapist, all within 24 months of the first.
SHORT_RULE = {
    "all": [
        {"logged": {"kind": "group_consultation", "count": 1}},
        {"logged": {"kind": "therapist_session", "count": 1}},
        {"within_months": 24},
    ]
}


def _consultant(app, session, make_user):
    """An approved consultant, on the list for three years."""
    admin = make_user(Role.ADMIN)
    with app.test_request_context():
        found = approved_list.add_consultant(
            session,
            approved_list.ConsultantInput(
                "Dana Reyes", "MD", "dana@consult.test", programme_today() - timedelta(days=1100)
            ),
            actor_id=admin.id,
        )
        session.commit()
    return found


def _short_requirement(session, *, everyone=False):
    """Publish SHORT_RULE (for new candidates, or for everyone)."""
    publish_requirement(session, rule=SHORT_RULE, actor_id=None, everyone=everyone)
    session.commit()


def _confirmed(app, session, user, consultant, held_on):
    """Log a group consultation on `held_on` and have the consultant confirm it."""
    with app.test_request_context():
        entry = log.log_consultation(
            session,
            user,
            log.ConsultationInput(held_on, consultant.id, "group_consultation", "2", ""),
        )
        session.commit()
        log.confirm_by_code(session, log.response_code(entry))
        session.commit()
    return entry


def _session_logged(session, user):
    """One session as therapist last month."""
    today = programme_today()
    number = today.year * 12 + today.month - 2
    entry = session_log.log_session(
        session,
        user_id=user.id,
        data=SessionInput(
            str(number // 12), str(number % 12 + 1), "therapist", "online", NEW_CLIENT
        ),
    )
    session.commit()
    return entry


def _row(session, user):
    """The person's kept row, read fresh."""
    session.expire_all()
    return session.scalar(select(TrainingStanding).where(TrainingStanding.user_id == user.id))


def _ids(page):
    """The user ids a queue page lists."""
    return [row.user_id for row in page.items]


def test_each_fact_rewrites_the_row_before_commit_and_ready_to_award_follows(
    app, session, make_user, catalog
):
    ensure_credential(session)
    _short_requirement(session)
    consultant = _consultant(app, session, make_user)
    clinician = make_user()
    held_on = programme_today() - timedelta(days=10)
    with app.test_request_context():
        entry = log.log_consultation(
            session,
            clinician,
            log.ConsultationInput(held_on, consultant.id, "group_consultation", "2", ""),
        )
        session.commit()
    row = _row(session, clinician)
    assert (row.met, row.parts_met, row.parts_total) == (False, 1, 3)  # the window is open
    assert row.first_event_on is None and row.window_closes_on is None
    with app.test_request_context():
        log.confirm_by_code(session, log.response_code(entry))
        session.commit()
    row = _row(session, clinician)
    assert (row.met, row.parts_met, row.first_event_on) == (False, 2, held_on)
    assert row.window_closes_on == held_on.replace(year=held_on.year + 2)
    assert _ids(queues.ready_page(session)) == []

    logged = _session_logged(session, clinician)
    assert _row(session, clinician).met is True
    assert _ids(queues.ready_page(session)) == [clinician.id]
    assert queues.queue_counts(session).ready == 1

    session_log.remove_session(session, logged.id, user_id=clinician.id)
    session.commit()
    assert _row(session, clinician).met is False
    _session_logged(session, clinician)

    staff = make_user(Role.INSTRUCTOR)
    log.void_consultation(session, entry.id, actor=staff, reason="Logged twice")
    session.commit()
    row = _row(session, clinician)
    last_month = (programme_today().replace(day=1) - timedelta(days=1)).replace(day=1)
    assert (row.met, row.first_event_on) == (False, last_month)  # the session opens it now
    assert _row(session, clinician).parts_met == 2  # the session and the window
    _confirmed(app, session, clinician, consultant, held_on)
    assert _ids(queues.ready_page(session)) == [clinician.id]

    # Awarded (the award marks its person): no longer waiting for an award.
    candidate = session.get(Candidate, (clinician.id, row.credential_id))
    candidate.awarded_at = utcnow()
    kept.mark_changed(session, [clinician.id])
    session.commit()
    assert _row(session, clinician).waiting is False
    assert _ids(queues.ready_page(session)) == []


def test_a_requirement_published_for_everyone_judges_every_candidate_again(
    app, session, make_user, catalog
):
    ensure_credential(session)
    consultant = _consultant(app, session, make_user)
    clinician = make_user()
    _confirmed(app, session, clinician, consultant, programme_today() - timedelta(days=5))
    _session_logged(session, clinician)
    row = _row(session, clinician)
    assert row.met is False and row.parts_total == 11  # version 1 asks for much more
    _short_requirement(session)  # for new candidates: nobody's row changes
    assert _row(session, clinician).parts_total == 11
    _short_requirement(session, everyone=True)
    # Too many people for the change's own request: it marks the credential due, for a job.
    assert kept.due_since(session) is not None
    assert _row(session, clinician).parts_total == 11
    session.commit()
    assert app.extensions["lms"].jobs.run(kept.REJUDGE_JOB) == 1
    session.commit()
    row = _row(session, clinician)
    assert (row.met, row.parts_met, row.parts_total) == (True, 3, 3)
    assert kept.due_since(session) is None
    session.commit()
    assert app.extensions["lms"].jobs.run(kept.REJUDGE_JOB) is None  # nothing due: nothing done


def test_a_change_made_while_the_job_works_leaves_the_mark_for_the_next_job(
    app, session, make_user, catalog
):
    ensure_credential(session)
    consultant = _consultant(app, session, make_user)
    clinician = make_user()
    _confirmed(app, session, clinician, consultant, programme_today() - timedelta(days=5))
    _short_requirement(session, everyone=True)
    first_mark = kept.due_since(session)

    def another_change_meanwhile():
        """A second publication for everyone, committed between two of the job's steps."""
        session.execute(
            update(Credential).values(standings_due_at=first_mark + timedelta(seconds=5))
        )
        session.commit()

    assert rejudge_everyone(session, step=another_change_meanwhile) == 1
    session.commit()
    assert kept.due_since(session) == first_mark + timedelta(seconds=5)
    assert session.scalar(select(Credential.standings_claimed_at)) is None
    assert rejudge_everyone(session) == 0  # the next job judges again (nothing new to write)
    session.commit()
    assert kept.due_since(session) is None


def test_a_running_job_holds_the_work_and_a_dead_ones_claim_lapses(
    app, session, make_user, catalog
):
    start_candidate(session, make_user().id, ensure_credential(session))
    _short_requirement(session, everyone=True)
    session.execute(update(Credential).values(standings_claimed_at=utcnow()))
    session.commit()
    jobs = app.extensions["lms"].jobs
    assert jobs.run(kept.REJUDGE_JOB) is None  # another job is at it
    assert kept.due_since(session) is not None
    with app.test_request_context():
        assert sweep_due_work(grace=timedelta(0))["training_standings"] == 0
    session.execute(
        update(Credential).values(
            standings_claimed_at=utcnow() - CLAIM_LAPSES - timedelta(minutes=1)
        )
    )
    session.commit()
    with app.test_request_context():  # the sweep enqueues it (here the queue runs it at once)
        assert sweep_due_work(grace=timedelta(0))["training_standings"] == 1
    session.expire_all()
    session.commit()
    assert kept.due_since(session) is None
    assert session.scalar(select(Credential.standings_claimed_at)) is None


def test_a_rebuild_clears_the_mark(app, session, make_user, catalog):
    start_candidate(session, make_user().id, ensure_credential(session))
    _short_requirement(session, everyone=True)
    assert kept.due_since(session) is not None
    result = app.test_cli_runner().invoke(args=["lms", "training", "rebuild"])
    assert result.exit_code == 0
    session.commit()
    assert kept.due_since(session) is None


def test_the_window_closing_queue_and_time_passing_without_any_event(
    app, session, make_user, catalog
):
    ensure_credential(session)
    _short_requirement(session)
    consultant = _consultant(app, session, make_user)
    late, ready, early = make_user(), make_user(), make_user()
    today = programme_today()
    # First events 700 days ago: the 24-month window closes about 30 days from today.
    for person in (late, ready):
        _confirmed(app, session, person, consultant, today - timedelta(days=700))
    _session_logged(session, ready)
    _confirmed(app, session, early, consultant, today - timedelta(days=30))
    closes = _row(session, late).window_closes_on
    assert 0 <= (closes - today).days <= queues.WARNING_DAYS
    assert _ids(queues.closing_page(session)) == [late.id]
    assert _ids(queues.ready_page(session)) == [ready.id]
    counts = queues.queue_counts(session)
    assert (counts.closing, counts.closing_first, counts.ready) == (1, closes, 1)

    # The day after the window's last day: nobody closing, and the met one no longer ready.
    after = datetime.combine(closes + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    with time_machine.travel(after + timedelta(hours=20), tick=False):
        session.expire_all()
        assert _ids(queues.closing_page(session)) == []
        assert _ids(queues.ready_page(session)) == []
        assert queues.queue_counts(session).ready == 0


def test_awaiting_confirmation_lists_oldest_first_with_age(app, session, make_user, catalog):
    ensure_credential(session)
    consultant = _consultant(app, session, make_user)
    first, second = make_user(), make_user()
    today = programme_today()
    with app.test_request_context():
        for person in (first, second):
            log.log_consultation(
                session,
                person,
                log.ConsultationInput(
                    today - timedelta(days=3), consultant.id, "individual_consultation", "1", ""
                ),
            )
            session.commit()
    page = queues.awaiting_page(session)
    assert [row.user_id for row in page.items] == [first.id, second.id]
    assert page.total == 2 and page.items[0].age_days == 0
    assert queues.queue_counts(session).awaiting == 2


def test_a_rebuild_writes_the_rows_the_events_kept(app, session, make_user, catalog):
    ensure_credential(session)
    _short_requirement(session)
    consultant = _consultant(app, session, make_user)
    people = [make_user() for _ in range(3)]
    for index, person in enumerate(people):
        _confirmed(app, session, person, consultant, programme_today() - timedelta(days=index + 1))
    _session_logged(session, people[0])

    def rows():
        session.expire_all()
        return sorted(
            (r.user_id, r.met, r.parts_met, r.first_event_on, r.window_closes_on, r.lapses_on)
            for r in session.scalars(select(TrainingStanding))
        )

    kept_rows = rows()
    assert len(kept_rows) == 3
    session.execute(delete(TrainingStanding))
    session.commit()
    assert kept.rebuild(session) == 3
    session.commit()
    assert rows() == kept_rows
    assert kept.rebuild(session) == 0  # nothing changed: nothing written
    session.execute(delete(TrainingStanding))
    session.commit()
    result = app.test_cli_runner().invoke(args=["lms", "training", "rebuild"])
    assert result.exit_code == 0 and "3 candidate standings rewritten" in result.output
    assert rows() == kept_rows


def test_judging_many_candidates_takes_the_same_number_of_queries(
    app, session, make_user, catalog, count_queries
):
    ensure_credential(session)
    consultant = _consultant(app, session, make_user)
    people = [make_user() for _ in range(6)]
    for person in people:
        _confirmed(app, session, person, consultant, programme_today() - timedelta(days=2))
    with count_queries(starting="SELECT") as two:
        kept.refresh(session, [p.id for p in people[:2]])
    with count_queries(starting="SELECT") as six:
        kept.refresh(session, [p.id for p in people])
    assert len(two) == len(six)


def test_a_licence_that_expires_ends_a_met_verdict_on_its_day(app, session, make_user, catalog):
    ensure_credential(session)
    rule = {"all": [{"logged": {"kind": "group_consultation", "count": 1}}, {"licensed": True}]}
    publish_requirement(session, rule=rule, actor_id=None)
    session.commit()
    consultant = _consultant(app, session, make_user)
    expires = programme_today() + timedelta(days=10)
    clinician = make_user(licence_expires_on=expires)
    _confirmed(app, session, clinician, consultant, programme_today() - timedelta(days=2))
    assert _row(session, clinician).lapses_on == expires + timedelta(days=1)
    assert _ids(queues.ready_page(session)) == [clinician.id]
    later = datetime.combine(expires + timedelta(days=2), datetime.min.time(), tzinfo=UTC)
    with time_machine.travel(later + timedelta(hours=20), tick=False):
        session.expire_all()
        assert _ids(queues.ready_page(session)) == []


def test_migration_0021_fills_the_rows_of_existing_candidates(blank_database: Engine) -> None:
    """The migration asks, and once the run reaches head every candidate is judged; the
    downgrade drops the table."""
    engine = blank_database
    upgrade(engine, "0020")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, email, name, credentials, auth_token, active,"
                " pre_licensed, notify_optional, created_at) VALUES"
                " (501, 'm@example.test', 'M', '', 't501', :yes, :yes, :yes, :now)"
            ),
            {"yes": True, "now": "2026-01-05 10:00:00"},
        )
        credential = conn.execute(text("SELECT id FROM training_credentials")).scalar()
        version = conn.execute(text("SELECT id FROM training_requirement_versions")).scalar()
        conn.execute(
            text(
                "INSERT INTO training_candidates (user_id, credential_id, version_id,"
                " started_at) VALUES (501, :c, :v, :now)"
            ),
            {"c": credential, "v": version, "now": "2026-01-05 10:00:00"},
        )
    upgrade(engine, "head")
    with engine.connect() as conn:
        row = conn.execute(text("SELECT met, parts_met, parts_total FROM training_standings")).one()
    assert (bool(row[0]), row[1], row[2]) == (False, 1, 11)  # only the open window is met
    downgrade(engine, "0020")
    assert "training_standings" not in inspect(engine).get_table_names()


def test_a_first_session_or_document_makes_a_candidate_with_a_kept_row(
    app, session, make_user, catalog
):
    """Not only a consultation: whoever logs a session first is a candidate too, held to the
    newest version, and their window shows in the rows (the closing queue reads them)."""
    import io

    from training_records_support import ONE_PAGE_PDF

    from lms.storage import store
    from lms.training import documents

    ensure_credential(session)
    session.commit()
    by_session, by_document = make_user(), make_user()
    _session_logged(session, by_session)
    assert session.get(Candidate, (by_session.id, ensure_credential(session).id)) is not None
    row = _row(session, by_session)
    assert row is not None and row.first_event_on is not None and row.window_closes_on
    with app.test_request_context():
        documents.upload_document(
            session,
            user_id=by_document.id,
            kind="reflection_paper",
            stream=io.BytesIO(ONE_PAGE_PDF),
            filename="paper.pdf",
            uploaded_by="clinician",
            actor_id=by_document.id,
            store=store(documents.DOCUMENTS_AREA),
        )
        session.commit()
    assert session.get(Candidate, (by_document.id, ensure_credential(session).id)) is not None
    assert _row(session, by_document) is not None


def test_migration_0024_keeps_who_waits_in_the_queues(blank_database: Engine) -> None:
    """An open account not awarded waits; a deactivated one and an awarded one do not; the
    downgrade gives the earlier table back."""
    engine = blank_database
    upgrade(engine, "0023")
    now = "2026-01-05 10:00:00"
    with engine.begin() as conn:
        credential = conn.execute(text("SELECT id FROM training_credentials")).scalar()
        version = conn.execute(text("SELECT id FROM training_requirement_versions")).scalar()
        for user_id, active, awarded_at in (
            (601, True, None),
            (602, False, None),
            (603, True, now),
        ):
            conn.execute(
                text(
                    "INSERT INTO users (id, email, name, credentials, auth_token, active,"
                    " pre_licensed, notify_optional, created_at) VALUES"
                    " (:id, :email, 'P', '', :token, :active, :yes, :yes, :now)"
                ),
                {
                    "id": user_id,
                    "email": f"p{user_id}@example.test",
                    "token": f"t{user_id}",
                    "active": active,
                    "yes": True,
                    "now": now,
                },
            )
            conn.execute(
                text(
                    "INSERT INTO training_candidates (user_id, credential_id, version_id,"
                    " started_at, awarded_at) VALUES (:u, :c, :v, :now, :awarded)"
                ),
                {"u": user_id, "c": credential, "v": version, "now": now, "awarded": awarded_at},
            )
            conn.execute(
                text(
                    "INSERT INTO training_standings (user_id, credential_id, met, parts_met,"
                    " parts_total, judged_on) VALUES (:u, :c, :yes, 3, 3, '2026-01-05')"
                ),
                {"u": user_id, "c": credential, "yes": True},
            )
    upgrade(engine, "0024")
    with engine.connect() as conn:
        waiting = dict(conn.execute(text("SELECT user_id, waiting FROM training_standings")).all())
    assert {user_id: bool(flag) for user_id, flag in waiting.items()} == {
        601: True,
        602: False,
        603: False,
    }
    indexes = {index["name"] for index in inspect(engine).get_indexes("training_standings")}
    assert {"ix_training_standings_ready", "ix_training_standings_closing"} <= indexes
    downgrade(engine, "0023")
    columns = {column["name"] for column in inspect(engine).get_columns("training_standings")}
    assert "waiting" not in columns
    indexes = {index["name"] for index in inspect(engine).get_indexes("training_standings")}
    assert {"ix_training_standings_met", "ix_training_standings_window"} <= indexes


def test_a_version_published_between_two_steps_is_judged_and_a_stolen_claim_stops_the_job(
    app, session, make_user, catalog, monkeypatch
):
    ensure_credential(session)
    consultant = _consultant(app, session, make_user)
    people = [make_user() for _ in range(3)]
    for person in people:
        _confirmed(app, session, person, consultant, programme_today() - timedelta(days=5))
    _short_requirement(session, everyone=True)
    monkeypatch.setattr(kept, "IN_CHUNK", 1)  # a step between every person

    steps = []

    def publish_meanwhile():
        """After the first person: another version for everyone (the next chunks name it)."""
        session.commit()
        steps.append(1)
        if len(steps) == 2:
            _short_requirement(session, everyone=True)

    assert rejudge_everyone(session, step=publish_meanwhile) is not None
    session.commit()
    assert kept.due_since(session) is not None  # the newer mark stays for the next job
    assert session.scalar(select(Credential.standings_claimed_at)) is None

    def taken_over():
        """Another job takes the work (this one stalled past CLAIM_LAPSES)."""
        session.execute(update(Credential).values(standings_claimed_at=utcnow()))
        session.commit()

    assert rejudge_everyone(session, step=taken_over) is None
    session.commit()
    assert session.scalar(select(Credential.standings_claimed_at)) is not None  # not cleared


def test_a_job_that_fails_gives_its_claim_back(app, session, make_user, catalog, monkeypatch):
    start_candidate(session, make_user().id, ensure_credential(session))
    _short_requirement(session, everyone=True)
    session.commit()

    def broken(*_args, **_kwargs):
        raise RuntimeError("judging failed")

    monkeypatch.setattr(standing_jobs, "refresh", broken)
    with pytest.raises(RuntimeError):
        rejudge_everyone(session, step=session.commit)
    session.commit()
    assert session.scalar(select(Credential.standings_claimed_at)) is None
    assert kept.due_since(session) is not None  # still due: the sweep's next job starts at once


def test_a_change_for_everyone_with_no_candidate_yet_leaves_nothing_due(app, session, catalog):
    ensure_credential(session)
    _short_requirement(session, everyone=True)
    assert kept.due_since(session) is None  # nobody to judge: no job, no late work
