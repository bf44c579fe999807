"""Reviewers' tools through the pages: a medical reviewer's note, question and change of
decision, the applicant's answer, past decisions; and the credit reviewer's inline evidence
and hours. Who may see what is checked page by page (health data reaches the medical reviewer,
and the applicant's own questions the applicant), with CSRF and other people's records."""

from __future__ import annotations

import io
import re
import uuid
from datetime import timedelta

import pytest
from clock_support import programme_today
from PIL import Image
from retreats_support import PDF_BYTES, PNG_BYTES, add_session, complete, screening_form
from sqlalchemy import func, select

from lms import create_app
from lms.audit.models import AuditEvent
from lms.auth.models import Role
from lms.clock import utcnow
from lms.equivalency.models import EquivalencyRequest
from lms.equivalency.preview import PREVIEW_AREA, preview_key
from lms.mail.models import OutboxMessage
from lms.offerings.models import Enrolment, EnrolmentStatus
from lms.retreats.models import ScreeningQuestion
from lms.retreats.screening import CONTRAINDICATIONS, ScreeningAnswer, ScreeningInput
from lms.storage import store

_SKIP_ENDPOINTS = {"lms_assets.static"}
_CODES = [code for code, _label in CONTRAINDICATIONS]


@pytest.fixture
def review(app, session, make_user, catalog, login):
    """An application whose reviewer asked a question, the applicant answered, and a second
    reviewer cleared it with a note; each text carries its own marker."""
    markers = {k: f"{k.upper()}-{uuid.uuid4().hex}" for k in ("question", "answer", "note")}
    applicant = make_user(Role.CLINICIAN, name="Aria Applicant")
    complete(session, applicant.id, "M1")
    retreat_session = add_session(session, capacity=4)
    clients = {
        "applicant": login(app.test_client(), applicant),
        "reviewer": login(app.test_client(), make_user(Role.MEDICAL_REVIEWER, name="Dr Rae")),
        "instructor": login(app.test_client(), make_user(Role.INSTRUCTOR)),
        "admin": login(app.test_client(), make_user(Role.ADMIN)),
        "other": login(app.test_client(), make_user(Role.CLINICIAN, name="Otto Other")),
    }
    applied = clients["applicant"].post(
        f"/retreats/sessions/{retreat_session.id}/apply",
        data=screening_form(yes=("sleep_apnea",), detail="CPAP"),
    )
    assert applied.status_code == 302
    session.expire_all()
    application = session.scalar(select(Enrolment).where(Enrolment.user_id == applicant.id))
    return {
        "markers": markers,
        "clients": clients,
        "applicant": applicant,
        "application": application,
        "session": retreat_session,
    }


def _status(session, application_id):
    """The application's status as stored now."""
    session.expire_all()
    return session.get(Enrolment, application_id).status


def test_reviewer_asks_applicant_answers_reviewer_decides_with_a_note(session, review):
    c, m, a = review["clients"], review["markers"], review["application"]
    reviewer, applicant = c["reviewer"], c["applicant"]

    asked = reviewer.post(f"/retreats/review/{a.id}/question", data={"question": m["question"]})
    assert asked.status_code == 302
    queue = reviewer.get("/retreats/review").text
    waiting_part = queue.split("More information requested")[1]
    assert "Aria Applicant" in waiting_part  # listed under those waiting for the applicant

    # The applicant's retreats page says a question waits; the question page shows it.
    index = applicant.get("/retreats/").text
    assert "More information requested" in index and f"/applications/{a.id}/questions" in index
    assert m["question"] not in index  # the words are on the question page only
    page = applicant.get(f"/retreats/applications/{a.id}/questions")
    assert m["question"] in page.text and page.headers["Cache-Control"].startswith("no-store")
    answered = applicant.post(
        f"/retreats/applications/{a.id}/questions", data={"answer": m["answer"]}
    )
    assert answered.status_code == 302
    assert "answer received" in reviewer.get("/retreats/review").text

    decided = reviewer.post(
        f"/retreats/review/{a.id}", data={"decision": "clear", "note": m["note"]}
    )
    assert decided.status_code == 302
    assert _status(session, a.id) == EnrolmentStatus.ENROLLED
    screening_page = reviewer.get(f"/retreats/review/{a.id}")
    for marker in m.values():
        assert marker in screening_page.text
    assert screening_page.headers["Cache-Control"].startswith("no-store")
    assert "Change the decision" in screening_page.text

    # The applicant never reads the reviewer's note, even on their question page.
    assert m["note"] not in applicant.get(f"/retreats/applications/{a.id}/questions").text


