"""outbox message ids: a stable Message-ID per row and the server's reply on acceptance

Delivery becomes idempotent: each row keeps one Message-ID for every attempt (a copy resent
after an interrupted attempt can be recognised by receivers), and `server_reply` records what
the server answered when it took the message. Existing rows get a Message-ID of their own.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add message_id (filled for existing rows, then required and unique) and server_reply."""
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message_id", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("server_reply", sa.String(length=500), nullable=True))
    op.execute(
        "UPDATE outbox_messages SET message_id = "
        "'<outbox.' || CAST(id AS VARCHAR(20)) || '@kap-training.invalid>' "
        "WHERE message_id IS NULL"
    )
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.alter_column("message_id", existing_type=sa.String(length=255), nullable=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_outbox_messages_message_id"), ["message_id"]
        )


def downgrade() -> None:
    """Drop both columns."""
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_outbox_messages_message_id"), type_="unique")
        batch_op.drop_column("server_reply")
        batch_op.drop_column("message_id")
