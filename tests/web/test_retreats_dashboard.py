"""The dashboard's retreat cards say where the clinician stands with each retreat."""

from __future__ import annotations

import pytest
from offerings_support import cancel
from retreats_support import add_session, approve_credit, complete, screening
from sqlalchemy.orm import Session

from lms.auth.models import Role
from lms.offerings.closing import close_offering
from lms.retreats import services

KEY = "mJ3cX6d0cQk2i3oR9o6wq0zZ2bq3x8nC5m4Wv1yJt5U="


def _card(html: str, code: str) -> str:
    """The dashboard card of one retreat."""
    return html.split(f'id="item-{code}"', 1)[1].split("</article>", 1)[0]


def _apply_and_clear(session: Session, user_id: int, session_id: int, reviewer_id: int) -> None:
    """An application cleared by a reviewer."""
    application = services.apply(
        session, user_id=user_id, session_id=session_id, screening=screening(), screening_key=KEY
    )
    services.decide_screening(session, application.id, reviewer_id=reviewer_id, clear=True)
    session.commit()


def _section(html: str, code: str) -> str:
    """The retreats page's section of one retreat."""
    return html.split(f'data-retreat="{code}"', 1)[1].split("</section>", 1)[0]


@pytest.fixture
def reviewer(make_user):
    """A medical reviewer."""
    return make_user(Role.MEDICAL_REVIEWER)


def test_open_retreat_lists_sessions_with_places_and_apply_links(
    app, login, session, make_user, catalog
):
    clinician = make_user(Role.CLINICIAN)
    complete(session, clinician.id, "M1")
    upcoming = add_session(session, capacity=3, location="Ojai, CA")
    html = login(app.test_client(), clinician).get("/").text
    card = _card(html, "RETREAT-L1")
    assert "Open" in card and "Ojai, CA" in card and "3 places left" in card
    assert f"/retreats/sessions/{upcoming.id}/apply" in card
    assert f"/offerings/{upcoming.id}.ics" in card


def test_waitlisted_clinician_sees_their_position_and_accepted_one_sees_accepted(
    app, login, session, make_user, catalog, reviewer
):
    full = add_session(session, capacity=1, location="Big Sur, CA")
    people = []
    for _ in range(3):
        person = make_user(Role.CLINICIAN)
        complete(session, person.id, "M1")
        _apply_and_clear(session, person.id, full.id, reviewer.id)
        people.append(person)
    first = _card(login(app.test_client(), people[0]).get("/").text, "RETREAT-L1")
    third = _card(login(app.test_client(), people[2]).get("/").text, "RETREAT-L1")
    assert "Enrolled" in first
    assert "Waitlisted" in third and "position 2 on the waitlist" in third


def test_application_in_review_and_not_cleared_are_shown_as_such(
    app, login, session, make_user, catalog, reviewer
):
    clinician = make_user(Role.CLINICIAN)
    complete(session, clinician.id, "M1")
    retreat_session = add_session(session)
    application = services.apply(
        session,
        user_id=clinician.id,
        session_id=retreat_session.id,
        screening=screening(yes=("active_mania",)),
        screening_key=KEY,
    )
    session.commit()
    client = login(app.test_client(), clinician)
    assert "In medical review" in _card(client.get("/").text, "RETREAT-L1")
    services.decide_screening(session, application.id, reviewer_id=reviewer.id, clear=False)
    session.commit()
    assert "Not cleared" in _card(client.get("/").text, "RETREAT-L1")


def test_locked_retreat_card_keeps_progress_explanation_and_adds_no_apply_link(
    app, login, session, make_user, catalog
):
    clinician = make_user(Role.CLINICIAN, licensed=False)
    add_session(session)
    card = _card(login(app.test_client(), clinician).get("/").text, "RETREAT-DFH")
    assert "Locked" in card and "/apply" not in card


