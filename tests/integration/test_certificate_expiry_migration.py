"""Migration 0025: expiries stored before it move to the end of their programme date."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest
from migration_support import add_certificate, add_module_one
from sqlalchemy import Integer, column, text
from sqlalchemy.engine import Engine

from lms.db import UTCDateTime
from lms.migrate import downgrade, upgrade

BEFORE = "0024"  # the revision 0025 follows


def _expiries(engine: Engine) -> dict[int, datetime | None]:
    """Each certificate's stored expiry, as the tracker reads it (aware UTC)."""
    query = text("SELECT id, expires_at FROM certificates ORDER BY id").columns(
        column("id", Integer), column("expires_at", UTCDateTime())
    )
    with engine.connect() as conn:
        return {row.id: row.expires_at for row in conn.execute(query)}


def _set_zone(conn, zone: str) -> None:  # noqa: ANN001
    """The programme's time zone setting, as the catalogue stores it (a JSON string)."""
    conn.execute(
        text("INSERT INTO programme_settings (key, value) VALUES ('time_zone', :zone)"),
        {"zone": f'"{zone}"'},
    )


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
            _set_zone(conn, zone)
        add_certificate(conn, 10, expires_at=stored)
        add_certificate(conn, 11)  # never expires: stays so
    upgrade(engine, "0025")
    assert _expiries(engine) == {10: moved.replace(tzinfo=UTC), 11: None}
    downgrade(engine, BEFORE)  # changes nothing; upgrading again moves nothing further
    upgrade(engine, "0025")
    assert _expiries(engine) == {10: moved.replace(tzinfo=UTC), 11: None}


def test_migration_0025_keeps_the_date_the_certificate_prints_in_batches(
    blank_database: Engine,
) -> None:
    """The date printed on the certificate wins over the stored instant's date in the zone as
    set now (the programme moved to Berlin after issuing in Los Angeles), and the rows are
    moved a batch at a time, every one of them."""
    migration = _migration()
    engine = blank_database
    upgrade(engine, BEFORE)
    with engine.begin() as conn:
        add_module_one(conn)
        _set_zone(conn, "Europe/Berlin")
        # 17:00 Pacific on 5 Mar (01:00 UTC on the 6th, already the 6th in Berlin).
        issued_in_la = datetime(2027, 3, 6, 1, 0, tzinfo=UTC)
        for cid in range(20, 25):
            add_certificate(
                conn, cid, expires_at=issued_in_la, content={"expires_on": "2027-03-05"}
            )
        add_certificate(conn, 25, expires_at=issued_in_la)  # nothing printed: Berlin's date
        migration.move_expiries(conn, batch=2)
    end_of_the_5th = datetime(2027, 3, 5, 22, 59, 59, 999999, tzinfo=UTC)
    assert _expiries(engine) == {
        **dict.fromkeys(range(20, 25), end_of_the_5th),
        25: datetime(2027, 3, 6, 22, 59, 59, 999999, tzinfo=UTC),
    }


def _migration() -> ModuleType:
    """The migration's module, loaded from its file (Alembic does not import it by name)."""
    path = next(Path(__file__).parents[2].glob("migrations/versions/0025_*.py"))
    spec = importlib.util.spec_from_file_location("migration_0025", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
