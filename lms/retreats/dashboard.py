"""The retreats' part of the clinician dashboard: where they stand with each retreat."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from lms.auth.models import User
from lms.retreats.services import retreat_standings

if TYPE_CHECKING:
    from lms.progress.services import ClinicianSnapshot


def dashboard_section(
    session: Session, user: User, snapshot: ClinicianSnapshot | None = None
) -> tuple[str | None, dict[str, Any]]:
    """Standings by retreat code, read by templates/retreats/_dashboard_retreat.html.

    `snapshot` is the dashboard's own catalogue and facts, so they are not read again.
    """
    standings = retreat_standings(session, user, snapshot=snapshot, every_session=False)
    return None, {"retreat_standings": {standing.code: standing for standing in standings}}


def subscribe() -> None:
    """Register the dashboard section once (calling this again changes nothing)."""
    from lms.progress.services import DASHBOARD_SECTIONS

    if dashboard_section not in DASHBOARD_SECTIONS:
        DASHBOARD_SECTIONS.append(dashboard_section)
