"""Walk every page of the demo site in Chromium, as a guest and as each demo role.

The walk collects what test_pages_accessible.py judges: axe-core's critical and serious
findings, every page's HTML as the server sent it (for the Nu Html Checker), and how wide
each page is at 375 and 1,280 px. The pages come from `app.url_map` (every GET rule), their
URL values from the demo data's real rows, plus the states a person meets only by doing
something wrong: a failed sign-in, an empty registration, a bad verification code, forms
sent with errors, a broken e-mailed link.
"""

from __future__ import annotations

import functools
import io
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import select

from lms.config import PROJECT_ROOT
from lms.status import Status

TOOLS = PROJECT_ROOT / ".tools" / "node_modules"
AXE_SCRIPT = TOOLS / "axe-core" / "axe.min.js"
VNU_JAR = TOOLS / "vnu-jar" / "build" / "dist" / "vnu.jar"
INSTALLER = PROJECT_ROOT / "tests" / "install-page-checkers.sh"

# WCAG 2.1 A and AA, plus axe's best practices; only what axe rates critical or serious fails.
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice")
FAILING_IMPACTS = ("critical", "serious")
FOCUS_CONTRAST = 3.0  # WCAG 2.1 SC 1.4.11: a focus indicator against what is next to it

# Reports controls without a visible focus and a missing skip link (see the file's header).
FOCUS_SCRIPT = "\n".join(
    line
    for line in (Path(__file__).parent / "focus_check.js").read_text(encoding="utf-8").splitlines()
    if not line.startswith("//")  # the header: page.evaluate wants the function alone
)
PHONE, DESKTOP = 375, 1280
HEIGHT = 800

# GET routes that answer with something other than an HTML page, and why they are skipped.
NOT_PAGES: dict[str, str] = {
    "healthz": "a plain-text health check for load balancers",
    "healthz_jobs": "the job consumer's health, JSON for monitoring",
    "lms_assets.static": "stylesheets, scripts and icons",
    "certificates.download": "a certificate PDF",
    "certificates.transcript": "a transcript PDF",
    "certificates.picture": "the certificate's first page (a JPEG image)",
    "certificates.legacy_picture": "the picture's old address (a redirect to the JPEG)",
    "equivalency.evidence": "the uploaded evidence file (a PDF)",
    "equivalency.evidence_page": "the evidence's first page (a PNG image)",
    "offerings.offering_ics": "an iCalendar file",
    "offerings.my_ics": "an iCalendar file",
    "retreats.roster_csv": "a CSV export",
    "attendance.roster_csv": "a CSV export",
    "attendance.ce_awards_csv": "a CSV export",
    "programme_images.show": "a signature or logo image (PNG or SVG)",
    "attendance.record_pdf": "a printable PDF attendance record",
    "training_documents.download": "a Certificate of Training document (a PDF or DOCX file)",
    "training_documents.first_page": "a document's first page (a PNG image)",
    "badges.credential": "an Open Badge (a signed VC-JWT)",
    "badges.status_list": "a Bitstring Status List credential (a signed VC-JWT)",
    "badges.jwks": "the issuer's public keys, JSON",
    "badges.did_document": "the issuer's did:web document, JSON",
}

# Which demo value fills a URL argument: per endpoint where one name means different things,
# else per argument name. A new route whose argument is in neither fails the walk's test.
VALUE_FOR_ENDPOINT: dict[tuple[str, str], str] = {
    ("catalog.admin_item", "code"): "item_code",
    ("catalog.admin_edit", "code"): "item_code",
    ("certificates.verify", "code"): "certificate_code",
    ("retreats.apply", "session_id"): "open_session_id",
    ("evaluations.form", "offering_id"): "evaluated_offering_id",
    ("evaluations.results_page", "offering_id"): "evaluated_offering_id",
    # An offering that is over and not closed: its completions (made without attendance
    # rows) would be revoked, so the page shows every section and the reason field.
    ("closing.confirm", "offering_id"): "evaluated_offering_id",
}
VALUE_FOR_ARGUMENT: dict[str, str] = {
    "user_id": "clinician_id",
    "certificate_id": "certificate_id",
    "request_id": "request_id",
    "session_id": "full_session_id",
    "application_id": "application_id",
    "message_id": "message_id",
    "event_id": "cohort_event_id",
    "offering_id": "module_offering_id",
    "document_id": "document_id",
    "entry_id": "consultation_id",
    "consultant_id": "consultant_id",
}


