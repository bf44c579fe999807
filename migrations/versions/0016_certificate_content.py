"""certificate content: programme images stored by digest, an activity ID on items

`programme_images` keeps the images an administrator uploads for certificates (signatures,
the provider's logo), each under the SHA-256 of its bytes, so an issued certificate that names
a digest always shows the same picture. Catalogue items gain `activity_id`, the activity ID a
certificate prints; existing items get none ("") until the catalogue file gives one.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lms.db

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create programme_images; add catalog_items.activity_id ("" for existing items)."""
    op.create_table(
        "programme_images",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", lms.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_programme_images")),
    )
    # A plain ADD COLUMN (not a batch copy of the table, which would drop its triggers that
    # count catalogue changes): the server default fills the existing rows.
    op.add_column(
        "catalog_items",
        sa.Column(
            "activity_id", sa.String(length=60), server_default=sa.text("''"), nullable=False
        ),
    )


def downgrade() -> None:
    """Drop catalog_items.activity_id and programme_images."""
    op.drop_column("catalog_items", "activity_id")
    op.drop_table("programme_images")
