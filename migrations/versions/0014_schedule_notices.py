"""schedule notices: an offering's calendar sequence, a notice's topic, a message's attachments

Moving an offering's days, hours, place or join link (or cancelling it) now tells everyone
enrolled or waiting, with an updated calendar entry: each offering counts its notified
changes (the iCalendar SEQUENCE every calendar file of it carries), a notice names what it
is about (so a newer notice about the same offering supersedes an older unread one), and an
outbox message can carry calendar attachments.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add offerings.calendar_sequence (0 for every offering so far), notifications.topic
    (empty: older notices are about nothing in particular) and outbox_messages.attachments."""
    with op.batch_alter_table("offerings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("calendar_sequence", sa.Integer(), nullable=True))
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("topic", sa.String(length=60), nullable=True))
    op.execute("UPDATE offerings SET calendar_sequence = 0")
    op.execute("UPDATE notifications SET topic = ''")
    with op.batch_alter_table("offerings", schema=None) as batch_op:
        batch_op.alter_column("calendar_sequence", existing_type=sa.Integer(), nullable=False)
        batch_op.create_check_constraint(
            op.f("ck_offerings_calendar_sequence_not_negative"), "calendar_sequence >= 0"
        )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.alter_column("topic", existing_type=sa.String(length=60), nullable=False)
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attachments", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop them (calendar files start again at SEQUENCE 0)."""
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_column("attachments")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_column("topic")
    with op.batch_alter_table("offerings", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("ck_offerings_calendar_sequence_not_negative"), type_="check"
        )
        batch_op.drop_column("calendar_sequence")
