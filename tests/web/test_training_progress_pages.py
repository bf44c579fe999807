"""The Certificate of Training pages people look at: the clinician's page (each part with a
picture and words, the window and its warning, a constant number of queries however long the
logs), the dashboard card, and the staff queues and their counts on the staff home (never a
session-log row)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from clock_support import programme_today
from sqlalchemy import update

from lms.auth.models import Role
from lms.clock import utcnow
from lms.db import db
from lms.training import consultants as approved_list
from lms.training import consultations as log
from lms.training import session_log
from lms.training.models import Credential
from lms.training.records_models import ClientCode
from lms.training.requirement import ensure_credential, publish_requirement
from lms.training.session_log import NEW_CLIENT, SessionInput

SHORT_RULE = {
    "all": [
        {"logged": {"kind": "group_consultation", "count": 2, "hours": 4}},
        {"logged": {"kind": "therapist_session", "count": 50}},
        {"within_months": 24},
    ]
}


@pytest.fixture
def consultant(app, session, make_user, catalog):
    """An approved consultant, on the list for three years; the credential stored."""
    ensure_credential(session)
    admin = make_user(Role.ADMIN)
    with app.test_request_context():
        found = approved_list.add_consultant(
            session,
            approved_list.ConsultantInput(
                "Dana Reyes", "MD", "dana@consult.test", programme_today() - timedelta(days=1100)
            ),
            actor_id=admin.id,
        )
        session.commit()
    return found


def _confirmed(app, session, user, consultant, days_ago):
    """A confirmed group consultation of 2 hours, `days_ago` days ago."""
    with app.test_request_context():
        entry = log.log_consultation(
            session,
            user,
            log.ConsultationInput(
                programme_today() - timedelta(days=days_ago),
                consultant.id,
                "group_consultation",
                "2",
                "",
            ),
        )
        session.commit()
        log.confirm_by_code(session, log.response_code(entry))
        session.commit()


def _sessions(session, user, count):
    """`count` sessions as therapist, spread over recent months, each with a new client."""
    today = programme_today()
    for index in range(count):
        number = today.year * 12 + today.month - 2 - index % 10
        session_log.log_session(
            session,
            user_id=user.id,
            data=SessionInput(
                str(number // 12), str(number % 12 + 1), "therapist", "online", NEW_CLIENT
            ),
        )
    session.commit()


def test_the_page_reads_in_the_same_number_of_queries_with_2_and_40_entries(
    app, session, make_user, login, consultant, count_queries
):
    clinician = make_user()
    client = login(app.test_client(), clinician)
    for days_ago in (5, 6):
        _confirmed(app, session, clinician, consultant, days_ago)
    _sessions(session, clinician, 2)
    assert client.get("/training/").status_code == 200  # warm: templates, catalogue
    with count_queries() as few:
        assert client.get("/training/").status_code == 200
    for days_ago in range(7, 25):
        _confirmed(app, session, clinician, consultant, days_ago)
    _sessions(session, clinician, 20)
    client.get("/training/")  # the mail the new entries queued goes out after this one
    with count_queries() as many:
        page = client.get("/training/")
    assert page.status_code == 200
    assert "20 of 12 group consultations confirmed" in page.text  # the longer logs are read
    assert len(many) == len(few)


def test_each_part_has_a_picture_with_words_the_window_and_its_warning(
    app, session, make_user, login, consultant
):
    publish_requirement(session, rule=SHORT_RULE, actor_id=None)
    session.commit()
    clinician = make_user()
    _confirmed(app, session, clinician, consultant, 700)  # the window closes in about 30 days
    _sessions(session, clinician, 3)
    page = login(app.test_client(), clinician).get("/training/")
    assert page.status_code == 200
    pictures = re.findall(
        r'<svg [^>]*class="meter (\w+)"[^>]*role="img" aria-label="([^"]+)"', page.text
    )
    assert pictures == [
        ("open", "2 group consultations confirmed (4 hours): 1 of 2, not yet met"),
        ("open", "50 KAP sessions as therapist logged: 3 of 50, not yet met"),
        ("met", "All within 24 months of the first counted event: 1 of 1, met"),
    ]
    assert "1 of 2 group consultations confirmed (2 of 4 hours)" in page.text
    assert "Your window closes soon" in page.text
    assert "style=" not in page.text.split("<main", 1)[-1]
    for link in ("/training/consultations", "/training/sessions/", "/training/documents/"):
        assert f'href="{link}"' in page.text


def test_a_clinician_who_has_not_started_sees_the_requirement_and_no_window(
    app, make_user, login, consultant
):
    page = login(app.test_client(), make_user()).get("/training/")
    assert page.status_code == 200
    assert "Your window opens with your first confirmed consultation" in page.text
    assert "0 of 11" not in page.text and "parts met" in page.text


def test_the_dashboard_card_shows_a_candidates_summary_and_links_the_page(
    app, session, make_user, login, consultant
):
    clinician = make_user()
    others = make_user()
    _confirmed(app, session, clinician, consultant, 5)
    page = login(app.test_client(), clinician).get("/")
    assert "training-card-heading" in page.text
    assert re.search(r"\d+ of 11 parts of the requirement met", page.text)
    assert 'href="/training/"' in page.text
    assert "training-card-heading" not in login(app.test_client(), others).get("/").text


def test_staff_queues_list_people_and_their_counts_never_a_session_row(
    app, session, make_user, login, consultant
):
    publish_requirement(session, rule=SHORT_RULE, actor_id=None)
    session.commit()
    closing = make_user(name="Wendy Window")
    _confirmed(app, session, closing, consultant, 700)
    _sessions(session, closing, 2)
    waiting = make_user(name="Arlo Awaiting")
    with app.test_request_context():
        log.log_consultation(
            session,
            waiting,
            log.ConsultationInput(
                programme_today() - timedelta(days=2), consultant.id, "group_consultation", "1", ""
            ),
        )
        session.commit()
    codes = [c.code for c in session.query(ClientCode).filter_by(user_id=closing.id)]
    staff = login(app.test_client(), make_user(Role.INSTRUCTOR))
    pages = {
        path: staff.get(path)
        for path in (
            "/training/queues",
            "/training/queues/awaiting",
            "/training/queues/ready",
            "/training/queues/closing",
            "/",
        )
    }
    assert all(page.status_code == 200 for page in pages.values())
    assert "Arlo Awaiting" in pages["/training/queues/awaiting"].text
    assert "Wendy Window" in pages["/training/queues/closing"].text
    assert "Nobody is in this queue." in pages["/training/queues/ready"].text
    assert "consultation awaiting its consultant" in pages["/"].text
    assert "Certificate of Training window closing within 60 days" in pages["/"].text
    for page in pages.values():
        assert not any(code in page.text for code in codes)
    assert staff.get("/training/queues/closing?page=0").status_code == 400


def test_certificate_of_training_comes_first_in_my_training(app, make_user, login):
    page = login(app.test_client(), make_user()).get("/training/consultations")
    menu = page.text.split("My training", 1)[1]
    assert menu.index("Certificate of Training") < menu.index("Consultations")


def test_long_queues_are_counted_up_to_the_cap_and_say_so(
    app, session, make_user, login, consultant, monkeypatch
):
    from lms.training import queues

    monkeypatch.setattr(queues, "COUNT_CAP", 1)
    with app.test_request_context():
        for days_ago in (2, 3):
            log.log_consultation(
                session,
                make_user(),
                log.ConsultationInput(
                    programme_today() - timedelta(days=days_ago),
                    consultant.id,
                    "group_consultation",
                    "1",
                    "",
                ),
            )
            session.commit()
    assert queues.queue_counts(session).awaiting == 2  # counting stopped past the cap
    staff = login(app.test_client(), make_user(Role.INSTRUCTOR))
    assert "more than 1" in staff.get("/training/queues").text
    assert "of more than 1 consultations" in staff.get("/training/queues/awaiting").text
    home = " ".join(staff.get("/").text.split())
    assert "<strong>1</strong> or more consultations awaiting their consultant" in home


def test_while_everyone_is_judged_again_the_queues_and_the_card_say_so(
    app, session, make_user, login, consultant
):
    clinician = make_user()
    _confirmed(app, session, clinician, consultant, 5)
    db.commit()  # runs the job loading the catalogue enqueued, before the mark is set by hand
    session.execute(update(Credential).values(standings_due_at=utcnow()))
    session.commit()
    staff = login(app.test_client(), make_user(Role.INSTRUCTOR))
    for path in ("/training/queues", "/training/queues/ready", "/training/queues/closing"):
        assert "every candidate is being judged again" in staff.get(path).text
    card = login(app.test_client(), clinician).get("/").text
    assert "your progress is being worked out again" in card
    session.execute(update(Credential).values(standings_due_at=None))
    session.commit()
    assert "being judged again" not in staff.get("/training/queues").text
    assert "being worked out again" not in login(app.test_client(), clinician).get("/").text
