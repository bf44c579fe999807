"""standings of live places: an offering closed or cancelled holds nobody's place it did not settle

A standing's `applied` and `application_status` now count an enrolment or application only
while it is a live place (lms.offerings.models.holds_live_place): a waitlist place or an
application still in medical review when its session was closed, and any place in a cancelled
offering, stay on record but no longer read as where the person stands. The schema does not
change; every standing is recomputed once the upgrade reaches head, so rows kept under the old
rule (a clinician "Waitlisted" for a session that ran months ago) read as the rule says now.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07

"""

from collections.abc import Sequence

revision: str = "0026"
down_revision: str | Sequence[str] | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Ask for every standing to be recomputed once the run reaches head."""
    from lms.migrate import request_standings_refill

    request_standings_refill()


def downgrade() -> None:
    """Nothing to undo in the schema (the rows are judged again by the next event, or by
    `flask lms progress rebuild`, under the code that runs then)."""
