"""waitlist index: each offering's waitlist in order, for a person's place on it

A clinician's dashboard and enrolments page say "3rd on the waitlist". The place was worked
out by reading the offering's whole waitlist; it is now a count of those ahead, which this
partial index (waitlisted rows only, in the order they are promoted) answers without
touching the table.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITLISTED = sa.text("status = 'waitlisted'")


def upgrade() -> None:
    """Create ix_enrolments_waitlist (offering_id, applied_at, id) over waitlisted rows."""
    op.create_index(
        "ix_enrolments_waitlist",
        "enrolments",
        ["offering_id", "applied_at", "id"],
        unique=False,
        sqlite_where=WAITLISTED,
        postgresql_where=WAITLISTED,
    )


def downgrade() -> None:
    """Drop it (places are then counted from the ix_enrolments_offering_id_status rows)."""
    op.drop_index("ix_enrolments_waitlist", table_name="enrolments")
