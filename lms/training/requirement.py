"""The credential's requirement as versioned rule data: which version each candidate is held
to, publishing a new version (for new candidates, or for everyone when the admin says so), and
the requirement list a candidate reads, judged by the catalogue's one rule evaluator."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from lms import signals
from lms.audit.services import record_event
from lms.catalog.api import (
    describe,
    evaluate,
    logged_progress,
    validate_rule,
    window_closes_on,
)
from lms.clock import today
from lms.errors import InvalidInput, NotFound
from lms.i18n import marked
from lms.progress.services import facts_for, shared_programme
from lms.training.facts import training_facts
from lms.training.models import Candidate, Credential, RequirementVersion

CERTIFICATE_OF_TRAINING = "CERT-TRAINING"
CERTIFICATE_TITLE = "Certificate of Training"
NOTE_MAX = 300
FIRST_NOTE = marked("The programme's published requirement")
# Version 1 of the requirement (as DOMAIN.md describes it): Modules 1-5 (Module 5 is the
# practice module), any 2 further modules, 12 group consultations (24 hours), 12 individual
# consultations, a retreat or an experiential alternative, 18 sessions as therapist with 3
# different clients, the reflection paper and the letter of recommendation approved,
# licensed, all within 24 months. Migration 0018 writes the same version into every new
# database; a database without it (emptied by hand, say) gets it on its first write.
DEFAULT_RULE: dict[str, Any] = {
    "all": [
        {"all": [{"completed": code} for code in ("M1", "M2", "M3", "M4", "M5")]},
        {
            "at_least": 2,
            "of": [
                {"completed": code}
                for code in ("M6", "M7", "HTH", "MUSIC", "MEDICAL", "INTEGRATION", "ETHICS", "ACT")
            ],
        },
        {"logged": {"kind": "group_consultation", "count": 12, "hours": 24}},
        {"logged": {"kind": "individual_consultation", "count": 12}},
        {
            "any": [
                {"completed": "RETREAT-L1"},
                {"equivalent": "RETREAT-L1"},
                {"completed": "RETREAT-ADV"},
                {"completed": "RETREAT-DFH"},
            ]
        },
        {"logged": {"kind": "therapist_session", "count": 18}},
        {"distinct_clients_at_least": 3},
        {"document_approved": "reflection_paper"},
        {"document_approved": "recommendation_letter"},
        {"licensed": True},
        {"within_months": 24},
    ]
}


def credential_named(session: Session, code: str = CERTIFICATE_OF_TRAINING) -> Credential:
    """The credential with this code (the Certificate of Training by default)."""
    found = session.scalar(select(Credential).where(Credential.code == code))
    if found is None:
        raise NotFound(f"There is no credential {code!r}.")
    return found


def stored_credential(session: Session) -> Credential | None:
    """The Certificate of Training's row, if the database holds it."""
    return session.scalar(select(Credential).where(Credential.code == CERTIFICATE_OF_TRAINING))


def ensure_credential(session: Session) -> Credential:
    """The Certificate of Training, written with version 1 of its requirement if missing."""
    found = stored_credential(session)
    if found is not None:
        return found
    credential = Credential(code=CERTIFICATE_OF_TRAINING, title=CERTIFICATE_TITLE)
    session.add(credential)
    session.flush()
    session.add(
        RequirementVersion(
            credential_id=credential.id, number=1, rule=DEFAULT_RULE, note=FIRST_NOTE
        )
    )
    session.flush()
    return credential


def latest_version(session: Session, credential: Credential) -> RequirementVersion:
    """The newest version of the credential's requirement: what new candidates start under."""
    found = session.scalar(
        select(RequirementVersion)
        .where(RequirementVersion.credential_id == credential.id)
        .order_by(RequirementVersion.number.desc())
        .limit(1)
    )
    if found is None:
        raise NotFound(f"{credential.title} has no requirement yet.")
    return found


def version_for(session: Session, user_id: int, credential: Credential) -> RequirementVersion:
    """The version the person is held to: the one they started under, else the newest."""
    pinned = session.scalar(
        select(RequirementVersion)
        .join(Candidate, Candidate.version_id == RequirementVersion.id)
        .where(Candidate.user_id == user_id, Candidate.credential_id == credential.id)
    )
    return pinned or latest_version(session, credential)


