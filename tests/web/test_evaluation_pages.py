"""The evaluation pages: the dashboard asks for it, the form (fieldsets and radio groups), the
certificate that follows, the certificates page saying why one waits, and the results page
for facilitators and admins, without names and in a constant number of queries."""

from __future__ import annotations

import re
from html import unescape

from evaluations_support import M2_RATINGS, answers, attend, past_offering
from sqlalchemy import select

from lms.auth.models import Role
from lms.certificates.models import Certificate
from lms.db import db
from lms.evaluations import services
from lms.evaluations.models import EvaluationResponse, EvaluationSubmission
from lms.evaluations.results import MIN_RESPONSES_SHOWN


def text_of(response) -> str:
    """The page's text with tags removed and whitespace collapsed."""
    page = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return unescape(re.sub(r"\s+", " ", page))


def module_row(html: str, code: str) -> str:
    """The dashboard table row of one module."""
    match = re.search(rf'<tr id="item-{code}".*?</tr>', html, re.S)
    assert match, f"no row for {code}"
    return match.group(0)


def evaluate_all(session, people, offering, rating=4, **texts):
    """Submit Module 2 evaluations for these people."""
    for person in people:
        services.submit_evaluation(
            session, user_id=person.id, offering_id=offering.id, answers=answers(rating, **texts)
        )
    db.commit()


def test_after_attending_the_dashboard_asks_for_the_evaluation_and_the_certificate_follows(
    app, login, session, make_user, catalog
):
    clinician = make_user()
    offering = past_offering(session, "M2")
    attend(session, clinician.id, offering)
    browser = login(app.test_client(), clinician)

    html = browser.get("/").get_data(as_text=True)
    assert "Evaluations to complete" in html
    row = module_row(html, "M2")
    assert 'data-state="completed"' in row  # the completion counts at once
    assert "Certificate waiting for your evaluation" in row
    assert f'href="/evaluations/{offering.id}"' in row

    page = browser.get(f"/evaluations/{offering.id}")
    assert page.status_code == 200
    form = page.get_data(as_text=True)
    assert form.count("<fieldset") == 1 + len(M2_RATINGS)  # the objectives' group + each rating
    assert "<legend>Learning objectives</legend>" in form
    assert "<legend>The content was relevant to my clinical practice." in form
    assert form.count('type="radio" value="5"') == len(M2_RATINGS)
    assert '<label for="q_most_useful">What was most useful to you?' in form

    done = browser.post(f"/evaluations/{offering.id}", data=answers(5, most_useful="Touch."))
    assert done.status_code == 302 and done.location.endswith("/")
    html = browser.get("/").get_data(as_text=True)
    assert "Evaluations to complete" not in html
    assert "Certificate waiting" not in html
    assert "(PDF)</a>" in module_row(html, "M2")
    assert session.scalar(select(Certificate.completion_id)) is not None
    again = browser.get(f"/evaluations/{offering.id}")
    assert "You evaluated this activity on" in text_of(again)
    assert browser.post(f"/evaluations/{offering.id}", data=answers()).status_code == 409
    assert len(session.scalars(select(EvaluationResponse)).all()) == 1


def test_a_certificate_issued_before_the_evaluation_was_required_is_not_said_to_wait(
    app, login, session, make_user, catalog
):
    clinician = make_user()
    catalog["M2"].evaluation_required = False
    session.commit()
    attend(session, clinician.id, past_offering(session, "M2"))
    catalog["M2"].evaluation_required = True
    session.commit()

    html = login(app.test_client(), clinician).get("/").get_data(as_text=True)

    assert "Evaluations to complete" in html  # still asked for
    assert "Certificate waiting" not in html
    assert "(PDF)</a>" in module_row(html, "M2")


def test_an_incomplete_evaluation_is_shown_again_with_what_is_missing_and_saves_nothing(
    app, login, session, make_user, catalog
):
    clinician = make_user()
    offering = past_offering(session, "M2")
    attend(session, clinician.id, offering)
    browser = login(app.test_client(), clinician)
    partial = answers()
    del partial["objective_2"]
    partial["q_overall"] = "9"

    response = browser.post(f"/evaluations/{offering.id}", data=partial)

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert html.count('class="error"') == 2
    assert 'aria-describedby="objective_2-error"' in html
    assert "Choose one answer." in html and "Not a valid choice" in html
    assert re.search(r'<input checked id="objective_1-3"[^>]*value="4">', html)  # kept
    assert session.scalars(select(EvaluationSubmission)).all() == []


def test_someone_who_did_not_attend_gets_no_form(app, login, session, make_user, catalog):
    offering = past_offering(session, "M2")
    attend(session, make_user().id, offering)
    stranger = login(app.test_client(), make_user())
    assert stranger.get(f"/evaluations/{offering.id}").status_code == 404
    assert stranger.post(f"/evaluations/{offering.id}", data=answers()).status_code == 404
    assert stranger.get("/evaluations/999999").status_code == 404


