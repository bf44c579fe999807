"""A sample certificate made from settings not yet in use, marked SAMPLE across the page, so
an administrator sees what the next certificates will print before they are issued."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from lms.certificates import base
from lms.certificates.context import ActivityFacts, Holder, ItemFacts, certificate_content

SAMPLE_CODE = "SAMP-LESA-MPLE-SAMP-LESA"


def sample_content(
    settings: dict[str, Any], images: dict[str, str], *, today: date, verify_url: str
) -> dict[str, Any]:
    """What a two-day module's certificate would say under the settings (a sample person)."""
    first = today - timedelta(days=8)
    content = certificate_content(
        design="module",
        holder=Holder("Sample Participant", "LMFT", "LMFT", "SAMPLE-0000", "CA"),
        item=ItemFacts(
            code="SAMPLE",
            title="Sample Activity — Introduction to Ketamine-Assisted Psychotherapy",
            kind="core_module",
            format="Live online",
            ce_hours=Decimal("8.8"),
            activity_id="SAMPLE-ACTIVITY-ID",
        ),
        completed_on=first + timedelta(days=1),
        issued_on=today,
        expires_on=None,
        serial="SAMPLE",
        code=SAMPLE_CODE,
        verify_url=verify_url,
        programme=settings,
        activity=ActivityFacts(
            days=(first, first + timedelta(days=1)),
            location="Live online (video)",
            format="Live online",
            facilitators=("Sample Facilitator",),
        ),
    )
    return {**content, "images": images, "sample": True}


def sample_pdf(
    settings: dict[str, Any], images: dict[str, str], *, today: date, verify_url: str
) -> bytes:
    """The sample certificate's PDF."""
    content = sample_content(settings, images, today=today, verify_url=verify_url)
    return base.render_pdf("module", content)
