"""training standings due: a change that re-judges every candidate is done by a job

`training_credentials.standings_due_at` is set when a requirement is published for everyone or
the catalogue changes in a way a verdict reads: every candidate's kept standing must be judged
again. A job does it in steps after the change commits and clears the mark; until then the
queues and the dashboard card say their figures are being recomputed. The job holds
`standings_claimed_at` while it works (renewed at each step), so the sweep that re-enqueues a
lost job does not start a second one beside a running one.

An index on training_consultations (user_id, state) lets the judging read a chunk of people's
confirmed consultations by person (SQLite's planner otherwise took the state index and read
every confirmed consultation of the programme for each chunk of 500 people).

`training_standings.waiting` says whether the candidate is in the staff's queues at all (the
account open, the credential not awarded), filled here from those facts, and leads the queues'
two indexes: the queues then count by the index alone, where they asked every row's account
and award (the programme's size, not the page's).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lms.db

revision: str = "0024"
down_revision: str | Sequence[str] | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the mark and the job's claim (empty: nothing is due, no job is at it)."""
    with op.batch_alter_table("training_credentials", schema=None) as batch:
        batch.add_column(
            sa.Column("standings_due_at", lms.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("standings_claimed_at", lms.db.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_index(
        "ix_training_consultations_user_id_state",
        "training_consultations",
        ["user_id", "state"],
        unique=False,
    )
    with op.batch_alter_table("training_standings", schema=None) as batch:
        batch.add_column(
            sa.Column("waiting", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.execute(
        "UPDATE training_standings SET waiting = false"
        " WHERE EXISTS (SELECT 1 FROM training_candidates c"
        "   WHERE c.user_id = training_standings.user_id"
        "   AND c.credential_id = training_standings.credential_id"
        "   AND c.awarded_at IS NOT NULL)"
        " OR NOT EXISTS (SELECT 1 FROM users u WHERE u.id = training_standings.user_id"
        "   AND u.active AND u.anonymised_at IS NULL)"
    )
    with op.batch_alter_table("training_standings", schema=None) as batch:
        batch.alter_column("waiting", existing_type=sa.Boolean(), server_default=None)
        batch.drop_index("ix_training_standings_met")
        batch.drop_index("ix_training_standings_window")
        batch.create_index(
            "ix_training_standings_ready",
            ["credential_id", "waiting", "met", "window_closes_on", "lapses_on"],
        )
        batch.create_index(
            "ix_training_standings_closing",
            ["credential_id", "waiting", "window_closes_on", "met", "lapses_on"],
        )


def downgrade() -> None:
    """Drop the mark (the standings it asked for are judged by the next event or a rebuild)."""
    with op.batch_alter_table("training_standings", schema=None) as batch:
        batch.drop_index("ix_training_standings_ready")
        batch.drop_index("ix_training_standings_closing")
        batch.create_index(
            "ix_training_standings_met",
            ["credential_id", "met", "window_closes_on", "lapses_on"],
        )
        batch.create_index(
            "ix_training_standings_window",
            ["credential_id", "window_closes_on", "met", "lapses_on"],
        )
        batch.drop_column("waiting")
    op.drop_index("ix_training_consultations_user_id_state", table_name="training_consultations")
    with op.batch_alter_table("training_credentials", schema=None) as batch:
        batch.drop_column("standings_claimed_at")
        batch.drop_column("standings_due_at")
