"""The Certificate of Training's share of the benchmark: bulk-insert every clinician's training
rows (a candidate held to a version of the requirement about one in eight meets, 20 log
entries each: consultations with approved consultants, most confirmed, some awaiting or
declined, and KAP sessions with a few client codes; an approved document now and then), judge
every candidate once with the tracker's own rebuild, then time the staff queues.

The first counted events are spread over the last 26 months, so some windows close within
the 60 days the "window closing" queue shows and some have closed; the awaiting queue holds
about one entry in three people.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select, text

from bench import loadgen
from bench.population import LATEST, bulk_insert, move_sequences
from bench.settings import TRAINING_QUEUE_PATHS, TRAINING_QUEUE_TARGET_S, TRAINING_SCALE_TARGET
from bench.table import Row, ratio_row
from lms.training.models import Candidate, Consultant, Consultation, RequirementVersion
from lms.training.records_models import (
    ClientCode,
    DocumentKind,
    DocumentStatus,
    SessionEntry,
    TrainingDocument,
    Uploader,
)

ENTRIES = 20  # log entries per clinician
CONSULTANTS = 40
BLOCK = 5000
CODE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _at(day: date) -> datetime:
    """An afternoon instant of the day (UTC)."""
    return datetime(day.year, day.month, day.day, 21, 0, tzinfo=UTC)


# The version the bench's candidates are held to: the log's parts of the requirement (the
# bench's population has no retreats or documents for most), which about one candidate in
# eight meets, so the "ready to award" queue is measured with people in it.
BENCH_RULE = {
    "all": [
        {"logged": {"kind": "group_consultation", "count": 5}},
        {"logged": {"kind": "therapist_session", "count": 9}},
        {"within_months": 24},
    ]
}


def _bench_version(conn: Connection) -> tuple[int, int]:
    """(credential id, id of a new version holding BENCH_RULE)."""
    credential_id, number = conn.execute(
        text(
            "SELECT c.id, max(v.number) FROM training_credentials c"
            " JOIN training_requirement_versions v ON v.credential_id = c.id GROUP BY c.id"
        )
    ).one()
    version_id = conn.execute(
        insert(RequirementVersion.__table__)
        .values(
            credential_id=credential_id,
            number=number + 1,
            rule=BENCH_RULE,
            note="The bench's requirement: the log's parts",
            created_by_id=None,
            created_at=_at(LATEST),
        )
        .returning(RequirementVersion.__table__.c.id)
    ).scalar_one()
    return credential_id, version_id


def insert_training(conn: Connection, *, seed: int = 20261206) -> dict[str, int]:
    """Insert the training rows of every clinician present; how many of each went in."""
    rng = random.Random(seed)
    credential_id, version_id = _bench_version(conn)
    people = list(
        conn.scalars(
            text(
                "SELECT u.id FROM users u JOIN user_roles r ON r.user_id = u.id"
                " WHERE r.role = 'clinician' ORDER BY u.id"
            )
        )
    )
    consultants = [
        {
            "id": n,
            "name": f"Consultant {n}",
            "credentials": "MD",
            "email": f"consultant{n}@bench.example",
            "approved_on": date(2022, 1, 1),
            "retired_on": None,
            "created_at": _at(date(2022, 1, 1)),
        }
        for n in range(1, CONSULTANTS + 1)
    ]
    bulk_insert(conn, Consultant.__table__, consultants)
    ids = {"consultation": 1, "code": 1, "session": 1, "document": 1}
    counts = dict.fromkeys(("candidates", "consultations", "sessions", "documents"), 0)
    for start in range(0, len(people), BLOCK):
        rows: dict[str, list[dict[str, Any]]] = {
            "candidates": [],
            "consultations": [],
            "codes": [],
            "sessions": [],
            "documents": [],
        }
        for uid in people[start : start + BLOCK]:
            _person(rng, uid, credential_id, version_id, ids, rows)
        bulk_insert(conn, Candidate.__table__, rows["candidates"])
        bulk_insert(conn, Consultation.__table__, rows["consultations"])
        bulk_insert(conn, ClientCode.__table__, rows["codes"])
        bulk_insert(conn, SessionEntry.__table__, rows["sessions"])
        bulk_insert(conn, TrainingDocument.__table__, rows["documents"])
        conn.commit()
        for key in counts:
            counts[key] += len(rows[key])
    move_sequences(
        conn,
        [
            Consultant.__table__,
            Consultation.__table__,
            ClientCode.__table__,
            SessionEntry.__table__,
            TrainingDocument.__table__,
        ],
    )
    conn.commit()
    return counts


def _person(
    rng: random.Random,
    uid: int,
    credential_id: int,
    version_id: int,
    ids: dict[str, int],
    rows: dict[str, list[dict[str, Any]]],
) -> None:
    """One clinician's candidate row and 20 log entries (and sometimes a document)."""
    first = LATEST - timedelta(days=rng.randint(10, 790))  # the first counted event
    rows["candidates"].append(
        {
            "user_id": uid,
            "credential_id": credential_id,
            "version_id": version_id,
            "started_at": _at(first),
            "awarded_at": None,
            "awarded_by_id": None,
        }
    )
    span = max((LATEST - first).days, 1)
    consultations = rng.randint(8, 14)
    awaiting_left = 1 if rng.random() < 0.33 else 0
    used: set[tuple[int, date, str]] = set()
    for index in range(consultations):
        held_on = first + timedelta(days=0 if index == 0 else rng.randint(0, span))
        kind = "group_consultation" if index % 2 == 0 else "individual_consultation"
        consultant = rng.randint(1, CONSULTANTS)
        if (consultant, held_on, kind) in used:
            continue
        used.add((consultant, held_on, kind))
        state = "confirmed"
        if index == 0:
            state = "confirmed"
        elif awaiting_left:
            state, awaiting_left = "awaiting_confirmation", 0
        elif rng.random() < 0.05:
            state = "consultant_declined"
        logged = held_on + timedelta(days=rng.randint(0, 5))
        rows["consultations"].append(
            {
                "id": ids["consultation"],
                "user_id": uid,
                "consultant_id": consultant,
                "held_on": held_on,
                "kind": kind,
                "hours": Decimal(2 if kind == "group_consultation" else 1),
                "topic": "",
                "consultant_was_approved": True,
                "state": state,
                "created_at": _at(min(logged, LATEST)),
                "decided_at": None if state == "awaiting_confirmation" else _at(logged),
                "comment": "Not my group" if state == "consultant_declined" else "",
                "voided_by_id": None,
                "voided_at": None,
                "void_reason": "",
            }
        )
        ids["consultation"] += 1
    codes = []
    for _ in range(rng.randint(2, 4)):
        code = "C-" + "".join(rng.choice(CODE_LETTERS) for _ in range(4))
        if code in {c["code"] for c in codes}:
            continue
        codes.append({"id": ids["code"], "user_id": uid, "code": code, "created_at": _at(first)})
        ids["code"] += 1
    rows["codes"].extend(codes)
    for _ in range(ENTRIES - consultations):
        month = first + timedelta(days=rng.randint(0, span))
        rows["sessions"].append(
            {
                "id": ids["session"],
                "user_id": uid,
                "client_code_id": rng.choice(codes)["id"],
                "year": month.year,
                "month": month.month,
                "role": "therapist" if rng.random() < 0.8 else "co_therapist",
                "setting": "in_person",
                "created_at": _at(month),
            }
        )
        ids["session"] += 1
    if rng.random() < 0.1:
        rows["documents"].append(
            {
                "id": ids["document"],
                "user_id": uid,
                "kind": DocumentKind.REFLECTION_PAPER.value,
                "version": 1,
                "status": DocumentStatus.APPROVED.value,
                "uploaded_by": Uploader.CLINICIAN.value,
                "uploaded_at": _at(first + timedelta(days=span // 2)),
                "reviewed_at": _at(first + timedelta(days=span // 2 + 1)),
            }
        )
        ids["document"] += 1


def rebuild_standings(app: Any) -> float:
    """Judge every candidate with the tracker's own rebuild; the seconds it took."""
    from lms.db import db
    from lms.training.standing import rebuild

    started = time.perf_counter()
    with app.app_context():
        rebuild(db.session)
        db.commit()
    return time.perf_counter() - started


def queue_counts(url: str) -> dict[str, int]:
    """How many rows each queue holds (for the summary line)."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            awaiting = conn.scalar(
                select(text("count(*)"))
                .select_from(text("training_consultations"))
                .where(text("state = 'awaiting_confirmation'"))
            )
            met = conn.scalar(text("SELECT count(*) FROM training_standings WHERE met"))
            windows = conn.scalar(
                text("SELECT count(*) FROM training_standings WHERE window_closes_on IS NOT NULL")
            )
    finally:
        engine.dispose()
    return {"awaiting": awaiting, "met": met, "windows": windows}


def measure_queues(pops: list[Any], instructor: dict[int, str], args: Any) -> None:
    """Interleaved rounds over both servers: each queue page, one request at a time."""
    for pop in pops:  # warm each worker
        for path in TRAINING_QUEUE_PATHS:
            loadgen.run_load(
                pop.port,
                path,
                cookie=instructor[pop.port],
                requests=2,
                concurrency=1,
                time_cap=args.time_cap,
            )
    for round_number in range(args.rounds):
        for pop in pops if round_number % 2 == 0 else pops[::-1]:
            for path in TRAINING_QUEUE_PATHS:
                result = loadgen.run_load(
                    pop.port,
                    path,
                    cookie=instructor[pop.port],
                    requests=args.roster_requests,
                    concurrency=1,
                    time_cap=max(args.time_cap, 120.0),
                )
                if result.errors:
                    raise loadgen.BenchHTTPError(
                        f"{result.errors} failed requests on {path}: {result.first_error}"
                    )
                pop.measures.setdefault(f"queue {path}", []).extend(result.latencies)


def queue_rows(small: Any, big: Any) -> list[Row]:
    """The staff queues' rows: the slowest queue's median at the big population, and its
    ratio to the small one's."""
    medians = {
        path: (
            statistics.median(big.measures[f"queue {path}"]),
            statistics.median(small.measures[f"queue {path}"]),
        )
        for path in TRAINING_QUEUE_PATHS
    }
    path, (slow, _) = max(medians.items(), key=lambda item: item[1][0])
    worst, (big_s, small_s) = max(medians.items(), key=lambda item: item[1][0] / item[1][1])
    n_big, n_small = f"{big.size:,}", f"{small.size:,}"
    count = len(big.measures[f"queue {path}"])
    return [
        Row(
            f"training staff queues at {n_big}, slowest median of {count} ({path})",
            f"{slow * 1000:.0f} ms",
            f"< {TRAINING_QUEUE_TARGET_S * 1000:.0f} ms",
            f"{slow / TRAINING_QUEUE_TARGET_S:.2f} of target",
            slow < TRAINING_QUEUE_TARGET_S,
        ),
        ratio_row(
            f"training staff queues {n_big} vs {n_small}, worst of {len(medians)} pages "
            f"({worst}: {big_s * 1000:.0f} vs {small_s * 1000:.0f} ms)",
            big_s / small_s,
            TRAINING_SCALE_TARGET,
            most=True,
        ),
    ]
