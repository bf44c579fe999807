"""The evaluation's hooks into other features: the certificate hold and the dashboard section."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from lms.auth.api import User
from lms.certificates.api import DASHBOARD_KEY, Hold, register
from lms.evaluations.services import (
    PendingEvaluation,
    evaluated_user_ids,
    pending_among,
    pending_of_person,
)
from lms.progress.api import Completion
from lms.urls import site_path

if TYPE_CHECKING:
    from lms.progress.services import ClinicianSnapshot

WAITING = "Certificate waiting for your evaluation"
WAITING_FOR_STAFF = "Certificate waiting for the clinician's evaluation"


def _hold(pending: PendingEvaluation) -> Hold:
    """The certificate hold of one pending evaluation."""
    return Hold(
        completion_id=pending.completion_id,
        title=pending.title,
        reason=WAITING,
        reason_for_staff=WAITING_FOR_STAFF,
        action=f"Evaluate {pending.name}",
        url=site_path("evaluations.form", offering_id=pending.offering_id),
    )


class EvaluationHold:
    """A certificate earned by attending waits for the offering's required evaluation."""

    def held(self, session: Session, completions: Sequence[Completion]) -> set[int]:
        """The completions among these whose evaluation is still missing (at most one query)."""
        return pending_among(session, completions)

    def of_person(self, session: Session, user_id: int) -> list[Hold]:
        """The person's waiting certificates, with the evaluation that ends the wait."""
        return [_hold(p) for p in pending_of_person(session, user_id)]


HOLD = EvaluationHold()


def dashboard_section(
    session: Session, user: User, snapshot: ClinicianSnapshot | None = None
) -> tuple[str, dict[str, Any]] | None:
    """The evaluations the person still owes, and the holds for the per-item certificate hook.

    The page's snapshot (read already) says whether any live completion may have come from an
    offering; only then is the one indexed query run.
    """
    if snapshot is not None and not snapshot.from_offerings:
        return None
    pending = pending_of_person(session, user.id)
    if not pending:
        return None
    return "evaluations/_dashboard.html", {
        "evaluations_due": pending,
        DASHBOARD_KEY: {p.completion_id: _hold(p) for p in pending},
    }


def subscribe() -> None:
    """Register the hold, the dashboard section and who has evaluated an offering (for the
    CE roster) once (calling this again changes nothing)."""
    from lms.offerings.api import register as register_evaluated
    from lms.progress.services import DASHBOARD_SECTIONS

    register(HOLD)
    register_evaluated(evaluated_user_ids)
    if dashboard_section not in DASHBOARD_SECTIONS:
        DASHBOARD_SECTIONS.append(dashboard_section)
