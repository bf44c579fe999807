"""training credential: the Certificate of Training's requirement and the consultation log

`training_credentials` names a programme credential and `training_requirement_versions` keeps
each version of its rule (a rule tree of lms.catalog.rules, never edited: a change is a new
version); `training_candidates` holds each clinician to the version they started under.
`training_consultants` is the approved list the admin keeps; `training_consultations` the
consultations clinicians log, with whether the consultant was approved on the day. The
default Certificate of Training (version 1, as DOMAIN.md describes it) is written here, so
every database has it. The roles gain `consultant` (a consultant with an account confirms
their consultations in it).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lms.db

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CREDENTIAL_CODE = "CERT-TRAINING"
CREDENTIAL_TITLE = "Certificate of Training"
# Version 1 of its requirement: Modules 1-5 (Module 5 is the practice module), any 2 further
# modules, 12 group consultations (24 hours), 12 individual consultations, a retreat or an
# experiential alternative, 18 sessions as therapist with 3 different clients, the reflection
# paper and the letter of recommendation approved, licensed, all within 24 months.
DEFAULT_RULE = {
    "all": [
        {"all": [{"completed": code} for code in ("M1", "M2", "M3", "M4", "M5")]},
        {
            "at_least": 2,
            "of": [
                {"completed": code}
                for code in ("M6", "M7", "HTH", "MUSIC", "MEDICAL", "INTEGRATION", "ETHICS", "ACT")
            ],
        },
        {"logged": {"kind": "group_consultation", "count": 12, "hours": 24}},
        {"logged": {"kind": "individual_consultation", "count": 12}},
        {
            "any": [
                {"completed": "RETREAT-L1"},
                {"equivalent": "RETREAT-L1"},
                {"completed": "RETREAT-ADV"},
                {"completed": "RETREAT-DFH"},
            ]
        },
        {"logged": {"kind": "therapist_session", "count": 18}},
        {"distinct_clients_at_least": 3},
        {"document_approved": "reflection_paper"},
        {"document_approved": "recommendation_letter"},
        {"licensed": True},
        {"within_months": 24},
    ]
}


def upgrade() -> None:
    """Create the credential, requirement, candidate, consultant and consultation tables."""
    op.create_table(
        "training_consultants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("credentials", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("approved_on", sa.Date(), nullable=False),
        sa.Column("retired_on", sa.Date(), nullable=True),
        sa.Column("created_at", lms.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "retired_on IS NULL OR retired_on >= approved_on",
            name=op.f("ck_training_consultants_retired_after_approved"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_consultants")),
        sa.UniqueConstraint("email", name=op.f("uq_training_consultants_email")),
    )
    op.create_table(
        "training_credentials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", lms.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_credentials")),
        sa.UniqueConstraint("code", name=op.f("uq_training_credentials_code")),
    )
    op.create_table(
        "training_consultations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("consultant_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "group_consultation",
                "individual_consultation",
                name="kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("hours", sa.Numeric(precision=4, scale=2), nullable=False),
        sa.Column("topic", sa.String(length=120), nullable=False),
        sa.Column("consultant_was_approved", sa.Boolean(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "awaiting_confirmation",
                "confirmed",
                "consultant_declined",
                "voided",
                name="state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", lms.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", lms.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("voided_by_id", sa.Integer(), nullable=True),
        sa.Column("voided_at", lms.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "hours > 0 AND hours <= 24", name=op.f("ck_training_consultations_hours_in_a_day")
        ),
        sa.ForeignKeyConstraint(
            ["consultant_id"],
            ["training_consultants.id"],
            name=op.f("fk_training_consultations_consultant_id_training_consultants"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_training_consultations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["voided_by_id"],
            ["users.id"],
            name=op.f("fk_training_consultations_voided_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_consultations")),
    )
    with op.batch_alter_table("training_consultations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_training_consultations_consultant_state", ["consultant_id", "state"], unique=False
        )
        batch_op.create_index(
            "ix_training_consultations_user_id_held_on", ["user_id", "held_on"], unique=False
        )
        batch_op.create_index(
            "uq_training_consultations_live",
            ["user_id", "consultant_id", "held_on", "kind"],
            unique=True,
            sqlite_where=sa.text("state IN ('awaiting_confirmation', 'confirmed')"),
            postgresql_where=sa.text("state IN ('awaiting_confirmation', 'confirmed')"),
        )

    op.create_table(
        "training_requirement_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("rule", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", lms.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "number >= 1", name=op.f("ck_training_requirement_versions_number_positive")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_training_requirement_versions_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["training_credentials.id"],
            name=op.f("fk_training_requirement_versions_credential_id_training_credentials"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_requirement_versions")),
        sa.UniqueConstraint("credential_id", "number", name="one_number_per_credential"),
    )
    op.create_table(
        "training_candidates",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("started_at", lms.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["training_credentials.id"],
            name=op.f("fk_training_candidates_credential_id_training_credentials"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_training_candidates_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["training_requirement_versions.id"],
            name=op.f("fk_training_candidates_version_id_training_requirement_versions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("user_id", "credential_id", name=op.f("pk_training_candidates")),
    )
    _write_default_credential()
    _roles_check(ROLES_WITH_CONSULTANT)


ROLES = ("clinician", "instructor", "medical_reviewer", "admin")
ROLES_WITH_CONSULTANT = (*ROLES, "consultant")


def _roles_check(roles: tuple[str, ...]) -> None:
    """The CHECK constraint on user_roles.role allowing exactly these roles."""
    allowed = ", ".join(f"'{role}'" for role in roles)
    with op.batch_alter_table("user_roles", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_user_roles_role"), type_="check")
        batch_op.create_check_constraint("role", f"role IN ({allowed})")


def _write_default_credential() -> None:
    """The Certificate of Training with version 1 of its requirement."""
    now = lms.db.utcnow()
    credentials = sa.table(
        "training_credentials",
        sa.column("id", sa.Integer),
        sa.column("code", sa.String),
        sa.column("title", sa.String),
        sa.column("active", sa.Boolean),
        sa.column("created_at", lms.db.UTCDateTime(timezone=True)),
    )
    versions = sa.table(
        "training_requirement_versions",
        sa.column("credential_id", sa.Integer),
        sa.column("number", sa.Integer),
        sa.column("rule", sa.JSON),
        sa.column("note", sa.String),
        sa.column("created_at", lms.db.UTCDateTime(timezone=True)),
    )
    op.bulk_insert(
        credentials,
        [{"code": CREDENTIAL_CODE, "title": CREDENTIAL_TITLE, "active": True, "created_at": now}],
    )
    bind = op.get_bind()
    credential_id = bind.execute(
        sa.select(credentials.c.id).where(credentials.c.code == CREDENTIAL_CODE)
    ).scalar_one()
    op.bulk_insert(
        versions,
        [
            {
                "credential_id": credential_id,
                "number": 1,
                "rule": DEFAULT_RULE,
                "note": "The programme's published requirement",
                "created_at": now,
            }
        ],
    )


def downgrade() -> None:
    """Drop them (and the consultant role, whose holders lose it)."""
    op.execute("DELETE FROM user_roles WHERE role = 'consultant'")
    _roles_check(ROLES)
    op.drop_table("training_candidates")
    op.drop_table("training_requirement_versions")
    with op.batch_alter_table("training_consultations", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_training_consultations_live",
            sqlite_where=sa.text("state IN ('awaiting_confirmation', 'confirmed')"),
            postgresql_where=sa.text("state IN ('awaiting_confirmation', 'confirmed')"),
        )
        batch_op.drop_index("ix_training_consultations_user_id_held_on")
        batch_op.drop_index("ix_training_consultations_consultant_state")

    op.drop_table("training_consultations")
    op.drop_table("training_credentials")
    op.drop_table("training_consultants")