def record_credential_event(
    session: Session,
    credential_id: int,
    action: str,
    *,
    actor_id: int | None,
    person_id: int | None = None,
    **facts: Any,
) -> None:
    """Audit an event of the credential (a version published, a candidate started, an award):
    it is the subject, and the person is named when the event is about one."""
    record_event(
        session,
        actor_id=actor_id,
        action=action,
        subject_type="training_credential",
        subject_id=credential_id,
        person_id=person_id,
        **facts,
    )


def start_candidate(session: Session, user_id: int, credential: Credential) -> Candidate:
    """Hold the person to the newest version from their first step on (once; audited)."""
    found = session.get(Candidate, (user_id, credential.id))
    if found is not None:
        return found
    version = latest_version(session, credential)
    candidate = Candidate(user_id=user_id, credential_id=credential.id, version_id=version.id)
    session.add(candidate)
    record_credential_event(
        session,
        credential.id,
        "candidate.started",
        actor_id=user_id,
        person_id=user_id,
        version=version.number,
    )
    session.flush()
    signals.training_candidate_started.send(candidate, session=session)
    return candidate


def rule_problems(session: Session, rule: Any) -> list[str]:
    """What is wrong with a proposed requirement (empty when it may be published)."""
    problems = validate_rule(rule, shared_programme(session).by_code)
    if rule is None:
        problems.append("$: a credential needs a requirement")
    return problems


def candidates_held(session: Session, credential: Credential) -> dict[int, int]:
    """How many candidates each version of the credential holds: version id -> count."""
    return dict(
        session.execute(
            select(Candidate.version_id, func.count())
            .where(Candidate.credential_id == credential.id)
            .group_by(Candidate.version_id)
        ).all()
    )


def publish_requirement(
    session: Session,
    *,
    rule: Any,
    actor_id: int | None,
    note: str = "",
    everyone: bool = False,
    code: str = CERTIFICATE_OF_TRAINING,
) -> RequirementVersion:
    """A new version of the credential's rule, checked first; new candidates start under it.

    With `everyone`, every present candidate is moved to it too: an explicit choice, audited
    with how many people it moved.
    """
    credential = (
        ensure_credential(session)
        if code == CERTIFICATE_OF_TRAINING
        else credential_named(session, code)
    )
    problems = rule_problems(session, rule)
    if problems:
        raise InvalidInput("The requirement was not saved: " + "; ".join(problems))
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise InvalidInput(f"The note may be at most {NOTE_MAX} characters.")
    number = session.scalar(
        select(func.coalesce(func.max(RequirementVersion.number), 0)).where(
            RequirementVersion.credential_id == credential.id
        )
    )
    version = RequirementVersion(
        credential_id=credential.id,
        number=number + 1,
        rule=rule,
        note=note,
        created_by_id=actor_id,
    )
    session.add(version)
    session.flush()
    record_credential_event(
        session,
        credential.id,
        "requirement.published",
        actor_id=actor_id,
        version=version.number,
        note=note,
    )
    if everyone:
        moved = session.execute(
            update(Candidate)
            .where(Candidate.credential_id == credential.id)
            .values(version_id=version.id)
            .execution_options(synchronize_session=False)
        ).rowcount
        record_credential_event(
            session,
            credential.id,
            "requirement.applied_to_all",
            actor_id=actor_id,
            version=version.number,
            candidates=moved,
        )
    signals.requirement_published.send(version, session=session, everyone=everyone)
    return version


@dataclass(frozen=True)
class RequirementLine:
    """One part of the requirement: what it asks, whether it is met, what is missing, and how
    far along it is (`done` of `of`, and the share done for its picture)."""

    asks: str
    met: bool
    missing: str
    progress: str
    done: int = 0
    of: int = 1
    share: float = 0.0


def _share(done: Any, of: Any) -> float:
    """done / of, between 0 and 1."""
    return 1.0 if of <= 0 else max(0.0, min(1.0, float(done) / float(of)))


