"""Signal receivers that tell a clinician what happened to them: a dashboard notice + an e-mail.

Each runs inside the unit of work of the change (rows go through the given session), so a
rolled-back change leaves neither notice nor mail. Messages say what was decided and link
to the page; they never carry screening answers or reasons a reviewer wrote about health.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import lazy_gettext
from sqlalchemy.orm import Session

from lms import dates, signals
from lms.auth.api import User
from lms.i18n import translate
from lms.mail.offering_news import on_offering_rescheduled
from lms.mail.services import notify, queue_message, unread_notices
from lms.offerings.api import topic
from lms.urls import public_url

# (endpoint, values) candidates per page, first one the app knows wins; the dashboard else.
_RETREAT_PAGES = ("retreats.index", "offerings.index")
_APPLICATION_PAGES = ("retreats.my_applications", "retreats.applications", "retreats.index")
_ENROLMENT_PAGES = ("offerings.index",)


def _first_endpoint(candidates: tuple[str, ...]) -> str:
    """The first endpoint of the candidates that exists in this app, else the dashboard."""
    views = current_app.view_functions
    for endpoint in candidates:
        if endpoint in views:
            return endpoint
    return "progress.dashboard"


def _person(session: Session, user_id: int | None) -> User | None:
    """The clinician a record belongs to, if they still exist."""
    return session.get(User, user_id) if user_id is not None else None


def on_item_unlocked(user: User, *, session: Session, item: Any, **_: Any) -> None:
    """A retreat just opened for the person: optional news (modules opening are not news)."""
    if not getattr(item, "is_retreat", False):
        return
    notify(
        session,
        user=user,
        kind="item_unlocked",
        message=f"{item.title} is now open to you.",
        endpoint=_first_endpoint(_RETREAT_PAGES),
        subject=f"{item.title} is open to you",
        template="notice",
        context={"detail": "You can now apply to one of its sessions.", "optional_note": True},
        optional=True,
    )


def on_equivalency_decided(request: Any, *, session: Session, **_: Any) -> None:
    """An equivalency request was approved or declined: a decision, always sent."""
    user = _person(session, request.user_id)
    if user is None:
        return
    status = getattr(request.status, "value", str(request.status))
    if status not in {"approved", "declined"}:
        return
    item = request.item
    verdict = "approved" if status == "approved" else "declined"
    # Consultation credit stands for no item: it counts for the Certificate of Training.
    title = item.title if item is not None else request.counts_for
    detail = ""
    if status == "approved":
        detail = (
            f"It now counts as {item.equivalent_label or item.title} for your prerequisites."
            if item is not None
            else "They now count towards your Certificate of Training."
        )
    elif request.decision_reason:
        detail = f"The reviewer wrote: {request.decision_reason}"
    notify(
        session,
        user=user,
        kind="equivalency_decided",
        message=(f"Your request that {request.outside_programme} count for {title} was {verdict}."),
        endpoint="equivalency.detail",
        endpoint_values={"request_id": request.id},
        subject=f"Credit request {verdict}: {title}",
        template="notice",
        context={"detail": detail},
        optional=False,
    )


# Which application changes the applicant hears about, and how they are worded. Screening
# answers and the reviewer's notes never appear: only the decision.
_APPLICATION_NEWS = {
    ("medical_review", "enrolled"): "Your screening is cleared: you are enrolled in {retreat}.",
    ("medical_review", "waitlisted"): (
        "Your screening is cleared: you are waitlisted for {retreat} (it is full)."
    ),
    ("medical_review", "not_cleared"): (
        lazy_gettext(
            "After medical review you were not cleared to attend {retreat}. "
            "Contact the programme if you have questions."
        )
    ),
    ("waitlisted", "enrolled"): "A place opened: you are now enrolled in {retreat}.",
    ("enrolled", "waitlisted"): "You are now waitlisted for {retreat}.",
    ("waitlisted", "not_cleared"): "Your application to {retreat} was not cleared.",
    ("enrolled", "not_cleared"): "Your application to {retreat} was not cleared.",
    # A medical reviewer changed an earlier decision.
    (
        "not_cleared",
        "enrolled",
    ): "On a second review your screening is cleared: you are enrolled in {retreat}.",
    ("not_cleared", "waitlisted"): (
        "On a second review your screening is cleared: you are waitlisted for {retreat} "
        "(it is full)."
    ),
}
# The same for module offerings: places given by staff or an import, and the waitlist moving.
_ENROLMENT_NEWS = {
    (None, "enrolled"): "You are enrolled in {item}.",
    (None, "waitlisted"): "You are waitlisted for {item}.",
    ("waitlisted", "enrolled"): "A place opened: you are now enrolled in {item}.",
    ("enrolled", "withdrawn"): lazy_gettext("Your place in {item} was withdrawn by the programme."),
    ("waitlisted", "withdrawn"): lazy_gettext(
        "You were taken off the waitlist for {item} by the programme."
    ),
}


def on_application_changed(
    application: Any,
    *,
    session: Session,
    previous: Any = None,
    actor_id: int | None = None,
    **_: Any,
) -> None:
    """An enrolment or retreat application was cleared, accepted, waitlisted, promoted or not
    cleared: always sent (a person's own enrolment or withdrawal is not news to them)."""
    before = getattr(previous, "value", previous)
    after = getattr(application.status, "value", str(application.status))
    offering = application.offering
    retreat = offering.item.is_retreat
    template = (_APPLICATION_NEWS if retreat else _ENROLMENT_NEWS).get((before, after))
    if template is None:
        return
    if not retreat and actor_id == application.user_id:
        return  # one's own enrolment or withdrawal is not news to oneself
    user = _person(session, application.user_id)
    if user is None:
        return
    where = offering.location or offering.format.label.lower()
    named = f"{offering.item.title} ({where}, {dates.day(offering.starts_on)})"
    message = str(template).format(retreat=named, item=named)
    notify(
        session,
        user=user,
        kind=f"{'application' if retreat else 'enrolment'}_{after}",
        message=message,
        endpoint=_first_endpoint(_APPLICATION_PAGES if retreat else _ENROLMENT_PAGES),
        # "Level 1 Retreat: Enrolled": the place's state in the words every page uses.
        subject=f"{offering.item.title}: {application.status.label}",
        template="notice",
        optional=False,
        topic=topic(offering.id),  # a notice of the offering's change supersedes it
    )


def on_screening_question_asked(application: Any, *, session: Session, **_: Any) -> None:
    """A medical reviewer asked the applicant a question: always sent, and never with the
    question itself (health data): the applicant signs in to read and answer it."""
    user = _person(session, application.user_id)
    if user is None:
        return
    offering = application.offering
    named = f"{offering.item.title} ({offering.location}, {dates.day(offering.starts_on)})"
    notify(
        session,
        user=user,
        kind="screening_question",
        message=(
            f"The medical reviewer has a question about your application to {named}. "
            "Sign in to answer it."
        ),
        endpoint="retreats.questions",
        endpoint_values={"application_id": application.id},
        subject="The medical reviewer has a question",
        template="notice",
        context={"detail": "Your application waits for your answer."},
        optional=False,
    )


# A certificate notice's message and subject by kind ({title}: what it is for, {serial}: its).
_CERTIFICATE_WORDS = {
    "certificate_issued": (
        "Your certificate for {title} is ready (serial {serial}).",
        "Your certificate for {title}",
    ),
    "certificate_revoked": (
        "Your certificate for {title} (serial {serial}) was revoked.",
        "Certificate revoked: {title}",
    ),
}


def _certificate_notice(
    session: Session, certificate: Any, kind: str, context: dict[str, Any], *, optional: bool
) -> None:
    """Tell the holder (if they still have an account) of their certificate, with a link to
    their certificates page; the words are the kind's in _CERTIFICATE_WORDS."""
    user = _person(session, certificate.user_id)
    if user is None:
        return
    title = (
        certificate.item.title
        if certificate.item is not None
        else (certificate.content or {}).get("title") or "your training"
    )
    message, subject = _CERTIFICATE_WORDS[kind]
    notify(
        session,
        user=user,
        kind=kind,
        message=message.format(title=title, serial=certificate.serial),
        endpoint="certificates.person",
        endpoint_values={"user_id": user.id},
        subject=subject.format(title=title),
        template="notice",
        context=context,
        optional=optional,
    )


def on_certificate_issued(certificate: Any, *, session: Session, **_: Any) -> None:
    """A certificate was issued: optional news with a link to download it."""
    _certificate_notice(
        session, certificate, "certificate_issued", {"optional_note": True}, optional=True
    )


def on_certificate_revoked(
    certificate: Any, *, session: Session, reason: str = "", **_: Any
) -> None:
    """A certificate was revoked: it changes the person's standing, so it is always sent."""
    detail = f"Reason given: {reason}" if reason else ""
    _certificate_notice(
        session, certificate, "certificate_revoked", {"detail": detail}, optional=False
    )


def on_training_document_reviewed(document: Any, *, session: Session, **_: Any) -> None:
    """A reviewer approved a Certificate of Training document or asked for changes."""
    user = _person(session, document.user_id)
    if user is None:
        return
    kind = document.kind.label
    status = getattr(document.status, "value", str(document.status))
    if status == "approved":
        message = f"Your {kind.lower()} (version {document.version}) is approved."
        detail = ""
    else:
        message = (
            f"Changes are asked for in your {kind.lower()} (version {document.version}): "
            "upload a new version."
        )
        detail = f"The reviewer wrote: {document.review_comment}"
    notify(
        session,
        user=user,
        kind="training_document_reviewed",
        message=message,
        endpoint="training_documents.mine",
        subject=f"{kind}: {document.status.label}",
        template="notice",
        context={"detail": detail},
        optional=False,
        topic=f"training-document-{document.kind.value}",
        supersede=True,
    )


def on_evaluation_reminder_due(
    user: User,
    *,
    session: Session,
    title: str,
    endpoint: str,
    endpoint_values: dict[str, Any],
    **_: Any,
) -> None:
    """An attended offering's evaluation is still missing: one e-mail, sent whatever the
    optional-mail choice (the CE certificate waits for it). The dashboard asks already."""
    queue_message(
        session,
        user=user,
        kind="evaluation_reminder",
        subject=f"Your certificate for {title} is waiting for your evaluation",
        template="notice",
        context={
            "message": (
                f"You attended {title}. Your CE certificate is issued as soon as you submit "
                "the evaluation of the activity; it takes a few minutes."
            ),
            "link": public_url(endpoint, **endpoint_values),
        },
        optional=False,
    )


def dashboard_section(session: Session, user: User) -> tuple[str, dict[str, Any]] | None:
    """The dashboard's "for your attention" panel: unconfirmed address and unread notices."""
    notices, total = unread_notices(session, user.id)
    if not notices and user.email_confirmed_at is not None:
        return None
    return "notices/_dashboard.html", {
        "account_email_confirmed": user.email_confirmed_at is not None,
        "account_email": user.email,
        "unread_notices": notices,
        "unread_notice_total": total,
    }


def on_account_mail(user: User, *, session: Session, **message: Any) -> None:
    """An e-mail about the account (confirmation, reset...): one outbox row, same transaction."""
    queue_message(session, user=user, **message)


def on_licence_verified(user: User, *, session: Session, **_: Any) -> None:
    """Tell the person their licence details are verified (notice and e-mail)."""
    notify(
        session,
        user=user,
        kind="licence_verified",
        message=translate("An administrator verified your licence details."),
        endpoint="account.profile",
        subject=translate("Your licence is verified"),
        template="notice",
        optional=False,
    )


_RECEIVERS = (
    (signals.account_mail, on_account_mail),
    (signals.licence_verified, on_licence_verified),
    (signals.item_unlocked, on_item_unlocked),
    (signals.equivalency_decided, on_equivalency_decided),
    (signals.enrolment_changed, on_application_changed),
    (signals.screening_question_asked, on_screening_question_asked),
    (signals.certificate_issued, on_certificate_issued),
    (signals.certificate_revoked, on_certificate_revoked),
    (signals.evaluation_reminder_due, on_evaluation_reminder_due),
    (signals.offering_rescheduled, on_offering_rescheduled),
    (signals.training_document_reviewed, on_training_document_reviewed),
)


def subscribe() -> None:
    """Connect the receivers (strong references; connecting twice changes nothing)."""
    signals.connect_all(_RECEIVERS)
    from lms.progress.services import DASHBOARD_SECTIONS

    if dashboard_section not in DASHBOARD_SECTIONS:
        DASHBOARD_SECTIONS.append(dashboard_section)
