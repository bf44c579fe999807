"""The admin's requirement page: versions in words, a new version previewed then published
(for new candidates, or for everyone when ticked), bad rules refused with nothing stored."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from lms.audit.models import AuditEvent
from lms.auth.models import Role
from lms.training.models import Candidate, RequirementVersion, TrainingStanding
from lms.training.requirement import ensure_credential, start_candidate
from lms.training.standing import due_since

SIMPLER = {"all": [{"completed": "M1"}, {"licensed": True}]}


def _versions(session) -> int:
    """How many versions are stored."""
    session.expire_all()
    return session.scalar(select(func.count()).select_from(RequirementVersion))


def test_the_page_lists_each_version_in_words_with_its_candidates(
    client, login, make_user, session, catalog
):
    credential = ensure_credential(session)
    start_candidate(session, make_user().id, credential)
    session.commit()
    login(client, make_user(Role.ADMIN))
    page = client.get("/training/requirement").get_data(as_text=True)
    assert "Version 1 (new candidates start under it)" in page
    assert "· 1 candidate</p>" in page
    assert "12 group consultations confirmed (24 hours)" in page
    assert "&#34;within_months&#34;: 24" in page  # the newest rule fills the form


def test_a_new_version_is_previewed_then_published_for_new_candidates_only(
    client, login, make_user, session, catalog
):
    credential = ensure_credential(session)
    held = make_user()
    start_candidate(session, held.id, credential)
    session.commit()
    login(client, make_user(Role.ADMIN))
    before = _versions(session)
    data = {"rule": json.dumps(SIMPLER), "note": "Module 1 only, for the pilot"}
    preview = client.post("/training/requirement", data={**data, "step": "preview"})
    body = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Check before publishing" in body
    assert "Publish version 2" in body and "present candidates keep their version" in body
    assert _versions(session) == before  # a preview stores nothing
    done = client.post("/training/requirement", data={**data, "step": "publish"})
    assert done.status_code == 303
    assert _versions(session) == before + 1
    newest = session.scalar(select(RequirementVersion).order_by(RequirementVersion.number.desc()))
    assert newest.rule == SIMPLER and newest.note == "Module 1 only, for the pilot"
    assert session.get(Candidate, (held.id, credential.id)).version.number == 1
    assert session.scalar(select(func.count()).where(AuditEvent.action == "requirement.published"))


def test_publishing_for_everyone_moves_present_candidates_and_is_audited(
    client, login, make_user, session, catalog
):
    credential = ensure_credential(session)
    held = make_user()
    start_candidate(session, held.id, credential)
    session.commit()
    login(client, make_user(Role.ADMIN))
    data = {"rule": json.dumps(SIMPLER), "note": "Applies to all", "everyone": "y"}
    preview = client.post("/training/requirement", data={**data, "step": "preview"})
    assert "It will hold every present candidate (1)" in preview.get_data(as_text=True)
    assert client.post("/training/requirement", data={**data, "step": "publish"}).status_code == 303
    session.expire_all()
    assert session.get(Candidate, (held.id, credential.id)).version.number == 2
    # The job the publication enqueued judged everyone against it once it committed.
    standing = session.get(TrainingStanding, (held.id, credential.id))
    assert (standing.met, standing.parts_total) == (False, 2)
    assert due_since(session) is None
    assert session.scalar(
        select(func.count()).where(AuditEvent.action == "requirement.applied_to_all")
    )


def test_a_bad_rule_is_refused_with_the_reason_and_nothing_is_stored(
    client, login, make_user, session, catalog
):
    ensure_credential(session)
    session.commit()
    login(client, make_user(Role.ADMIN))
    before = _versions(session)
    for rule, reason in (
        ("{not json", "is not JSON"),
        (json.dumps({"completed": "NO-SUCH-ITEM"}), "cannot be published"),
        (json.dumps({"logged": {"kind": "naps", "count": 3}}), "cannot be published"),
    ):
        for step in ("preview", "publish"):
            answer = client.post(
                "/training/requirement", data={"rule": rule, "note": "x", "step": step}
            )
            assert answer.status_code == 422, (rule, step)
            assert reason in answer.get_data(as_text=True)
    missing_note = client.post(
        "/training/requirement", data={"rule": json.dumps(SIMPLER), "step": "publish"}
    )
    assert missing_note.status_code == 422
    assert _versions(session) == before


def test_only_admins_open_the_requirement_page(client, login, make_user):
    login(client, make_user(Role.INSTRUCTOR))
    assert client.get("/training/requirement").status_code == 403