def test_a_waitlist_place_in_a_session_that_closed_is_no_place_and_the_next_session_is_open(
    app, login, session, make_user, catalog, reviewer
):
    march = add_session(session, starts_in=20, capacity=1, location="Big Sur, CA")
    september = add_session(session, starts_in=200, location="Ojai, CA")
    alice, casey = make_user(Role.CLINICIAN), make_user(Role.CLINICIAN)
    for person in (alice, casey):
        complete(session, person.id, "M1")
        _apply_and_clear(session, person.id, march.id, reviewer.id)
    admin = make_user(Role.ADMIN)
    client = login(app.test_client(), casey)
    assert "position 1 on the waitlist" in _card(client.get("/").text, "RETREAT-L1")
    # The session ran and was closed: closing settles the places held (Alice's), not Casey's.
    close_offering(session, march.id, actor=admin, today=march.ends_on)
    session.commit()
    apply_to_september = f"/retreats/sessions/{september.id}/apply"
    card = _card(client.get("/").text, "RETREAT-L1")
    assert "Waitlisted" not in card and "position 1" not in card
    assert "Open" in card and apply_to_september in card
    page = client.get("/retreats/").text
    level1 = _section(page, "RETREAT-L1")
    assert "Open" in level1 and "Waitlisted" not in level1.split("<ul", 1)[0]
    assert apply_to_september in level1
    # Her applications keep the March one, with no place in a queue nor a place to give up.
    applications = page.split("Your applications", 1)[1]
    assert "Big Sur, CA" in applications and "Waitlisted" in applications
    assert "position 1" not in applications and "/withdraw" not in applications
    # ... as applying says: the September session takes the application.
    services.apply(
        session, user_id=casey.id, session_id=september.id, screening=screening(), screening_key=KEY
    )
    session.commit()
    assert "In medical review" in _card(client.get("/").text, "RETREAT-L1")


def test_a_place_in_a_cancelled_session_is_no_place_and_the_next_session_is_open(
    app, login, session, make_user, catalog, reviewer
):
    march = add_session(session, starts_in=20, location="Big Sur, CA")
    september = add_session(session, starts_in=200, location="Ojai, CA")
    casey = make_user(Role.CLINICIAN)
    complete(session, casey.id, "M1")
    _apply_and_clear(session, casey.id, march.id, reviewer.id)
    client = login(app.test_client(), casey)
    assert "Enrolled" in _card(client.get("/").text, "RETREAT-L1")
    cancel(session, march, make_user(Role.ADMIN).id)
    apply_to_september = f"/retreats/sessions/{september.id}/apply"
    card = _card(client.get("/").text, "RETREAT-L1")
    assert "Enrolled" not in card and apply_to_september in card
    level1 = _section(client.get("/retreats/").text, "RETREAT-L1")
    assert "Enrolled" not in level1 and apply_to_september in level1


def test_a_credited_retreat_reads_credited_everywhere_with_no_apply_link(
    app, login, session, make_user, catalog, reviewer
):
    upcoming = add_session(session, location="Ojai, CA")
    credited = make_user(Role.CLINICIAN)
    complete(session, credited.id, "M1")
    approve_credit(session, credited.id, "RETREAT-L1", reviewer.id)
    client = login(app.test_client(), credited)
    card = _card(client.get("/").text, "RETREAT-L1")
    assert "Credited (equivalent approved)" in card
    assert ">Open<" not in card and f"/retreats/sessions/{upcoming.id}/apply" not in card
    level1 = _section(client.get("/retreats/").text, "RETREAT-L1")
    assert "Credited (equivalent approved)" in level1
    assert ">Open<" not in level1 and f"/retreats/sessions/{upcoming.id}/apply" not in level1


def test_a_credited_retreat_whose_prerequisite_is_unmet_reads_credited_not_locked(
    app, login, session, make_user, catalog, reviewer
):
    add_session(session, location="Ojai, CA")
    credited = make_user(Role.CLINICIAN)  # Module 1 not done: the rule is not met
    approve_credit(session, credited.id, "RETREAT-L1", reviewer.id)
    client = login(app.test_client(), credited)
    assert "Credited (equivalent approved)" in _card(client.get("/").text, "RETREAT-L1")
    level1 = _section(client.get("/retreats/").text, "RETREAT-L1")
    assert "Credited (equivalent approved)" in level1 and "Locked" not in level1