# The outermost elements that stick out past the window's right edge: what to fix.
WIDEST_SCRIPT = """() => {
  const clipped = (el) => {
    for (let n = el.parentElement; n && n !== document.body; n = n.parentElement) {
      if (getComputedStyle(n).overflowX !== "visible") return true;
    }
    return false;
  };
  const out = (el) => el.getBoundingClientRect().right > innerWidth + 0.5 && !clipped(el);
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (typeof el.className === "string" && el.className.trim()
      ? "." + el.className.trim().split(/\\s+/).join(".") : "");
  const found = [...document.body.querySelectorAll("*")].filter(
    (el) => out(el) && !out(el.parentElement));
  return found.slice(0, 3).map((el) =>
    `${name(el.parentElement)} > ${name(el)} ${Math.round(el.getBoundingClientRect().width)} px`
  ).join("; ") || "no single element";
}"""


# Boxes inside the page that scroll sideways (a table cut off in its scroll box, say): the
# page itself may fit, but a person still has to scroll to read them.
SCROLL_BOXES_SCRIPT = """() => [...document.body.querySelectorAll("*")]
  .filter((el) => ["auto", "scroll"].includes(getComputedStyle(el).overflowX)
    && el.scrollWidth > el.clientWidth + 1)
  .map((el) => el.tagName.toLowerCase() +
    (typeof el.className === "string" && el.className.trim()
      ? "." + el.className.trim().split(/\\s+/).join(".") : "") +
    ` (${el.scrollWidth} px of content in ${el.clientWidth} px)`)"""


@dataclass(frozen=True)
class Persona:
    """Who walks: a demo account (None: a guest) and the values that are theirs."""

    key: str
    email: str | None


PERSONAS = (
    Persona("guest", None),
    Persona("new-clinician", "clinician@example.org"),  # nothing done yet: the empty states
    Persona("clinician", "daniel.okafor@example.org"),  # credit, certificates, Level 1 open
    Persona("instructor", "instructor@example.org"),
    Persona("reviewer", "reviewer@example.org"),
    Persona("admin", "admin@example.org"),
)


@dataclass
class Walk:
    """What the walk saw."""

    pages: list[str] = field(default_factory=list)  # "persona endpoint-or-state url status"
    reached: set[str] = field(default_factory=set)  # endpoints some persona saw with a 2xx
    not_html: list[str] = field(default_factory=list)  # routes that answered with no page
    axe: list[str] = field(default_factory=list)  # one line per failing rule and element
    overflow: list[str] = field(default_factory=list)  # pages wider than the window
    focus: list[str] = field(default_factory=list)  # controls without a visible focus
    raw_codes: list[str] = field(default_factory=list)  # a stored status code shown as such
    sources: dict[str, str] = field(default_factory=dict)  # file name -> HTML as served


# ------------------------------------------------------------------------------- the demo world