def test_every_view_of_the_review_page_is_audited(session, review):
    reviewer, a = review["clients"]["reviewer"], review["application"]
    for _ in range(3):
        assert reviewer.get(f"/retreats/review/{a.id}").status_code == 200
    session.expire_all()
    viewed = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "screening.viewed", AuditEvent.subject_id == a.id)
    )
    assert viewed == 3


def test_past_decisions_list_links_to_the_review_and_the_decision_can_be_revisited(session, review):
    reviewer, a = review["clients"]["reviewer"], review["application"]
    reviewer.post(f"/retreats/review/{a.id}", data={"decision": "clear", "note": ""})
    listing = reviewer.get("/retreats/review/decided")
    assert listing.status_code == 200
    assert "Aria Applicant" in listing.text and f"/retreats/review/{a.id}" in listing.text
    assert "Dr Rae" in listing.text and "Revisit" in listing.text
    # A change without a note is refused on the page and changes nothing.
    refused = reviewer.post(f"/retreats/review/{a.id}/change", data={"decision": "not_clear"})
    assert refused.status_code == 422 and "Say why the decision changes" in refused.text
    assert _status(session, a.id) == EnrolmentStatus.ENROLLED
    changed = reviewer.post(
        f"/retreats/review/{a.id}/change", data={"decision": "not_clear", "note": "ECG result"}
    )
    assert changed.status_code == 302
    assert _status(session, a.id) == EnrolmentStatus.NOT_CLEARED
    assert "Decision changed" in reviewer.get(f"/retreats/review/{a.id}").text


@pytest.mark.parametrize("persona", ["instructor", "admin", "other", "applicant"])
def test_only_medical_reviewers_reach_the_review_pages_and_actions(session, review, persona):
    client, a = review["clients"][persona], review["application"]
    for url in ("/retreats/review", "/retreats/review/decided", f"/retreats/review/{a.id}"):
        assert client.get(url).status_code == 403, url
    for url, data in (
        (f"/retreats/review/{a.id}/question", {"question": "Anything?"}),
        (f"/retreats/review/{a.id}/change", {"decision": "not_clear", "note": "x"}),
        (f"/retreats/review/{a.id}", {"decision": "clear", "note": "x"}),
    ):
        assert client.post(url, data=data).status_code == 403, url
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(ScreeningQuestion)) == 0
    assert _status(session, a.id) == EnrolmentStatus.MEDICAL_REVIEW


@pytest.mark.parametrize("persona", ["other", "instructor", "admin", "reviewer"])
def test_nobody_but_the_applicant_reads_or_answers_the_question(session, review, persona):
    c, a = review["clients"], review["application"]
    c["reviewer"].post(f"/retreats/review/{a.id}/question", data={"question": "Q?"})
    client = c[persona]
    assert client.get(f"/retreats/applications/{a.id}/questions").status_code == 404
    answered = client.post(f"/retreats/applications/{a.id}/questions", data={"answer": "mine"})
    assert answered.status_code == 404
    session.expire_all()
    assert session.scalar(select(ScreeningQuestion.answered_at)) is None


def test_answering_without_a_csrf_token_is_refused(app_config, session, review):
    c, a = review["clients"], review["application"]
    c["reviewer"].post(f"/retreats/review/{a.id}/question", data={"question": "Q?"})
    csrf_app = create_app(dict(app_config, WTF_CSRF_ENABLED=True))
    try:
        client = csrf_app.test_client()
        with c["applicant"].session_transaction() as signed_in:
            cookie = dict(signed_in)
        with client.session_transaction() as fresh:
            fresh.update(cookie)
        refused = client.post(f"/retreats/applications/{a.id}/questions", data={"answer": "x"})
        assert refused.status_code == 400
    finally:
        csrf_app.extensions["lms"].db.engine.dispose()
    session.expire_all()
    assert session.scalar(select(ScreeningQuestion.answered_at)) is None


def _get_urls(app, values):
    """Every GET route of the app, filled with the test's record ids."""
    adapter = app.url_map.bind("lms.test")
    urls = set()
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and rule.endpoint not in _SKIP_ENDPOINTS:
            urls.add(adapter.build(rule.endpoint, {n: values.get(n, 1) for n in rule.arguments}))
    return sorted(urls)


