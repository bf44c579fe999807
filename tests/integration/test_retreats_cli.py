"""`flask lms screening purge --older-than DAYS`: erases old answers, keeps the decisions."""

from __future__ import annotations

from datetime import timedelta

from clock_support import programme_today
from retreats_support import add_session, complete, screening
from sqlalchemy import select

from lms.auth.models import Role
from lms.offerings.models import Enrolment, EnrolmentStatus
from lms.retreats import services
from lms.retreats.models import Screening

KEY = "mJ3cX6d0cQk2i3oR9o6wq0zZ2bq3x8nC5m4Wv1yJt5U="


def test_purge_command_erases_answers_of_sessions_ended_long_ago(app, session, make_user, catalog):
    clinician = make_user(Role.CLINICIAN)
    complete(session, clinician.id, "M1")
    retreat_session = add_session(session)
    application = services.apply(
        session,
        user_id=clinician.id,
        session_id=retreat_session.id,
        screening=screening(yes=("stroke_risk",)),
        screening_key=KEY,
    )
    services.decide_screening(
        session, application.id, reviewer_id=make_user(Role.MEDICAL_REVIEWER).id, clear=False
    )
    retreat_session.starts_on = programme_today() - timedelta(days=100)
    retreat_session.ends_on = programme_today() - timedelta(days=96)
    session.commit()
    runner = app.test_cli_runner()

    kept = runner.invoke(args=["lms", "screening", "purge", "--older-than", "365"])
    assert kept.exit_code == 0 and "Erased the screening answers of 0 applications" in kept.output
    erased = runner.invoke(args=["lms", "screening", "purge", "--older-than", "90"])
    assert erased.exit_code == 0, erased.output
    assert "Erased the screening answers of 1 application " in erased.output

    session.expire_all()
    row = session.get(Screening, application.id)
    assert row.answers_encrypted is None and row.purged_at is not None
    assert session.get(Enrolment, application.id).status == EnrolmentStatus.NOT_CLEARED


def test_purge_command_needs_a_non_negative_number_of_days(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["lms", "screening", "purge"]).exit_code != 0
    result = runner.invoke(args=["lms", "screening", "purge", "--older-than", "-1"])
    assert result.exit_code != 0 and "-1" in result.output


def test_purged_screening_page_says_the_answers_were_erased(
    app, session, make_user, catalog, login
):
    clinician = make_user(Role.CLINICIAN)
    complete(session, clinician.id, "M1")
    retreat_session = add_session(session)
    application = services.apply(
        session,
        user_id=clinician.id,
        session_id=retreat_session.id,
        screening=screening(),
        screening_key=KEY,
    )
    retreat_session.ends_on = programme_today() - timedelta(days=10)
    retreat_session.starts_on = retreat_session.ends_on
    session.commit()
    assert services.purge_screenings(session, older_than_days=1) == 1
    session.commit()
    reviewer = login(app.test_client(), make_user(Role.MEDICAL_REVIEWER))
    page = reviewer.get(f"/retreats/review/{application.id}")
    assert page.status_code == 200 and "erased under the retention policy" in page.text
    assert session.scalar(select(Screening.purged_at)) is not None