def build_world(app: Flask, password: str) -> dict[str, Any]:
    """Create the demo data, plus a cohort mark, an invitation and a deletion request.

    Returns the ids and codes the walk fills URLs with; per clinician persona, its own ids
    under "<persona key>:<name>".
    """
    from evaluations_support import offering_with_evaluations

    from lms.auth import services as auth_services
    from lms.auth.models import Role
    from lms.auth.privacy import request_deletion
    from lms.auth.tokens import INVITATION, PASSWORD_RESET, account_fingerprint, make_token
    from lms.catalog.models import CatalogItem
    from lms.certificates.models import Certificate
    from lms.clock import today
    from lms.db import db
    from lms.demo import create_demo_data
    from lms.equivalency.models import EquivalencyRequest, EquivalencyStatus
    from lms.mail.models import OutboxMessage
    from lms.offerings.models import Enrolment, EnrolmentStatus, Offering
    from lms.progress.cohorts import record_cohort
    from lms.storage import store

    with app.app_context():
        session = db.session
        create_demo_data(
            session,
            password=password,
            evidence_store=store("evidence", app),
            screening_key=app.config["LMS_SCREENING_KEY"],
        )
        db.commit()

        def user(email: str) -> Any:
            """The demo account with that address."""
            found = auth_services.find_user_by_email(session, email)
            assert found is not None, email
            return found

        admin, instructor = user("admin@example.org"), user("instructor@example.org")
        priya, daniel = user("priya.raman@example.org"), user("daniel.okafor@example.org")
        cohort = record_cohort(
            session,
            user_ids=[user(e).id for e in ("sofia.marquez@example.org", "hannah.cho@example.org")],
            item_code="M3",
            completed_on=today() - timedelta(days=3),
            actor_id=instructor.id,
        )
        invitee = auth_services.invite_staff(
            session,
            email="new.instructor@example.org",
            name="Noor Instructor",
            roles={Role.INSTRUCTOR},
            actor=admin,
        )
        request_deletion(session, user("rachel.stein@example.org"))
        db.commit()
        evaluated = offering_with_evaluations(session, daniel, instructor)

        def first(query: Any) -> Any:
            """The first row a query finds (it must find one)."""
            found = session.scalars(query.limit(1)).first()
            assert found is not None, str(query)
            return found

        certificate = first(
            select(Certificate).where(Certificate.user_id == priya.id).order_by(Certificate.id)
        )
        # The verify page's other states: a revoked, a superseded and an expired certificate
        # (of other demo people, so the walk's own certificate stays valid).
        from sqlalchemy import update

        from lms.certificates.services import reissue_certificate, revoke_certificate
        from lms.db import utcnow

        others = session.scalars(
            select(Certificate)
            .where(
                Certificate.user_id != priya.id,
                Certificate.is_current,
                Certificate.rendered_at.is_not(None),
            )
            .order_by(Certificate.id)
            .limit(3)
        ).all()
        assert len(others) == 3, "the demo should hold certificates of other people"
        revoke_certificate(
            session, others[0].id, actor_id=admin.id, reason="Attendance record corrected"
        )
        reissue_certificate(session, others[1].id, actor_id=admin.id)
        session.execute(
            update(Certificate)
            .where(Certificate.id == others[2].id)
            .values(expires_at=utcnow() - timedelta(days=1))
        )
        certificate_states = {
            "revoked_certificate_code": others[0].code,
            "superseded_certificate_code": others[1].code,
            "expired_certificate_code": others[2].code,
        }
        db.commit()
        offerings = session.scalars(select(Offering).order_by(Offering.id)).all()
        full = next(o for o in offerings if o.capacity == 2)  # the demo's small group
        applied = set(session.scalars(select(Enrolment.offering_id)))
        open_session = next(
            o
            for o in offerings
            if o.item_id == full.item_id
            and o.id not in applied
            and o.enrolment_deadline is not None
            and o.enrolment_deadline >= today(session)
        )
        pending = first(
            select(EquivalencyRequest)
            .where(EquivalencyRequest.status == EquivalencyStatus.PENDING)
            .order_by(EquivalencyRequest.id)
        )
        own_request = first(
            select(EquivalencyRequest)
            .where(EquivalencyRequest.user_id == daniel.id)
            .order_by(EquivalencyRequest.id)
        )
        # A demo candidate's consultation credit from another programme, pending approval.
        consultation_credit = first(
            select(EquivalencyRequest)
            .where(
                EquivalencyRequest.item_id.is_(None),
                EquivalencyRequest.status == EquivalencyStatus.PENDING,
            )
            .order_by(EquivalencyRequest.id)
        )
        # Daniel applied to the small group, and the medical reviewer asked him a question:
        # his retreat pages say so and his page of questions has one to answer.
        from retreats_support import screening

        from lms.retreats.services import apply, ask_question

        key = app.config["LMS_SCREENING_KEY"]
        daniel_application = apply(
            session,
            user_id=daniel.id,
            session_id=full.id,
            screening=screening(yes=("sleep_apnea",), detail="Uses a CPAP machine."),
            screening_key=key,
        )
        ask_question(
            session,
            daniel_application.id,
            reviewer_id=user("reviewer@example.org").id,
            question="Which pressure setting does your CPAP machine use?",
            screening_key=key,
        )
        db.commit()
        # Daniel's Certificate of Training: sessions in his log, a reflection paper (PDF)
        # waiting for review and a letter (DOCX) whose text the reviewer reads inline.
        from training_records_support import ONE_PAGE_PDF, docx_bytes

        from lms.training.documents import DOCUMENTS_AREA, upload_document
        from lms.training.session_log import NEW_CLIENT, SessionInput, log_session

        this_month = today(session).replace(day=1)
        client = NEW_CLIENT
        for months_back, role in ((3, "therapist"), (2, "therapist"), (1, "co_therapist")):
            month = this_month
            for _ in range(months_back):
                month = (month - timedelta(days=1)).replace(day=1)
            logged = log_session(
                session,
                user_id=daniel.id,
                data=SessionInput(
                    year=str(month.year),
                    month=str(month.month),
                    role=role,
                    setting="in_person",
                    client=client,
                ),
            )
            client = logged.client.code
        papers = store(DOCUMENTS_AREA, app)
        paper = upload_document(
            session,
            user_id=daniel.id,
            kind="reflection_paper",
            stream=io.BytesIO(ONE_PAGE_PDF),
            filename="reflection-paper.pdf",
            uploaded_by="clinician",
            actor_id=daniel.id,
            store=papers,
        )
        letter = upload_document(
            session,
            user_id=daniel.id,
            kind="recommendation_letter",
            stream=io.BytesIO(
                docx_bytes("To the programme,", "I recommend Daniel for the certificate.")
            ),
            filename="letter.docx",
            uploaded_by="clinician",
            actor_id=daniel.id,
            store=papers,
        )
        # Daniel logged a consultation with an approved consultant, who has yet to answer: the
        # medical reviewer's account is also that consultant's (the consultant role).
        from lms.auth.models import UserRole
        from lms.training import consultants as approved_list
        from lms.training import consultations as consultation_log

        session.add(UserRole(user_id=user("reviewer@example.org").id, role=Role.CONSULTANT))
        consultant = approved_list.add_consultant(
            session,
            approved_list.ConsultantInput(
                "Maya Lindqvist", "MD", "reviewer@example.org", today() - timedelta(days=400)
            ),
            actor_id=admin.id,
        )
        consultation = consultation_log.log_consultation(
            session,
            daniel,
            consultation_log.ConsultationInput(
                held_on=today() - timedelta(days=4),
                consultant_id=consultant.id,
                kind="group_consultation",
                hours="2",
                topic="Preparing a first dosing session",
            ),
        )
        # An earlier one the consultant confirmed: its link also takes their letter.
        confirmed = consultation_log.log_consultation(
            session,
            daniel,
            consultation_log.ConsultationInput(
                held_on=today() - timedelta(days=34),
                consultant_id=consultant.id,
                kind="group_consultation",
                hours="2",
            ),
        )
        consultation_log.confirm_by_code(session, consultation_log.response_code(confirmed))
        db.commit()
        fresh = user("clinician@example.org")
        closed_session = first(
            select(Offering)
            .join(Offering.item)
            .where(CatalogItem.code == "RETREAT-L1", Offering.closed_at.is_not(None))
            .order_by(Offering.id)
        )
        return {
            # A 2024 retreat session the demo closed (Leila and Priya attended it).
            "closed_session_id": closed_session.id,
            "clinician_id": priya.id,
            "certificate_id": certificate.id,
            "certificate_code": certificate.code,
            **certificate_states,
            "item_code": "RETREAT-ADV",
            "request_id": pending.id,
            "full_session_id": full.id,
            "open_session_id": open_session.id,
            "application_id": first(
                select(Enrolment)
                .where(Enrolment.status == EnrolmentStatus.MEDICAL_REVIEW)
                .order_by(Enrolment.id)
            ).id,
            "message_id": first(select(OutboxMessage).order_by(OutboxMessage.id.desc())).id,
            "cohort_event_id": cohort.event_id,
            "document_id": paper.id,
            "letter_document_id": letter.id,
            # The demo's Module 3 run: enrolled people and a waitlist.
            "module_offering_id": first(
                select(Offering)
                .join(Offering.item)
                .where(CatalogItem.code == "M3")
                .order_by(Offering.id)
            ).id,
            # A Module 4 run the instructor facilitated: Daniel still owes its evaluation,
            # three others gave theirs (enough for the results page to show them).
            "evaluated_offering_id": evaluated,
            "clinician:clinician_id": daniel.id,
            "clinician:request_id": own_request.id,
            "clinician:application_id": daniel_application.id,
            # The reviewer opens the same one: its thread holds the question.
            "reviewer:application_id": daniel_application.id,
            "new-clinician:clinician_id": fresh.id,
            "reset_token": make_token(
                PASSWORD_RESET, {"u": fresh.id, "f": account_fingerprint(fresh)}
            ),
            "invitation_token": make_token(
                INVITATION, {"u": invitee.id, "f": account_fingerprint(invitee)}
            ),
            "consultant_id": consultant.id,
            "consultation_id": consultation.id,
            "consultation_code": consultation_log.response_code(consultation),
            "confirmed_consultation_code": consultation_log.response_code(confirmed),
            "consultation_credit_id": consultation_credit.id,
        }


