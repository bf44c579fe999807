"""Signal receivers that tell a clinician what happened to them: a dashboard notice + an e-mail.

Each runs inside the unit of work of the change (rows go through the given session), so a
rolled-back change leaves neither notice nor mail. Messages say what was decided and link
to the page; they never carry screening answers or reasons a reviewer wrote about health.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from lms import dates, signals
from lms.auth.api import User
from lms.mail.services import notify, queue_message, unread_notices
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
    detail = ""
    if status == "approved":
        detail = f"It now counts as {item.equivalent_label or item.title} for your prerequisites."
    elif request.decision_reason:
        detail = f"The reviewer wrote: {request.decision_reason}"
    notify(
        session,
        user=user,
        kind="equivalency_decided",
        message=(
            f"Your request that {request.outside_programme} count for {item.title} was {verdict}."
        ),
        endpoint="equivalency.detail",
        endpoint_values={"request_id": request.id},
        subject=f"Equivalency request {verdict}: {item.title}",
        template="notice",
        context={"detail": detail},
        optional=False,
    )


# Which application changes the applicant hears about, and how they are worded. Screening
# answers and the reviewer's notes never appear: only the decision.
_APPLICATION_NEWS = {
    ("medical_review", "enrolled"): "You are cleared and accepted for {retreat}.",
    ("medical_review", "waitlisted"): "You are cleared and on the waitlist for {retreat}.",
    ("medical_review", "not_cleared"): (
        "After medical review you were not cleared to attend {retreat}. "
        "Contact the programme if you have questions."
    ),
    ("waitlisted", "enrolled"): "A place opened: you are now accepted for {retreat}.",
    ("enrolled", "waitlisted"): "You are now on the waitlist for {retreat}.",
    ("waitlisted", "not_cleared"): "Your application to {retreat} was not cleared.",
    ("enrolled", "not_cleared"): "Your application to {retreat} was not cleared.",
}
# The same for module offerings: places given by staff or an import, and the waitlist moving.
_ENROLMENT_NEWS = {
    (None, "enrolled"): "You are enrolled in {item}.",
    (None, "waitlisted"): "You are on the waitlist for {item}.",
    ("waitlisted", "enrolled"): "A place opened: you are now enrolled in {item}.",
    ("enrolled", "withdrawn"): "Your place in {item} was withdrawn by the programme.",
    ("waitlisted", "withdrawn"): "You were taken off the waitlist for {item} by the programme.",
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
    message = template.format(retreat=named, item=named)
    notify(
        session,
        user=user,
        kind=f"{'application' if retreat else 'enrolment'}_{after}",
        message=message,
        endpoint=_first_endpoint(_APPLICATION_PAGES if retreat else _ENROLMENT_PAGES),
        subject=(
            f"Your retreat application: {application.status.label.lower()}"
            if retreat
            else f"Your enrolment: {application.status.label.lower()}"
        ),
        template="notice",
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
    title = certificate.item.title if certificate.item is not None else "your training"
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
        message="An administrator verified your licence details.",
        endpoint="account.profile",
        subject="Your licence is verified",
        template="notice",
        optional=False,
    )


_RECEIVERS = (
    (signals.account_mail, on_account_mail),
    (signals.licence_verified, on_licence_verified),
    (signals.item_unlocked, on_item_unlocked),
    (signals.equivalency_decided, on_equivalency_decided),
    (signals.enrolment_changed, on_application_changed),
    (signals.certificate_issued, on_certificate_issued),
    (signals.certificate_revoked, on_certificate_revoked),
    (signals.evaluation_reminder_due, on_evaluation_reminder_due),
)


def subscribe() -> None:
    """Connect the receivers (strong references; connecting twice changes nothing)."""
    for signal, receiver in _RECEIVERS:
        # blinker keys receivers by identity, so a second connect replaces, never doubles.
        signal.connect(receiver, weak=False)
    from lms.progress.services import DASHBOARD_SECTIONS

    if dashboard_section not in DASHBOARD_SECTIONS:
        DASHBOARD_SECTIONS.append(dashboard_section)
