"""Medical reviewers' tools: notes on decisions, questions to the applicant (more information
requested) and their answers, and changing a past decision. Health data stays encrypted at
rest, every step is audited without its words, and the state moves as the rules say."""

from __future__ import annotations

from datetime import timedelta

import pytest
from clock_support import programme_today
from mail_support import html_of, smtp_server_fixture, text_of  # noqa: F401
from retreats_support import add_session, complete, screening
from sqlalchemy import select

from lms.audit.models import AuditEvent
from lms.auth.models import Role
from lms.auth.privacy import Erasure
from lms.db import db, utcnow
from lms.errors import Conflict, Forbidden, InvalidInput, NotFound
from lms.mail.digest import waiting_work
from lms.offerings.models import Enrolment, EnrolmentStatus, OfferingStatus
from lms.retreats import privacy as retreat_privacy
from lms.retreats import services
from lms.retreats.models import ReviewDecision, ReviewState, ScreeningQuestion, Verdict
from lms.retreats.own_retreats import own_applications
from lms.retreats.screening import decrypt_text
from lms.storage import stores

KEY = "mJ3cX6d0cQk2i3oR9o6wq0zZ2bq3x8nC5m4Wv1yJt5U="
NOTE = "NOTE-MARKER cardiology letter seen, BP controlled"
QUESTION = "QUESTION-MARKER when was your last sleep study?"
ANSWER = "ANSWER-MARKER March, with a CPAP titration"


@pytest.fixture
def people(make_user, catalog, session):
    """Two reviewers and a factory for clinicians who may apply to Level 1."""

    def eligible(**fields):
        user = make_user(Role.CLINICIAN, **fields)
        complete(session, user.id, "M1")
        return user

    return {
        "reviewer": make_user(Role.MEDICAL_REVIEWER, name="Dr Reviewer"),
        "reviewer2": make_user(Role.MEDICAL_REVIEWER, name="Dr Second"),
        "eligible": eligible,
    }


def _apply(session, user, retreat_session):
    """An application with a "yes" to sleep apnea (committed)."""
    application = services.apply(
        session,
        user_id=user.id,
        session_id=retreat_session.id,
        screening=screening(yes=("sleep_apnea",), detail="CPAP"),
        screening_key=KEY,
    )
    session.commit()
    return application


def _ask(session, application, reviewer, question=QUESTION):
    """The reviewer asks the applicant (committed)."""
    asked = services.ask_question(
        session, application.id, reviewer_id=reviewer.id, question=question, screening_key=KEY
    )
    session.commit()
    return asked


def _actions(session, application_id):
    """The audit actions about one application, oldest first, with their facts."""
    session.expire_all()
    return [
        (e.action, e.facts)
        for e in session.scalars(
            select(AuditEvent)
            .where(AuditEvent.subject_id == application_id)
            .order_by(AuditEvent.id)
        )
    ]


def _raw_column(session, model, column, row_id):
    """A column's bytes as the database holds them (a Core read of the table, no ORM object)."""
    table = model.__table__
    value = session.execute(select(table.c[column]).where(table.c.id == row_id)).scalar()
    return bytes(value) if value is not None else None


def test_a_decision_note_is_stored_encrypted_and_read_back_only_with_the_key(session, people):
    application = _apply(session, people["eligible"](), add_session(session))
    services.decide_screening(
        session,
        application.id,
        reviewer_id=people["reviewer"].id,
        clear=True,
        note=NOTE,
        screening_key=KEY,
    )
    session.commit()
    [decision] = session.scalars(select(ReviewDecision)).all()
    assert decision.verdict == Verdict.CLEARED and not decision.revisited
    raw = _raw_column(session, ReviewDecision, "note_encrypted", decision.id)
    assert b"NOTE-MARKER" not in raw and b"cardiology" not in raw
    assert decrypt_text(KEY, raw) == NOTE
    # The audit trail says who decided, never what the note says.
    assert all("NOTE-MARKER" not in str(facts) for _, facts in _actions(session, application.id))


def test_a_decision_without_a_note_keeps_a_row_with_no_note(session, people):
    application = _apply(session, people["eligible"](), add_session(session))
    services.decide_screening(
        session, application.id, reviewer_id=people["reviewer"].id, clear=False
    )
    session.commit()
    [decision] = session.scalars(select(ReviewDecision)).all()
    assert decision.verdict == Verdict.NOT_CLEARED and decision.note_encrypted is None


