"""catalogue version: one number the database bumps whenever any catalogue item changes

Every page that shows the catalogue checked, on each request, whether the copy of it each
process keeps was still current, by reading every item's id and last change (16 rows, their
timestamps parsed). The database now keeps one number instead: triggers on catalog_items add
one to it for every change (rows inserted, updated or deleted, a table truncated on
PostgreSQL), by the app, a Core statement or hand-written SQL alike, in the same
transaction. A page reads the number (beside the time zone, or riding along a read it makes
anyway) and compares it with the one its copy was read under.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUMP = "UPDATE catalogue_version SET version = version + 1 WHERE id = 1"
# SQLite has row triggers only: one per event, named for it.
SQLITE_TRIGGERS = {
    "INSERT": "catalog_items_inserted",
    "UPDATE": "catalog_items_updated",
    "DELETE": "catalog_items_deleted",
}


def upgrade() -> None:
    """Create catalogue_version (its one row at 1) and the triggers that bump it."""
    table = op.create_table(
        "catalogue_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_catalogue_version_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_version")),
    )
    op.bulk_insert(table, [{"id": 1, "version": 1}])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION lms_catalogue_changed() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {BUMP}; RETURN NULL; END $$"
        )
        op.execute(
            "CREATE TRIGGER catalog_items_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            "ON catalog_items FOR EACH STATEMENT EXECUTE FUNCTION lms_catalogue_changed()"
        )
        return
    for event, name in SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} AFTER {event} ON catalog_items BEGIN {BUMP}; END")


def downgrade() -> None:
    """Drop the triggers and the table (pages then compare every item's last change)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER catalog_items_changed ON catalog_items")
        op.execute("DROP FUNCTION lms_catalogue_changed()")
    else:
        for name in SQLITE_TRIGGERS.values():
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table("catalogue_version")
