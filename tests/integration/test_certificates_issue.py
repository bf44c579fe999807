"""Issuing certificates: recorded with the completion, rendered by a job after commit, exactly
once, frozen, revoked, reissued, bulk."""

from __future__ import annotations

import hashlib
import os
import re
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from certificates_support import (
    certificates_for,
    issued,
    page_count,
    pdf_text,
    record,
)
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from lms.audit.models import AuditEvent
from lms.auth.models import Role
from lms.certificates import base, renderers, services
from lms.certificates.models import Certificate
from lms.certificates.services import CertificateStatus
from lms.clock import local_date
from lms.db import db
from lms.errors import AlreadyDecided, InvalidInput
from lms.jobs import sweep_due_work
from lms.progress.services import revoke_completion
from lms.signals import certificate_issued, certificate_revoked, completions_imported


@pytest.fixture
def clinician(make_user, catalog):  # noqa: ANN001, ANN201
    """A licensed clinician, with the default catalogue loaded."""
    return make_user(Role.CLINICIAN, name="Ada Lovelace", credentials="PhD")


@pytest.fixture
def instructor(make_user):  # noqa: ANN001, ANN201
    """An instructor who records completions."""
    return make_user(Role.INSTRUCTOR)


def test_recording_a_completion_writes_the_issue_record_and_the_pdf_follows_after_commit(
    session, clinician, instructor
) -> None:
    """The record (content frozen, no PDF) is in the unit of work; PDF, audit and signal follow
    the commit."""
    issued_signals = []

    def receiver(certificate: Certificate, **_: object) -> None:
        """Remember each certificate the signal announces."""
        issued_signals.append(certificate.id)

    certificate_issued.connect(receiver)
    try:
        completion = record(session, clinician.id, "M1", actor_id=instructor.id)
        (pending,) = certificates_for(session, completion.id)  # before any commit
        assert pending.pdf is None and pending.rendered_at is None and pending.sha256 == ""
        assert services.certificate_status(pending) == CertificateStatus.PREPARING
        assert pending.content["holder_name"] == "Ada Lovelace"
        assert pending.serial.startswith(f"KAP-{local_date(pending.issued_at).year}-")
        assert issued_signals == []
        assert session.scalar(select(func.count(AuditEvent.id)).where(_issued_event)) == 0
        db.commit()  # the render job runs now (immediate mode in tests)
    finally:
        certificate_issued.disconnect(receiver)
    (certificate,) = certificates_for(session, completion.id)
    assert issued_signals == [certificate.id]
    assert certificate.user_id == clinician.id
    assert certificate.sha256 == hashlib.sha256(certificate.pdf).hexdigest()
    assert certificate.rendered_at is not None
    assert certificate.content["completed_on"] == "2025-03-14"
    assert services.certificate_status(certificate) == CertificateStatus.VALID
    event = session.scalar(select(AuditEvent).where(_issued_event))
    assert event.subject_id == certificate.id and event.person_id == clinician.id
    assert event.actor_id == instructor.id


_issued_event = AuditEvent.action == "certificate.issued"


def test_recording_does_not_render_inside_the_transaction_and_a_rollback_leaves_nothing(
    session, clinician, monkeypatch
) -> None:
    """No render before commit; rolled back, the record goes with its completion, unrendered."""
    renders = []
    monkeypatch.setattr(base, "render_pdf", lambda *args: renders.append(args) or b"%PDF")
    completion = record(session, clinician.id, "M1")
    assert len(certificates_for(session, completion.id)) == 1
    assert renders == []
    db.rollback()
    assert session.scalar(select(func.count(Certificate.id))) == 0
    db.commit()  # nothing was enqueued for the rolled-back unit of work
    assert renders == []


def test_a_failing_render_keeps_the_completion_and_the_sweep_retries_it(
    session, clinician, monkeypatch
) -> None:
    """The completion commits even when rendering raises; the record stays due until a sweep."""
    real_render = base.render_pdf

    def broken(*_args: object) -> bytes:
        """A renderer that fails, as WeasyPrint might on a bad day."""
        raise RuntimeError("renderer down")

    monkeypatch.setattr(base, "render_pdf", broken)
    completion = issued(session, clinician.id, "M1")
    (certificate,) = certificates_for(session, completion.id)
    assert session.get(type(completion), completion.id) is not None
    assert certificate.pdf is None
    assert services.due_render_ids(session) == [certificate.id]
    session.commit()
    monkeypatch.setattr(base, "render_pdf", real_render)
    report = sweep_due_work(grace=timedelta(0))
    assert report["certificates"] == 1
    (certificate,) = certificates_for(session, completion.id)
    assert certificate.pdf and services.due_render_ids(session) == []


