"""The dashboard and the roster run the same number of SQL statements for 3 or 40 of anything."""

from __future__ import annotations

from datetime import date, timedelta

from clock_support import programme_today
from facts_support import facts_changed

from lms.auth.models import Role
from lms.db import utcnow
from lms.equivalency.models import EquivalencyRequest
from lms.progress.models import Completion, CompletionSource

MODULES = ["M1", "M2", "M3", "M4", "M5", "M6", "M7", "HTH", "MUSIC", "MEDICAL"]


def give_history(session, user_id: int, entries: int, catalog) -> None:
    """Give a clinician `entries` completion rows (revoked ones, then live ones) and a request.

    Rows are inserted directly: this test is about what the pages read, not how rows are made.
    """
    day = date(2023, 1, 2)
    for n in range(entries):
        code = MODULES[n % len(MODULES)]
        live = n >= entries - len(MODULES)  # the last occurrence of each module stays live
        session.add(
            Completion(
                user_id=user_id,
                item_id=catalog[code].id,
                completed_on=day + timedelta(days=n),
                source=CompletionSource.INSTRUCTOR,
                revoked_at=None if live else utcnow(),
                revoke_reason=None if live else "redo",
            )
        )
        session.flush()
    session.add(
        EquivalencyRequest(user_id=user_id, item_id=catalog["ACT"].id, outside_programme="X")
    )
    facts_changed(session, user_id)
    session.commit()


def dashboard_statements(app, login, count_queries, user) -> list[str]:
    """Statements one dashboard view runs."""
    client = login(app.test_client(), user)
    client.get("/")  # warm-up: compiled caches, first connection
    with count_queries() as statements:
        response = client.get("/")
    assert response.status_code == 200
    return statements


def test_the_dashboard_runs_the_same_queries_for_3_or_40_history_entries(
    app, login, count_queries, session, catalog, make_user
):
    small, large = make_user(Role.CLINICIAN), make_user(Role.CLINICIAN)
    give_history(session, small.id, 3, catalog)
    give_history(session, large.id, 40, catalog)

    few = dashboard_statements(app, login, count_queries, small)
    many = dashboard_statements(app, login, count_queries, large)

    assert len(few) == len(many), "\n".join(many)
    assert len(many) <= 30, "\n".join(s[:90] for s in many)


ROSTER_QUERIES = ["", "?eligible=RETREAT-L1&applied=no", "?missing=M1", "?q=clinician", "?page=2"]


def test_the_roster_runs_the_same_queries_for_3_or_40_clinicians(
    app, login, engine, session, catalog, make_user, count_queries
):
    instructor = make_user(Role.INSTRUCTOR)
    client = login(app.test_client(), instructor)

    def roster_statements() -> dict[str, int]:
        counts = {}
        for query in ROSTER_QUERIES:
            client.get("/roster" + query)
            with count_queries() as statements:
                response = client.get("/roster" + query)
            assert response.status_code == 200
            counts[query] = len(statements)
        return counts

    for n in range(3):
        give_history(session, make_user(Role.CLINICIAN, name=f"Clinician {n}").id, 3, catalog)
    few = roster_statements()

    for n in range(3, 40):
        person = make_user(Role.CLINICIAN, name=f"Clinician {n}", licensed=n % 4 != 0)
        give_history(session, person.id, 1 + n % 12, catalog)
    many = roster_statements()

    assert few == many
    assert max(many.values()) <= 10


def test_a_cohort_writes_in_a_number_of_round_trips_that_does_not_grow_with_it(
    queue_in_instance, app, login, engine, session, catalog, make_user, count_queries
):
    """Its completions, audit events, issue records, notices and mail go in batches.

    Each batch is one statement on PostgreSQL and on SQLite (lms/db.py gives SQLite's ORM
    inserts their sentinel), so 30 people cost the same statements as 3. The jobs the cohort
    enqueues (PDFs, mail) wait in a queue nobody consumes here.
    """
    instructor = make_user(Role.INSTRUCTOR)
    client = login(app.test_client(), instructor)
    client.get("/mark")
    day = (programme_today() - timedelta(days=3)).isoformat()

    def cohort_statements(item: str, size: int) -> int:
        ids = [str(make_user(Role.CLINICIAN).id) for _ in range(size)]
        form = {"item_code": item, "completed_on": day, "note": "", "emails": "", "user_id": ids}
        with count_queries() as statements:
            response = client.post("/mark", data=form)
        assert response.status_code in (302, 303), response.text[:500]
        return len(statements)

    cohort_statements("M1", 2)  # warm-up: first-use reads (catalogue, settings) happen once
    small, large = cohort_statements("HTH", 3), cohort_statements("MUSIC", 30)
    assert large == small
