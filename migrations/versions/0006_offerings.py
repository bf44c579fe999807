"""offerings: one model for every dated run of an item; enrolments for every place

Completions learn which offering's attendance earned them and the CE hours awarded when
those are not the item's (partial credit).

Retreat sessions become offerings (with a row per day, a status and a format) and
applications become enrolments, so modules and retreats share one capacity and waitlist
mechanism; retreats keep their application and screening steps on top. Every row keeps its
id, so audit events, screenings and links that name a session or an application still
point at the same thing. An application's "accepted" is an enrolment's "enrolled".

The downgrade carries retreat offerings and their enrolments back; offerings of modules
(and their enrolments) have no place in the old schema and are dropped with it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

"""

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

import lms.db

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENROLMENT_STATUSES = (
    "medical_review",
    "not_cleared",
    "enrolled",
    "waitlisted",
    "attended",
    "absent",
    "withdrawn",
)
APPLICATION_STATUSES = tuple("accepted" if s == "enrolled" else s for s in ENROLMENT_STATUSES)


def _status(values: Sequence[str]) -> sa.Enum:
    """The VARCHAR + CHECK column type lms.db.str_enum gives."""
    return sa.Enum(*values, name="status", native_enum=False, create_constraint=True, length=32)


def _reset_sequence(table: str) -> None:
    """Rows were copied with their ids: PostgreSQL's sequence must continue after them."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - our names
            f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        )


def _create_offerings() -> None:
    """The new tables, as the models declare them."""
    op.create_table(
        "offerings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            _status(("scheduled", "in_progress", "closed", "cancelled")),
            nullable=False,
        ),
        sa.Column(
            "format",
            sa.Enum(
                "live_online",
                "in_person",
                name="format",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("join_url", sa.String(length=500), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("enrolment_deadline", sa.Date(), nullable=True),
        sa.Column("created_at", lms.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", lms.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", lms.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('scheduled', 'closed', 'cancelled')",
            name=op.f("ck_offerings_stored_status_only"),
        ),
        sa.CheckConstraint("capacity >= 0", name=op.f("ck_offerings_capacity_not_negative")),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_offerings_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["closed_by_id"],
            ["users.id"],
            name=op.f("fk_offerings_closed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["catalog_items.id"],
            name=op.f("fk_offerings_item_id_catalog_items"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offerings")),
        sa.UniqueConstraint("item_id", "starts_on", "location", name="uq_offerings_item_start"),
    )
    with op.batch_alter_table("offerings", schema=None) as batch_op:
        batch_op.create_index("ix_offerings_starts_on", ["starts_on"], unique=False)

    op.create_table(
        "offering_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offering_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("starts_at", sa.Time(), nullable=True),
        sa.Column("ends_at", sa.Time(), nullable=True),
        sa.Column("ce_hours", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.CheckConstraint(
            "(starts_at IS NULL) = (ends_at IS NULL)", name=op.f("ck_offering_days_times_together")
        ),
        sa.CheckConstraint(
            "ce_hours IS NULL OR ce_hours >= 0", name=op.f("ck_offering_days_ce_hours_not_negative")
        ),
        sa.CheckConstraint(
            "ends_at IS NULL OR ends_at > starts_at", name=op.f("ck_offering_days_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["offering_id"],
            ["offerings.id"],
            name=op.f("fk_offering_days_offering_id_offerings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offering_days")),
        sa.UniqueConstraint("offering_id", "held_on", name="uq_offering_days_offering_held_on"),
    )
    op.create_table(
        "offering_facilitators",
        sa.Column("offering_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["offering_id"],
            ["offerings.id"],
            name=op.f("fk_offering_facilitators_offering_id_offerings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_offering_facilitators_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("offering_id", "user_id", name=op.f("pk_offering_facilitators")),
    )
    op.create_table(
        "enrolments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("offering_id", sa.Integer(), nullable=False),
        sa.Column("status", _status(ENROLMENT_STATUSES), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "self",
                "staff",
                "import",
                name="source",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("enrolled_by_id", sa.Integer(), nullable=True),
        sa.Column("low_risk", sa.Boolean(), nullable=False),
        sa.Column("applied_at", lms.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", lms.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_at", lms.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", lms.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attendance_marked_at", lms.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attendance_marked_by_id", sa.Integer(), nullable=True),
        sa.Column("reminded_at", lms.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["attendance_marked_by_id"],
            ["users.id"],
            name=op.f("fk_enrolments_attendance_marked_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["enrolled_by_id"],
            ["users.id"],
            name=op.f("fk_enrolments_enrolled_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["offering_id"],
            ["offerings.id"],
            name=op.f("fk_enrolments_offering_id_offerings"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["users.id"],
            name=op.f("fk_enrolments_reviewer_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_enrolments_user_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolments")),
    )
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_enrolments_offering_id_status", ["offering_id", "status"], unique=False
        )
        batch_op.create_index("ix_enrolments_user_id", ["user_id"], unique=False)
        batch_op.create_index(
            "uq_enrolments_live",
            ["user_id", "offering_id"],
            unique=True,
            sqlite_where=sa.text("status != 'withdrawn'"),
            postgresql_where=sa.text("status != 'withdrawn'"),
        )


def _create_retreat_tables() -> None:
    """The old tables, as 0001 and 0003 left them (for the downgrade)."""
    op.create_table(
        "retreat_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("application_deadline", sa.Date(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", lms.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("capacity >= 0", name=op.f("ck_retreat_sessions_capacity_not_negative")),
        sa.CheckConstraint(
            "ends_on >= starts_on", name=op.f("ck_retreat_sessions_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["catalog_items.id"],
            name=op.f("fk_retreat_sessions_item_id_catalog_items"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retreat_sessions")),
        sa.UniqueConstraint(
            "item_id", "starts_on", "location", name="uq_retreat_sessions_item_start"
        ),
    )
    op.create_table(
        "applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("status", _status(APPLICATION_STATUSES), nullable=False),
        sa.Column("low_risk", sa.Boolean(), nullable=False),
        sa.Column("applied_at", lms.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", lms.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_at", lms.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", lms.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attendance_marked_at", lms.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attendance_marked_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["attendance_marked_by_id"],
            ["users.id"],
            name=op.f("fk_applications_attendance_marked_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["users.id"],
            name=op.f("fk_applications_reviewer_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["retreat_sessions.id"],
            name=op.f("fk_applications_session_id_retreat_sessions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_applications_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
    )
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_applications_session_id_status", ["session_id", "status"], unique=False
        )
        batch_op.create_index(
            "uq_applications_live",
            ["user_id", "session_id"],
            unique=True,
            sqlite_where=sa.text("status != 'withdrawn'"),
            postgresql_where=sa.text("status != 'withdrawn'"),
        )
        batch_op.create_index("ix_applications_user_id", ["user_id"], unique=False)


def _drop_retreat_tables() -> None:
    """Drop the old tables (their rows are copied by then)."""
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_index("ix_applications_user_id")
        batch_op.drop_index("ix_applications_session_id_status")
        batch_op.drop_index(
            "uq_applications_live",
            sqlite_where=sa.text("status != 'withdrawn'"),
            postgresql_where=sa.text("status != 'withdrawn'"),
        )
    op.drop_table("applications")
    op.drop_table("retreat_sessions")


def _point_screenings(new_column: str, new_table: str, old_column: str, old_table: str) -> None:
    """Screenings keep their rows; their key column follows the table it belongs to."""
    with op.batch_alter_table("screenings", schema=None) as batch_op:
        batch_op.drop_constraint(f"fk_screenings_{old_column}_{old_table}", type_="foreignkey")
        batch_op.alter_column(old_column, new_column_name=new_column)
    # A second pass: SQLite's batch copy builds the new foreign key on the renamed column.
    with op.batch_alter_table("screenings", schema=None) as batch_op:
        batch_op.create_foreign_key(
            f"fk_screenings_{new_column}_{new_table}",
            new_table,
            [new_column],
            ["id"],
            ondelete="CASCADE",
        )


def upgrade() -> None:
    """Create offerings and enrolments, copy sessions and applications into them, drop those."""
    _create_offerings()
    bind = op.get_bind()
    op.execute(
        "INSERT INTO offerings (id, item_id, status, format, starts_on, ends_on, location,"
        " join_url, capacity, enrolment_deadline, created_at, updated_at)"
        " SELECT id, item_id, CASE WHEN active THEN 'scheduled' ELSE 'cancelled' END,"
        " 'in_person', starts_on, ends_on, location, '', capacity, application_deadline,"
        " created_at, created_at FROM retreat_sessions"
    )
    days = sa.table(
        "offering_days", sa.column("offering_id", sa.Integer), sa.column("held_on", sa.Date)
    )
    sessions = sa.table(
        "retreat_sessions",
        sa.column("id", sa.Integer),
        sa.column("starts_on", sa.Date),
        sa.column("ends_on", sa.Date),
    )
    rows = [
        {"offering_id": sid, "held_on": starts + timedelta(days=n)}
        for sid, starts, ends in bind.execute(
            sa.select(sessions.c.id, sessions.c.starts_on, sessions.c.ends_on)
        )
        for n in range((ends - starts).days + 1)
    ]
    if rows:
        bind.execute(days.insert(), rows)
    op.execute(
        "INSERT INTO enrolments (id, user_id, offering_id, status, source, low_risk, applied_at,"
        " reviewer_id, reviewed_at, decided_at, withdrawn_at, attendance_marked_at,"
        " attendance_marked_by_id)"
        " SELECT id, user_id, session_id,"
        " CASE WHEN status = 'accepted' THEN 'enrolled' ELSE status END, 'self', low_risk,"
        " applied_at, reviewer_id, reviewed_at, decided_at, withdrawn_at, attendance_marked_at,"
        " attendance_marked_by_id FROM applications"
    )
    _point_screenings("enrolment_id", "enrolments", "application_id", "applications")
    with op.batch_alter_table("completions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("offering_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("ce_hours", sa.Numeric(precision=6, scale=2), nullable=True))
        batch_op.create_foreign_key(
            "fk_completions_offering_id_offerings",
            "offerings",
            ["offering_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_check_constraint(
            "ck_completions_ce_hours_not_negative", "ce_hours IS NULL OR ce_hours >= 0"
        )
    _drop_retreat_tables()
    _reset_sequence("offerings")
    _reset_sequence("enrolments")
    # The standings are recomputed once the upgrade reaches head (0008 asks for it), when
    # the schema is the one the rule code reads (lms.migrate.request_standings_refill).


def downgrade() -> None:
    """Carry retreat offerings and their enrolments back into sessions and applications."""
    _create_retreat_tables()
    op.execute(
        "INSERT INTO retreat_sessions (id, item_id, starts_on, ends_on, location, capacity,"
        " application_deadline, active, created_at)"
        " SELECT id, item_id, starts_on, ends_on, location, capacity, enrolment_deadline,"
        " status != 'cancelled', created_at FROM offerings"
        " WHERE item_id IN (SELECT id FROM catalog_items WHERE kind = 'retreat')"
    )
    op.execute(
        "INSERT INTO applications (id, user_id, session_id, status, low_risk, applied_at,"
        " reviewer_id, reviewed_at, decided_at, withdrawn_at, attendance_marked_at,"
        " attendance_marked_by_id)"
        " SELECT id, user_id, offering_id,"
        " CASE WHEN status = 'enrolled' THEN 'accepted' ELSE status END, low_risk, applied_at,"
        " reviewer_id, reviewed_at, decided_at, withdrawn_at, attendance_marked_at,"
        " attendance_marked_by_id FROM enrolments"
        " WHERE offering_id IN (SELECT id FROM retreat_sessions)"
    )
    op.execute("DELETE FROM screenings WHERE enrolment_id NOT IN (SELECT id FROM applications)")
    _point_screenings("application_id", "applications", "enrolment_id", "enrolments")
    with op.batch_alter_table("completions", schema=None) as batch_op:
        batch_op.drop_constraint("fk_completions_offering_id_offerings", type_="foreignkey")
        batch_op.drop_constraint("ck_completions_ce_hours_not_negative", type_="check")
        batch_op.drop_column("ce_hours")
        batch_op.drop_column("offering_id")
    op.execute(
        "UPDATE standings SET application_status = 'accepted' WHERE application_status = 'enrolled'"
    )
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_enrolments_live",
            sqlite_where=sa.text("status != 'withdrawn'"),
            postgresql_where=sa.text("status != 'withdrawn'"),
        )
        batch_op.drop_index("ix_enrolments_user_id")
        batch_op.drop_index("ix_enrolments_offering_id_status")
    op.drop_table("enrolments")
    op.drop_table("offering_facilitators")
    op.drop_table("offering_days")
    with op.batch_alter_table("offerings", schema=None) as batch_op:
        batch_op.drop_index("ix_offerings_starts_on")
    op.drop_table("offerings")
    _reset_sequence("retreat_sessions")
    _reset_sequence("applications")
