"""training awards: when a candidate was awarded their credential, and by whom

`training_candidates.awarded_at` is set when staff award the credential (and cleared if the
award is revoked); `awarded_by_id` names the member of staff. A candidate without an award
is still working towards it: the staff's "ready to award" and "window closing" queues read
only those.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lms.db

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the award's moment and author to the candidates."""
    with op.batch_alter_table("training_candidates") as batch:
        batch.add_column(sa.Column("awarded_at", lms.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("awarded_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_training_candidates_awarded_by_id_users"),
            "users",
            ["awarded_by_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    """Drop the award columns."""
    with op.batch_alter_table("training_candidates") as batch:
        batch.drop_constraint(
            op.f("fk_training_candidates_awarded_by_id_users"), type_="foreignkey"
        )
        batch.drop_column("awarded_by_id")
        batch.drop_column("awarded_at")
