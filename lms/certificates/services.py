"""Issuing, revoking and reissuing certificates; finding them for download and verification.

A certificate is issued once per live completion: the partial unique index
`uq_certificates_current` has the last word, so two racing requests end with one certificate.
Recording a completion writes the issue record with what it says frozen in `content`, in the
same unit of work, but no PDF: rendering (about 120 ms) never happens inside a write
transaction. After commit a job (lms.jobs) renders the PDF and stores it with its SHA-256 in
a short transaction of its own, guarded so that it is stored once; only then is the issue
audited and announced. Until then the certificate is "being prepared". A download serves
the stored bytes, never a new render. Transcripts are rendered on demand.
"""

from __future__ import annotations

import calendar
import hashlib
import os
import signal
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from multiprocessing import get_all_start_methods, get_context
from typing import Any

from flask import current_app
from sqlalchemy import Row, Select, and_, bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, undefer

from lms import bounds, dates, validation
from lms.audit.services import record_event
from lms.auth.models import User
from lms.catalog.models import CatalogItem
from lms.certificates.codes import format_serial, new_verification_code, normalise_code
from lms.certificates.context import (
    CERTIFICATE_DESIGNS,
    TRANSCRIPT_DESIGN,
    Holder,
    ItemFacts,
    TranscriptRow,
    certificate_content,
    format_hours,
    transcript_content,
)
from lms.certificates.holds import held_ids
from lms.certificates.models import Certificate
from lms.db import db, read, utcnow
from lms.errors import AlreadyDecided, Conflict, InvalidInput, NotFound
from lms.progress.models import Completion, awarded_hours
from lms.signals import certificate_issued, certificate_revoked
from lms.status import Status


def render_pdf(design: str, content: Mapping[str, Any]) -> bytes:
    """Render a design to PDF bytes (WeasyPrint is imported on the first render).

    Most commands and requests never render; importing WeasyPrint up front cost every
    `flask --app wsgi ...` command about a second.
    """
    from lms.certificates.render import render_pdf as render

    return render(design, content)


REASON_MAX = 500
SEARCH_PAGE_SIZE = 50
UPLOAD_MAX_BYTES = bounds.UPLOAD_MAX_BYTES


class CertificateStatus(Status):
    """Where a certificate stands, as the verification page states it."""

    VALID = "valid", "Valid", "ok"
    REVOKED = "revoked", "Revoked", "bad"
    EXPIRED = "expired", "Expired", "warn"
    SUPERSEDED = "superseded", "Superseded by a newer certificate", "info"
    PREPARING = "preparing", "Being prepared", "info"


def certificate_status(
    certificate: Certificate | Row, now: datetime | None = None
) -> CertificateStatus:
    """Revoked beats superseded beats being prepared beats expired; otherwise valid."""
    now = now or utcnow()
    if certificate.revoked_at is not None:
        return CertificateStatus.REVOKED
    if certificate.superseded_by_id is not None:
        return CertificateStatus.SUPERSEDED
    if certificate.rendered_at is None:
        return CertificateStatus.PREPARING
    if certificate.expires_at is not None and certificate.expires_at <= now:
        return CertificateStatus.EXPIRED
    return CertificateStatus.VALID


# ---------------------------------------------------------------------------------------
# Issue


def verification_url(code: str) -> str:
    """The absolute address printed and encoded on the certificate."""
    base = current_app.config["LMS_PUBLIC_URL"].rstrip("/")
    prefix = (current_app.jinja_env.globals.get("lms_url_prefix") or "").rstrip("/")
    return f"{base}{prefix}/verify/{code}"


_SETTINGS = "lms.certificates.settings"  # session.info: (transaction, settings) read once


def programme(session: Session) -> dict[str, Any]:
    """The programme settings from the catalogue (provider, accreditation, signatory...).

    Read once per transaction: a cohort records 200 certificates against the same settings.
    """
    from lms.catalog.services import programme_settings

    transaction = session.get_transaction()
    kept = session.info.get(_SETTINGS)
    if kept is not None and transaction is not None and kept[0] is transaction:
        return dict(kept[1])
    settings = dict(programme_settings(session) or {})
    if transaction is not None:
        session.info[_SETTINGS] = (transaction, settings)
    return dict(settings)