def measure(part: Any, facts: Any, names: Any, met: bool) -> tuple[int, int, float]:
    """How far along one part of a requirement is: (done, of, share), for its picture.

    Counted leaves count (7 of 12 consultations; the share is the lesser of the count's and
    the hours' when both are asked); "all of" and "at least N of" count their parts met;
    anything else is 1 of 1 when met, else 0 of 1.
    """
    if isinstance(part, dict) and "logged" in part:
        spec = part["logged"]
        count, hours = facts.training.count_and_hours(spec["kind"])
        shares = []
        if spec.get("count") is not None:
            shares.append(_share(count, spec["count"]))
        if spec.get("hours") is not None:
            shares.append(_share(hours, Decimal(str(spec["hours"]))))
        if spec.get("count") is not None:
            return min(count, spec["count"]), spec["count"], min(shares)
        needed = int(Decimal(str(spec["hours"])))
        return min(int(hours), needed), needed, min(shares)
    if isinstance(part, dict) and "distinct_clients_at_least" in part:
        needed = part["distinct_clients_at_least"]
        clients = min(facts.training.distinct_clients, needed)
        return clients, needed, _share(clients, needed)
    if isinstance(part, dict) and ("all" in part or "at_least" in part):
        children = part.get("all", part.get("of", []))
        needed = len(children) if "all" in part else part["at_least"]
        done = min(sum(evaluate(child, facts, names).met for child in children), needed)
        return done, needed, _share(done, needed)
    return int(met), 1, float(met)


def rule_parts(rule: Any) -> list[Any]:
    """The top-level parts of a requirement: the lines a page lists and the standings count."""
    return rule["all"] if set(rule) == {"all"} else [rule]


def judge_parts(rule: Any, facts: Any, names: Any) -> tuple[RequirementLine, ...]:
    """Each top-level part of a requirement judged on the person's facts (their training
    facts included) by the catalogue's one evaluator: the list pages show, and what the kept
    standings count."""
    lines = []
    for part in rule_parts(rule):
        verdict = evaluate(part, facts, names)
        progress = logged_progress(part["logged"], facts.training) if "logged" in part else ""
        done, of, share = measure(part, facts, names, verdict.met)
        lines.append(
            RequirementLine(
                asks=describe(part, names),
                met=verdict.met,
                missing=verdict.explanation,
                progress=progress,
                done=done,
                of=of,
                share=share,
            )
        )
    return tuple(lines)


def window_months(rule: Any) -> int | None:
    """The shortest `within_months` window anywhere in a rule (None: no window)."""
    found: list[int] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "within_months" in node:
                found.append(int(node["within_months"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(rule)
    return min(found, default=None)


@dataclass(frozen=True)
class Requirements:
    """A candidate's requirement list under the version they are held to."""

    title: str
    version: int
    met: bool
    lines: tuple[RequirementLine, ...]
    first_event_on: date | None = None
    window_closes_on: date | None = None
    on: date | None = None  # the programme's day it was judged on

    @property
    def parts_met(self) -> int:
        """How many parts are met."""
        return sum(line.met for line in self.lines)


def requirements_of(
    session: Session, user: Any, code: str = CERTIFICATE_OF_TRAINING
) -> Requirements:
    """Each part of the requirement the person is held to, judged on today's facts (version 1
    as it ships when the database holds none yet)."""
    credential = stored_credential(session) if code == CERTIFICATE_OF_TRAINING else None
    if credential is None and code != CERTIFICATE_OF_TRAINING:
        credential = credential_named(session, code)
    if credential is not None:
        version = version_for(session, user.id, credential)
        title, number, rule = credential.title, version.number, version.rule
    else:
        title, number, rule = CERTIFICATE_TITLE, 1, DEFAULT_RULE
    day = today(session)
    facts = facts_for(session, [user], on=day)[user.id]
    facts = dataclasses.replace(facts, training=training_facts(session, [user.id], day)[user.id])
    lines = judge_parts(rule, facts, shared_programme(session).names)
    months = window_months(rule)
    return Requirements(
        title=title,
        version=number,
        met=all(line.met for line in lines),
        lines=lines,
        first_event_on=facts.training.first_event_on,
        window_closes_on=window_closes_on(months, facts.training) if months else None,
        on=day,
    )