def test_notes_questions_and_answers_reach_no_other_page_person_mail_or_row(app, session, review):
    c, m, a = review["clients"], review["markers"], review["application"]
    c["reviewer"].post(f"/retreats/review/{a.id}/question", data={"question": m["question"]})
    c["applicant"].post(f"/retreats/applications/{a.id}/questions", data={"answer": m["answer"]})
    c["reviewer"].post(f"/retreats/review/{a.id}", data={"decision": "clear", "note": m["note"]})
    values = {
        "user_id": review["applicant"].id,
        "application_id": a.id,
        "session_id": review["session"].id,
        "code": "RETREAT-L1",
    }
    own_question_page = f"/retreats/applications/{a.id}/questions"
    for persona in ("instructor", "admin", "other", "applicant"):
        for url in _get_urls(app, values):
            body = c[persona].get(url).get_data()  # PDFs and images too: compared as bytes
            allowed = (
                {m["question"], m["answer"]}
                if persona == "applicant" and url == own_question_page
                else set()
            )
            for marker in set(m.values()) - allowed:
                assert marker.encode() not in body, f"{persona} read {marker[:8]} at {url}"
    session.expire_all()
    for message in session.scalars(select(OutboxMessage)):
        assert not any(marker in repr(vars(message)) for marker in m.values())
    for event in session.scalars(select(AuditEvent)):
        assert not any(marker in str(event.facts) for marker in m.values())


# --------------------------------------------------------------------------- credit reviewer


def _pdf_with_a_black_box() -> bytes:
    """A real one-page PDF (WeasyPrint) with a black rectangle near the top left."""
    from weasyprint import HTML

    html = (
        "<html><body style='margin:0'><div style='width:300px;height:200px;"
        "background:#000'></div><p>Certificate of completion</p></body></html>"
    )
    return HTML(string=html).write_pdf()


def _ask_credit(client, content, filename, hours="16"):
    """A credit request for Module 1 with that evidence file; the new request's id."""
    response = client.post(
        "/equivalency/new",
        content_type="multipart/form-data",
        data={
            "item_code": "M1",
            "programme": "KTC",
            "programme_other": "",
            "attended_from": (programme_today() - timedelta(days=100)).isoformat(),
            "attended_to": (programme_today() - timedelta(days=98)).isoformat(),
            "hours": hours,
            "description": "Introductory KAP training.",
            "evidence": (io.BytesIO(content), filename),
        },
    )
    assert response.status_code == 302, response.status_code
    return int(response.location.rstrip("/").rsplit("/", 1)[-1])


@pytest.fixture
def credit(app, make_user, catalog, login):
    """A clinician, another one, and an instructor who reviews credit requests."""
    return {
        "clinician": login(app.test_client(), make_user(Role.CLINICIAN)),
        "other": login(app.test_client(), make_user(Role.CLINICIAN)),
        "instructor": login(app.test_client(), make_user(Role.INSTRUCTOR)),
        "reviewer": login(app.test_client(), make_user(Role.MEDICAL_REVIEWER)),
    }


def test_the_credit_reviewer_sees_a_pdfs_first_page_inline(app, session, credit):
    request_id = _ask_credit(credit["clinician"], _pdf_with_a_black_box(), "cert.pdf")
    detail = credit["instructor"].get(f"/equivalency/{request_id}")
    picture_url = f"/equivalency/{request_id}/evidence/page"
    assert detail.status_code == 200 and f'src="{picture_url}"' in detail.text

    shown = credit["instructor"].get(picture_url)
    assert shown.status_code == 200 and shown.mimetype == "image/png"
    assert shown.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in shown.headers["Content-Security-Policy"]
    assert "no-store" in shown.headers["Cache-Control"]
    assert "attachment" not in shown.headers.get("Content-Disposition", "")
    image = Image.open(io.BytesIO(shown.data))
    assert max(image.size) <= 1200 and min(image.size) > 100
    darkest, brightest = image.convert("L").getextrema()
    assert darkest < 40 and brightest > 200  # the black box on a white page was drawn

    # Rendered once and kept in the private previews store, under the evidence's own stem.
    session.expire_all()
    key = session.get(EquivalencyRequest, request_id).evidence_key
    with app.app_context():
        assert store(PREVIEW_AREA).read(preview_key(key)) == shown.data
    # The owner may see it; another clinician and a medical reviewer may not.
    assert credit["clinician"].get(picture_url).status_code == 200
    assert credit["other"].get(picture_url).status_code == 404
    assert credit["reviewer"].get(picture_url).status_code == 404