def test_a_note_without_the_screening_key_is_refused_before_anything_changes(session, people):
    application = _apply(session, people["eligible"](), add_session(session))
    with pytest.raises(services.ScreeningUnavailable):
        services.decide_screening(
            session,
            application.id,
            reviewer_id=people["reviewer"].id,
            clear=True,
            note=NOTE,
            screening_key=None,
        )
    session.rollback()
    assert session.get(Enrolment, application.id).status == EnrolmentStatus.MEDICAL_REVIEW


def test_a_question_moves_the_application_to_the_applicant_and_the_answer_brings_it_back(
    session, people
):
    clinician = people["eligible"]()
    application = _apply(session, clinician, add_session(session))
    assert [a.id for a in services.review_queue(session).waiting] == [application.id]

    asked = _ask(session, application, people["reviewer"])
    queue = services.review_queue(session)
    assert queue.waiting == [] and [a.id for a in queue.with_applicants] == [application.id]
    [own] = own_applications(session, clinician.id)
    assert own.review_state == ReviewState.MORE_INFORMATION and own.question_waiting
    raw = _raw_column(session, ScreeningQuestion, "question_encrypted", asked.id)
    assert b"QUESTION-MARKER" not in raw and decrypt_text(KEY, raw) == QUESTION

    services.answer_question(
        session, application.id, user_id=clinician.id, answer=ANSWER, screening_key=KEY
    )
    session.commit()
    queue = services.review_queue(session)
    assert [a.id for a in queue.waiting] == [application.id] and queue.with_applicants == []
    assert queue.answered == {application.id}
    [own] = own_applications(session, clinician.id)
    assert own.review_state == ReviewState.AWAITING_REVIEWER
    raw = _raw_column(session, ScreeningQuestion, "answer_encrypted", asked.id)
    assert b"ANSWER-MARKER" not in raw and decrypt_text(KEY, raw) == ANSWER
    # The application itself never left medical review.
    assert session.get(Enrolment, application.id).status == EnrolmentStatus.MEDICAL_REVIEW

    actions = _actions(session, application.id)
    assert [a for a, _ in actions if a.startswith("screening.question")] == [
        "screening.question_asked",
        "screening.question_answered",
    ]
    words = str([facts for _, facts in actions])
    assert "MARKER" not in words


def test_the_daily_digest_counts_only_screenings_waiting_for_a_reviewer(session, people):
    clinician = people["eligible"]()
    application = _apply(session, clinician, add_session(session))
    assert waiting_work(session, today=programme_today()).screenings == 1
    _ask(session, application, people["reviewer"])
    assert waiting_work(session, today=programme_today()).screenings == 0
    services.answer_question(
        session, application.id, user_id=clinician.id, answer=ANSWER, screening_key=KEY
    )
    session.commit()
    assert waiting_work(session, today=programme_today()).screenings == 1


def test_the_thread_keeps_every_question_answer_and_decision_in_order(session, people):
    clinician = people["eligible"]()
    application = _apply(session, clinician, add_session(session))
    reviewer = people["reviewer"]
    _ask(session, application, reviewer, "First question?")
    services.answer_question(
        session, application.id, user_id=clinician.id, answer="First answer.", screening_key=KEY
    )
    session.commit()
    _ask(session, application, reviewer, "Second question?")
    services.answer_question(
        session, application.id, user_id=clinician.id, answer="Second answer.", screening_key=KEY
    )
    services.decide_screening(
        session, application.id, reviewer_id=reviewer.id, clear=True, note=NOTE, screening_key=KEY
    )
    session.commit()
    view = services.open_screening(
        session, application.id, reviewer_id=reviewer.id, screening_key=KEY
    )
    assert [(e.kind, e.text) for e in view.thread] == [
        ("question", "First question?"),
        ("answer", "First answer."),
        ("question", "Second question?"),
        ("answer", "Second answer."),
        ("decision", NOTE),
    ]
    assert not view.question_open
    # The applicant reads the questions and their answers, never the reviewer's note.
    mine = services.applicant_questions(
        session, application.id, user_id=clinician.id, screening_key=KEY
    )
    assert [(x.question, x.answer) for x in mine.exchanges] == [
        ("First question?", "First answer."),
        ("Second question?", "Second answer."),
    ]
    assert NOTE not in repr(mine) and not mine.can_answer


