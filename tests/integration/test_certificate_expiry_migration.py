"""Migration 0025: expiries stored before it move to the end of their programme date."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from migration_support import add_certificate, add_module_one
from sqlalchemy import Integer, column, text
from sqlalchemy.engine import Engine

from lms.db import UTCDateTime
from lms.migrate import upgrade

BEFORE = "0024"  # the revision 0025 follows


def _expiries(engine: Engine) -> dict[int, datetime | None]:
    """Each certificate's stored expiry, as the tracker reads it (aware UTC)."""
    query = text("SELECT id, expires_at FROM certificates ORDER BY id").columns(
        column("id", Integer), column("expires_at", UTCDateTime())
    )
    with engine.connect() as conn:
        return {row.id: row.expires_at for row in conn.execute(query)}


@pytest.mark.parametrize(
    ("zone", "stored", "moved"),
    [
        # Issued at 14:30 Pacific (22:30 UTC): the date there ends at 07:59:59.999999 UTC.
        (None, datetime(2027, 3, 5, 22, 30, tzinfo=UTC), datetime(2027, 3, 6, 7, 59, 59, 999999)),
        # 01:00 UTC on the 31st is still the 30th in Los Angeles: the 30th is the date printed.
        (None, datetime(2027, 1, 31, 1, 0, tzinfo=UTC), datetime(2027, 1, 31, 7, 59, 59, 999999)),
        # A programme on Berlin's clock: the 5th ends at 22:59:59.999999 UTC.
        (
            "Europe/Berlin",
            datetime(2027, 3, 5, 10, 0, tzinfo=UTC),
            datetime(2027, 3, 5, 22, 59, 59, 999999),
        ),
    ],
)
def test_migration_0025_moves_each_expiry_to_the_end_of_its_programme_date(
    blank_database: Engine, zone: str | None, stored: datetime, moved: datetime
) -> None:
    engine = blank_database
    upgrade(engine, BEFORE)
    with engine.begin() as conn:
        add_module_one(conn)
        if zone is not None:
            conn.execute(
                text("INSERT INTO programme_settings (key, value) VALUES ('time_zone', :zone)"),
                {"zone": f'"{zone}"'},
            )
        add_certificate(conn, 10, expires_at=stored)
        add_certificate(conn, 11)  # never expires: stays so
    upgrade(engine, "0025")
    assert _expiries(engine) == {10: moved.replace(tzinfo=UTC), 11: None}
    upgrade(engine, "0025")  # at head already: nothing moves again
    assert _expiries(engine)[10] == moved.replace(tzinfo=UTC)
