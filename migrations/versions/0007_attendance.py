"""attendance: who attended which day of an offering, and the participant reports behind it

`attendance` holds one row per enrolment and offering day (present or not, the minutes,
whether a facilitator typed it or a participant report filled it). `participant_report_rows`
keeps the rows of the last report imported for each day, rejoins summed per person: those
matched by e-mail, and the guests and unknown addresses a facilitator matches by hand later.

Both tables are new, so the downgrade simply drops them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lms.db

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    """The VARCHAR + CHECK column type lms.db.str_enum gives."""
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    """Create the attendance and participant report tables."""
    op.create_table(
        "attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("offering_day_id", sa.Integer(), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("source", _enum("source", "manual", "report"), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", lms.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "minutes IS NULL OR minutes >= 0", name=op.f("ck_attendance_minutes_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolments.id"],
            name=op.f("fk_attendance_enrolment_id_enrolments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["offering_day_id"],
            ["offering_days.id"],
            name=op.f("fk_attendance_offering_day_id_offering_days"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_attendance_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance")),
        sa.UniqueConstraint("enrolment_id", "offering_day_id", name="uq_attendance_enrolment_day"),
    )
    with op.batch_alter_table("attendance", schema=None) as batch_op:
        batch_op.create_index("ix_attendance_offering_day_id", ["offering_day_id"], unique=False)

    op.create_table(
        "participant_report_rows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offering_day_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("joins", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=True),
        sa.Column("match", _enum("match", "email", "hand", "unmatched"), nullable=False),
        sa.Column("imported_at", lms.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(enrolment_id IS NULL) = (match = 'unmatched')",
            name=op.f("ck_participant_report_rows_matched_has_enrolment"),
        ),
        sa.CheckConstraint("joins >= 1", name=op.f("ck_participant_report_rows_joins_positive")),
        sa.CheckConstraint(
            "minutes >= 0", name=op.f("ck_participant_report_rows_minutes_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolments.id"],
            name=op.f("fk_participant_report_rows_enrolment_id_enrolments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["offering_day_id"],
            ["offering_days.id"],
            name=op.f("fk_participant_report_rows_offering_day_id_offering_days"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participant_report_rows")),
    )
    with op.batch_alter_table("participant_report_rows", schema=None) as batch_op:
        batch_op.create_index(
            "ix_participant_report_rows_offering_day_id", ["offering_day_id"], unique=False
        )


def downgrade() -> None:
    """Drop both tables (what they held has no place in the older schema)."""
    with op.batch_alter_table("participant_report_rows", schema=None) as batch_op:
        batch_op.drop_index("ix_participant_report_rows_offering_day_id")
    op.drop_table("participant_report_rows")
    with op.batch_alter_table("attendance", schema=None) as batch_op:
        batch_op.drop_index("ix_attendance_offering_day_id")
    op.drop_table("attendance")