def add_months(moment: datetime, months: int) -> datetime:
    """The same day `months` later (the month's last day when it is shorter)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def expiry_for(item: CatalogItem, issued_at: datetime, settings: dict[str, Any]) -> datetime | None:
    """When a certificate for the item stops being valid: the item's months, else the
    programme's; 0 or none means it never expires."""
    months = item.certificate_valid_months
    if months is None:
        months = settings.get("certificate_valid_months")
    try:
        months = int(months or 0)
    except (TypeError, ValueError):
        months = 0
    return add_months(issued_at, months) if months > 0 else None


def design_for(item: CatalogItem) -> str:
    """The design an item prints with; retreats always use the design without CE."""
    if item.is_retreat:
        return "retreat"
    return item.certificate_design if item.certificate_design in CERTIFICATE_DESIGNS else "module"


def holder_of(user: User) -> Holder:
    """The plain facts about a person that a certificate prints."""
    return Holder(
        name=user.name,
        credentials=user.credentials or "",
        licence_type=user.licence_type,
        licence_number=user.licence_number,
        licence_state=user.licence_state,
    )


def item_facts(item: CatalogItem, ce_hours: Decimal | None = None) -> ItemFacts:
    """The plain facts about an item that a certificate prints; `ce_hours` are the hours the
    completion is worth (Completion.awarded_ce_hours), the item's when not given."""
    return ItemFacts(
        code=item.code,
        title=item.title,
        kind=item.kind.value,
        format=item.format or "",
        ce_hours=item.ce_hours if ce_hours is None else ce_hours,
    )


def current_certificate(session: Session, completion_id: int) -> Certificate | None:
    """The completion's certificate that is neither revoked nor superseded, if any."""
    return session.scalar(
        select(Certificate).where(
            Certificate.completion_id == completion_id,
            Certificate.revoked_at.is_(None),
            Certificate.superseded_by_id.is_(None),
        )
    )


def _insert_pending(
    session: Session, completion: Completion, settings: dict[str, Any], *, fresh: bool = False
) -> Certificate | None:
    """Insert the issue record with its content (PDF still to come); None if one exists.

    The serial is built from the row id, so the row goes in first under a provisional serial;
    the whole unit of work commits together, so nobody ever sees the provisional values.
    A `fresh` completion (inserted in this very transaction) cannot have a certificate nor be
    raced by another request, so no savepoint is needed (a cohort of 200 saves 400 statements);
    only a verification-code collision, about 1 in 2**98, would then fail the transaction.
    """
    issued_at = utcnow()
    for _attempt in range(3):
        certificate = _pending_record(completion, issued_at, settings)
        if fresh:
            session.add(certificate)
            session.flush()
            return _with_content(certificate, completion, settings)
        try:
            # A savepoint, so that losing the race leaves the caller's unit of work usable.
            with session.begin_nested():
                session.add(certificate)
                session.flush()
        except IntegrityError:
            if current_certificate(session, completion.id) is not None:
                return None
            continue  # a code collision (about 1 in 2**98): draw another
        return _with_content(certificate, completion, settings)
    raise Conflict("Could not allocate a unique verification code; please try again.")


def _pending_record(
    completion: Completion, issued_at: datetime, settings: dict[str, Any]
) -> Certificate:
    """A new issue record for the completion, under a provisional serial (not added yet)."""
    item = completion.item
    code = new_verification_code()
    return Certificate(
        serial=f"PENDING-{code}",
        code=code,
        user_id=completion.user_id,
        item_id=item.id,
        completion_id=completion.id,
        design=design_for(item),
        content={},
        sha256="",
        issued_at=issued_at,
        expires_at=expiry_for(item, issued_at, settings),
    )


def record_due_certificates(
    session: Session, completions: list[Completion], *, actor_id: int | None = None
) -> list[Certificate]:
    """The issue records of completions inserted together in this unit of work (a cohort).

    Fresh completions have no certificate and no racer, so the records go in with one flush
    (one statement where the backend batches inserts), take their serials and content (one
    batched update at the next flush) and each PDF is a job after commit. Only a
    verification-code collision, about 1 in 2**98, would fail the transaction.
    """
    from lms.jobs import enqueue_after_commit

    settings = programme(session)
    issued_at = utcnow()
    certificates = [_pending_record(c, issued_at, settings) for c in completions]
    session.add_all(certificates)
    session.flush()
    for certificate, completion in zip(certificates, completions, strict=True):
        _with_content(certificate, completion, settings)
    for batch in render_batches([certificate.id for certificate in certificates]):
        enqueue_after_commit("render_certificates", batch, actor_id)
    return certificates


