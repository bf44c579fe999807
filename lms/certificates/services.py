"""Certificates' services in one place for callers: issuing, revoking and reissuing, finding
them for download and verification, transcripts.

Each job has its own module; this one only names what they offer:
- lms.certificates.base: a record's status and the (lazily imported) PDF renderer;
- lms.certificates.issuing: the issue record written with the completion, its PDF after commit;
- lms.certificates.awards: the certificate a programme credential issues when awarded;
- lms.certificates.renderers: the processes that render PDFs on every core;
- lms.certificates.bulk: issuing every missing certificate at once;
- lms.certificates.revoking: revoking and reissuing;
- lms.certificates.lookup: lists, search, download, the dashboard section;
- lms.certificates.verifying: the public verify page's facts, the picture, the revoked stamp;
- lms.certificates.pictures: drawing a PDF's first page and stamping a revoked one;
- lms.certificates.transcript: a person's transcript PDF.
"""

from __future__ import annotations

from lms.certificates.awards import (
    AwardFacts,
    current_award_certificate,
    current_award_certificates,
    record_award_certificate,
)
from lms.certificates.base import (
    REASON_MAX,
    SEARCH_PAGE_SIZE,
    UPLOAD_MAX_BYTES,
    CertificateStatus,
    certificate_status,
    render_pdf,
)
from lms.certificates.bulk import (
    BulkReport,
    due_completion_ids,
    issue_missing,
    record_missing,
    render_due,
)
from lms.certificates.issuing import (
    RENDER_BATCH,
    RenderFailed,
    add_months,
    current_certificate,
    design_for,
    due_render_ids,
    expiry_for,
    holder_of,
    insert_pending,
    issue_certificate,
    item_facts,
    programme,
    record_due_certificate,
    record_due_certificates,
    render_and_store,
    render_and_store_many,
    render_batches,
    store_pdf,
    verification_url,
    with_images,
)
from lms.certificates.lookup import (
    CertificateRow,
    PersonSummary,
    as_row,
    certificates_of,
    dashboard_section,
    download_name,
    get_certificate,
    person_summary,
    search_certificates,
    stored_pdf,
)
from lms.certificates.renderers import (
    render_each,
    render_job,
    render_pool,
    render_processes,
    stop_render_processes,
    use_render_processes,
    warm_worker,
)
from lms.certificates.revoking import (
    reissue_certificate,
    revoke_certificate,
    revoke_for_completion,
)
from lms.certificates.transcript import (
    total_ce_hours,
    transcript_pdf,
    transcript_rows,
)
from lms.certificates.verifying import (
    Verification,
    backfill_pictures,
    certificate_picture,
    download_bytes,
    linkedin_add_url,
    missing_picture_ids,
    picture_etag,
    picture_source,
    share_description,
    verification_of,
    verify_code,
    verify_upload,
)

__all__ = [
    "AwardFacts",
    "BulkReport",
    "CertificateRow",
    "CertificateStatus",
    "PersonSummary",
    "REASON_MAX",
    "RENDER_BATCH",
    "RenderFailed",
    "SEARCH_PAGE_SIZE",
    "UPLOAD_MAX_BYTES",
    "Verification",
    "add_months",
    "as_row",
    "backfill_pictures",
    "certificate_picture",
    "certificate_status",
    "certificates_of",
    "current_award_certificate",
    "current_award_certificates",
    "current_certificate",
    "dashboard_section",
    "design_for",
    "download_bytes",
    "download_name",
    "due_completion_ids",
    "due_render_ids",
    "expiry_for",
    "get_certificate",
    "holder_of",
    "insert_pending",
    "issue_certificate",
    "issue_missing",
    "item_facts",
    "linkedin_add_url",
    "missing_picture_ids",
    "person_summary",
    "picture_etag",
    "picture_source",
    "programme",
    "record_award_certificate",
    "record_due_certificate",
    "record_due_certificates",
    "record_missing",
    "reissue_certificate",
    "render_and_store",
    "render_and_store_many",
    "render_batches",
    "render_due",
    "render_each",
    "render_job",
    "render_pdf",
    "render_pool",
    "render_processes",
    "revoke_certificate",
    "revoke_for_completion",
    "search_certificates",
    "share_description",
    "stop_render_processes",
    "store_pdf",
    "stored_pdf",
    "total_ce_hours",
    "transcript_pdf",
    "transcript_rows",
    "use_render_processes",
    "verification_of",
    "verification_url",
    "verify_code",
    "verify_upload",
    "warm_worker",
    "with_images",
]