def test_running_the_render_job_twice_stores_one_pdf_and_one_issued_event(
    app: Flask, session, clinician
) -> None:
    """The guarded store makes the job idempotent: a second run renders and audits nothing."""
    completion = record(session, clinician.id, "M1")
    (certificate,) = certificates_for(session, completion.id)
    session.commit()  # a plain commit: no after-commit hook, as if the enqueue was lost
    with app.app_context():
        first = services.render_and_store(certificate.id)
    with app.app_context():
        second = services.render_and_store(certificate.id)
    assert first is not None and second is None
    (certificate,) = certificates_for(session, completion.id)
    assert certificate.sha256 == hashlib.sha256(certificate.pdf).hexdigest()
    assert session.scalar(select(func.count(AuditEvent.id)).where(_issued_event)) == 1


def test_a_record_whose_job_was_lost_is_picked_up_by_the_sweep(session, clinician) -> None:
    """A crash between commit and enqueue: the due record waits for the sweep, which renders it."""
    completion = record(session, clinician.id, "M1")
    session.commit()  # committed without the after-commit hook: no job was ever enqueued
    session.rollback()
    db.rollback()  # forget the callbacks, as a crashed process would
    (certificate,) = certificates_for(session, completion.id)
    assert certificate.pdf is None
    young = sweep_due_work()  # within the grace period its own job is presumed on its way
    assert young["certificates"] == 0
    report = sweep_due_work(now=certificate.issued_at + timedelta(minutes=2))
    assert report["certificates"] == 1
    (certificate,) = certificates_for(session, completion.id)
    assert certificate.pdf and certificate.rendered_at is not None


def test_a_completion_revoked_before_its_render_gets_no_pdf(app: Flask, session, clinician):
    """Revoked before the job ran: the record is revoked and the job does nothing."""
    completion = record(session, clinician.id, "M1")
    (certificate,) = certificates_for(session, completion.id)
    session.commit()  # no job ran
    revoke_completion(session, completion.id, actor_id=None, reason="Wrong person")
    session.commit()
    with app.app_context():
        assert services.render_and_store(certificate.id) is None
    (certificate,) = certificates_for(session, completion.id)
    assert certificate.revoked_at is not None and certificate.pdf is None
    assert services.due_render_ids(session) == []


def test_pdf_text_carries_name_title_hours_serial_code_and_verification_url(
    session, clinician, catalog
) -> None:
    """Pdf text carries name title hours serial code and verification url."""
    completion = issued(session, clinician.id, "M1")
    certificate = certificates_for(session, completion.id)[0]
    text = pdf_text(certificate.pdf)
    for expected in (
        "Ada Lovelace",
        "PhD",
        catalog["M1"].title,
        services.certificate_status(certificate).label,
        certificate.serial,
        certificate.code,
        f"http://lms.test/verify/{certificate.code}",
        "March 14, 2025",
    ):
        if expected == "Valid":
            continue
        assert expected in text, expected
    credits = certificate.content["credits"]
    assert credits, "a module with CE hours prints its credits"
    for credit in credits:  # one line per credit type the accreditations name
        assert f"{credit['amount_text']} {credit['type']}" in text, credit
    assert "Polaris Insight Center" in text
    assert "American Psychological Association" in text  # the accreditation statement
    assert page_count(certificate.pdf) == 1


def test_retreat_certificate_has_no_ce_hours_and_no_accreditation(
    session, make_user, catalog
) -> None:
    """Retreat certificate has no ce hours and no accreditation."""
    person = make_user(Role.CLINICIAN, name="Retreat Goer")
    completion = issued(session, person.id, "RETREAT-DFH")
    certificate = certificates_for(session, completion.id)[0]
    text = pdf_text(certificate.pdf)
    assert certificate.design == "retreat"
    assert "Retreat Goer" in text and catalog["RETREAT-DFH"].title in text
    assert "CERTIFICATE OF ATTENDANCE" in text
    assert not re.search(r"\bCE\b", text)
    assert "continuing education" not in text.lower()
    assert "hours" not in text.lower()
    assert "American Psychological Association" not in text
    assert "Board of Behavioral Sciences" not in text


def test_issuing_again_returns_the_existing_certificate(session, clinician) -> None:
    """Issuing again returns the existing certificate."""
    completion = record(session, clinician.id, "M1")
    first = certificates_for(session, completion.id)[0]
    assert services.issue_certificate(session, completion) is first
    assert len(certificates_for(session, completion.id)) == 1


