"""The CE evaluation end to end below the pages: the catalogue's forms, the certificate that
waits for the evaluation (and only that one), submitting once, the reminder, privacy."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from clock_support import programme_today
from evaluations_support import answers, attend, past_offering
from mail_support import outbox
from sqlalchemy import inspect, select, update

from lms.auth import privacy
from lms.auth.models import Role
from lms.catalog.evaluation_form import QUESTIONS_SETTING
from lms.catalog.models import CatalogItem, ProgrammeSetting
from lms.catalog.services import DEFAULT_CATALOG, CatalogError, load_catalog
from lms.certificates.models import Certificate
from lms.certificates.services import issue_missing
from lms.db import db, utcnow
from lms.errors import Conflict, NotFound
from lms.evaluations import reminders, services
from lms.evaluations.models import EvaluationReminder, EvaluationResponse, EvaluationSubmission
from lms.progress.models import Completion, CompletionSource, ItemState, Standing
from lms.progress.services import record_completion, revoke_completion
from lms.signals import completions_recorded
from lms.storage import stores


def certificates_of(session, user_id):
    """The person's certificate rows as the database has them now."""
    session.expire_all()
    return list(session.scalars(select(Certificate).where(Certificate.user_id == user_id)))


def submit(session, user, offering, **extra):
    """Submit a complete Module 2 evaluation and commit."""
    services.submit_evaluation(
        session, user_id=user.id, offering_id=offering.id, answers=answers(**extra)
    )
    db.commit()


# --------------------------------------------------------------------------- the catalogue


def test_the_default_catalogue_gives_modules_objectives_and_requires_their_evaluation(
    session, catalog
):
    settings = dict(session.execute(select(ProgrammeSetting.key, ProgrammeSetting.value)).all())
    ids = [q["id"] for q in settings[QUESTIONS_SETTING]]
    assert ids == ["relevance", "presenters", "apply", "bias", "overall", "most_useful", "improve"]
    assert all(q["example"] for q in settings[QUESTIONS_SETTING])
    assert len(catalog["M1"].objectives) == 4
    modules = [i for i in catalog.values() if not i.is_retreat]
    assert all(i.evaluation_required and i.objectives for i in modules)
    assert not any(i.evaluation_required or i.objectives for i in catalog.values() if i.is_retreat)
    again = load_catalog(session, DEFAULT_CATALOG)
    assert not again.changed  # loading twice changes nothing


def test_a_catalogue_file_with_a_bad_question_is_refused_whole(session, catalog, tmp_path: Path):
    text = DEFAULT_CATALOG.read_text(encoding="utf-8").replace(
        'id = "relevance"\nkind = "likert"', 'id = "relevance"\nkind = "stars"'
    )
    text = text.replace('title = "Module 2 — Intermediate Workshop I"', 'title = "Renamed"')
    broken = tmp_path / "catalog.toml"
    broken.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError) as refused:
        load_catalog(session, broken)
    assert any(
        "programme field evaluation_questions: [0]: field kind" in p for p in refused.value.problems
    )
    session.rollback()
    assert session.scalar(select(CatalogItem.title).where(CatalogItem.code == "M2")) != "Renamed"


def test_an_item_can_opt_out_and_its_objectives_change_with_the_file(
    session, catalog, tmp_path: Path
):
    text = DEFAULT_CATALOG.read_text(encoding="utf-8").replace(
        'code = "HTH"\n', 'code = "HTH"\nevaluation_required = false\n'
    )
    text = text.replace(
        '  "Identify personal practices that sustain a clinician offering KAP.",\n', ""
    )
    changed = tmp_path / "catalog.toml"
    changed.write_text(text, encoding="utf-8")
    report = load_catalog(session, changed)
    session.commit()
    assert report.updated == ["HTH"]
    item = session.scalar(select(CatalogItem).where(CatalogItem.code == "HTH"))
    assert item.evaluation_required is False
    assert item.objectives == [
        "Describe boundaries that protect both clinician and client in KAP work."
    ]


# --------------------------------------------------------------------------- the hold


def test_attending_unlocks_at_once_but_the_certificate_waits_for_the_evaluation(
    session, make_user, catalog
):
    clinician = make_user()
    offering = past_offering(session, "M1")
    completion = attend(session, clinician.id, offering)

    assert certificates_of(session, clinician.id) == []
    opened = session.scalar(
        select(Standing.state).where(
            Standing.user_id == clinician.id, Standing.item_id == catalog["M2"].id
        )
    )
    assert opened == ItemState.AVAILABLE  # Module 1 counts at once: Module 2 is open
    assert [p.completion_id for p in services.pending_of_person(session, clinician.id)] == [
        completion.id
    ]

    services.submit_evaluation(
        session,
        user_id=clinician.id,
        offering_id=offering.id,
        answers={f"objective_{n}": "5" for n in range(1, 5)}
        | {f"q_{q}": "4" for q in ("relevance", "presenters", "apply", "bias", "overall")},
    )
    db.commit()

    [certificate] = certificates_of(session, clinician.id)
    assert certificate.completion_id == completion.id
    assert certificate.rendered_at is not None and certificate.pdf  # the job ran after commit
    assert services.pending_of_person(session, clinician.id) == []


