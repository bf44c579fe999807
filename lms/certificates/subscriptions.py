"""Certificates follow completions: record on record, revoke on revoke, bulk issue after imports."""

from __future__ import annotations

from typing import Any

from lms import signals
from lms.progress.api import Completion

_connected: list[Any] = []


def on_completion_recorded(
    completion: Completion,
    *,
    session: Any,
    actor_id: int | None = None,
    bulk: bool = False,
    **_: Any,
) -> None:
    """Write the certificate's issue record in the same unit of work (its PDF is a job after
    commit), unless a bulk run will issue it later."""
    if bulk:
        return
    from lms.certificates.holds import held_ids
    from lms.certificates.services import record_due_certificate

    if held_ids(session, [completion]):
        return  # the certificate waits (for an evaluation); the release records it
    # completion_recorded is sent only for a completion inserted in this transaction.
    record_due_certificate(session, completion, actor_id=actor_id, fresh=True)


def on_completions_recorded(
    completions: list[Completion], *, session: Any, actor_id: int | None = None, **_: Any
) -> None:
    """A batch (a cohort): every issue record in one insert, their PDFs jobs after commit."""
    from lms.certificates.holds import held_ids
    from lms.certificates.services import record_due_certificates

    held = held_ids(session, completions)
    due = [c for c in completions if c.id not in held]
    if due:
        record_due_certificates(session, due, actor_id=actor_id)


def on_hold_released(
    completion: Completion, *, session: Any, actor_id: int | None = None, **_: Any
) -> None:
    """The wait is over (an evaluation was submitted): record the certificate as a mark would,
    unless another hold still keeps it or the completion was revoked meanwhile."""
    from lms.certificates.holds import held_ids
    from lms.certificates.services import record_due_certificate

    if completion.revoked_at is not None or held_ids(session, [completion]):
        return
    record_due_certificate(session, completion, actor_id=actor_id)


def on_completion_revoked(
    completion: Completion,
    *,
    session: Any,
    actor_id: int | None = None,
    reason: str = "",
    **_: Any,
) -> None:
    """Revoke the completion's certificate with the same reason."""
    from lms.certificates.services import revoke_for_completion

    revoke_for_completion(
        session,
        completion,
        actor_id=actor_id,
        reason=reason or "The completion was revoked.",
    )


def on_completions_imported(
    sender: Any, *, completion_ids: list[int], issue_certificates: bool = True, **_: Any
) -> None:
    """After an import has committed, issue its certificates on all cores with a progress bar."""
    if not issue_certificates or not completion_ids:
        return
    from lms.certificates.cli import issue_with_progress

    issue_with_progress(completion_ids=completion_ids)


def subscribe() -> None:
    """Connect the receivers and the dashboard section once (calling it again changes nothing)."""
    from lms.certificates.services import dashboard_section
    from lms.progress.services import DASHBOARD_SECTIONS

    if dashboard_section not in DASHBOARD_SECTIONS:
        DASHBOARD_SECTIONS.append(dashboard_section)
    if _connected:
        return
    signals.completion_recorded.connect(on_completion_recorded, weak=False)
    signals.completions_recorded.connect(on_completions_recorded, weak=False)
    signals.completion_revoked.connect(on_completion_revoked, weak=False)
    signals.completions_imported.connect(on_completions_imported, weak=False)
    signals.certificate_hold_released.connect(on_hold_released, weak=False)
    _connected.extend(
        [
            on_completion_recorded,
            on_completions_recorded,
            on_completion_revoked,
            on_completions_imported,
            on_hold_released,
        ]
    )