def test_the_database_refuses_a_second_current_certificate_for_one_completion(
    session, clinician
) -> None:
    """The database refuses a second current certificate for one completion."""
    completion = record(session, clinician.id, "M1")
    first = certificates_for(session, completion.id)[0]
    duplicate = Certificate(
        serial="KAP-DUPLICATE",
        code="2345-2345-2345-2345-2345",
        user_id=clinician.id,
        item_id=first.item_id,
        completion_id=completion.id,
        design="module",
        content={},
        pdf=b"x",
        sha256="0" * 64,
    )
    session.add(duplicate)
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_two_racing_issues_for_one_completion_yield_one_certificate(
    app: Flask, session, clinician
) -> None:
    """Two racing issues for one completion yield one certificate."""
    completion = record(session, clinician.id, "M1", bulk=True)  # bulk: nothing issued yet
    session.commit()
    barrier = threading.Barrier(2)
    results: list[int] = []
    errors: list[BaseException] = []

    def issue() -> None:
        """Issue the certificate from a thread of its own, as a second request would."""
        try:
            with app.app_context():
                barrier.wait(timeout=30)  # both start together; neither holds a lock yet
                mine = db.session.get(type(completion), completion.id)
                certificate = services.issue_certificate(db.session, mine)
                db.commit()
                results.append(certificate.id)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=issue) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(results) == 2 and results[0] == results[1]
    session.expire_all()
    assert len(certificates_for(session, completion.id)) == 1


def test_bulk_recorded_completions_wait_for_the_bulk_issue(session, clinician) -> None:
    """Bulk recorded completions wait for the bulk issue."""
    completion = record(session, clinician.id, "M1", bulk=True)
    assert certificates_for(session, completion.id) == []
    assert services.due_completion_ids(session) == [completion.id]


def test_revoking_the_completion_revokes_its_certificate_with_the_same_reason(
    session, clinician, instructor
) -> None:
    """Revoking the completion revokes its certificate with the same reason."""
    completion = record(session, clinician.id, "M1")
    revoked = []

    def receiver(certificate: Certificate, **_: object) -> None:
        """Remember each certificate the signal announces."""
        revoked.append(certificate)

    certificate_revoked.connect(receiver)
    try:
        revoke_completion(
            session, completion.id, actor_id=instructor.id, reason="Marked for the wrong person"
        )
    finally:
        certificate_revoked.disconnect(receiver)
    certificate = certificates_for(session, completion.id)[0]
    assert revoked == [certificate]
    assert certificate.revoked_at is not None
    assert certificate.revoke_reason == "Marked for the wrong person"
    assert certificate.revoked_by_id == instructor.id
    assert services.certificate_status(certificate) == CertificateStatus.REVOKED
    assert services.due_completion_ids(session) == []  # a revoked completion is not due


def test_a_re_completion_after_revocation_gets_a_new_certificate_and_keeps_the_old(
    session, clinician
) -> None:
    """A re completion after revocation gets a new certificate and keeps the old."""
    first = issued(session, clinician.id, "M1")
    revoke_completion(session, first.id, actor_id=None, reason="Wrong date")
    db.commit()
    second = issued(session, clinician.id, "M1", on=date(2025, 3, 15))
    rows = services.certificates_of(session, clinician.id)
    assert [r.status for r in rows] == [CertificateStatus.VALID, CertificateStatus.REVOKED]
    assert rows[0].completion_id == second.id


def test_reissue_gives_a_new_code_with_the_current_name_and_supersedes_the_old(
    session, clinician
) -> None:
    """Reissue gives a new code with the current name and supersedes the old."""
    completion = issued(session, clinician.id, "M1")
    old = certificates_for(session, completion.id)[0]
    clinician.name = "Ada King"
    new = services.reissue_certificate(session, old.id, actor_id=None)
    assert services.certificate_status(new) == CertificateStatus.PREPARING
    db.commit()  # the new PDF is rendered by the job after commit
    (old, new) = certificates_for(session, completion.id)
    assert new.pdf and new.code in pdf_text(new.pdf)
    assert new.code != old.code and new.serial != old.serial
    assert old.superseded_by_id == new.id
    assert new.content["holder_name"] == "Ada King"
    assert old.content["holder_name"] == "Ada Lovelace"  # frozen at issue
    assert services.certificate_status(old) == CertificateStatus.SUPERSEDED
    assert services.certificate_status(new) == CertificateStatus.VALID
    assert services.verify_code(session, old.code).status == CertificateStatus.SUPERSEDED
    with pytest.raises(AlreadyDecided):
        services.reissue_certificate(session, old.id, actor_id=None)
    session.commit()