def test_opening_the_screening_is_audited_once_per_view(session, people):
    application = _apply(session, people["eligible"](), add_session(session))
    _ask(session, application, people["reviewer"])
    for _ in range(2):
        services.open_screening(
            session, application.id, reviewer_id=people["reviewer2"].id, screening_key=KEY
        )
        session.commit()
    viewed = [a for a, _ in _actions(session, application.id) if a == "screening.viewed"]
    assert viewed == ["screening.viewed", "screening.viewed"]


def test_question_rules_refuse_what_would_break_the_thread(session, people):
    clinician = people["eligible"]()
    other = people["eligible"]()
    application = _apply(session, clinician, add_session(session))
    reviewer = people["reviewer"]
    with pytest.raises(InvalidInput):
        services.ask_question(
            session, application.id, reviewer_id=reviewer.id, question="  ", screening_key=KEY
        )
    with pytest.raises(Conflict, match="No question"):
        services.answer_question(
            session, application.id, user_id=clinician.id, answer="x", screening_key=KEY
        )
    session.rollback()
    _ask(session, application, reviewer)
    with pytest.raises(Conflict, match="still waiting"):
        _ask(session, application, people["reviewer2"])
    session.rollback()
    # Only the applicant answers; to anyone else the application does not exist.
    with pytest.raises(NotFound):
        services.answer_question(
            session, application.id, user_id=other.id, answer="x", screening_key=KEY
        )
    with pytest.raises(NotFound):
        services.applicant_questions(session, application.id, user_id=other.id, screening_key=KEY)
    session.rollback()
    # Once decided, no answer is needed and no question can be asked.
    services.decide_screening(session, application.id, reviewer_id=reviewer.id, clear=True)
    session.commit()
    with pytest.raises(Conflict, match="no answer is needed"):
        services.answer_question(
            session, application.id, user_id=clinician.id, answer="x", screening_key=KEY
        )
    session.rollback()
    with pytest.raises(Conflict, match="only while it is in medical review"):
        _ask(session, application, reviewer)


def test_a_reviewer_cannot_question_their_own_application(session, people, make_user):
    both = make_user(Role.CLINICIAN, Role.MEDICAL_REVIEWER)
    complete(session, both.id, "M1")
    application = _apply(session, both, add_session(session))
    with pytest.raises(Forbidden):
        _ask(session, application, both)


def test_the_question_mail_says_a_question_waits_and_never_what_it_is(smtp_server, session, people):
    clinician = people["eligible"]()
    application = _apply(session, clinician, add_session(session))
    services.ask_question(
        session,
        application.id,
        reviewer_id=people["reviewer"].id,
        question=QUESTION,
        screening_key=KEY,
    )
    db.commit()
    [message] = smtp_server.inbox.to(clinician.email)
    body = text_of(message) + html_of(message) + message["Subject"]
    assert message["Subject"] == "The medical reviewer has a question"
    assert "Sign in to answer it" in text_of(message)
    assert f"/retreats/applications/{application.id}/questions" in text_of(message)
    assert "MARKER" not in body and "sleep study" not in body


def test_changing_a_decision_needs_a_note_frees_the_place_and_is_audited(session, people):
    retreat_session = add_session(session, capacity=1)
    first = _apply(session, people["eligible"](), retreat_session)
    second = _apply(session, people["eligible"](), retreat_session)
    reviewer = people["reviewer"]
    for application in (first, second):
        services.decide_screening(session, application.id, reviewer_id=reviewer.id, clear=True)
    session.commit()
    assert session.get(Enrolment, second.id).status == EnrolmentStatus.WAITLISTED
    with pytest.raises(InvalidInput, match="note"):
        services.change_decision(
            session, first.id, reviewer_id=reviewer.id, clear=False, note=" ", screening_key=KEY
        )
    session.rollback()
    changed = services.change_decision(
        session,
        first.id,
        reviewer_id=people["reviewer2"].id,
        clear=False,
        note=NOTE,
        screening_key=KEY,
    )
    session.commit()
    assert changed.status == EnrolmentStatus.NOT_CLEARED
    assert changed.reviewer_id == people["reviewer2"].id
    # The freed place went to the first person waiting.
    assert session.get(Enrolment, second.id).status == EnrolmentStatus.ENROLLED
    decisions = session.scalars(
        select(ReviewDecision)
        .where(ReviewDecision.enrolment_id == first.id)
        .order_by(ReviewDecision.id)
    ).all()
    assert [(d.verdict, d.revisited) for d in decisions] == [
        (Verdict.CLEARED, False),
        (Verdict.NOT_CLEARED, True),
    ]
    changes = [f for a, f in _actions(session, first.id) if a == "screening.decision_changed"]
    assert len(changes) == 1
    assert (changes[0]["previous"], changes[0]["status"], changes[0]["verdict"]) == (
        "enrolled",
        "not_cleared",
        "not_cleared",
    )
    assert "MARKER" not in str(changes)

    # And back: cleared again, the session now full, so onto the waitlist.
    again = services.change_decision(
        session,
        first.id,
        reviewer_id=reviewer.id,
        clear=True,
        note="On reflection.",
        screening_key=KEY,
    )
    session.commit()
    assert again.status == EnrolmentStatus.WAITLISTED
    with pytest.raises(Conflict, match="already cleared"):
        services.change_decision(
            session, first.id, reviewer_id=reviewer.id, clear=True, note="x", screening_key=KEY
        )


