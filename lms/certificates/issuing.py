"""Issuing certificates: the issue record written with the completion, the PDF rendered after.

A certificate is issued once per live completion: the partial unique index
`uq_certificates_current` has the last word, so two racing requests end with one certificate.
Recording a completion writes the issue record with what it says frozen in `content`, in the
same unit of work, but no PDF: rendering (about 120 ms) never happens inside a write
transaction. After commit a job (lms.jobs) renders the PDF and stores it with its SHA-256 in
a short transaction of its own, guarded so that it is stored once; only then is the issue
audited and announced. Until then the certificate is "being prepared".
"""

from __future__ import annotations

import calendar
import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lms.auth.api import User
from lms.catalog.api import CatalogItem
from lms.certificates import base, pictures
from lms.certificates.activities import activities_of
from lms.certificates.codes import format_serial, new_verification_code
from lms.certificates.context import (
    CERTIFICATE_DESIGNS,
    ActivityFacts,
    Holder,
    ItemFacts,
    certificate_content,
)
from lms.certificates.models import Certificate
from lms.certificates.renderers import render_each
from lms.clock import end_of_day, local_date, local_date_or_none, local_time
from lms.db import db, scalars_among, utcnow
from lms.errors import Conflict
from lms.jobs import checkpoint
from lms.programme_images import data_url, load_images
from lms.progress.api import Completion
from lms.signals import certificate_issued

log = logging.getLogger(__name__)

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
    """When a certificate for the item stops being valid: the end of the same programme date
    the item's months later, else the programme's months; 0 or none means it never expires.

    `issued_at` is the issue instant on the programme's wall clock (lms.clock.local_time), so
    the expiry falls on the same programme date months later, whatever UTC's date was, and
    lasts all of that day: the PDF and the verify page say "valid until" that date.
    """
    months = item.certificate_valid_months
    if months is None:
        months = settings.get("certificate_valid_months")
    try:
        months = int(months or 0)
    except (TypeError, ValueError):
        months = 0
    return end_of_day(add_months(issued_at, months)) if months > 0 else None


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
        activity_id=item.activity_id or "",
    )


def current_certificate(session: Session, completion_id: int) -> Certificate | None:
    """The completion's certificate that is neither revoked nor superseded, if any."""
    return session.scalar(
        select(Certificate).where(
            Certificate.completion_id == completion_id,
            Certificate.is_current,
        )
    )


