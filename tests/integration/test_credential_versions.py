"""The Certificate of Training's requirement as versioned data: the default version ships with
the database, candidates are held to the version they started under, a new version applies
to new candidates only unless the admin applies it to everyone (audited), and a malformed
rule is refused with nothing stored."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from clock_support import programme_today
from sqlalchemy import func, select

from lms.audit.models import AuditEvent
from lms.auth.models import Role
from lms.errors import InvalidInput
from lms.training import consultants as approved_list
from lms.training import consultations as log
from lms.training.models import Candidate, RequirementVersion
from lms.training.requirement import (
    credential_named,
    ensure_credential,
    latest_version,
    publish_requirement,
    requirements_of,
    version_for,
)

SHORTER = {"all": [{"completed": "M1"}, {"logged": {"kind": "group_consultation", "count": 2}}]}


@pytest.fixture
def consultant(app, session, make_user):
    """An approved consultant."""
    admin = make_user(Role.ADMIN)
    found = approved_list.add_consultant(
        session,
        approved_list.ConsultantInput(
            "Sam Ito", "PhD", "sam@consult.test", programme_today() - timedelta(days=90)
        ),
        actor_id=admin.id,
    )
    session.commit()
    return found


def _start(app, session, user, consultant):
    """The person logs a first consultation, which makes them a candidate."""
    with app.test_request_context():
        log.log_consultation(
            session,
            user,
            log.ConsultationInput(programme_today(), consultant.id, "individual_consultation", "1"),
        )
        session.commit()


def test_the_default_requirement_is_version_one(session, catalog):
    version = latest_version(session, ensure_credential(session))
    assert version.number == 1
    assert {"within_months": 24} in version.rule["all"]


def test_the_requirement_list_explains_each_part(app, session, make_user, catalog):
    clinician = make_user()
    with app.test_request_context():
        found = requirements_of(session, clinician)
    assert found.title == "Certificate of Training" and found.version == 1 and not found.met
    by_asks = {line.asks: line for line in found.lines}
    group = by_asks["12 group consultations confirmed (24 hours)"]
    assert group.missing == "0 of 12 group consultations confirmed (0 of 24 hours)."
    assert by_asks["A verified, current clinical license"].met
    assert by_asks["All within 24 months of the first counted event"].met
    assert not by_asks["An approved reflection paper"].met  # no documents provider yet: none


def test_a_new_version_is_for_new_candidates_only(app, session, make_user, consultant, catalog):
    early, late = make_user(), make_user()
    admin = make_user(Role.ADMIN)
    _start(app, session, early, consultant)
    credential = credential_named(session)
    publish_requirement(session, rule=SHORTER, actor_id=admin.id, note="Shorter")
    session.commit()
    _start(app, session, late, consultant)
    assert version_for(session, early.id, credential).number == 1
    assert version_for(session, late.id, credential).number == 2
    with app.test_request_context():
        assert len(requirements_of(session, late).lines) == 2
    published = session.scalar(
        select(AuditEvent).where(AuditEvent.action == "requirement.published")
    )
    assert published.actor_id == admin.id and published.facts == {"version": 2, "note": "Shorter"}


def test_applying_a_version_to_everyone_moves_every_candidate_and_is_audited(
    app, session, make_user, consultant, catalog
):
    first, second = make_user(), make_user()
    admin = make_user(Role.ADMIN)
    _start(app, session, first, consultant)
    _start(app, session, second, consultant)
    publish_requirement(session, rule=SHORTER, actor_id=admin.id, everyone=True)
    session.commit()
    credential = credential_named(session)
    assert {version_for(session, u.id, credential).number for u in (first, second)} == {2}
    moved = session.scalar(
        select(AuditEvent).where(AuditEvent.action == "requirement.applied_to_all")
    )
    assert moved.facts == {"version": 2, "candidates": 2}


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ({"all": [{"completed": "NOPE"}]}, "unknown item code 'NOPE'"),
        ({"logged": {"kind": "group_consultation"}}, "give a count, hours or both"),
        (None, "needs a requirement"),
    ],
)
def test_a_malformed_requirement_is_refused_and_stores_nothing(
    session, make_user, catalog, rule, problem
):
    admin = make_user(Role.ADMIN)
    ensure_credential(session)
    session.commit()
    with pytest.raises(InvalidInput, match=problem):
        publish_requirement(session, rule=copy.deepcopy(rule), actor_id=admin.id)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(RequirementVersion)) == 1


def test_a_candidate_is_pinned_once(app, session, make_user, consultant, catalog):
    clinician = make_user()
    _start(app, session, clinician, consultant)
    with app.test_request_context():
        log.log_consultation(
            session,
            clinician,
            log.ConsultationInput(programme_today(), consultant.id, "group_consultation", "2"),
        )
        session.commit()
    assert session.scalar(select(func.count()).select_from(Candidate)) == 1
    started = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "candidate.started")
    ).all()
    assert len(started) == 1


def test_the_commands_show_and_publish_versions(app, session, catalog, tmp_path):
    runner = app.test_cli_runner()
    shown = runner.invoke(args=["lms", "training", "show"])
    assert shown.exit_code == 0 and "12 group consultations confirmed (24 hours)" in shown.output
    rule_file = tmp_path / "rule.json"
    rule_file.write_text('{"all": [{"completed": "M1"}, {"within_months": 30}]}')
    published = runner.invoke(
        args=["lms", "training", "publish", str(rule_file), "--note", "Longer", "--everyone"]
    )
    assert published.exit_code == 0, published.output
    assert "Version 2 published; it applies to every candidate." in published.output
    rule_file.write_text('{"within_months": "soon"}')
    refused = runner.invoke(args=["lms", "training", "publish", str(rule_file)])
    assert refused.exit_code == 1 and "whole number" in refused.output
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(RequirementVersion)) == 2