# ------------------------------------------------------------------------------- the pages


def page_routes(app: Flask) -> list[tuple[str, tuple[str, ...]]]:
    """(endpoint, URL arguments) of every GET rule that answers with a page, sorted."""
    routes = {
        rule.endpoint: tuple(sorted(rule.arguments))
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and rule.endpoint not in NOT_PAGES
    }
    return sorted(routes.items())


def url_for_persona(
    app: Flask, endpoint: str, arguments: tuple[str, ...], persona: Persona, world: dict
) -> str | None:
    """The URL the persona visits for an endpoint; None when an argument has no demo value."""
    from flask import url_for

    values = {}
    for argument in arguments:
        name = value_name(endpoint, argument)
        if name is None:
            return None
        values[argument] = world.get(f"{persona.key}:{name}", world[name])
    with app.test_request_context():
        return url_for(endpoint, **values)


# ------------------------------------------------------------------------------- the checks


class Checker:
    """One browser page per persona that checks whatever state it is left in."""

    def __init__(self, page: Any, persona: Persona, walk: Walk, axe_source: str) -> None:
        """Watch the page's documents: the last one is the HTML the checks judge."""
        self.page, self.persona, self.walk, self.axe_source = page, persona, walk, axe_source
        self.document: Any = None
        page.on("response", self._note_document)

    def _note_document(self, response: Any) -> None:
        """Keep the main frame's latest document response that is not a redirect."""
        request = response.request
        if (
            request.is_navigation_request()
            and request.frame == self.page.main_frame
            and not 300 <= response.status < 400
        ):
            self.document = response

    def goto(self, url: str) -> int:
        """Open a URL; the status of the page it ends on."""
        self.document = None
        self.page.goto(url)
        return self.document.status if self.document else 0

    def submit(self, button: str) -> None:
        """Press a form's button by its name (browser validation off) and wait for the page."""
        self.page.evaluate(
            "() => document.querySelectorAll('form').forEach(f => f.noValidate = true)"
        )
        with self.page.expect_navigation():
            self.page.get_by_role("button", name=button, exact=True).first.click()

    def check(self, name: str) -> None:
        """Run axe, keep the HTML, measure both widths of the page as it is now."""
        page, walk = self.page, self.walk
        assert self.document is not None, f"{name}: no page was loaded"
        url = urlsplit(page.url)
        where = f"{self.persona.key} · {name} ({url.path}{'?' + url.query if url.query else ''})"
        walk.pages.append(f"{where} {self.document.status}")
        walk.sources[f"{len(walk.sources):03d}-{self.persona.key}-{name}.html"] = (
            self.document.text()
        )
        page.evaluate(self.axe_source)  # page.evaluate is not subject to the page's CSP
        found = page.evaluate(
            """async (tags) => {
                const result = await axe.run(document, {
                    runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
                return result.violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help,
                    targets: v.nodes.map(n => n.target.join(" "))}));
            }""",
            list(AXE_TAGS),
        )
        for violation in found:
            if violation["impact"] in FAILING_IMPACTS:
                walk.axe.extend(
                    f"{where}: {violation['id']} [{violation['impact']}] {target}"
                    f" — {violation['help']}"
                    for target in violation["targets"]
                )
        shown = page.evaluate("() => document.body.innerText")
        codes = sorted(set(raw_code_pattern().findall(shown)))
        walk.raw_codes.extend(f"{where}: {code}" for code in codes)
        page.keyboard.press("Tab")  # keyboard use from here on: :focus-visible applies
        walk.focus.extend(
            f"{where}: {problem}" for problem in page.evaluate(FOCUS_SCRIPT, FOCUS_CONTRAST)
        )
        for width in (DESKTOP, PHONE):
            page.set_viewport_size({"width": width, "height": HEIGHT})
            scroll, inner = page.evaluate(
                "() => [document.documentElement.scrollWidth, window.innerWidth]"
            )
            if scroll > inner:
                culprits = page.evaluate(WIDEST_SCRIPT)
                walk.overflow.append(f"{where} at {width} px: {scroll} px wide ({culprits})")
            walk.overflow.extend(
                f"{where} at {width} px: {box} scrolls sideways"
                for box in page.evaluate(SCROLL_BOXES_SCRIPT)
            )
        page.set_viewport_size({"width": DESKTOP, "height": HEIGHT})