def insert_pending(
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
        certificate = _pending_record(session, completion, issued_at, settings)
        if fresh:
            session.add(certificate)
            session.flush()
            return _with_content(session, certificate, completion, settings)
        try:
            # A savepoint, so that losing the race leaves the caller's unit of work usable.
            with session.begin_nested():
                session.add(certificate)
                session.flush()
        except IntegrityError:
            if current_certificate(session, completion.id) is not None:
                return None
            continue  # a code collision (about 1 in 2**98): draw another
        return _with_content(session, certificate, completion, settings)
    raise Conflict("Could not allocate a unique verification code; please try again.")


def _pending_record(
    session: Session, completion: Completion, issued_at: datetime, settings: dict[str, Any]
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
        expires_at=expiry_for(item, local_time(issued_at, session), settings),
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
    certificates = [_pending_record(session, c, issued_at, settings) for c in completions]
    session.add_all(certificates)
    session.flush()
    activities = activities_of(session, (c.offering_id for c in completions))
    for certificate, completion in zip(certificates, completions, strict=True):
        activity = activities.get(completion.offering_id) if completion.offering_id else None
        _with_content(session, certificate, completion, settings, activity)
    for batch in render_batches([certificate.id for certificate in certificates]):
        enqueue_after_commit("render_certificates", batch, actor_id)
    return certificates


def _with_content(
    session: Session,
    certificate: Certificate,
    completion: Completion,
    settings: dict[str, Any],
    activity: ActivityFacts | None = None,
) -> Certificate:
    """Give an inserted record its serial (from its id) and the frozen content it prints.

    The serial's year and every printed date are the programme's: a certificate issued on the
    evening of 31 Dec there carries that year, not UTC's next one.
    """
    issued_on = local_date(certificate.issued_at, session)
    if activity is None and completion.offering_id is not None:
        activity = activities_of(session, [completion.offering_id]).get(completion.offering_id)
    certificate.serial = format_serial(issued_on.year, certificate.id)
    certificate.content = certificate_content(
        design=certificate.design,
        holder=holder_of(completion.user),
        item=item_facts(completion.item, completion.awarded_ce_hours),
        completed_on=completion.completed_on,
        issued_on=issued_on,
        expires_on=local_date_or_none(certificate.expires_at, session),
        serial=certificate.serial,
        code=certificate.code,
        verify_url=verification_url(certificate.code),
        programme=settings,
        activity=activity,
    )
    return certificate


def with_images(session: Session, contents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The contents, each with the programme images it names as `data:` URLs (one query for
    them all; none when no content names an image). The frozen content keeps only digests:
    an image's bytes never change under its digest."""
    digests = {
        person.get("signature") or ""
        for content in contents
        for person in content.get("signatories") or []
    } | {content.get("provider_logo") or "" for content in contents}
    images = {digest: data_url(image) for digest, image in load_images(session, digests).items()}
    if not images:
        return contents
    return [{**content, "images": images} for content in contents]


def store_pdf(
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
    base.record_certificate_event(
        session,
        certificate,
        "certificate.issued",
        actor_id=actor_id,
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
        certificate = insert_pending(session, completion, programme(session), fresh=fresh)
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
        certificate = insert_pending(session, completion, programme(session))
        if certificate is None:  # another request issued it first
            found = current_certificate(session, completion.id)
            assert found is not None
            return found
        session.flush()
    if certificate.rendered_at is not None:
        return certificate
    (content,) = with_images(session, [certificate.content])
    pdf = base.render_pdf(certificate.design, content)
    stored = store_pdf(session, certificate.id, pdf, actor_id=actor_id)
    if stored is None:
        return certificate
    keep_pictures([stored], {stored.id: pdf})
    return stored


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
        contents = with_images(session, [r.content for r in due])
    pdfs: list[tuple[int, bytes]] = []
    failed: list[tuple[int, Exception]] = []
    work = [(r.design, content) for r, content in zip(due, contents, strict=True)]
    for row, result in zip(due, render_each(work), strict=True):
        if isinstance(result, Exception):  # one bad content must not hold back the batch
            failed.append((row.id, result))
        else:
            pdfs.append((row.id, result))
    stored: list[Certificate] = []
    if pdfs:
        try:
            for certificate_id, pdf in pdfs:
                certificate = store_pdf(session, certificate_id, pdf, actor_id=actor_id)
                if certificate is not None:
                    stored.append(certificate)
            checkpoint()  # the stored PDFs hold even when RenderFailed is raised below
        except BaseException:
            db.rollback()
            raise
        keep_pictures(stored, dict(pdfs))
    if failed:
        names = ", ".join(f"#{cid} ({type(error).__name__}: {error})" for cid, error in failed)
        raise RenderFailed(f"could not render certificate(s) {names}") from failed[0][1]
    return stored


def keep_pictures(
    certificates: Iterable[Certificate],
    pdfs: dict[int, bytes],
    *,
    drawn: Mapping[int, bytes | None] | None = None,
) -> None:
    """Keep the first-page picture of certificates whose PDFs were just stored: the one a
    render worker drew already (`drawn`), else drawn here.

    A picture that cannot be drawn or kept now is drawn on first need instead (the verify
    page, `flask lms certificates pictures`): it never fails the issue.
    """
    from lms.storage import StorageUnavailable, store

    for certificate in certificates:
        pdf = pdfs.get(certificate.id)
        if pdf is None:
            continue
        try:
            picture = (drawn or {}).get(certificate.id)
            if picture is not None:
                pictures.put_picture(
                    store(pictures.AREA), pictures.picture_key(certificate.sha256), picture
                )
                continue
            pictures.keep_picture(
                store(pictures.AREA), pdf, certificate.sha256, certificate.content or {}
            )
        except StorageUnavailable as error:
            log.warning("certificate %s: picture left for later (%s)", certificate.serial, error)
        except Exception:  # a bug in drawing must not fail an issue already stored
            log.exception("certificate %s: picture left for later", certificate.serial)


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
    return scalars_among(session, query, Certificate.completion_id, completion_ids)
