"""screening reviews: reviewers' decisions with their notes, and questions to the applicant

`screening_decisions` keeps each decision a medical reviewer made on a screening (the first
and every later change) with an optional note; `screening_questions` keeps the questions a
reviewer asked the applicant and their answers. Notes, questions and answers are health data,
encrypted with the screening key like the answers; purging erases them and keeps the dates.
Applications decided before this revision have no decision rows (their status and reviewer
still say who decided, and when).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lms.db

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create screening_decisions and screening_questions."""
    op.create_table(
        "screening_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column(
            "verdict",
            sa.Enum(
                "cleared",
                "not_cleared",
                name="verdict",
                native_enum=False,
                length=32,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("revisited", sa.Boolean(), nullable=False),
        sa.Column("note_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("decided_at", lms.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("purged_at", lms.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "note_encrypted IS NULL OR purged_at IS NULL",
            name=op.f("ck_screening_decisions_purged_has_no_note"),
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolments.id"],
            name=op.f("fk_screening_decisions_enrolment_id_enrolments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["users.id"],
            name=op.f("fk_screening_decisions_reviewer_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_decisions")),
    )
    with op.batch_alter_table("screening_decisions", schema=None) as batch_op:
        batch_op.create_index("ix_screening_decisions_enrolment_id", ["enrolment_id"], unique=False)

    op.create_table(
        "screening_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("asked_by_id", sa.Integer(), nullable=True),
        sa.Column("asked_at", lms.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("question_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("answered_at", lms.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answer_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("purged_at", lms.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(question_encrypted IS NULL) = (purged_at IS NOT NULL)",
            name=op.f("ck_screening_questions_purged_has_no_question"),
        ),
        sa.CheckConstraint(
            "answer_encrypted IS NULL OR (answered_at IS NOT NULL AND purged_at IS NULL)",
            name=op.f("ck_screening_questions_answer_is_answered"),
        ),
        sa.CheckConstraint(
            "answered_at IS NULL OR answer_encrypted IS NOT NULL OR purged_at IS NOT NULL",
            name=op.f("ck_screening_questions_answered_has_answer"),
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolments.id"],
            name=op.f("fk_screening_questions_enrolment_id_enrolments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["asked_by_id"],
            ["users.id"],
            name=op.f("fk_screening_questions_asked_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_questions")),
    )
    with op.batch_alter_table("screening_questions", schema=None) as batch_op:
        batch_op.create_index("ix_screening_questions_enrolment_id", ["enrolment_id"], unique=False)
        batch_op.create_index(
            "uq_screening_questions_open",
            ["enrolment_id"],
            unique=True,
            sqlite_where=sa.text("answered_at IS NULL"),
            postgresql_where=sa.text("answered_at IS NULL"),
        )


def downgrade() -> None:
    """Drop both (the notes, questions and answers are lost; decisions stay on applications)."""
    op.drop_table("screening_questions")
    op.drop_table("screening_decisions")