def _with_content(
    certificate: Certificate, completion: Completion, settings: dict[str, Any]
) -> Certificate:
    """Give an inserted record its serial (from its id) and the frozen content it prints."""
    certificate.serial = format_serial(certificate.issued_at.year, certificate.id)
    certificate.content = certificate_content(
        design=certificate.design,
        holder=holder_of(completion.user),
        item=item_facts(completion.item, completion.awarded_ce_hours),
        completed_on=completion.completed_on,
        issued_at=certificate.issued_at,
        expires_at=certificate.expires_at,
        serial=certificate.serial,
        code=certificate.code,
        verify_url=verification_url(certificate.code),
        programme=settings,
    )
    return certificate


def _store_pdf(
    session: Session, certificate_id: int, pdf: bytes, *, actor_id: int | None
) -> Certificate | None:
    """Store a rendered PDF once, then log the issue and tell subscribers (None: nothing to do).

    The UPDATE is guarded by "no PDF yet and not revoked", so a job that runs twice (or races
    a bulk run, or a revocation) stores at most once and audits at most once.
    """
    stored = session.execute(
        update(Certificate)
        .where(
            Certificate.id == certificate_id,
            Certificate.rendered_at.is_(None),
            Certificate.revoked_at.is_(None),
        )
        .values(pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest(), rendered_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if stored.rowcount != 1:
        return None
    certificate = session.get(Certificate, certificate_id, populate_existing=True)
    assert certificate is not None
    record_event(
        session,
        actor_id=actor_id,
        action="certificate.issued",
        subject_type="certificate",
        subject_id=certificate.id,
        person_id=certificate.user_id,
        serial=certificate.serial,
        item=certificate.content.get("item_code"),
        completion_id=certificate.completion_id,
    )
    certificate_issued.send(certificate, session=session)
    return certificate


def record_due_certificate(
    session: Session, completion: Completion, *, actor_id: int | None = None, fresh: bool = False
) -> Certificate:
    """Write the completion's issue record in this unit of work; its PDF is a job after commit.

    Returns the current certificate when the completion already has one (nothing enqueued
    then unless it is still waiting for its PDF, which the sweep also covers).
    """
    from lms.jobs import enqueue_after_commit

    if completion.revoked_at is not None:
        raise Conflict("A revoked completion gets no certificate.")
    certificate = None if fresh else current_certificate(session, completion.id)
    if certificate is None:
        certificate = _insert_pending(session, completion, programme(session), fresh=fresh)
        if certificate is None:  # another request recorded it first
            certificate = current_certificate(session, completion.id)
            assert certificate is not None
            return certificate
        if not fresh:  # fresh ones' serial and content go out with the next flush, batched
            session.flush()
    if certificate.rendered_at is None:
        enqueue_after_commit("render_certificates", [certificate.id], actor_id)
    return certificate


def issue_certificate(
    session: Session, completion: Completion, *, actor_id: int | None = None
) -> Certificate:
    """Issue the completion's certificate with its PDF now, in the caller's unit of work.

    For scripts and measurements that want the PDF at once; requests and commands go through
    record_due_certificate and the render job instead, which keep rendering out of the write
    transaction.
    """
    if completion.revoked_at is not None:
        raise Conflict("A revoked completion gets no certificate.")
    certificate = current_certificate(session, completion.id)
    if certificate is None:
        certificate = _insert_pending(session, completion, programme(session))
        if certificate is None:  # another request issued it first
            found = current_certificate(session, completion.id)
            assert found is not None
            return found
        session.flush()
    if certificate.rendered_at is not None:
        return certificate
    pdf = render_pdf(certificate.design, certificate.content)
    return _store_pdf(session, certificate.id, pdf, actor_id=actor_id) or certificate


# Certificates per render job. A cohort's 200 PDFs go out as 25 jobs rather than 200: each job
# costs a queue write, an app context and two short transactions, and the consumer's workers
# still share the batches between them; a bad content fails its own PDF, not its batch's.
RENDER_BATCH = 8

_DUE_CONTENT = (
    select(Certificate.id, Certificate.design, Certificate.content)
    .where(
        Certificate.id.in_(bindparam("ids", expanding=True)),
        Certificate.rendered_at.is_(None),
        Certificate.revoked_at.is_(None),
    )
    .order_by(Certificate.id)
)


def render_batches(certificate_ids: Sequence[int]) -> list[list[int]]:
    """The ids split into render jobs of at most RENDER_BATCH, in order."""
    ids = list(certificate_ids)
    return [ids[start : start + RENDER_BATCH] for start in range(0, len(ids), RENDER_BATCH)]


class RenderFailed(Exception):
    """Some certificates of a render job could not be rendered (the rest were stored)."""


def render_and_store_many(
    certificate_ids: Sequence[int], *, actor_id: int | None = None
) -> list[Certificate]:
    """The render job: read the contents, render with no transaction open, store in one short
    transaction; returns the certificates this run stored.

    The read takes no write lock (`db.reading`), so writers on SQLite never queue behind a
    job that is about to render. Each store is guarded ("no PDF yet, not revoked"), so running
    a job twice, or beside `issue --missing`, stores each PDF once and audits each issue
    once. A certificate whose render fails is left due (the sweep tries it again) and named
    in the RenderFailed raised after the others are stored.
    """
    session = db.session
    with db.reading():
        due = session.execute(_DUE_CONTENT, {"ids": list(certificate_ids)}).all()
    pdfs: list[tuple[int, bytes]] = []
    failed: list[tuple[int, Exception]] = []
    for row, result in zip(due, _render_each([(r.design, r.content) for r in due]), strict=True):
        if isinstance(result, Exception):  # one bad content must not hold back the batch
            failed.append((row.id, result))
        else:
            pdfs.append((row.id, result))
    stored: list[Certificate] = []
    if pdfs:
        try:
            for certificate_id, pdf in pdfs:
                certificate = _store_pdf(session, certificate_id, pdf, actor_id=actor_id)
                if certificate is not None:
                    stored.append(certificate)
            db.commit()
        except BaseException:
            db.rollback()
            raise
    if failed:
        names = ", ".join(f"#{cid} ({type(error).__name__}: {error})" for cid, error in failed)
        raise RenderFailed(f"could not render certificate(s) {names}") from failed[0][1]
    return stored


def render_and_store(certificate_id: int, *, actor_id: int | None = None) -> Certificate | None:
    """Render and store one certificate (the job for a batch of one); None when there was
    nothing to do (already stored, revoked, or gone)."""
    stored = render_and_store_many([certificate_id], actor_id=actor_id)
    return stored[0] if stored else None


def due_render_ids(
    session: Session,
    *,
    before: datetime | None = None,
    completion_ids: Iterable[int] | None = None,
) -> list[int]:
    """Certificates still waiting for their PDF (not revoked), oldest first.

    `before` leaves out records issued since (their own job is most likely on its way);
    `completion_ids` limits the answer to those completions' records.
    """
    query: Select = (
        select(Certificate.id)
        .where(Certificate.rendered_at.is_(None), Certificate.revoked_at.is_(None))
        .order_by(Certificate.id)
    )
    if before is not None:
        query = query.where(Certificate.issued_at < before)
    if completion_ids is None:
        return list(session.scalars(query))
    wanted = sorted(set(completion_ids))
    found: list[int] = []
    for start in range(0, len(wanted), 500):  # stay under bound-parameter limits
        chunk = wanted[start : start + 500]
        found.extend(session.scalars(query.where(Certificate.completion_id.in_(chunk))))
    return sorted(found)


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
        Certificate.revoked_at.is_(None),
        Certificate.superseded_by_id.is_(None),
    )
    query: Select = (
        select(Completion.id)
        .outerjoin(Certificate, current)
        .where(Completion.revoked_at.is_(None), Certificate.id.is_(None))
        .order_by(Completion.id)
    )
    if completion_ids is not None:
        wanted = sorted(set(completion_ids))
        found: list[int] = []
        for start in range(0, len(wanted), 500):  # stay under bound-parameter limits
            chunk = wanted[start : start + 500]
            found.extend(session.scalars(query.where(Completion.id.in_(chunk))))
        return sorted(found)
    return list(session.scalars(query))


def _ignore_interrupts(niceness: int = 0) -> None:
    """Worker initialiser: Ctrl-C is the parent's to handle (it stops and keeps what it wrote);
    a consumer's renderers also step back (`niceness`) so pages answer first."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if niceness:
        os.nice(niceness)


def warm_worker(_index: int) -> int:
    """Load fonts and templates in a fresh worker, so the first batch does not wait for it."""
    from lms.certificates.render import font_config, jinja_env

    font_config()
    jinja_env()
    return os.getpid()


def _render_job(job: tuple[str, dict[str, Any]]) -> bytes:
    """Render one certificate from its plain content in a worker process."""
    design, content = job
    return render_pdf(design, content)


def render_pool(jobs: int) -> Executor | None:
    """A pool of `jobs` rendering processes, or None to render in this process."""
    return render_processes(jobs) if jobs > 1 else None


def render_processes(count: int, *, niceness: int = 0) -> ProcessPoolExecutor:
    """`count` rendering processes (at `niceness` above this process's)."""
    # Forking starts workers in milliseconds instead of seconds (no re-import of WeasyPrint),
    # but it is only safe while this process has a single thread: another thread could hold
    # a lock at the moment of the fork. Workers never touch the inherited database handles.
    # Otherwise (a threaded host, a test runner) each worker starts a clean interpreter.
    single_threaded = threading.active_count() == 1
    method = "fork" if single_threaded and "fork" in get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(
        max_workers=count,
        mp_context=get_context(method),
        initializer=_ignore_interrupts,
        initargs=(niceness,),
    )


# Where render jobs render: here, or (in the job consumer) on its pool of render processes.
_RENDERERS: dict[str, Any] = {}


def use_render_processes(count: int, *, niceness: int) -> ProcessPoolExecutor:
    """Make this process's render jobs render on `count` processes at `niceness`; return them.

    The job consumer runs its jobs in threads and renders here: the renders step back for
    pages (niced), while the short database writes around them run at normal priority, so a
    write never holds SQLite's lock while starved of CPU behind the web's processes.
    """
    pool = render_processes(count, niceness=niceness)
    list(pool.map(warm_worker, range(count)))
    _RENDERERS.update(pool=pool, count=count, niceness=niceness)
    return pool


def stop_render_processes() -> None:
    """Render in this process again, after the running renders finish."""
    pool = _RENDERERS.pop("pool", None)
    _RENDERERS.clear()
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def _render_each(work: list[tuple[str, dict[str, Any]]]) -> list[bytes | Exception]:
    """Each (design, content) rendered, in order: its PDF, or the error that stopped it."""
    pool = _RENDERERS.get("pool")
    if pool is None:
        results: list[bytes | Exception] = []
        for design, content in work:
            try:
                results.append(render_pdf(design, content))
            except Exception as error:
                results.append(error)
        return results
    futures = [pool.submit(_render_job, job) for job in work]
    results = []
    for future in futures:
        try:
            results.append(future.result())
        except Exception as error:  # the render's own error, or BrokenProcessPool
            results.append(error)
    if any(isinstance(result, BrokenProcessPool) for result in results):
        _replace_broken_pool(pool)  # a renderer died: the next jobs get fresh ones
    return results


def _replace_broken_pool(broken: Executor) -> None:
    """Swap a pool whose process died for a new one (once, however many jobs noticed)."""
    with _REPLACING:
        if _RENDERERS.get("pool") is not broken:
            return
        broken.shutdown(wait=False, cancel_futures=True)
        count, niceness = _RENDERERS["count"], _RENDERERS["niceness"]
        _RENDERERS["pool"] = render_processes(count, niceness=niceness)


_REPLACING = threading.Lock()


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
            .where(Completion.revoked_at.is_(None))
            .options(joinedload(Completion.user), joinedload(Completion.item))
            .order_by(Completion.id)
        ).all()
        held = held_ids(session, completions)
        recorded += sum(
            1 for c in completions if c.id not in held and _insert_pending(session, c, settings)
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
            # End the read before rendering: on SQLite it holds the write lock, and starting
            # processes or rendering can take seconds on a busy machine.
            commit()
            work = [(row.design, row.content) for row in rows]
            pdfs = pool.map(_render_job, work) if pool else map(_render_job, work)
            for row, pdf in zip(rows, pdfs, strict=True):
                if _store_pdf(session, row.id, pdf, actor_id=actor_id) is not None:
                    stored += 1
            commit()
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


# ---------------------------------------------------------------------------------------
# Revoke and reissue


def _clean_reason(reason: str | None) -> str:
    """A required, bounded revocation reason."""
    reason = validation.multi_line((reason or "").strip(), "Reason")
    if not reason:
        raise InvalidInput("Give a reason for revoking the certificate.")
    if len(reason) > REASON_MAX:
        raise InvalidInput(
            f"The reason is too long ({len(reason)} characters; {REASON_MAX} at most)."
        )
    return reason


def _locked(session: Session, certificate_id: int) -> Certificate:
    """The certificate, row-locked and freshly read (so two admins cannot both act on it)."""
    certificate = session.scalar(
        select(Certificate)
        .where(Certificate.id == certificate_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if certificate is None:
        raise NotFound("No such certificate.")
    return certificate


def revoke_certificate(
    session: Session, certificate_id: int, *, actor_id: int | None, reason: str
) -> Certificate:
    """Revoke a certificate with a reason; it stays on record and verification says so."""
    reason = _clean_reason(reason)
    certificate = _locked(session, certificate_id)
    if certificate.revoked_at is not None:
        raise AlreadyDecided(
            f"Certificate {certificate.serial} was already revoked on "
            f"{dates.day(certificate.revoked_at.date())}."
        )
    certificate.revoked_at = utcnow()
    certificate.revoked_by_id = actor_id
    certificate.revoke_reason = reason
    session.flush()
    record_event(
        session,
        actor_id=actor_id,
        action="certificate.revoked",
        subject_type="certificate",
        subject_id=certificate.id,
        person_id=certificate.user_id,
        serial=certificate.serial,
        reason=reason,
    )
    certificate_revoked.send(certificate, session=session, reason=reason)
    return certificate


def revoke_for_completion(
    session: Session, completion: Completion, *, actor_id: int | None, reason: str
) -> Certificate | None:
    """Revoke the current certificate of a completion that was revoked (None if it had none)."""
    certificate = current_certificate(session, completion.id)
    if certificate is None:
        return None
    return revoke_certificate(session, certificate.id, actor_id=actor_id, reason=reason)


def reissue_certificate(
    session: Session, certificate_id: int, *, actor_id: int | None
) -> Certificate:
    """Issue a fresh certificate (new code, today's name) that supersedes a current one.

    The new record is written now; its PDF follows from the render job after commit.
    """
    old = _locked(session, certificate_id)
    if old.revoked_at is not None:
        raise AlreadyDecided(f"Certificate {old.serial} is revoked; it cannot be reissued.")
    if old.superseded_by_id is not None:
        raise AlreadyDecided(f"Certificate {old.serial} was already superseded by a newer one.")
    completion = old.completion
    if completion.revoked_at is not None:
        raise Conflict("The completion behind this certificate was revoked.")
    # Only one current certificate per completion may exist at any instant (the partial
    # unique index), so the old one steps aside first by pointing at itself, then at its
    # successor once that has an id.
    old.superseded_by_id = old.id
    session.flush()
    new = _insert_pending(session, completion, programme(session))
    assert new is not None  # the old row no longer counts as current
    old.superseded_by_id = new.id
    session.flush()
    # The new PDF is rendered by a job after commit, like any other issue.
    from lms.jobs import enqueue_after_commit

    enqueue_after_commit("render_certificates", [new.id], actor_id)
    record_event(
        session,
        actor_id=actor_id,
        action="certificate.reissued",
        subject_type="certificate",
        subject_id=old.id,
        person_id=old.user_id,
        serial=old.serial,
        new_serial=new.serial,
    )
    return new


# ---------------------------------------------------------------------------------------
# Finding certificates


@dataclass(frozen=True)
class CertificateRow:
    """A certificate as lists and download links show it (plain values)."""

    id: int
    serial: str
    code: str
    holder_name: str
    user_id: int | None
    completion_id: int
    item_code: str
    title: str
    completed_on_text: str
    issued_on_text: str
    status: CertificateStatus
    revoked_on_text: str
    revoke_reason: str
    ce_hours: str


def _page_day(iso: Any) -> str:
    """A frozen ISO date in the pages' date style ('' when absent or unreadable).

    The frozen content also holds the date as printed on the PDF (the long form); pages
    show every date in the one style of lms.dates instead.
    """
    try:
        return dates.day(date.fromisoformat(iso)) if isinstance(iso, str) else ""
    except ValueError:
        return ""


def as_row(certificate: Certificate | Row, now: datetime | None = None) -> CertificateRow:
    """Plain values for a template from a certificate (or a row of its columns)."""
    content = certificate.content or {}
    return CertificateRow(
        id=certificate.id,
        serial=certificate.serial,
        code=certificate.code,
        holder_name=content.get("holder_name", ""),
        user_id=certificate.user_id,
        completion_id=certificate.completion_id,
        item_code=content.get("item_code", ""),
        title=content.get("title", ""),
        completed_on_text=_page_day(content.get("completed_on"))
        or content.get("completed_on_text", ""),
        issued_on_text=dates.day(certificate.issued_at.date()),
        status=certificate_status(certificate, now),
        revoked_on_text=dates.day(certificate.revoked_at.date()) if certificate.revoked_at else "",
        revoke_reason=certificate.revoke_reason or "",
        ce_hours=content.get("ce_hours", ""),
    )


# Built once, and only the columns `as_row` reads (a result row has the same attribute names
# as the entity): the dashboard runs it on every view, and entity loading would cost more
# than the query.
_OWN_CERTIFICATES = (
    select(
        Certificate.id,
        Certificate.serial,
        Certificate.code,
        Certificate.user_id,
        Certificate.completion_id,
        Certificate.content,
        Certificate.issued_at,
        Certificate.rendered_at,
        Certificate.expires_at,
        Certificate.revoked_at,
        Certificate.revoke_reason,
        Certificate.superseded_by_id,
    )
    .where(Certificate.user_id == bindparam("user_id"))
    .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
)


def certificates_of(session: Session, user_id: int) -> list[CertificateRow]:
    """Every certificate issued to a person, newest first (one query)."""
    now = utcnow()
    return [as_row(row, now) for row in read(session, _OWN_CERTIFICATES, {"user_id": user_id})]


def search_certificates(
    session: Session, query: str = "", *, page: int = 1
) -> tuple[list[CertificateRow], int]:
    """Certificates whose holder name, serial or code matches, newest first, and the total."""
    conditions = []
    text = (query or "").strip()
    if text:
        like = f"%{text.lower()}%"
        holder = func.lower(Certificate.content["holder_name"].as_string())
        conditions.append(
            or_(
                holder.like(like),
                func.lower(Certificate.serial).like(like),
                Certificate.code == (normalise_code(text) or text.upper()),
            )
        )
    total = session.scalar(select(func.count(Certificate.id)).where(*conditions)) or 0
    page = max(1, page)
    certificates = session.scalars(
        select(Certificate)
        .where(*conditions)
        .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
        .limit(SEARCH_PAGE_SIZE)
        .offset((page - 1) * SEARCH_PAGE_SIZE)
    ).all()
    now = utcnow()
    return [as_row(c, now) for c in certificates], total


@dataclass(frozen=True)
class PersonSummary:
    """Who a certificates page is about."""

    id: int
    name: str
    credentials: str


def person_summary(session: Session, user_id: int) -> PersonSummary:
    """The name of the person whose certificates are listed (NotFound when unknown)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such person.")
    return PersonSummary(user.id, user.name, user.credentials or "")


def get_certificate(session: Session, certificate_id: int) -> Certificate:
    """A certificate by id (NotFound when there is none)."""
    certificate = session.get(Certificate, certificate_id)
    if certificate is None:
        raise NotFound("No such certificate.")
    return certificate


def stored_pdf(session: Session, certificate_id: int) -> Certificate:
    """A certificate with its stored PDF bytes loaded (never re-rendered).

    A certificate still being prepared comes back with `pdf` None; one that was revoked or
    superseded before its PDF was made has nothing to download (NotFound).
    """
    certificate = session.scalar(
        select(Certificate)
        .where(Certificate.id == certificate_id)
        .options(undefer(Certificate.pdf))
    )
    if certificate is None:
        raise NotFound("No such certificate.")
    if not certificate.pdf and certificate_status(certificate) != CertificateStatus.PREPARING:
        raise NotFound("No such certificate.")
    return certificate


def download_name(certificate: Certificate) -> str:
    """A safe file name for a certificate download, e.g. `KAP-2026-000123-M1.pdf`."""
    item = str((certificate.content or {}).get("item_code", ""))
    stem = "-".join(part for part in (certificate.serial, item) if part)
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "-" for ch in stem)
    return f"{safe.strip('-') or 'certificate'}.pdf"


@dataclass(frozen=True)
class Verification:
    """What the public verification page may say about a certificate, and nothing more."""

    holder_name: str
    title: str
    completed_on_text: str
    issued_on_text: str
    expires_on_text: str
    status: CertificateStatus
    revoked_on_text: str
    revoke_reason: str
    serial: str
    code: str


def verification_of(certificate: Certificate) -> Verification:
    """The public facts of a certificate."""
    row = as_row(certificate)
    return Verification(
        holder_name=row.holder_name,
        title=row.title,
        completed_on_text=row.completed_on_text,
        issued_on_text=row.issued_on_text,
        expires_on_text=dates.day(certificate.expires_at.date()) if certificate.expires_at else "",
        status=row.status,
        revoked_on_text=row.revoked_on_text,
        revoke_reason=row.revoke_reason,
        serial=certificate.serial,
        code=certificate.code,
    )


def verify_code(session: Session, typed: str) -> Verification:
    """Look up a typed code (any case, spaces, dashes); NotFound for anything unknown."""
    code = normalise_code(typed)
    certificate = (
        session.scalar(select(Certificate).where(Certificate.code == code)) if code else None
    )
    if certificate is None:
        raise NotFound("No certificate has that verification code.")
    return verification_of(certificate)


def verify_upload(session: Session, data: bytes) -> Verification | None:
    """The certificate whose stored PDF has exactly these bytes, or None (altered or foreign)."""
    if not data:
        raise InvalidInput("Choose a PDF file to check.")
    if len(data) > UPLOAD_MAX_BYTES:
        raise InvalidInput("That file is too large to be one of our certificates.")
    digest = hashlib.sha256(data).hexdigest()
    certificate = session.scalar(
        select(Certificate).where(Certificate.sha256 == digest).order_by(Certificate.id).limit(1)
    )
    return verification_of(certificate) if certificate is not None else None


def dashboard_section(session: Session, user: User) -> tuple[str | None, dict[str, Any]]:
    """The dashboard's certificates section: every certificate of the person (one query).

    Someone with none yet gets no panel (the page stays short on a phone); the certificate
    beside each completed item says how they come.
    """
    rows = certificates_of(session, user.id)
    shown = (CertificateStatus.VALID, CertificateStatus.EXPIRED, CertificateStatus.PREPARING)
    current = {row.completion_id: row for row in rows if row.status in shown}
    return "certificates/_dashboard.html" if rows else None, {
        "certificate_rows": rows,
        "certificates_by_completion": current,
        "certificate_holder_id": user.id,
    }


# ---------------------------------------------------------------------------------------
# Transcript


def transcript_rows(session: Session, user_id: int) -> list[TranscriptRow]:
    """Every live completion of a person with its item and current certificate (one query)."""
    current = and_(
        Certificate.completion_id == Completion.id,
        Certificate.revoked_at.is_(None),
        Certificate.superseded_by_id.is_(None),
    )
    result = session.execute(
        select(Completion.completed_on, Completion.ce_hours, CatalogItem, Certificate.serial)
        .join(CatalogItem, CatalogItem.id == Completion.item_id)
        .outerjoin(Certificate, current)
        .where(Completion.user_id == user_id, Completion.revoked_at.is_(None))
        .order_by(Completion.completed_on, CatalogItem.position)
    )
    return [
        TranscriptRow(
            code=item.code,
            title=item.title,
            kind_label=item.kind.label,
            completed_on=completed_on,
            ce_hours=None if item.is_retreat else awarded_hours(own_hours, item.ce_hours),
            serial=serial,
        )
        for completed_on, own_hours, item, serial in result
    ]


def transcript_pdf(session: Session, user_id: int, *, on: date | None = None) -> bytes:
    """A transcript PDF of a person's live completions, rendered now (not stored)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such person.")
    content = transcript_content(
        holder=holder_of(user),
        rows=transcript_rows(session, user_id),
        generated_on=on or utcnow().date(),
        programme=programme(session),
    )
    return render_pdf(TRANSCRIPT_DESIGN, content)


def total_ce_hours(rows: Sequence[TranscriptRow]) -> str:
    """The CE hours of transcript rows added up, as printed."""
    return format_hours(sum((r.ce_hours for r in rows if r.ce_hours is not None), 0))
