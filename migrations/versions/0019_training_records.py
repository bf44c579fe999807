"""training records: the de-identified KAP session log and the Certificate of Training's documents

`training_client_codes` holds the client codes the tracker made for each clinician (random,
nothing derived from a person); `training_sessions` one row per KAP session logged: month
and year (never a day), role, setting and a client code; `training_documents` one row per
version of a reflection paper or letter of recommendation, with its file and its review.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lms.db

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the client codes, the session log and the documents."""
    op.create_table(
        "training_client_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("created_at", lms.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_training_client_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_client_codes")),
    )
    with op.batch_alter_table("training_client_codes", schema=None) as batch_op:
        batch_op.create_index(
            "uq_training_client_codes_user_code", ["user_id", "code"], unique=True
        )

    op.create_table(
        "training_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "reflection_paper",
                "recommendation_letter",
                name="document_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "submitted",
                "changes_requested",
                "approved",
                "replaced",
                name="document_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("file_key", sa.String(length=100), nullable=True),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("media_type", sa.String(length=120), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column(
            "uploaded_by",
            sa.Enum(
                "clinician",
                "consultant",
                name="uploaded_by",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", lms.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", lms.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("review_comment", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(status IN ('approved', 'changes_requested')) = (reviewed_at IS NOT NULL)",
            name=op.f("ck_training_documents_reviewed_when_decided"),
        ),
        sa.CheckConstraint(
            "status <> 'changes_requested' OR review_comment IS NOT NULL",
            name=op.f("ck_training_documents_changes_say_what"),
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_training_documents_version_from_one")),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["users.id"],
            name=op.f("fk_training_documents_reviewer_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["users.id"],
            name=op.f("fk_training_documents_uploaded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_training_documents_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_documents")),
    )
    with op.batch_alter_table("training_documents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_training_documents_status", ["status", "uploaded_at"], unique=False
        )
        batch_op.create_index(
            "uq_training_documents_live",
            ["user_id", "kind"],
            unique=True,
            sqlite_where=sa.text("status IN ('submitted', 'approved')"),
            postgresql_where=sa.text("status IN ('submitted', 'approved')"),
        )
        batch_op.create_index(
            "uq_training_documents_version", ["user_id", "kind", "version"], unique=True
        )

    op.create_table(
        "training_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("client_code_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("month", sa.SmallInteger(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "therapist",
                "co_therapist",
                name="session_role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "setting",
            sa.Enum(
                "in_person",
                "online",
                "group",
                "group_online",
                name="session_setting",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", lms.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "month BETWEEN 1 AND 12", name=op.f("ck_training_sessions_month_of_year")
        ),
        sa.CheckConstraint(
            "year BETWEEN 1990 AND 2100", name=op.f("ck_training_sessions_plausible_year")
        ),
        sa.ForeignKeyConstraint(
            ["client_code_id"],
            ["training_client_codes.id"],
            name=op.f("fk_training_sessions_client_code_id_training_client_codes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_training_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_sessions")),
    )
    with op.batch_alter_table("training_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_training_sessions_user_id", ["user_id"], unique=False)


def downgrade() -> None:
    """Drop the three tables (their rows go with them)."""
    with op.batch_alter_table("training_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_training_sessions_user_id")

    op.drop_table("training_sessions")
    with op.batch_alter_table("training_documents", schema=None) as batch_op:
        batch_op.drop_index("uq_training_documents_version")
        batch_op.drop_index(
            "uq_training_documents_live",
            sqlite_where=sa.text("status IN ('submitted', 'approved')"),
            postgresql_where=sa.text("status IN ('submitted', 'approved')"),
        )
        batch_op.drop_index("ix_training_documents_status")

    op.drop_table("training_documents")
    with op.batch_alter_table("training_client_codes", schema=None) as batch_op:
        batch_op.drop_index("uq_training_client_codes_user_code")

    op.drop_table("training_client_codes")
