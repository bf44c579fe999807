"""Every date a person reads is the programme's, at whatever instant the thing happens.

Each test runs pinned at the awkward instants of tests/clock_support.py: the Pacific evening
when UTC is already on the next date, the last Pacific minute of a day, the first minute both
clocks agree, New Year's Eve when UTC's year has turned, and both 2026 daylight-saving changes.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from attendance_support import enrol, held_offering
from certificates_support import issued
from clock_support import programme_today
from sqlalchemy import select

from lms import dates
from lms.admin.services import browse_audit, licence_status, search_users
from lms.auth.licence import LicenceStanding, licence_standing
from lms.auth.models import Role
from lms.certificates.base import CertificateStatus, certificate_status
from lms.certificates.context import format_date
from lms.certificates.models import Certificate
from lms.certificates.services import revoke_certificate, transcript_pdf, verification_of
from lms.clock import start_of_day
from lms.offerings import sheet
from lms.offerings.closing import close_offering
from lms.offerings.reports import offering_record
from lms.offerings.sheet import CellInput
from lms.progress.dashboard import licence_label
from lms.progress.roster import RosterQuery, roster
from lms.progress.tracking import licensed_on as summary_licensed_on

pytestmark = pytest.mark.usefixtures("awkward_instant")


def test_a_certificate_says_the_day_it_was_earned_and_issued_and_the_programmes_year(
    session, make_user, catalog
):
    today = programme_today()
    person = make_user(Role.CLINICIAN)
    issued(session, person.id, "M1", on=today)
    certificate = session.scalar(select(Certificate))
    said = certificate.content
    assert said["completed_on"] == said["issued_on"] == today.isoformat()
    assert said["issued_on_text"] == format_date(today)
    assert certificate.serial.startswith(f"KAP-{today.year}-")
    verified = verification_of(certificate)
    assert verified.issued_on_text == verified.completed_on_text == dates.day(today)


def test_a_revocation_is_dated_the_programmes_day(session, make_user, catalog):
    today = programme_today()
    admin = make_user(Role.ADMIN)
    person = make_user(Role.CLINICIAN)
    issued(session, person.id, "M1", on=today)
    certificate = session.scalar(select(Certificate))
    revoke_certificate(session, certificate.id, actor_id=admin.id, reason="Entered in error")
    session.commit()
    assert verification_of(certificate).revoked_on_text == dates.day(today)
    with pytest.raises(Exception, match=f"already revoked on {dates.day(today)}"):
        revoke_certificate(session, certificate.id, actor_id=admin.id, reason="Again")
    session.rollback()


def test_an_expiring_certificate_expires_on_the_same_programme_date_later(
    session, make_user, catalog
):
    from lms.catalog.models import CatalogItem

    today = programme_today()
    item = session.scalar(select(CatalogItem).where(CatalogItem.code == "M1"))
    item.certificate_valid_months = 12
    session.commit()
    issued(session, make_user(Role.CLINICIAN).id, "M1", on=today)
    certificate = session.scalar(select(Certificate))
    last_day = today.replace(year=today.year + 1)
    assert certificate.content["expires_on"] == last_day.isoformat()
    # "Valid until" that date holds all of it, whatever the hour it was issued at.
    assert verification_of(certificate).expires_on_text == dates.day(last_day)
    ends = start_of_day(last_day + timedelta(days=1))
    assert certificate_status(certificate, ends - timedelta(minutes=1)) is CertificateStatus.VALID
    assert certificate_status(certificate, ends) is CertificateStatus.EXPIRED


def test_a_licence_is_good_through_its_expiry_date_on_every_page_and_guard(
    session, make_user, catalog
):
    today = programme_today()
    holder = make_user(Role.CLINICIAN, licence_expires_on=today)
    lapsed = make_user(Role.CLINICIAN, licence_expires_on=today - timedelta(days=1))
    assert licence_standing(holder, today) is LicenceStanding.VERIFIED
    assert licence_standing(lapsed, today) is LicenceStanding.EXPIRED
    assert holder.licensed_on(today) and not lapsed.licensed_on(today)
    assert licence_status(holder) == "verified" and licence_status(lapsed) == "expired"
    listed = {row.id: row.licence_status for row in search_users(session).items}
    assert listed[holder.id] == "verified" and listed[lapsed.id] == "expired"
    assert "expired" not in licence_label(holder, today)
    assert "expired" in licence_label(lapsed, today)
    # The read model's SQL twin says the same on the same day.
    from lms.progress.models import ProgressSummary
    from lms.progress.tracking import sync

    sync(session)
    counted = set(
        session.scalars(select(ProgressSummary.user_id).where(summary_licensed_on(today)))
    )
    assert holder.id in counted and lapsed.id not in counted


def test_an_attendance_record_and_its_grid_agree_on_the_day_it_closed(session, make_user, catalog):
    today = programme_today()
    admin = make_user(Role.ADMIN)
    facilitator = make_user(Role.INSTRUCTOR)
    person = make_user(Role.CLINICIAN)
    offering = held_offering(session, admin.id, "M1", ended=0, facilitators=[facilitator.id])
    (place,) = enrol(session, offering, [person], admin.id)
    sheet.save_cells(
        session,
        offering.id,
        [CellInput(place.id, day.id, "present", 420, ":") for day in offering.days],
        actor=facilitator,
    )
    close_offering(session, offering.id, actor=facilitator)
    session.commit()
    _grid, content = offering_record(session, offering.id, viewer=facilitator, today=today)
    assert content["closed_on_text"] == format_date(today)


def test_the_roster_says_activity_happened_today(session, make_user, catalog):
    today = programme_today()
    person = make_user(Role.CLINICIAN)
    issued(session, person.id, "M1", on=today)
    rows = {row.user_id: row for row in roster(session, RosterQuery()).rows}
    assert rows[person.id].last_activity == today


def test_the_audit_log_filtered_on_today_finds_what_happened_today(session, make_user, catalog):
    today = programme_today()
    person = make_user(Role.CLINICIAN)
    issued(session, person.id, "M1", on=today)
    found = browse_audit(session, action="completion.recorded", on_or_after=today)
    assert found.total == 1
    assert browse_audit(session, action="completion.recorded", on_or_before=today).total == 1
    tomorrow = today + timedelta(days=1)
    assert browse_audit(session, action="completion.recorded", on_or_after=tomorrow).total == 0


def test_a_transcript_is_dated_the_programmes_day(session, make_user, catalog):
    from io import BytesIO

    from pypdf import PdfReader

    today = programme_today()
    person = make_user(Role.CLINICIAN)
    issued(session, person.id, "M1", on=today)
    text = " ".join(
        p.extract_text() for p in PdfReader(BytesIO(transcript_pdf(session, person.id))).pages
    )
    assert format_date(today) in " ".join(text.split())


def test_the_read_models_licence_is_the_licence_rule_on_every_day_ahead(
    session, make_user, catalog
):
    """tracking.licensed_on (SQL over the summaries) answers as licence_standing does, for
    every kind of licence, on today and the days after (when a licence lapses)."""
    from lms.auth.licence import licensed_on
    from lms.auth.models import User
    from lms.progress.models import ProgressSummary
    from lms.progress.tracking import sync

    today = programme_today()
    people = [
        make_user(Role.CLINICIAN, licence_expires_on=None),
        make_user(Role.CLINICIAN, licence_expires_on=today - timedelta(days=1)),
        make_user(Role.CLINICIAN, licence_expires_on=today),
        make_user(Role.CLINICIAN, licence_expires_on=today + timedelta(days=1)),
        make_user(Role.CLINICIAN, licence_expires_on=today + timedelta(days=40)),
        make_user(Role.CLINICIAN, licence_verified_at=None),
        make_user(Role.CLINICIAN, licensed=False),
        make_user(Role.CLINICIAN, licence_number=""),
    ]
    sync(session)
    unlicensed = set(session.scalars(select(User.id).where(User.holds_no_licence)))
    assert (
        unlicensed
        == {p.id for p in people if licence_standing(p, today) is LicenceStanding.UNLICENSED}
        and len(unlicensed) == 2
    )  # the roster's "pre-licensed" filter says as the rule does
    for ahead in (0, 1, 2, 39, 40, 41, 400):
        day = today + timedelta(days=ahead)
        in_sql = set(
            session.scalars(select(ProgressSummary.user_id).where(summary_licensed_on(day)))
        )
        by_rule = {p.id for p in people if licensed_on(session.get(User, p.id), day)}
        assert in_sql == by_rule, day


def test_offering_reminders_count_days_on_the_programmes_calendar(app, session, make_user, catalog):
    """The reminder goes out when the first day is at most three programme days ahead."""
    from offerings_support import add_offering
    from retreats_support import complete

    from lms.mail.models import OutboxMessage
    from lms.mail.reminders import REMIND_DAYS
    from lms.offerings import enrolment

    admin = make_user(Role.ADMIN)
    soon = add_offering(session, admin.id, starts_in=REMIND_DAYS)
    later = add_offering(session, admin.id, "M3", starts_in=REMIND_DAYS + 1)
    person = make_user(Role.CLINICIAN)
    complete(session, person.id, "M1")
    for offering in (soon, later):
        enrolment.enrol(session, user_id=person.id, offering_id=offering.id)
    session.commit()
    assert app.extensions["lms"].jobs.run("reminders") == 1
    [reminder] = session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "offering_reminder")
    ).all()
    assert "Module 2" in reminder.subject


def test_the_staff_digest_is_dated_the_programmes_day(session, make_user, catalog):
    from lms.equivalency.models import EquivalencyRequest
    from lms.mail.digest import send_digests
    from lms.mail.models import OutboxMessage

    make_user(Role.INSTRUCTOR)
    clinician = make_user(Role.CLINICIAN)
    session.add(
        EquivalencyRequest(user_id=clinician.id, item_id=catalog["M1"].id, outside_programme="KTC")
    )
    session.commit()
    assert send_digests(session).queued == 1
    [digest] = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "digest"))
    assert digest.subject.endswith(f"({dates.day(programme_today())})")
