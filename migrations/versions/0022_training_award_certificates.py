"""training award certificates: the Certificate of Training's own certificate, and the opt-in
public directory of certified practitioners

A certificate so far stood for one completion of a catalogue item. The programme's credential
is not a catalogue item (it is never marked, taught or offered), so `certificates` gains a
nullable `credential_id` (a training credential) and `item_id` / `completion_id` become
nullable: a row stands for exactly one of the two (`ck_certificates_one_basis`), and at most
one award certificate per person and credential is current (`uq_certificates_current_award`).
Issue, render, verify, revoke, the Open Badge and its status list work on the row as before.

`training_directory_listings` holds the practitioners who opted in to the public directory
(city and state only); nobody is listed unless they ask.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lms.db

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ONE_BASIS = (
    "(credential_id IS NULL AND completion_id IS NOT NULL AND item_id IS NOT NULL)"
    " OR (credential_id IS NOT NULL AND completion_id IS NULL AND item_id IS NULL)"
)
CURRENT_AWARD = "credential_id IS NOT NULL AND revoked_at IS NULL AND superseded_by_id IS NULL"


def upgrade() -> None:
    """Let a certificate stand for a credential; add the directory listings."""
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credential_id", sa.Integer(), nullable=True))
        batch_op.alter_column("item_id", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("completion_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            op.f("fk_certificates_credential_id_training_credentials"),
            "training_credentials",
            ["credential_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_check_constraint("one_basis", ONE_BASIS)
        batch_op.create_index(
            "uq_certificates_current_award",
            ["user_id", "credential_id"],
            unique=True,
            sqlite_where=sa.text(CURRENT_AWARD),
            postgresql_where=sa.text(CURRENT_AWARD),
        )
    op.create_table(
        "training_directory_listings",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=60), nullable=False),
        sa.Column("listed_at", lms.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_training_directory_listings_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_training_directory_listings")),
    )


def downgrade() -> None:
    """Drop the listings and the award certificates (a certificate needs an item again)."""
    op.drop_table("training_directory_listings")
    op.execute(
        "DELETE FROM credential_statuses WHERE certificate_id IN"
        " (SELECT id FROM certificates WHERE credential_id IS NOT NULL)"
    )
    op.execute("UPDATE certificates SET superseded_by_id = NULL WHERE credential_id IS NOT NULL")
    op.execute("DELETE FROM certificates WHERE credential_id IS NOT NULL")
    # The awards go with their certificates (an award without one could never be made again);
    # their stored PDFs and pictures are left to the storage sweeps.
    op.execute("UPDATE training_candidates SET awarded_at = NULL, awarded_by_id = NULL")
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_certificates_current_award",
            sqlite_where=sa.text(CURRENT_AWARD),
            postgresql_where=sa.text(CURRENT_AWARD),
        )
        batch_op.drop_constraint(batch_op.f("ck_certificates_one_basis"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_certificates_credential_id_training_credentials"), type_="foreignkey"
        )
        batch_op.alter_column("completion_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("item_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("credential_id")
