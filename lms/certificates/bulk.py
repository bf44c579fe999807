"""Issuing many certificates at once (`lms certificates issue --missing`, imports): the
records first, then the PDFs rendered on every core by a pool of processes."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

from sqlalchemy import Select, and_, select
from sqlalchemy.orm import Session, joinedload

from lms.certificates.holds import held_ids
from lms.certificates.issuing import (
    due_render_ids,
    insert_pending,
    keep_pictures,
    programme,
    store_pdf,
    with_images,
)
from lms.certificates.models import Certificate
from lms.certificates.renderers import render_and_draw_job, render_pool, warm_worker
from lms.db import scalars_among
from lms.progress.api import Completion

# ---------------------------------------------------------------------------------------
# Bulk issue


@dataclass(frozen=True)
class BulkReport:
    """What a bulk issue did."""

    due: int
    issued: int


def due_completion_ids(session: Session, completion_ids: Iterable[int] | None = None) -> list[int]:
    """Live completions that have no current certificate (optionally among the given ids)."""
    current = and_(
        Certificate.completion_id == Completion.id,
        Certificate.is_current,
    )
    query: Select = (
        select(Completion.id)
        .outerjoin(Certificate, current)
        .where(Completion.is_live, Certificate.id.is_(None))
        .order_by(Completion.id)
    )
    return scalars_among(session, query, Completion.id, completion_ids)


def record_missing(
    session: Session,
    *,
    commit: Callable[[], None],
    completion_ids: Iterable[int] | None = None,
    batch_size: int = 200,
) -> int:
    """Write issue records (no PDF) for live completions that have none; return how many.

    Imports with --no-certificates leave such completions behind. Cheap (no render), and
    committed in batches so the write lock is never held for long. Completions whose
    certificate waits (lms.certificates.holds: for an evaluation) are left waiting.
    """
    due = due_completion_ids(session, completion_ids)
    settings = programme(session)
    commit()
    recorded = 0
    for start in range(0, len(due), batch_size):
        completions = session.scalars(
            select(Completion)
            .where(Completion.id.in_(due[start : start + batch_size]))
            .where(Completion.is_live)
            .options(joinedload(Completion.user), joinedload(Completion.item))
            .order_by(Completion.id)
        ).all()
        held = held_ids(session, completions)
        recorded += sum(
            1 for c in completions if c.id not in held and insert_pending(session, c, settings)
        )
        commit()
    return recorded


def render_due(
    session: Session,
    certificate_ids: Sequence[int],
    *,
    commit: Callable[[], None],
    jobs: int | None = None,
    batch_size: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    actor_id: int | None = None,
    pool: Executor | None = None,
) -> int:
    """Render and store the given due certificates on `jobs` processes; return how many stored.

    Works in batches: read a batch's content and end the read, render it on the workers with
    no transaction open, then store each PDF with the same guarded write as the render job
    and commit. An interrupt loses at most the batch in flight; a rerun picks up the rest.
    A caller that renders several times may pass its own `pool` (from `render_pool`).
    """
    jobs = max(1, jobs or os.cpu_count() or 1)
    batch_size = batch_size or max(8, jobs * 8)
    stored = 0
    own_pool = pool is None and len(certificate_ids) > 1
    if own_pool:
        pool = render_pool(jobs)
    try:
        if own_pool and pool is not None:
            list(pool.map(warm_worker, range(jobs)))
        for start in range(0, len(certificate_ids), batch_size):
            batch = list(certificate_ids[start : start + batch_size])
            rows = session.execute(
                select(Certificate.id, Certificate.design, Certificate.content)
                .where(Certificate.id.in_(batch))
                .where(Certificate.rendered_at.is_(None), Certificate.revoked_at.is_(None))
                .order_by(Certificate.id)
            ).all()
            # End the read before rendering (the images read with it): on SQLite it holds the
            # write lock, and starting processes or rendering can take seconds on a busy machine.
            contents = with_images(session, [row.content for row in rows])
            commit()
            work = [(row.design, content) for row, content in zip(rows, contents, strict=True)]
            results = (
                pool.map(render_and_draw_job, work) if pool else map(render_and_draw_job, work)
            )
            kept: list[Certificate] = []
            made: dict[int, bytes] = {}
            drawn: dict[int, bytes | None] = {}
            for row, (pdf, picture) in zip(rows, results, strict=True):
                certificate = store_pdf(session, row.id, pdf, actor_id=actor_id)
                if certificate is not None:
                    kept.append(certificate)
                    made[row.id] = pdf
                    drawn[row.id] = picture
            stored += len(kept)
            commit()
            keep_pictures(kept, made, drawn=drawn)
            if on_progress is not None:
                on_progress(len(batch))
    finally:
        if own_pool and pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return stored


def issue_missing(
    session: Session,
    *,
    commit: Callable[[], None],
    completion_ids: Iterable[int] | None = None,
    jobs: int | None = None,
    batch_size: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    actor_id: int | None = None,
    pool: Executor | None = None,
) -> BulkReport:
    """Issue every due certificate: records for completions without one, then every PDF due.

    `due` counts the certificates that were waiting for a PDF (new records included).
    """
    wanted = None if completion_ids is None else list(completion_ids)
    record_missing(session, commit=commit, completion_ids=wanted)
    due = due_render_ids(session, completion_ids=wanted)
    commit()
    issued = render_due(
        session,
        due,
        commit=commit,
        jobs=jobs,
        batch_size=batch_size,
        on_progress=on_progress,
        actor_id=actor_id,
        pool=pool,
    )
    return BulkReport(due=len(due), issued=issued)