def test_marks_by_hand_and_items_without_a_required_evaluation_are_issued_as_before(
    session, make_user, catalog
):
    clinician = make_user()
    marked = record_completion(
        session,
        user_id=clinician.id,
        item_code="M2",
        completed_on=programme_today() - timedelta(days=2),
        source=CompletionSource.INSTRUCTOR,
        actor_id=None,
    )
    db.commit()
    session.execute(
        update(CatalogItem).where(CatalogItem.code == "HTH").values(evaluation_required=False)
    )
    db.commit()
    attended = attend(session, clinician.id, past_offering(session, "HTH"))
    retreat = attend(session, clinician.id, past_offering(session, "RETREAT-DFH"))

    issued = {c.completion_id for c in certificates_of(session, clinician.id)}
    assert issued == {marked.id, attended.id, retreat.id}
    assert services.pending_of_person(session, clinician.id) == []


def test_a_batch_of_attendance_completions_holds_each_certificate_in_one_query(
    app, session, make_user, catalog, count_queries
):

    offering = past_offering(session, "M3")
    people = [make_user() for _ in range(4)]
    completions = [
        Completion(
            user_id=p.id,
            item_id=catalog["M3"].id,
            completed_on=offering.ends_on,
            source=CompletionSource.ATTENDANCE,
            offering_id=offering.id,
        )
        for p in people[:3]
    ]
    completions.append(
        Completion(
            user_id=people[3].id,
            item_id=catalog["M3"].id,
            completed_on=offering.ends_on,
            source=CompletionSource.INSTRUCTOR,
        )
    )
    session.add_all(completions)
    session.flush()
    with count_queries() as statements:
        completions_recorded.send(completions, session=session, actor_id=None)
    db.commit()
    assert len([s for s in statements if "evaluation_submissions" in s]) == 1
    holders = {c.user_id for c in session.scalars(select(Certificate))}
    assert holders == {people[3].id}


def test_issuing_missing_certificates_leaves_the_waiting_ones_waiting(session, make_user, catalog):
    waiting, other = make_user(), make_user()
    offering = past_offering(session, "M2")
    attend(session, waiting.id, offering)
    session.add(
        Completion(
            user_id=other.id,
            item_id=catalog["M2"].id,
            completed_on=offering.ends_on,
            source=CompletionSource.IMPORT,
        )
    )
    db.commit()

    report = issue_missing(session, commit=db.commit, jobs=1)

    assert report.issued == 1
    assert certificates_of(session, waiting.id) == []
    assert len(certificates_of(session, other.id)) == 1


def test_a_completion_revoked_and_recorded_again_for_the_same_offering_needs_no_second_evaluation(
    session, make_user, catalog
):
    clinician = make_user()
    offering = past_offering(session, "M2")
    first = attend(session, clinician.id, offering)
    submit(session, clinician, offering)
    revoke_completion(session, first.id, actor_id=None, reason="Wrong offering closed")
    db.commit()
    again = attend(session, clinician.id, offering)
    current = [c for c in certificates_of(session, clinician.id) if c.revoked_at is None]
    assert [c.completion_id for c in current] == [again.id]


# --------------------------------------------------------------------------- submitting


def test_submitting_writes_who_answered_apart_from_the_anonymous_answers(
    session, make_user, catalog
):
    clinician = make_user(name="Quentin Unique")
    offering = past_offering(session, "M2")
    attend(session, clinician.id, offering)

    submit(session, clinician, offering, most_useful="The role plays.")

    [submission] = session.scalars(select(EvaluationSubmission)).all()
    assert (submission.user_id, submission.offering_id) == (clinician.id, offering.id)
    [response] = session.scalars(select(EvaluationResponse)).all()
    assert response.offering_id == offering.id and response.item_id == catalog["M2"].id
    assert {
        "key": "q_most_useful",
        "kind": "text",
        "question": "What was most useful to you?",
        "value": "The role plays.",
    } in response.answers
    assert "Quentin" not in json.dumps(response.answers)
    columns = {c["name"] for c in inspect(session.connection()).get_columns("evaluation_responses")}
    assert columns == {"id", "offering_id", "item_id", "answers"}  # no person, no time
    assert len(response.id) == 32 and response.id != str(submission.id)


