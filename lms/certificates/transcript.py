"""A person's transcript of live completions and awarded programme credentials, rendered on
demand (never stored)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from lms.auth.api import User
from lms.catalog.api import CatalogItem
from lms.certificates import base
from lms.certificates.context import (
    CREDENTIAL_FORMAT,
    TRANSCRIPT_DESIGN,
    TranscriptRow,
    format_hours,
    transcript_content,
)
from lms.certificates.issuing import holder_of, programme
from lms.certificates.models import Certificate
from lms.clock import local_date, today
from lms.errors import NotFound
from lms.progress.api import Completion, awarded_hours, total_hours

# ---------------------------------------------------------------------------------------
# Transcript


def transcript_rows(session: Session, user_id: int) -> list[TranscriptRow]:
    """Every live completion of a person with its item and current certificate (one query),
    then each programme credential they hold (its current award certificate: one query)."""
    current = and_(
        Certificate.completion_id == Completion.id,
        Certificate.is_current,
    )
    result = session.execute(
        select(Completion.completed_on, Completion.ce_hours, CatalogItem, Certificate.serial)
        .join(CatalogItem, CatalogItem.id == Completion.item_id)
        .outerjoin(Certificate, current)
        .where(Completion.user_id == user_id, Completion.is_live)
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
    ] + award_rows(session, user_id)


def award_rows(session: Session, user_id: int) -> list[TranscriptRow]:
    """The programme credentials a person holds, from their current award certificates."""
    awards = session.execute(
        select(Certificate.content, Certificate.serial, Certificate.issued_at)
        .where(
            Certificate.user_id == user_id,
            Certificate.credential_id.is_not(None),
            Certificate.is_current,
        )
        .order_by(Certificate.issued_at)
    )
    rows = []
    for content, serial, issued_at in awards:
        try:
            awarded_on = date.fromisoformat(content.get("completed_on", ""))
        except (TypeError, ValueError):
            awarded_on = local_date(issued_at, session)
        rows.append(
            TranscriptRow(
                code=content.get("item_code", ""),
                title=content.get("title", ""),
                kind_label=CREDENTIAL_FORMAT,
                completed_on=awarded_on,
                ce_hours=None,
                serial=serial,
            )
        )
    return rows


def transcript_pdf(session: Session, user_id: int, *, on: date | None = None) -> bytes:
    """A transcript PDF of a person's live completions, rendered now (not stored)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such person.")
    content = transcript_content(
        holder=holder_of(user),
        rows=transcript_rows(session, user_id),
        generated_on=on or today(session),
        programme=programme(session),
    )
    return base.render_pdf(TRANSCRIPT_DESIGN, content)


def total_ce_hours(rows: Sequence[TranscriptRow]) -> str:
    """The CE hours of transcript rows added up, as printed."""
    return format_hours(total_hours(r.ce_hours for r in rows))
