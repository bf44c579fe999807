"""cache versions: the data version every committed change bumps

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create cache_versions with its one 'data' counter at 0."""
    table = op.create_table(
        "cache_versions",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_cache_versions")),
    )
    op.bulk_insert(table, [{"key": "data", "version": 0}])


def downgrade() -> None:
    """Drop cache_versions."""
    op.drop_table("cache_versions")
