"""consultation credit: outside-credit requests for consultations held with another programme

An equivalency request now counts either for a catalogue item (as before) or as a number of
group or individual consultations with their hours (`consultation_kind`, `consultations`;
`item_id` empty), which the Certificate of Training counts once approved.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Make the item optional and add the consultations' kind and count, with their checks."""
    with op.batch_alter_table("equivalency_requests", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "consultation_kind",
                sa.Enum(
                    "group_consultation",
                    "individual_consultation",
                    name="consultation_kind",
                    native_enum=False,
                    create_constraint=True,
                    length=32,
                ),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("consultations", sa.Integer(), nullable=True))
        batch_op.alter_column("item_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_check_constraint(
            op.f("ck_equivalency_requests_item_or_consultations"),
            "(item_id IS NULL) = (consultation_kind IS NOT NULL)",
        )
        batch_op.create_check_constraint(
            op.f("ck_equivalency_requests_consultations_in_range"),
            "consultation_kind IS NULL OR (consultations BETWEEN 1 AND 12 AND hours > 0 "
            "AND hours <= consultations * 24)",
        )


def downgrade() -> None:
    """Drop consultation credit (its requests first: they have no item to keep)."""
    op.execute("DELETE FROM equivalency_requests WHERE item_id IS NULL")
    with op.batch_alter_table("equivalency_requests", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("ck_equivalency_requests_consultations_in_range"), type_="check"
        )
        batch_op.drop_constraint(
            op.f("ck_equivalency_requests_item_or_consultations"), type_="check"
        )
        batch_op.drop_constraint(op.f("ck_equivalency_requests_consultation_kind"), type_="check")
        batch_op.alter_column("item_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("consultations")
        batch_op.drop_column("consultation_kind")