def test_a_second_submission_is_refused_and_writes_nothing(session, make_user, catalog):
    clinician = make_user()
    offering = past_offering(session, "M2")
    attend(session, clinician.id, offering)
    submit(session, clinician, offering)
    with pytest.raises(Conflict):
        submit(session, clinician, offering)
    session.rollback()
    assert len(session.scalars(select(EvaluationResponse)).all()) == 1


def test_only_people_whose_attendance_is_recorded_may_evaluate(session, make_user, catalog):
    attended, stranger = make_user(), make_user()
    offering = past_offering(session, "M2")
    completion = attend(session, attended.id, offering)
    with pytest.raises(NotFound):
        services.evaluation_page(session, stranger.id, offering.id)
    with pytest.raises(NotFound):
        submit(session, stranger, offering)
    revoke_completion(session, completion.id, actor_id=None, reason="Did not attend after all")
    db.commit()
    with pytest.raises(NotFound):
        submit(session, attended, offering)
    session.rollback()
    assert session.scalars(select(EvaluationSubmission)).all() == []


# --------------------------------------------------------------------------- reminders


def recorded_days_ago(session, completion, days):
    """Pretend the completion was recorded `days` days ago."""
    session.execute(
        update(Completion)
        .where(Completion.id == completion.id)
        .values(recorded_at=utcnow() - timedelta(days=days))
    )
    db.commit()


def reminders_to(session, user):
    """The evaluation reminders in the outbox for the person."""
    return [m for m in outbox(session) if m.kind == "evaluation_reminder" and m.user_id == user.id]


def test_a_reminder_goes_once_three_days_after_attending_even_with_optional_mail_off(
    app, session, make_user, catalog
):
    quiet = make_user(notify_optional=False)
    offering = past_offering(session, "M2")
    recorded_days_ago(session, attend(session, quiet.id, offering), 2)
    assert reminders.send_due_reminders(session) == 0
    db.commit()

    recorded_days_ago(session, session.scalars(select(Completion)).one(), 4)
    queue = app.extensions["lms"].jobs
    assert queue.run("remind_evaluations") == 1  # the hourly job
    assert queue.run("remind_evaluations") == 0  # once per person and offering
    [message] = reminders_to(session, quiet)
    assert "waiting for your evaluation" in message.subject
    assert f"/evaluations/{offering.id}" in message.text_body
    assert session.get(EvaluationReminder, (quiet.id, offering.id)) is not None


def test_no_reminder_for_the_evaluated_the_departed_or_long_ago(session, make_user, catalog):
    done, gone, old, due = make_user(), make_user(), make_user(), make_user()
    offering = past_offering(session, "M2", days_ago=70)
    for person in (done, gone, old, due):
        recorded_days_ago(session, attend(session, person.id, offering), 5)
    recorded_days_ago(
        session,
        session.scalar(select(Completion).where(Completion.user_id == old.id)),
        reminders.REMINDER_WINDOW.days + 1,
    )
    submit(session, done, offering)
    gone.active = False
    db.commit()

    assert [r.user_id for r in reminders.due_reminders(session)] == [due.id]


# --------------------------------------------------------------------------- privacy


def test_the_export_says_what_was_evaluated_and_erasure_removes_only_the_trace(
    session, make_user, catalog
):
    clinician = make_user(name="Erin Erased")
    admin = make_user(Role.ADMIN)
    offering = past_offering(session, "M2")
    recorded_days_ago(session, attend(session, clinician.id, offering), 4)
    reminders.send_due_reminders(session)
    db.commit()
    submit(session, clinician, offering, improve="More breaks.")

    archive = zipfile.ZipFile(io.BytesIO(privacy.export_personal_data(session, clinician)))
    part = json.loads(archive.read("data.json"))["evaluations"]
    assert [e["offering_id"] for e in part["evaluated"]] == [offering.id]
    assert part["evaluated"][0]["item"] == "M2"
    assert [r["offering_id"] for r in part["reminders_sent"]] == [offering.id]
    assert "More breaks." not in archive.read("data.json").decode()

    privacy.request_deletion(session, clinician)
    db.commit()
    privacy.carry_out_deletion(session, clinician.id, actor=admin, files=stores())
    db.commit()
    assert session.scalars(select(EvaluationSubmission)).all() == []
    assert session.scalars(select(EvaluationReminder)).all() == []
    [response] = session.scalars(select(EvaluationResponse)).all()
    assert any(a["value"] == "More breaks." for a in response.answers)
