"""certificate expiry at the end of its day: "valid until D" holds for all of D

An expiring certificate's `expires_at` was the instant of its issue, months later (issued at
14:30, it expired at 14:30 on its last date), while its PDF and its verify page say "valid
until" that date: on the day itself the verify page turned to "expired" in the afternoon.
New certificates now expire at the last instant of their programme date
(lms.clock.end_of_day). This moves the expiries already stored to the end of the date their
certificate prints (its frozen content's `expires_on`; for one without it, the stored
instant's date), in the programme's time zone as set now, so every certificate reads one way.
The dates people see do not change.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07

"""

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from alembic import op

import lms.db

revision: str = "0025"
down_revision: str | Sequence[str] | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_TIME_ZONE = "America/Los_Angeles"  # lms.clock's default, as of this revision
BATCH = 1000

_certificates = sa.table(
    "certificates",
    sa.column("id", sa.Integer),
    sa.column("expires_at", lms.db.UTCDateTime(timezone=True)),
    sa.column("content", sa.JSON),
)
_settings = sa.table("programme_settings", sa.column("key", sa.String), sa.column("value", sa.JSON))


def _zone(connection: sa.Connection) -> ZoneInfo:
    """The programme's time zone setting, or the default when unset or unknown."""
    name = connection.scalar(sa.select(_settings.c.value).where(_settings.c.key == "time_zone"))
    try:
        return ZoneInfo(name) if isinstance(name, str) and name else ZoneInfo(DEFAULT_TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIME_ZONE)


def _printed_day(expires_at: datetime, content: object, zone: ZoneInfo) -> date:
    """The date the certificate says it is valid until: its frozen content's, else the
    programme's date of the stored instant."""
    printed = content.get("expires_on") if isinstance(content, dict) else None
    if isinstance(printed, str) and printed:
        try:
            return date.fromisoformat(printed)
        except ValueError:
            pass
    return expires_at.astimezone(zone).date()


def _end_of_day(day: date, zone: ZoneInfo) -> datetime:
    """The last instant (UTC) of a programme date (kept here as written at this revision, so
    later changes to lms.clock do not change what this migration does)."""
    next_day = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)
    return (next_day - timedelta(microseconds=1)).astimezone(UTC)


def move_expiries(connection: sa.Connection, batch: int = BATCH) -> None:
    """Move every stored expiry to the end of its printed date, `batch` rows at a time."""
    zone = _zone(connection)
    move = (
        sa.update(_certificates)
        .where(_certificates.c.id == sa.bindparam("certificate_id"))
        .values(expires_at=sa.bindparam("end_of_day"))
    )
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(_certificates.c.id, _certificates.c.expires_at, _certificates.c.content)
            .where(_certificates.c.expires_at.is_not(None), _certificates.c.id > last_id)
            .order_by(_certificates.c.id)
            .limit(batch)
        ).all()
        if not rows:
            return
        moved = [
            {
                "certificate_id": row.id,
                "end_of_day": _end_of_day(_printed_day(row.expires_at, row.content, zone), zone),
            }
            for row in rows
        ]
        connection.execute(move, moved)
        last_id = rows[-1].id


def upgrade() -> None:
    """Move every stored expiry to the end of the date its certificate prints."""
    move_expiries(op.get_bind())


def downgrade() -> None:
    """Nothing to undo: the end of the same date is as good an expiry for the old code."""
