"""The certificates' jobs: render and store PDFs after the issue record commits, find the
records still waiting for theirs, and keep render processes beside a consumer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from lms.certificates.issuing import due_render_ids, render_and_store_many, render_batches
from lms.certificates.renderers import stop_render_processes, use_render_processes
from lms.jobs import DueWork, WorkerHooks, due_work, task, worker_hooks


@task("render_certificates", heavy=True)
def render_certificates(certificate_ids: list[int], actor_id: int | None = None) -> None:
    """Render and store a batch of certificates' PDFs (nothing for those stored or revoked)."""
    render_and_store_many(list(certificate_ids), actor_id=actor_id)


@task("render_certificate", heavy=True)
def render_certificate(certificate_id: int, actor_id: int | None = None) -> None:
    """Render and store one certificate's PDF: the job of earlier versions, for jobs still
    queued from before."""
    render_certificates([certificate_id], actor_id)


def _due_renders(session: Session, cutoff: datetime) -> list[tuple[str, tuple[Any, ...]]]:
    """A render job for each batch of certificates issued before the cutoff without a PDF."""
    ids = due_render_ids(session, before=cutoff)
    return [("render_certificates", (batch,)) for batch in render_batches(ids)]


due_work(
    "certificates",
    DueWork(label="certificate render(s)", find=_due_renders),
)
worker_hooks(
    "certificates",
    WorkerHooks(
        start=lambda workers, niceness: use_render_processes(workers, niceness=niceness),
        stop=stop_render_processes,
    ),
)