def test_the_dashboard_reads_evaluations_only_for_people_who_attended_an_offering(
    app, login, engine, session, make_user, catalog, count_queries
):
    marked, attended = make_user(), make_user()
    from certificates_support import record

    record(session, marked.id, "M1")
    db.commit()
    attend(session, attended.id, past_offering(session, "M2"))

    def statements_of(person):
        browser = login(app.test_client(), person)
        browser.get("/")
        with count_queries() as statements:
            assert browser.get("/").status_code == 200
        return [s for s in statements if "evaluation_submissions" in s]

    assert statements_of(marked) == []
    assert len(statements_of(attended)) == 1


def test_the_certificates_page_says_which_certificate_waits_and_why(
    app, login, session, make_user, catalog
):
    clinician = make_user()
    instructor = make_user(Role.INSTRUCTOR)
    offering = past_offering(session, "M2")
    attend(session, clinician.id, offering)

    own = text_of(login(app.test_client(), clinician).get(f"/people/{clinician.id}/certificates"))
    assert "Module 2 — Intermediate Workshop I : Certificate waiting for your evaluation" in own
    assert "Evaluate Module 2" in own
    staff = login(app.test_client(), instructor).get(f"/people/{clinician.id}/certificates")
    assert "Certificate waiting for the clinician's evaluation" in text_of(staff)
    assert f"/evaluations/{offering.id}" not in staff.get_data(as_text=True)


def test_results_show_counts_charts_tables_and_comments_without_names(
    app, login, session, make_user, catalog
):
    instructor = make_user(Role.INSTRUCTOR)
    offering = past_offering(session, "M2", facilitator_ids=(instructor.id,))
    people = [make_user(name=f"Respondent Number{n}") for n in range(4)]
    for person in people:
        attend(session, person.id, offering)
    evaluate_all(session, people[:2], offering, rating=5, improve="Longer breaks, please.")
    evaluate_all(session, people[2:3], offering, rating=2)
    browser = login(app.test_client(), instructor)

    page = browser.get(f"/offerings/{offering.id}/evaluation")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    text = text_of(page)
    assert "3 evaluations received" in text and "4 attended" in text
    assert html.count('<svg class="bars"') == len(M2_RATINGS)
    assert html.count('<div class="visually-hidden">') == len(M2_RATINGS)
    assert html.count("<table>") == len(M2_RATINGS)
    # "Strongly agree" (5) twice, "Disagree" (2) once: 67% and 33% of a 300-unit bar.
    assert '<th scope="row">Strongly agree</th><td>2</td><td>67%</td>' in html
    assert 'width="200.0" height="16"' in html and 'width="100.0" height="16"' in html
    assert text.count("Longer breaks, please.") == 2
    assert "Number" not in text and "Respondent" not in text
    assert "mean 4.0 on a scale of 1 (Strongly disagree) to 5 (Strongly agree)" in text
    assert "style=" not in html


def test_results_wait_for_enough_answers_to_keep_them_anonymous(
    app, login, session, make_user, catalog
):
    admin = make_user(Role.ADMIN)
    offering = past_offering(session, "M2")
    people = [make_user() for _ in range(MIN_RESPONSES_SHOWN - 1)]
    for person in people:
        attend(session, person.id, offering)
    evaluate_all(session, people, offering, improve="Only mine.")

    page = login(app.test_client(), admin).get(f"/offerings/{offering.id}/evaluation")

    text = text_of(page)
    assert f"{MIN_RESPONSES_SHOWN - 1} evaluations received" in text
    assert "appear once at least 3 people" in text
    assert "Only mine." not in text and "<svg" not in page.get_data(as_text=True)


def test_results_are_for_the_offerings_facilitators_and_admins_only(
    app, login, session, make_user, catalog
):
    facilitator, other = make_user(Role.INSTRUCTOR), make_user(Role.INSTRUCTOR)
    admin, clinician = make_user(Role.ADMIN), make_user()
    offering = past_offering(session, "M2", facilitator_ids=(facilitator.id,))
    attend(session, clinician.id, offering)
    url = f"/offerings/{offering.id}/evaluation"

    statuses = {
        name: login(app.test_client(), person).get(url).status_code
        for name, person in [
            ("facilitator", facilitator),
            ("other", other),
            ("admin", admin),
            ("clinician", clinician),
        ]
    }
    assert statuses == {"facilitator": 200, "other": 403, "admin": 200, "clinician": 403}
    detail = f"/offerings/{offering.id}"
    assert url in login(app.test_client(), facilitator).get(detail).get_data(as_text=True)
    assert url not in login(app.test_client(), other).get(detail).get_data(as_text=True)


def test_the_results_page_runs_the_same_queries_for_3_or_15_responses(
    app, login, engine, session, make_user, catalog, count_queries
):
    admin = make_user(Role.ADMIN)

    def statements_for(count):
        offering = past_offering(session, "M2", days_ago=10 + count)
        people = [make_user() for _ in range(count)]
        for person in people:
            attend(session, person.id, offering)
        evaluate_all(session, people, offering, most_useful="Everything.")
        browser = login(app.test_client(), admin)
        browser.get(f"/offerings/{offering.id}/evaluation")
        with count_queries() as statements:
            assert browser.get(f"/offerings/{offering.id}/evaluation").status_code == 200
        return statements

    few, many = statements_for(3), statements_for(15)
    assert len(few) == len(many)