@functools.cache
def raw_code_pattern() -> re.Pattern[str]:
    """The stored values of every status (lms.status.Status) in the modules loaded, that no
    person should read as such ("not_cleared"): those a word of English cannot be mistaken
    for (with an underscore). Asked once the app is made, so every feature's are loaded."""
    codes = {
        member.value
        for name, module in list(sys.modules.items())
        if name.startswith("lms.")
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, Status) and value is not Status
        for member in value
        if "_" in member.value
    }
    assert codes, "no status enum loaded"
    return re.compile(r"\b(" + "|".join(sorted(map(re.escape, codes))) + r")\b")


def sign_in(checker: Checker, email: str, password: str) -> None:
    """Use the real sign-in form."""
    page = checker.page
    checker.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert urlsplit(page.url).path != "/login", f"{email} could not sign in"


# ------------------------------------------------------------------------------- error states


def _failed_sign_in(checker: Checker, world: dict) -> None:
    """A wrong password."""
    checker.goto("/login")
    checker.page.get_by_label("E-mail").fill("clinician@example.org")
    checker.page.get_by_label("Password").fill("not the password at all")
    checker.submit("Sign in")


def _empty_registration(checker: Checker, world: dict) -> None:
    """The registration form sent empty."""
    checker.goto("/register")
    checker.submit("Create account")


