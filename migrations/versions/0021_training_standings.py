"""training standings: where each Certificate of Training candidate stands, kept current

`training_standings` holds one row per candidate (user, credential): whether the requirement
they are held to is met, how many of its parts, the first counted event's date, the window's
closing date and the day the licence stops counting, so the staff queues ("ready to award",
"window closing") are indexed reads that compare those dates with today. An index on the
consultations' state and age serves the "awaiting confirmation" queue, oldest first; one on
the candidates' award finds the awarded few the queues leave out.

The rows of existing candidates are written by the tracker's own rule code once the run
reaches head (lms.migrate.request_training_standings_refill).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lms.migrate import request_training_standings_refill

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the standings and the queue's index; ask for the rows to be filled."""
    op.create_table(
        "training_standings",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.Integer(), nullable=False),
        sa.Column("met", sa.Boolean(), nullable=False),
        sa.Column("parts_met", sa.Integer(), nullable=False),
        sa.Column("parts_total", sa.Integer(), nullable=False),
        sa.Column("first_event_on", sa.Date(), nullable=True),
        sa.Column("window_closes_on", sa.Date(), nullable=True),
        sa.Column("lapses_on", sa.Date(), nullable=True),
        sa.Column("judged_on", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "parts_met >= 0 AND parts_met <= parts_total",
            name=op.f("ck_training_standings_parts_met_in_range"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id", "credential_id"],
            ["training_candidates.user_id", "training_candidates.credential_id"],
            name=op.f("fk_training_standings_user_id_training_candidates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "credential_id", name=op.f("pk_training_standings")),
    )
    with op.batch_alter_table("training_standings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_training_standings_met",
            ["credential_id", "met", "window_closes_on", "lapses_on"],
        )
        batch_op.create_index(
            "ix_training_standings_window",
            ["credential_id", "window_closes_on", "met", "lapses_on"],
        )
    with op.batch_alter_table("training_candidates", schema=None) as batch_op:
        batch_op.create_index("ix_training_candidates_awarded", ["credential_id", "awarded_at"])
    with op.batch_alter_table("training_consultations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_training_consultations_state_created_at", ["state", "created_at", "id"]
        )
    request_training_standings_refill()


def downgrade() -> None:
    """Drop the standings and the queue's index."""
    with op.batch_alter_table("training_consultations", schema=None) as batch_op:
        batch_op.drop_index("ix_training_consultations_state_created_at")
    with op.batch_alter_table("training_candidates", schema=None) as batch_op:
        batch_op.drop_index("ix_training_candidates_awarded")
    with op.batch_alter_table("training_standings", schema=None) as batch_op:
        batch_op.drop_index("ix_training_standings_window")
        batch_op.drop_index("ix_training_standings_met")
    op.drop_table("training_standings")