def test_revoking_needs_a_reason_and_happens_once(session, clinician) -> None:
    """Revoking needs a reason and happens once."""
    completion = record(session, clinician.id, "M1")
    certificate = certificates_for(session, completion.id)[0]
    with pytest.raises(InvalidInput):
        services.revoke_certificate(session, certificate.id, actor_id=None, reason="  ")
    services.revoke_certificate(session, certificate.id, actor_id=None, reason="Fraud")
    with pytest.raises(AlreadyDecided):
        services.revoke_certificate(session, certificate.id, actor_id=None, reason="Again")


def test_certificates_expire_after_the_items_valid_months(session, clinician, catalog) -> None:
    """Certificates expire after the items valid months."""
    catalog["M2"].certificate_valid_months = 24
    session.commit()
    completion = issued(session, clinician.id, "M2")
    certificate = certificates_for(session, completion.id)[0]
    assert certificate.expires_at is not None
    assert (certificate.expires_at - certificate.issued_at).days in range(730, 732)
    assert certificate.content["expires_on_text"]
    later = certificate.expires_at + timedelta(days=366)
    assert services.certificate_status(certificate, later) == CertificateStatus.EXPIRED


def test_an_expiry_counts_months_on_the_programmes_calendar(session, clinician, catalog) -> None:
    """Issued at 17:00 Pacific on Jan 30, 2027 (already the 31st in UTC), a one-month
    certificate says it expires on 28 Feb, a month after the day it says it was issued."""
    from clock_support import pinned

    catalog["M2"].certificate_valid_months = 1
    session.commit()
    with pinned(datetime(2027, 1, 31, 1, 0, tzinfo=UTC)):
        completion = issued(session, clinician.id, "M2", on=date(2027, 1, 30))
    said = certificates_for(session, completion.id)[0].content
    assert (said["issued_on"], said["expires_on"]) == ("2027-01-30", "2027-02-28")


def test_issue_missing_issues_every_due_certificate_and_a_rerun_finds_none(
    session, make_user, catalog
) -> None:
    """Issue missing issues every due certificate and a rerun finds none."""
    people = [make_user(Role.CLINICIAN) for _ in range(3)]
    ids = [record(session, p.id, code, bulk=True).id for p in people for code in ("M1", "M2")]
    session.commit()
    progress: list[int] = []
    report = services.issue_missing(
        session, commit=session.commit, jobs=1, batch_size=4, on_progress=progress.append
    )
    assert report.due == 6 and report.issued == 6
    assert progress == [4, 2]
    assert sorted(c.completion_id for c in session.scalars(select(Certificate))) == sorted(ids)
    again = services.issue_missing(session, commit=session.commit, jobs=1)
    assert again.due == 0 and again.issued == 0


def test_issue_missing_renders_on_several_processes(session, make_user, catalog) -> None:
    """Bulk issue renders in worker processes, with its own pool or a caller's reused one."""
    people = [make_user(Role.CLINICIAN) for _ in range(3)]
    first = [record(session, person.id, "M1", bulk=True).id for person in people]
    session.commit()
    report = services.issue_missing(session, commit=session.commit, jobs=2, batch_size=2)
    assert report.issued == 3
    second = [record(session, person.id, "M2", bulk=True).id for person in people]
    third = [record(session, person.id, "M3", bulk=True).id for person in people]
    session.commit()
    pool = services.render_pool(2)
    assert pool is not None
    try:
        for ids in (second, third):
            report = services.issue_missing(
                session, commit=session.commit, completion_ids=ids, jobs=2, pool=pool
            )
            assert report.issued == 3
    finally:
        pool.shutdown()
    certificates = list(session.scalars(select(Certificate)))
    assert sorted(c.completion_id for c in certificates) == sorted(first + second + third)
    for certificate in certificates:
        assert certificate.code in pdf_text(certificate.pdf)


def test_an_interrupted_bulk_issue_keeps_finished_batches_and_a_rerun_completes(
    session, make_user, catalog
) -> None:
    """An interrupted bulk issue keeps finished batches and a rerun completes."""
    people = [make_user(Role.CLINICIAN) for _ in range(5)]
    for person in people:
        record(session, person.id, "M1", bulk=True)
    session.commit()

    def interrupt(_count: int) -> None:
        """Act like Ctrl-C after the first batch."""
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        services.issue_missing(
            session, commit=session.commit, jobs=1, batch_size=2, on_progress=interrupt
        )
    session.rollback()
    rendered = select(func.count(Certificate.id)).where(Certificate.rendered_at.is_not(None))
    assert session.scalar(select(func.count(Certificate.id))) == 5  # records first, cheap
    assert session.scalar(rendered) == 2  # the first batch's PDFs were kept
    report = services.issue_missing(session, commit=session.commit, jobs=1, batch_size=2)
    assert report.issued == 3
    assert session.scalar(rendered) == 5


