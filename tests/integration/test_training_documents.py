"""Certificate of Training documents: type checked by content, every version kept, reviewed
once by staff, a notice when changes are asked, approved kinds for the award's rules."""

from __future__ import annotations

import io
import json
import time
import zipfile

import pytest
from retreats_support import PNG_BYTES
from sqlalchemy import func, select
from training_records_support import CONTENT_TYPES, ONE_PAGE_PDF, docx_bytes

from lms.audit.models import AuditEvent
from lms.auth.models import Role
from lms.auth.privacy import carry_out_deletion, export_personal_data, request_deletion
from lms.errors import AlreadyDecided, Conflict, Forbidden, InvalidInput, NotFound
from lms.mail.models import Notification
from lms.storage import store, stores
from lms.training import documents
from lms.training.documents_files import DOCX, MAX_DOCUMENT_BYTES, PDF, docx_paragraphs
from lms.training.documents_preview import first_page_for, preview_of
from lms.training.records_models import DocumentStatus, TrainingDocument


@pytest.fixture
def files(app):
    """The documents' store."""
    return store(documents.DOCUMENTS_AREA, app)


@pytest.fixture
def upload(session, files):
    """Upload a file as the clinician (PDF by default)."""

    def do(
        user,
        content=ONE_PAGE_PDF,
        kind="reflection_paper",
        uploaded_by="clinician",
        name="paper.pdf",
    ):
        return documents.upload_document(
            session,
            user_id=user.id,
            kind=kind,
            stream=io.BytesIO(content),
            filename=name,
            uploaded_by=uploaded_by,
            actor_id=user.id if uploaded_by == "clinician" else None,
            store=files,
        )

    return do


def _stored(files):
    """Keys of the stored documents."""
    return [found.key for found in files.listing()]


def _rows(session):
    """How many document versions exist."""
    return session.scalar(select(func.count(TrainingDocument.id)))


def test_a_pdf_and_a_docx_are_accepted_by_their_content_not_their_name(
    session, make_user, upload, files
):
    clinician = make_user()
    paper = upload(clinician, ONE_PAGE_PDF, name="paper.docx")
    letter = upload(
        clinician, docx_bytes("I recommend"), kind="recommendation_letter", name="x.pdf"
    )
    session.commit()
    assert (paper.media_type, letter.media_type) == (PDF, DOCX)
    assert paper.file_name == "paper.docx" and paper.status == DocumentStatus.SUBMITTED
    assert sorted(_stored(files)) == sorted([paper.file_key, letter.file_key])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (PNG_BYTES, "not a PDF or a Word document"),
        (b"PK\x03\x04 this is no zip", "not a PDF or a Word document"),
        (docx_bytes(with_body=False), "not a PDF or a Word document"),
        (b"", "empty"),
        (b"%PDF-" + b"0" * MAX_DOCUMENT_BYTES, "larger than"),
    ],
)
def test_a_file_of_another_type_or_too_large_is_refused_and_nothing_is_stored(
    session, make_user, upload, files, content, message
):
    clinician = make_user()
    with pytest.raises(InvalidInput, match=message):
        upload(clinician, content)
    session.rollback()
    assert _rows(session) == 0 and _stored(files) == []


def test_the_clinician_may_not_upload_a_paper_as_the_consultant_but_a_letter_yes(
    session, make_user, upload
):
    clinician = make_user()
    with pytest.raises(Forbidden):
        upload(clinician, kind="reflection_paper", uploaded_by="consultant")
    session.rollback()
    letter = upload(clinician, kind="recommendation_letter", uploaded_by="consultant")
    assert letter.uploaded_by.value == "consultant" and letter.uploaded_by_id is None
    with pytest.raises(InvalidInput):
        upload(clinician, kind="a_poem")


def test_every_version_is_kept_a_new_one_replaces_the_waiting_one(session, make_user, upload):
    clinician = make_user()
    first = upload(clinician)
    second = upload(clinician, docx_bytes("Second thoughts"))
    session.commit()
    session.refresh(first)
    assert (first.version, second.version) == (1, 2)
    assert first.status == DocumentStatus.REPLACED
    assert [d.id for d in documents.documents_to_review(session)] == [second.id]
    kinds = documents.versions_of(session, clinician.id)
    assert [d.version for d in kinds[second.kind]] == [2, 1]


def test_changes_asked_then_resubmitted_then_approved_and_approved_takes_no_more(
    session, make_user, upload
):
    clinician, instructor = make_user(), make_user(Role.INSTRUCTOR)
    first = upload(clinician)
    session.commit()
    with pytest.raises(InvalidInput, match="Say what should change"):
        documents.review_document(session, first.id, reviewer=instructor, approve=False, comment="")
    documents.review_document(
        session, first.id, reviewer=instructor, approve=False, comment="Add a page on ethics."
    )
    session.commit()
    notice = session.scalar(select(Notification).where(Notification.user_id == clinician.id))
    assert "Changes are asked for" in notice.message
    assert documents.approved_documents(session, [clinician.id]) == {clinician.id: set()}
    second = upload(clinician)
    session.commit()
    assert second.version == 2
    documents.review_document(session, second.id, reviewer=instructor, approve=True, comment="")
    session.commit()
    assert documents.approved_documents(session, [clinician.id]) == {
        clinician.id: {"reflection_paper"}
    }
    with pytest.raises(Conflict, match="already approved"):
        upload(clinician)
    session.rollback()
    actions = session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.subject_type == "training_document")
        .order_by(AuditEvent.id)
    ).all()
    assert actions == [
        "training.document_uploaded",
        "training.document_changes_requested",
        "training.document_uploaded",
        "training.document_approved",
    ]