def _bad_verification_code(checker: Checker, world: dict) -> None:
    """A code that matches no certificate."""
    checker.goto("/verify")
    checker.page.get_by_label("Verification code").fill("NOPE-NOPE-NOPE")
    checker.submit("Check code")


def _revoked_certificate(checker: Checker, world: dict) -> None:
    """The verify page of a revoked certificate (its picture stamped)."""
    checker.goto(f"/verify/{world['revoked_certificate_code']}")


def _superseded_certificate(checker: Checker, world: dict) -> None:
    """The verify page of a certificate a reissue replaced (it links the newer one)."""
    checker.goto(f"/verify/{world['superseded_certificate_code']}")


def _expired_certificate(checker: Checker, world: dict) -> None:
    """The verify page of an expired certificate."""
    checker.goto(f"/verify/{world['expired_certificate_code']}")


def _reset_link(checker: Checker, world: dict) -> None:
    """An e-mailed reset link opened: the new-password form."""
    checker.goto(f"/reset-password#{world['reset_token']}")
    checker.page.get_by_label("Repeat new password").wait_for()


def _reset_form_with_errors(checker: Checker, world: dict) -> None:
    """The new-password form sent empty."""
    checker.submit("Save the new password")


def _broken_link(checker: Checker, world: dict) -> None:
    """An e-mailed link whose code was cut off."""
    checker.goto("/reset-password#not-a-real-code")
    checker.page.get_by_role("heading", name="This link cannot be used").wait_for()


def _invitation_link(checker: Checker, world: dict) -> None:
    """An invited member of staff opens their link."""
    checker.goto(f"/invitation#{world['invitation_token']}")
    checker.page.get_by_label("Repeat new password").wait_for()


def _consultation_link(checker: Checker, world: dict) -> None:
    """A consultant opens their e-mailed link: the entry with Confirm and Decline."""
    checker.goto(f"/training/respond#{world['consultation_code']}")
    checker.page.get_by_role("button", name="Decline", exact=True).wait_for()


def _decline_without_comment(checker: Checker, world: dict) -> None:
    """The consultant declines without saying why: refused, the entry shown again."""
    checker.submit("Decline")


def _letter_without_file(checker: Checker, world: dict) -> None:
    """The consultant opens the link of a consultation they confirmed (only that takes a
    letter) and sends the letter form without a file: refused, the entry and the form shown
    again with the error."""
    # Another page first: from the first link's page, only the fragment would change and the
    # browser would not load the page again (its script reads the code on load).
    checker.goto("/verify")
    checker.goto(f"/training/respond#{world['confirmed_consultation_code']}")
    checker.page.get_by_role("button", name="Upload the letter", exact=True).wait_for()
    checker.submit("Upload the letter")


def _empty_consultation(checker: Checker, world: dict) -> None:
    """The consultation log's form sent empty."""
    checker.goto("/training/consultations")
    checker.submit("Log and ask the consultant to confirm")


def _empty_consultant(checker: Checker, world: dict) -> None:
    """The admin's form for a consultant sent empty."""
    checker.goto("/training/consultants")
    checker.submit("Add")


def _unknown_page(checker: Checker, world: dict) -> None:
    """A URL that does not exist."""
    checker.goto("/no-such-page")