def test_image_evidence_is_shown_as_it_was_uploaded(credit):
    request_id = _ask_credit(credit["clinician"], PNG_BYTES, "cert.png")
    shown = credit["instructor"].get(f"/equivalency/{request_id}/evidence/page")
    assert shown.status_code == 200 and shown.mimetype == "image/png"
    assert shown.data == PNG_BYTES


def test_a_pdf_without_a_page_gets_only_the_download_link(credit):
    request_id = _ask_credit(credit["clinician"], PDF_BYTES, "empty.pdf")
    detail = credit["instructor"].get(f"/equivalency/{request_id}").text
    assert "/evidence/page" not in detail and f"/equivalency/{request_id}/evidence" in detail
    assert credit["instructor"].get(f"/equivalency/{request_id}/evidence/page").status_code == 404


def test_claimed_hours_stand_beside_the_modules_and_a_shortfall_is_marked(credit):
    short = _ask_credit(credit["clinician"], PDF_BYTES, "a.pdf", hours="6")
    detail = credit["instructor"].get(f"/equivalency/{short}").text
    assert 'data-hours-check="short"' in detail and "Fewer hours than the module" in detail
    assert "Module's hours (catalog)" in detail
    assert re.search(r"data-hours-required>9(\.00)?</dd>", detail)
    listing = credit["instructor"].get("/equivalency/review").text
    assert 'data-hours-check="short"' in listing and re.search(r"of 9(\.00)?<", listing)
    credit["clinician"].post(f"/equivalency/{short}/withdraw")
    enough = _ask_credit(credit["clinician"], PDF_BYTES, "b.pdf", hours="9")
    assert "data-hours-check" not in credit["instructor"].get(f"/equivalency/{enough}").text


def test_the_queue_and_past_decisions_run_as_many_queries_for_2_or_8_applications(
    app, session, make_user, catalog, login, count_queries
):
    from lms.retreats import services

    reviewer = make_user(Role.MEDICAL_REVIEWER)
    client = login(app.test_client(), reviewer)
    retreat_session = add_session(session, capacity=20)
    counts = []
    for target in (2, 8):
        while session.scalar(select(func.count()).select_from(Enrolment)) < target * 2:
            person = make_user(Role.CLINICIAN)
            complete(session, person.id, "M1")
            waiting = services.apply(
                session,
                user_id=person.id,
                session_id=retreat_session.id,
                screening=ScreeningInput(
                    answers=tuple(ScreeningAnswer(code, yes=False) for code in _CODES)
                ),
                screening_key=app.config["LMS_SCREENING_KEY"],
            )
            session.commit()
            if waiting.id % 2:
                services.decide_screening(session, waiting.id, reviewer_id=reviewer.id, clear=True)
                session.commit()
        client.get("/retreats/review")  # warm-up
        with count_queries() as queue:
            assert client.get("/retreats/review").status_code == 200
        with count_queries() as decided:
            assert client.get("/retreats/review/decided").status_code == 200
        counts.append((len(queue), len(decided)))
    assert counts[0] == counts[1]


def test_the_sweep_removes_pictures_whose_evidence_is_gone_and_keeps_the_others(
    app, session, credit
):
    from lms.equivalency.sweep import sweep_orphan_previews
    from lms.storage import new_key

    request_id = _ask_credit(credit["clinician"], _pdf_with_a_black_box(), "cert.pdf")
    assert credit["instructor"].get(f"/equivalency/{request_id}/evidence/page").status_code == 200
    session.expire_all()
    kept = preview_key(session.get(EquivalencyRequest, request_id).evidence_key)
    with app.app_context():
        previews = store(PREVIEW_AREA)
        orphan = preview_key(new_key("pdf"))
        previews.put(orphan, b"\x89PNG\r\n\x1a\n", "image/png")
        removed = sweep_orphan_previews(session, previews, before=utcnow() + timedelta(hours=1))
        assert removed == 1
        assert previews.exists(kept) and not previews.exists(orphan)