def test_a_decision_cannot_change_once_the_session_has_started_or_before_one_is_made(
    session, people
):
    retreat_session = add_session(session, starts_in=5)
    application = _apply(session, people["eligible"](), retreat_session)
    reviewer = people["reviewer"]
    with pytest.raises(Conflict, match="medical review"):
        services.change_decision(
            session,
            application.id,
            reviewer_id=reviewer.id,
            clear=False,
            note="x",
            screening_key=KEY,
        )
    session.rollback()
    services.decide_screening(session, application.id, reviewer_id=reviewer.id, clear=True)
    session.commit()
    with pytest.raises(Conflict, match="started"):
        services.change_decision(
            session,
            application.id,
            reviewer_id=reviewer.id,
            clear=False,
            note="Too late.",
            screening_key=KEY,
            today=programme_today() + timedelta(days=5),
        )


def test_past_decisions_are_paged_25_at_a_time_latest_first(session, people):
    retreat_session = add_session(session, capacity=40)
    reviewer = people["reviewer"]
    decided = []
    for n in range(26):
        application = _apply(session, people["eligible"](), retreat_session)
        services.decide_screening(
            session, application.id, reviewer_id=reviewer.id, clear=n % 2 == 0
        )
        session.commit()
        decided.append(application.id)
    _apply(session, people["eligible"](), retreat_session)  # undecided: not listed
    first = services.decided_page(session, page=1)
    second = services.decided_page(session, page=2)
    assert first.total == 26 and first.pages == 2 and len(first.items) == 25
    listed = [row.application.id for row in first.items + second.items]
    assert sorted(listed) == sorted(decided) and len(second.items) == 1
    times = [row.application.reviewed_at for row in first.items + second.items]
    assert times == sorted(times, reverse=True)
    verdicts = {row.application.id: row.verdict for row in first.items + second.items}
    assert verdicts[decided[0]] == Verdict.CLEARED and verdicts[decided[1]] == Verdict.NOT_CLEARED
    assert all(row.revisable for row in first.items)


def test_retention_and_erasure_remove_notes_questions_and_answers(app, session, people):
    clinician = people["eligible"]()
    retreat_session = add_session(session, starts_in=10)
    application = _apply(session, clinician, retreat_session)
    _ask(session, application, people["reviewer"])
    services.answer_question(
        session, application.id, user_id=clinician.id, answer=ANSWER, screening_key=KEY
    )
    services.decide_screening(
        session,
        application.id,
        reviewer_id=people["reviewer"].id,
        clear=True,
        note=NOTE,
        screening_key=KEY,
    )
    session.commit()

    # The person's erasure: the words go, the dates and the decision stay.
    retreat_privacy.erase(
        session,
        Erasure(
            person=clinician,
            identifying=frozenset(),
            placeholder="Deleted",
            old_email=clinician.email,
            now=utcnow(),
            files=stores(app),
        ),
    )
    session.commit()
    session.expire_all()
    question = session.scalar(select(ScreeningQuestion))
    decision = session.scalar(select(ReviewDecision))
    assert question.question_encrypted is None and question.answer_encrypted is None
    assert question.purged_at is not None and question.answered_at is not None
    assert decision.note_encrypted is None and decision.purged_at is not None
    assert decision.verdict == Verdict.CLEARED
    view = services.open_screening(
        session, application.id, reviewer_id=people["reviewer"].id, screening_key=KEY
    )
    assert [e.text for e in view.thread] == [None, None, None]


