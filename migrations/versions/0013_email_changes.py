"""email changes: an account's new address waits here until the link sent there is followed

Changing one's e-mail address no longer takes effect at once: the request is kept (one per
account, replaced by a newer one) until the link e-mailed to the new address is followed,
and can be cancelled or its link sent again meanwhile.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lms.db

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create email_changes (a row per account with a change waiting)."""
    op.create_table(
        "email_changes",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("new_email", sa.String(length=320), nullable=False),
        sa.Column("requested_at", lms.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_email_changes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_email_changes")),
    )


def downgrade() -> None:
    """Drop it (changes still waiting are forgotten; their links stop working)."""
    op.drop_table("email_changes")