def test_a_version_is_reviewed_once_never_by_its_owner_nor_a_clinician(session, make_user, upload):
    clinician, instructor = make_user(), make_user(Role.INSTRUCTOR)
    admin = make_user(Role.ADMIN, Role.CLINICIAN)
    own = upload(admin)
    document = upload(clinician)
    session.commit()
    with pytest.raises(Forbidden):
        documents.review_document(session, own.id, reviewer=admin, approve=True, comment="")
    with pytest.raises(Forbidden):
        documents.review_document(
            session, document.id, reviewer=make_user(), approve=True, comment=""
        )
    documents.review_document(session, document.id, reviewer=instructor, approve=True, comment="")
    session.commit()
    with pytest.raises(AlreadyDecided):
        documents.review_document(session, document.id, reviewer=admin, approve=True, comment="")


def test_only_the_clinician_and_staff_see_a_version(session, make_user, upload, files):
    clinician, other, instructor = make_user(), make_user(), make_user(Role.INSTRUCTOR)
    document = upload(clinician)
    session.commit()
    assert documents.file_for(session, document.id, clinician, files)[0] == ONE_PAGE_PDF
    assert documents.get_document_for(session, document.id, instructor) == document
    with pytest.raises(NotFound):
        documents.file_for(session, document.id, other, files)


def test_approved_documents_answers_for_many_people_in_one_query(
    session, make_user, upload, count_queries
):
    people = [make_user() for _ in range(3)]
    instructor = make_user(Role.INSTRUCTOR)
    for person in people[:2]:
        letter = upload(person, kind="recommendation_letter")
        documents.review_document(session, letter.id, reviewer=instructor, approve=True, comment="")
    session.commit()
    with count_queries() as queries:
        found = documents.approved_documents(session, [p.id for p in people])
    assert len(queries) == 1
    assert found == {
        people[0].id: {"recommendation_letter"},
        people[1].id: {"recommendation_letter"},
        people[2].id: set(),
    }


def test_the_reviewer_sees_a_pdfs_first_page_and_a_docxs_text(
    app, session, make_user, upload, files
):
    clinician, instructor = make_user(), make_user(Role.INSTRUCTOR)
    previews = store(documents.PREVIEWS_AREA, app)
    pdf = upload(clinician)
    docx = upload(
        clinician, docx_bytes("Set & setting", "Integration"), kind="recommendation_letter"
    )
    session.commit()
    assert preview_of(pdf, files, previews).picture
    picture = first_page_for(session, pdf.id, instructor, files, previews)
    assert picture.data.startswith(b"\x89PNG")
    assert preview_of(docx, files, previews).paragraphs == ("Set & setting", "Integration")
    with pytest.raises(NotFound):
        first_page_for(session, docx.id, instructor, files, previews)


def test_docx_text_is_read_without_an_xml_parser_and_bounded():
    assert docx_paragraphs(b"%PDF-1.4") is None
    hostile = docx_bytes("<!ENTITY x SYSTEM 'file:///etc/passwd'> &x;")
    assert docx_paragraphs(hostile) == ["<!ENTITY x SYSTEM 'file:///etc/passwd'> &x;"]


def _raw_docx(body: bytes) -> bytes:
    """A Word document whose word/document.xml is exactly these bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("word/document.xml", body)
    return buffer.getvalue()


def test_docx_text_takes_time_in_step_with_the_body_whatever_its_tags():
    """Unclosed paragraphs and runs (a few hundred bytes zipped) read in one pass: 200,000 of
    them took minutes with a pattern that searched ahead for each closing tag."""
    for hostile in (b"<w:p>" * 200_000, b"<w:t " * 200_000, b"<w:p><w:t>" + b"x<" * 200_000):
        started = time.perf_counter()
        assert docx_paragraphs(_raw_docx(hostile)) == []
        assert time.perf_counter() - started < 5
    tags = b"<w:p><w:r><w:t xml:space='preserve'>A &amp; B</w:t><w:tab/><w:t>C</w:t></w:r></w:p>"
    assert docx_paragraphs(_raw_docx(tags + b"<w:p/>" + tags)) == ["A & B\tC", "A & B\tC"]


def test_the_export_names_every_version_and_erasure_removes_the_files(
    app, session, make_user, upload, files
):
    clinician, admin = make_user(), make_user(Role.ADMIN)
    upload(clinician)
    upload(clinician, docx_bytes("v2"))
    session.commit()
    archive = zipfile.ZipFile(io.BytesIO(export_personal_data(session, clinician)))
    part = json.loads(archive.read("data.json"))["training_documents"]
    assert [(d["version"], d["status"]) for d in part] == [(1, "replaced"), (2, "submitted")]
    request_deletion(session, clinician)
    carry_out_deletion(session, clinician.id, actor=admin, files=stores(app))
    session.commit()
    assert (
        session.scalar(
            select(func.count(TrainingDocument.id)).where(TrainingDocument.file_key.is_not(None))
        )
        == 0
    )
    assert _rows(session) == 2


def test_the_sweep_removes_only_old_files_no_version_names(app, session, make_user, upload, files):
    from datetime import timedelta

    from lms.clock import utcnow
    from lms.training.documents_sweep import sweep_unreferenced_documents

    previews = store(documents.PREVIEWS_AREA, app)
    kept = upload(make_user())
    session.commit()
    files.put("0" * 32 + ".pdf", ONE_PAGE_PDF, PDF)
    previews.put("0" * 32 + ".png", b"\x89PNG", "image/png")
    assert (
        sweep_unreferenced_documents(session, files, previews, before=utcnow() - timedelta(hours=1))
        == 0
    )
    removed = sweep_unreferenced_documents(
        session, files, previews, before=utcnow() + timedelta(minutes=1)
    )
    assert removed == 2
    assert _stored(files) == [kept.file_key]