def _wrong_current_password(checker: Checker, world: dict) -> None:
    """The password form on the account page with a wrong current password."""
    checker.goto("/account")
    form = checker.page.locator(
        "form", has=checker.page.get_by_role("button", name="Change password")
    )
    current, new, repeat = form.locator("input[type=password]").all()
    current.fill("not my password")
    new.fill("a new password here")
    repeat.fill("another one entirely")
    checker.submit("Change password")


def _empty_credit_request(checker: Checker, world: dict) -> None:
    """A request for credit sent empty."""
    checker.goto("/equivalency/new")
    checker.submit("Send request")


def _empty_application(checker: Checker, world: dict) -> None:
    """A retreat application sent without its screening answers."""
    checker.goto(f"/retreats/sessions/{world['open_session_id']}/apply")
    checker.submit("Send application")


def _empty_cohort(checker: Checker, world: dict) -> None:
    """A cohort mark with nobody ticked."""
    checker.goto("/mark")
    checker.submit("Record completions")


def _close_without_reason(checker: Checker, world: dict) -> None:
    """Closing confirmed without the reason its revocations need (refused: nothing closes)."""
    checker.goto(f"/offerings/{world['evaluated_offering_id']}/close")
    checker.submit("Close the offering")


def _empty_offering(checker: Checker, world: dict) -> None:
    """A new offering (a module run or a retreat session) sent empty."""
    checker.goto("/offerings/new")
    checker.submit("Save offering")


def _moving_days_people_hold(checker: Checker, world: dict) -> None:
    """The demo's Module 3 run moved 52 weeks on: the confirmation page (not confirmed)."""
    checker.goto(f"/offerings/{world['module_offering_id']}/edit")
    days = checker.page.get_by_label("Days")
    moved = [
        f"{date.fromisoformat(line[:10]) + timedelta(weeks=52)}{line[10:]}"
        for line in days.input_value().splitlines()
        if line
    ]
    days.fill("\n".join(moved))
    checker.submit("Save offering")


def _closed_retreat_roster(checker: Checker, world: dict) -> None:
    """A closed retreat session's roster: what closing recorded, and the reopen form."""
    checker.goto(f"/retreats/sessions/{world['closed_session_id']}/roster")


def _session_log_with_errors(checker: Checker, world: dict) -> None:
    """A session sent without its role, setting or client."""
    checker.goto("/training/sessions/")
    checker.submit("Add to my log")


def _letter_text(checker: Checker, world: dict) -> None:
    """A letter of recommendation (DOCX) to review: its text shown inline."""
    checker.goto(f"/training/documents/{world['letter_document_id']}")


def _consultation_credit(checker: Checker, world: dict) -> None:
    """Consultation credit from another programme to decide: no item, the consultations."""
    checker.goto(f"/equivalency/{world['consultation_credit_id']}")
    checker.page.get_by_role("heading", name="Credit for 3 individual consultations").wait_for()


def _changes_without_comment(checker: Checker, world: dict) -> None:
    """Asking for changes without saying which (refused: the comment is required)."""
    checker.goto(f"/training/documents/{world['document_id']}")
    checker.page.get_by_label("Ask for changes").check()
    checker.submit("Record review")


def _empty_invitation(checker: Checker, world: dict) -> None:
    """A staff invitation sent empty."""
    checker.goto("/admin/invite")
    checker.submit("Send invitation")


def _refused_signature_upload(checker: Checker, world: dict) -> None:
    """The programme settings page after a signature upload that is not an image."""
    checker.goto("/admin/programme")
    checker.page.set_input_files(
        "#signatories-0-signature",
        files=[{"name": "signature.gif", "mimeType": "image/gif", "buffer": b"GIF89a not here"}],
    )
    checker.submit("Save settings")