def test_purging_old_screenings_erases_their_review_texts_too(session, people):
    clinician = people["eligible"]()
    old = add_session(session, starts_in=10, location="Old")
    application = _apply(session, clinician, old)
    _ask(session, application, people["reviewer"])
    old.ends_on = programme_today() - timedelta(days=400)
    old.starts_on = old.ends_on - timedelta(days=4)
    session.commit()
    assert services.purge_screenings(session, older_than_days=365) == 1
    session.commit()
    session.expire_all()
    question = session.scalar(select(ScreeningQuestion))
    assert question.question_encrypted is None and question.purged_at is not None


def test_the_export_names_no_note_question_or_answer(session, people):
    clinician = people["eligible"]()
    application = _apply(session, clinician, add_session(session))
    _ask(session, application, people["reviewer"])
    services.answer_question(
        session, application.id, user_id=clinician.id, answer=ANSWER, screening_key=KEY
    )
    session.commit()
    exported = retreat_privacy.export(session, clinician)
    assert "MARKER" not in str(exported) and "questions" in str(exported)


def test_clearing_again_one_who_since_applied_to_another_session_is_refused(session, people):
    """Not cleared for the first session, the clinician applied to a second: clearing the first
    on a second review would give them two places of one retreat."""
    clinician = people["eligible"]()
    first, second = add_session(session, starts_in=40), add_session(session, starts_in=80)
    refused = _apply(session, clinician, first)
    services.decide_screening(
        session, refused.id, reviewer_id=people["reviewer"].id, clear=False, screening_key=KEY
    )
    session.commit()
    _apply(session, clinician, second)
    with pytest.raises(Conflict, match="two places"):
        services.change_decision(
            session,
            refused.id,
            reviewer_id=people["reviewer2"].id,
            clear=True,
            note="ECG normal after all",
            screening_key=KEY,
        )
    session.rollback()
    assert session.get(Enrolment, refused.id).status == EnrolmentStatus.NOT_CLEARED


def test_a_place_in_a_session_called_off_since_is_no_second_place(session, people):
    """The other application stands in a session cancelled since: it is nobody's place
    (holds_live_place), so clearing the first on a second review gives one place, not two."""
    clinician = people["eligible"]()
    first, second = add_session(session, starts_in=40), add_session(session, starts_in=80)
    refused = _apply(session, clinician, first)
    services.decide_screening(
        session, refused.id, reviewer_id=people["reviewer"].id, clear=False, screening_key=KEY
    )
    session.commit()
    _apply(session, clinician, second)
    second.status = OfferingStatus.CANCELLED
    session.commit()
    services.change_decision(
        session,
        refused.id,
        reviewer_id=people["reviewer2"].id,
        clear=True,
        note="ECG normal after all",
        screening_key=KEY,
    )
    session.commit()
    assert session.get(Enrolment, refused.id).status == EnrolmentStatus.ENROLLED


@pytest.mark.parametrize("called_off", [OfferingStatus.CANCELLED, OfferingStatus.CLOSED])
def test_no_reviewer_screens_an_application_whose_session_no_longer_runs(
    session, people, called_off
):
    """Left in medical review when its session was cancelled or closed, an application leaves
    the queue and the counts, and can be neither decided nor questioned (its answers stay on
    record, read only as history)."""
    clinician = people["eligible"]()
    retreat_session = add_session(session)
    application = _apply(session, clinician, retreat_session)
    reviewer = people["reviewer"]
    assert [a.id for a in services.review_queue(session, reviewer_id=reviewer.id).waiting] == [
        application.id
    ]
    retreat_session.status = called_off
    session.commit()
    assert services.review_queue(session, reviewer_id=reviewer.id).waiting == []
    assert waiting_work(session, today=programme_today()).screenings == 0
    said = "cancell?ed" if called_off == OfferingStatus.CANCELLED else "closed"  # en-US
    with pytest.raises(Conflict, match=f"session is {said}"):
        services.decide_screening(
            session, application.id, reviewer_id=reviewer.id, clear=True, screening_key=KEY
        )
    session.rollback()
    with pytest.raises(Conflict, match=f"session is {said}"):
        _ask(session, application, reviewer)
    session.rollback()
    assert session.get(Enrolment, application.id).status == EnrolmentStatus.MEDICAL_REVIEW
