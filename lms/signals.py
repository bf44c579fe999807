"""Blinker signals a host application (and our own features) can subscribe to.

Signals are sent inside the unit of work that made the change, with the session as
`session=`; a receiver that writes must only add to that session (so its change commits or
rolls back with the cause). Work that must not happen for a rolled-back change (e-mail,
calls to other systems) should be deferred with `lms.db.db.after_commit`.
"""

from collections.abc import Callable, Iterable
from typing import Any

from blinker import NamedSignal, Namespace

_signals = Namespace()


def connect_all(receivers: Iterable[tuple[NamedSignal, Callable[..., Any]]]) -> None:
    """Connect a feature's table of (signal, receiver) pairs, by strong references (a receiver
    lives as long as the process). Blinker keys receivers by identity, so connecting the same
    table again replaces each receiver, never doubles it."""
    for signal, receiver in receivers:
        signal.connect(receiver, weak=False)


completion_recorded = _signals.signal("completion-recorded")
"""sender: the Completion; kwargs: session, actor_id."""

completions_recorded = _signals.signal("completions-recorded")
"""sender: a list of Completions inserted together (a cohort); kwargs: session, actor_id.
Sent instead of one completion_recorded per completion, so subscribers can write in bulk."""

account_mail = _signals.signal("account-mail")
"""sender: the User; kwargs: session, kind, subject, template, context, optional, to_address.
An e-mail about the account itself (confirmation, reset, address changed...), which the mail
feature writes to its outbox in the same unit of work. Accounts send it through
`lms.auth.accounts.send_account_mail`, which refuses to go on when nobody receives it."""

licence_verified = _signals.signal("licence-verified")
"""sender: the User whose licence an administrator verified; kwargs: session, actor."""

completion_revoked = _signals.signal("completion-revoked")
"""sender: the Completion; kwargs: session, actor_id, reason."""

item_unlocked = _signals.signal("item-unlocked")
"""sender: the User; kwargs: session, item (CatalogItem) that has just become open to them."""

certificate_issued = _signals.signal("certificate-issued")
"""sender: the Certificate; kwargs: session."""

certificate_revoked = _signals.signal("certificate-revoked")
"""sender: the Certificate; kwargs: session, reason."""

certificate_superseded = _signals.signal("certificate-superseded")
"""sender: the Certificate a reissue replaced; kwargs: session, newer (the new Certificate)."""

certificate_hold_released = _signals.signal("certificate-hold-released")
"""sender: the Completion whose certificate no longer waits (lms.certificates.holds: its
evaluation was submitted); kwargs: session, actor_id. The certificate follows as for a mark."""

evaluation_reminder_due = _signals.signal("evaluation-reminder-due")
"""sender: the User who attended and has not evaluated; kwargs: session, title (the item),
endpoint and endpoint_values (the evaluation form). Sent once per person and offering."""

equivalency_decided = _signals.signal("equivalency-decided")
"""sender: the EquivalencyRequest; kwargs: session."""

enrolment_changed = _signals.signal("enrolment-changed")
"""sender: the Enrolment (a module place or a retreat application); kwargs: session,
previous (EnrolmentStatus or None), actor_id (who made the change, None for the system)."""

completions_imported = _signals.signal("completions-imported")
"""Sent *after commit* by a bulk import. sender: the Flask app; kwargs: completion_ids
(list[int]), issue_certificates (bool): receivers do their bulk follow-up work."""

catalogue_loaded = _signals.signal("catalogue-loaded")
"""sender: the LoadReport of `flask lms catalog load`; kwargs: session. Sent after the file
is in the unit of work and before it commits, so a feature can do its part of a catalogue
change there (the progress feature recomputes everyone's standings with a progress bar)."""

account_changed = _signals.signal("account-changed")
"""sender: the User whose standing facts changed: created, renamed, licence edited, roles
changed, deactivated or reactivated, or anonymised (a verified licence sends
licence_verified); kwargs: session."""

equivalency_requested = _signals.signal("equivalency-requested")
"""sender: the EquivalencyRequest just sent (pending); kwargs: session."""

equivalency_withdrawn = _signals.signal("equivalency-withdrawn")
"""sender: the EquivalencyRequest its clinician withdrew; kwargs: session."""

catalogue_changed = _signals.signal("catalogue-changed")
"""sender: the CatalogItem added or changed by an edit, or the LoadReport of a catalogue file
applied (by the command, a migration or the demo); kwargs: session. Everyone's standings are
judged again before the unit of work commits."""

offering_rescheduled = _signals.signal("offering-rescheduled")
"""sender: a ScheduleNotice (lms.offerings.rescheduling): the offering whose days, hours,
format, place or join link changed, or that was cancelled or reinstated, after its calendar
SEQUENCE was raised; what changed (old → new); the calendar entries it no longer has; and
everyone holding or waiting for a place. kwargs: session. The mail feature tells each of them
(a notice and a mail with the updated calendar entry) in the same unit of work."""

offering_status_changed = _signals.signal("offering-status-changed")
"""sender: the Offering whose stored status changed: closed, reopened, cancelled or no longer
cancelled (by staff or the catalogue file); kwargs: session, previous (its OfferingStatus
before), user_ids (everyone with an enrolment or application in it, withdrawn ones aside:
whether each holds a live place in it may have changed with it)."""

screening_question_asked = _signals.signal("screening-question-asked")
"""sender: the Enrolment (a retreat application) whose medical reviewer asked the applicant a
question; kwargs: session. The question is health data and is not sent: receivers tell the
applicant only that a question waits for them."""

training_document_reviewed = _signals.signal("training-document-reviewed")
"""sender: the TrainingDocument version (lms.training.records_models) a reviewer approved or
asked changes of; kwargs: session. The mail feature tells the clinician in the same unit of
work, the reviewer's comment included when changes are asked for."""

training_candidate_started = _signals.signal("training-candidate-started")
"""sender: the Candidate (lms.training.models) just held to a version of a credential's
requirement; kwargs: session."""

consultation_answered = _signals.signal("consultation-answered")
"""sender: the Consultation its consultant confirmed or declined; kwargs: session."""

consultation_voided = _signals.signal("consultation-voided")
"""sender: the Consultation staff voided; kwargs: session."""

training_session_changed = _signals.signal("training-session-changed")
"""sender: the id of the clinician whose KAP session log gained or lost a row (never the row:
what it says stays with the clinician); kwargs: session."""

requirement_published = _signals.signal("requirement-published")
"""sender: the RequirementVersion just published; kwargs: session, everyone (whether every
present candidate was moved to it)."""
