"""The bench's training rows are ones the tracker could have recorded: every clinician a
candidate with 20 log entries, nothing dated after the population's last day, at most one
live consultation per consultant, day and kind; the rebuild judges every candidate and the
staff queues read them."""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import func, select

from lms.auth.models import Role
from lms.certificates.services import programme
from lms.training import queues
from lms.training.models import Candidate, Consultation, TrainingStanding
from lms.training.records_models import SessionEntry
from lms.training.requirement import ensure_credential
from lms.training.standing import rebuild

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # bench/ is a folder of scripts

from bench.population import LATEST, insert_population  # noqa: E402
from bench.training import ENTRIES, insert_training  # noqa: E402


def test_the_bench_training_rows_could_have_happened(session, engine, catalog, make_user):
    """300 clinicians: candidates, 20 entries each, judged by the rebuild, queues answer."""
    instructor = make_user(Role.INSTRUCTOR)
    settings = programme(session)
    ensure_credential(session)
    session.commit()
    with engine.connect() as conn:
        insert_population(
            conn,
            count=300,
            password_hash=instructor.password_hash,
            instructor_id=instructor.id,
            settings=settings,
        )
        counts = insert_training(conn)
    assert counts["candidates"] == 300
    assert counts["consultations"] + counts["sessions"] > 300 * (ENTRIES - 2)
    assert session.scalar(select(func.max(Consultation.held_on))) <= LATEST
    assert session.scalar(select(func.count()).select_from(SessionEntry)) == counts["sessions"]
    assert rebuild(session) == 300
    session.commit()
    assert session.scalar(select(func.count()).select_from(TrainingStanding)) == 300
    assert session.scalar(select(func.count()).select_from(Candidate)) == 300
    assert rebuild(session) == 0  # the rows are what a rebuild writes
    found = queues.queue_counts(session)
    assert found.awaiting > 50
    assert 10 <= found.ready <= 90  # the bench's requirement: about one candidate in eight meets it
    assert queues.ready_page(session).items
    assert queues.awaiting_page(session).items