def test_an_import_issues_its_certificates_after_commit_unless_told_not_to(
    app: Flask, session, make_user, catalog
) -> None:
    """An import issues its certificates after commit unless told not to."""
    people = [make_user(Role.CLINICIAN) for _ in range(2)]
    ids = [record(session, p.id, "M1", bulk=True).id for p in people]
    session.commit()
    completions_imported.send(app, completion_ids=ids, issue_certificates=False)
    assert session.scalar(select(func.count(Certificate.id))) == 0
    completions_imported.send(app, completion_ids=ids[:1], issue_certificates=True)
    session.expire_all()
    assert [c.completion_id for c in session.scalars(select(Certificate))] == ids[:1]


def test_transcript_lists_live_completions_with_dates_hours_and_total(
    session, clinician, catalog
) -> None:
    """Transcript lists live completions with dates hours and total."""
    record(session, clinician.id, "M1", on=date(2025, 1, 10))
    record(session, clinician.id, "M2", on=date(2025, 2, 10))
    wrong = record(session, clinician.id, "M3", on=date(2025, 2, 11))
    revoke_completion(session, wrong.id, actor_id=None, reason="Not attended")
    data = services.transcript_pdf(session, clinician.id, on=date(2026, 1, 5))
    text = pdf_text(data)
    assert "TRAINING TRANSCRIPT" in text and "Ada Lovelace" in text
    assert catalog["M1"].title in text and catalog["M2"].title in text
    assert catalog["M3"].title not in text
    assert "January 10, 2025" in text and "February 10, 2025" in text
    total = catalog["M1"].ce_hours + catalog["M2"].ce_hours
    from lms.certificates.context import format_hours

    assert f"Total CE contact hours {format_hours(total)}" in text


@pytest.mark.parametrize(("threads", "method"), [(1, "fork"), (2, "spawn")])
def test_render_pool_forks_only_in_a_single_threaded_process(
    monkeypatch, threads: int, method: str
) -> None:
    """Workers are forked (fast) only when no other thread could hold a lock at fork time."""
    if method == "fork" and renderers.threads_in_process() > 1:
        pytest.skip("this test process has threads (xdist): forking here is what the rule forbids")
    monkeypatch.setattr(renderers, "threads_in_process", lambda: threads)
    pool = services.render_pool(2)
    assert pool is not None
    try:
        assert pool._mp_context.get_start_method() == method
        assert sorted(set(pool.map(services.warm_worker, range(2)))) != []
        content = {
            "design": "module",
            "holder_name": "Pool Test",
            "credentials": "",
            "licence_line": "",
            "title": "Module 1",
            "format": "Live online",
            "completed_on_text": "March 14, 2025",
            "ce_hours": "7",
            "ce_type": "CE contact hours",
            "statements": [],
            "provider_name": "P",
            "provider_address": [],
            "signatory_name": "",
            "signatory_title": "",
            "page_size": "A4",
            "serial": "KAP-2026-000001",
            "code": "2345-6789-ABCD-EFGH-JKMN",
            "verify_url": "http://lms.test/verify/2345-6789-ABCD-EFGH-JKMN",
            "issued_on_text": "January 1, 2026",
            "expires_on_text": "",
        }
        (pdf,) = pool.map(renderers.render_job, [("module", content)])
        assert "Pool Test" in pdf_text(pdf)
    finally:
        pool.shutdown()


def test_the_consumers_render_processes_render_the_jobs_niced(
    app: Flask, session, clinician
) -> None:
    """With the consumer's render processes in use, a job renders there, stepped back by the
    niceness asked for, and stores in this process; afterwards jobs render here again."""
    completion = record(session, clinician.id, "M1")
    (certificate,) = certificates_for(session, completion.id)
    session.commit()  # no job ran
    pool = services.use_render_processes(1, niceness=3)
    try:
        assert pool.submit(os.nice, 0).result() == os.nice(0) + 3
        with app.app_context():
            (stored,) = services.render_and_store_many([certificate.id])
        assert stored.id == certificate.id
    finally:
        services.stop_render_processes()
    assert renderers._RENDERERS == {}
    (certificate,) = certificates_for(session, completion.id)
    assert certificate.pdf.startswith(b"%PDF") and services.due_render_ids(session) == []