State = Callable[[Checker, dict], None]
# persona key -> (state name, how to reach it), walked in order after the persona's pages.
STATES: dict[str, tuple[tuple[str, State], ...]] = {
    "guest": (
        ("failed-sign-in", _failed_sign_in),
        ("empty-registration", _empty_registration),
        ("bad-verification-code", _bad_verification_code),
        ("revoked-certificate", _revoked_certificate),
        ("superseded-certificate", _superseded_certificate),
        ("expired-certificate", _expired_certificate),
        ("broken-link", _broken_link),  # before a good link: a kept code would open it
        ("reset-link", _reset_link),
        ("reset-form-with-errors", _reset_form_with_errors),
        ("invitation-link", _invitation_link),
        ("consultation-link", _consultation_link),
        ("decline-without-comment", _decline_without_comment),
        ("letter-without-file", _letter_without_file),
        ("unknown-page", _unknown_page),
    ),
    "clinician": (
        ("wrong-current-password", _wrong_current_password),
        ("empty-credit-request", _empty_credit_request),
        ("empty-application", _empty_application),
        ("session-log-with-errors", _session_log_with_errors),
        ("empty-consultation", _empty_consultation),
    ),
    "instructor": (
        ("empty-cohort", _empty_cohort),
        ("close-without-reason", _close_without_reason),
        ("letter-text", _letter_text),
        ("consultation-credit", _consultation_credit),
        ("changes-without-comment", _changes_without_comment),
    ),
    "admin": (
        ("empty-offering", _empty_offering),
        ("confirm-moved-days", _moving_days_people_hold),
        ("empty-invitation", _empty_invitation),
        ("refused-signature-upload", _refused_signature_upload),
        ("closed-retreat-roster", _closed_retreat_roster),
        ("empty-consultant", _empty_consultant),
    ),
}


# ------------------------------------------------------------------------------- the walk


def walk_site(app: Flask, browser: Any, base_url: str, world: dict, password: str) -> Walk:
    """Visit every page and state as every persona; one browser context per persona."""
    walk = Walk()
    routes = page_routes(app)
    axe_source = AXE_SCRIPT.read_text(encoding="utf-8")
    denied_seen: set[int] = set()
    for persona in PERSONAS:
        context = browser.new_context(
            base_url=base_url, viewport={"width": DESKTOP, "height": HEIGHT}
        )
        context.set_default_timeout(15_000)
        try:
            checker = Checker(context.new_page(), persona, walk, axe_source)
            if persona.email:
                sign_in(checker, persona.email, password)
            seen: set[str] = set()
            for endpoint, arguments in routes:
                url = url_for_persona(app, endpoint, arguments, persona, world)
                if url is None:
                    continue  # test_every_get_route_has_demo_values... names it
                try:
                    status = checker.goto(url)
                except PlaywrightError as error:
                    if "Download is starting" not in str(error):
                        raise
                    walk.not_html.append(f"{endpoint} ({url}): a download")
                    continue
                kind = checker.document.headers.get("content-type", "") if checker.document else ""
                if not kind.startswith("text/html"):
                    walk.not_html.append(f"{endpoint} ({url}): {kind or 'no response'}")
                    continue
                landed = urlsplit(checker.page.url).path
                if 200 <= status < 300 and landed == urlsplit(url).path:
                    walk.reached.add(endpoint)
                elif status >= 400:
                    if status in denied_seen:
                        continue  # one error page per status is enough
                    denied_seen.add(status)
                if landed in seen:
                    continue  # redirected to a page this persona has checked
                seen.add(landed)
                checker.check(endpoint)
            for name, reach in STATES.get(persona.key, ()):
                reach(checker, world)
                checker.check(name)
        finally:
            context.close()
    return walk


def value_name(endpoint: str, argument: str) -> str | None:
    """The demo value's name for a URL argument, None when there is none."""
    return VALUE_FOR_ENDPOINT.get((endpoint, argument)) or VALUE_FOR_ARGUMENT.get(argument)


def install_checkers() -> None:
    """Make sure axe-core and vnu are in .tools/ (a no-op once installed)."""
    subprocess.run(["bash", str(INSTALLER)], check=True)


def nu_errors(sources: dict[str, str], folder: Path) -> list[str]:
    """Every error the Nu Html Checker reports over the pages, in one Java run."""
    for name, html in sources.items():
        (folder / name).write_text(html, encoding="utf-8")
    result = subprocess.run(
        [
            "java",
            "-Xss1m",
            "-jar",
            str(VNU_JAR),
            "--errors-only",
            "--exit-zero-always",
            "--format",
            "json",
            str(folder),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    messages = json.loads(result.stderr or '{"messages": []}')["messages"]
    return list(_describe(messages))


def _describe(messages: list[dict]) -> Iterator[str]:
    """One line per error: file, line, message and the code around it."""
    for message in messages:
        if message.get("type") in ("error", "non-document-error"):
            name = Path(urlsplit(message.get("url", "")).path).name
            extract = " ".join(message.get("extract", "").split())
            yield f"{name}:{message.get('lastLine', '?')}: {message['message']} [{extract}]"
