"""Loading catalogue files: idempotent, updates by code, refuses bad files as a whole."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lms.audit.models import AuditEvent
from lms.catalog import services
from lms.catalog.models import CatalogItem, ItemKind, ProgrammeSetting
from lms.catalog.services import DEFAULT_CATALOG, CatalogError, load_catalog
from lms.errors import NotFound
from lms.offerings.days import every_day, new_offering
from lms.offerings.models import Offering
from lms.progress.models import Completion, CompletionSource

DEFAULT_TEXT = DEFAULT_CATALOG.read_text(encoding="utf-8")


def write(tmp_path: Path, text: str, name: str = "catalog.toml") -> Path:
    """Write a catalogue file and return its path."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def replace_once(text: str, old: str, new: str) -> str:
    """Replace one exact occurrence (so a test cannot silently edit nothing)."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


def without_item(text: str, code: str) -> str:
    """The catalogue text with one [[items]] block (and its sessions) removed."""
    blocks = text.split("\n[[items]]\n")
    kept = [b for b in blocks if not b.startswith(f'code = "{code}"\n')]
    assert len(kept) == len(blocks) - 1
    return "\n[[items]]\n".join(kept)


def snapshot(session) -> dict:
    """Everything a catalogue load may write, as plain values."""
    session.expire_all()
    items = {
        item.code: (item.title, item.active, item.ce_hours, item.prerequisite, item.position)
        for item in session.scalars(select(CatalogItem))
    }
    sessions = sorted(
        (s.item_id, s.starts_on, s.location, s.capacity, s.active)
        for s in session.scalars(select(Offering))
    )
    settings = {s.key: s.value for s in session.scalars(select(ProgrammeSetting))}
    audit = session.scalar(select(func.count()).select_from(AuditEvent))
    return {"items": items, "sessions": sessions, "settings": settings, "audit": audit}


def loaded_events(session) -> list[AuditEvent]:
    """The catalog.loaded audit events."""
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "catalog.loaded")))


def test_default_catalogue_loads_the_programme(session) -> None:
    """All 16 items with kinds, CE hours, rules, sessions and programme settings."""
    report = load_catalog(session, DEFAULT_CATALOG)
    session.commit()
    assert len(report.created) == 16 and not report.updated and not report.deactivated
    catalogue = services.load_catalogue(session)
    assert [i.code for i in catalogue.modules][:7] == ["M1", "M2", "M3", "M4", "M5", "M6", "M7"]
    assert [i.code for i in catalogue.retreats] == ["RETREAT-L1", "RETREAT-ADV", "RETREAT-DFH"]
    assert sum(catalogue.by_code[c].ce_hours for c in ("M1", "M2", "M3", "M4", "M5")) == 41
    assert all(r.ce_hours is None and r.kind == ItemKind.RETREAT for r in catalogue.retreats)
    assert catalogue.names["M1"].title == "Module 1"
    assert "KTC" in catalogue.names["M1"].equivalent_label
    level1 = services.get_item(session, "RETREAT-L1")
    assert level1.certificate_design == "retreat"
    assert level1.recommended_note == "Completing Modules 1–5 before this retreat is recommended."
    starts = [(s.starts_on, s.location) for s in level1.offerings]
    assert (date(2024, 9, 4), "Portland, OR") in starts
    assert (date(2024, 11, 15), "San Francisco, CA") in starts
    assert any(s.starts_on.year == 2027 for s in level1.offerings)
    settings = services.programme_settings(session)
    assert settings["provider_name"] == "Polaris Insight Center"
    assert settings["retention_years"] == 6
    assert settings["accreditation_statements"][0]["example"] is True
    [loaded] = loaded_events(session)
    assert loaded.facts["created"] == 16


def test_loading_the_same_file_twice_changes_nothing(session) -> None:
    """Idempotent: the second load reports everything unchanged and writes no audit event."""
    load_catalog(session, DEFAULT_CATALOG)
    session.commit()
    before = snapshot(session)
    report = load_catalog(session, DEFAULT_CATALOG)
    session.commit()
    assert not report.changed
    assert len(report.unchanged) == 16
    assert snapshot(session) == before
    assert len(loaded_events(session)) == 1


def test_changed_title_updates_the_item_in_place(session, tmp_path) -> None:
    """Items are matched by code: a new title updates the same row."""
    load_catalog(session, DEFAULT_CATALOG)
    session.commit()
    old_id = services.get_item(session, "M2").id
    text = replace_once(
        DEFAULT_TEXT,
        'title = "Module 2 — Intermediate Workshop I"',
        'title = "Module 2 — Touch and Transference"',
    )
    report = load_catalog(session, write(tmp_path, text), actor_id=None)
    session.commit()
    assert report.updated == ["M2"] and len(report.unchanged) == 15
    item = services.get_item(session, "M2")
    assert (item.id, item.title) == (old_id, "Module 2 — Touch and Transference")
    assert loaded_events(session)[-1].facts["updated"] == 1


def test_removed_item_is_deactivated_and_keeps_its_history(session, tmp_path, make_user) -> None:
    """An item dropped from the file stays in the database, inactive, with its completions."""
    load_catalog(session, DEFAULT_CATALOG)
    session.commit()
    clinician = make_user()
    dfh = services.get_item(session, "RETREAT-DFH")
    session.add(
        Completion(
            user_id=clinician.id,
            item_id=dfh.id,
            completed_on=date(2024, 5, 1),
            source=CompletionSource.INSTRUCTOR,
        )
    )
    session.commit()

    report = load_catalog(session, write(tmp_path, without_item(DEFAULT_TEXT, "RETREAT-DFH")))
    session.commit()
    assert report.deactivated == ["RETREAT-DFH"]
    dfh = services.get_item(session, "RETREAT-DFH")
    assert dfh.active is False
    assert "RETREAT-DFH" not in services.load_catalogue(session).by_code
    assert session.scalar(select(func.count()).where(Completion.item_id == dfh.id)) == 1

    again = load_catalog(session, DEFAULT_CATALOG)
    session.commit()
    assert again.updated == ["RETREAT-DFH"] and services.get_item(session, "RETREAT-DFH").active


def test_new_session_is_added_and_sessions_missing_from_the_file_are_left_alone(
    session, tmp_path
) -> None:
    """Sessions are matched by (item, start, location); ones the app added survive a reload."""
    load_catalog(session, DEFAULT_CATALOG)
    session.commit()
    dfh = services.get_item(session, "RETREAT-DFH")
    session.add(
        new_offering(
            dfh.id,
            every_day(date(2027, 8, 6), date(2027, 8, 8)),
            location="Ojai, CA",
            capacity=8,
        )
    )
    session.commit()
    text = replace_once(DEFAULT_TEXT, "starts_on = 2027-06-25", "starts_on = 2027-06-24")
    report = load_catalog(session, write(tmp_path, text))
    session.commit()
    assert report.updated == ["RETREAT-DFH"]
    session.expire_all()
    dfh = services.get_item(session, "RETREAT-DFH")
    by_start = {s.starts_on: s.active for s in dfh.offerings}
    assert by_start == {
        date(2024, 7, 26): True,
        date(2027, 6, 24): True,  # the file's new session
        date(2027, 6, 25): True,  # no longer in the file, but never silently closed
        date(2027, 8, 6): True,  # added in the app
    }
    assert not load_catalog(session, write(tmp_path, text)).changed


def test_capacity_change_updates_the_session(session, tmp_path) -> None:
    """A changed capacity is an update of the retreat, not a new session."""
    load_catalog(session, DEFAULT_CATALOG)
    session.commit()
    text = DEFAULT_TEXT.replace("capacity = 20", "capacity = 24")
    report = load_catalog(session, write(tmp_path, text))
    session.commit()
    assert report.updated == ["RETREAT-DFH"]
    dfh = services.get_item(session, "RETREAT-DFH")
    assert [s.capacity for s in dfh.offerings] == [24, 24]


def test_a_session_the_file_cancels_or_reinstates_takes_or_gives_back_its_peoples_places(
    session, tmp_path, make_user
) -> None:
    """Cancelling a session in the file ends the places in it, as cancelling it on its page
    does, in the load's own transaction; the file reinstating it gives them back."""
    from facts_support import facts_changed

    from lms.auth.models import Role
    from lms.offerings.models import Enrolment, EnrolmentStatus
    from lms.progress import tracking

    load_catalog(session, DEFAULT_CATALOG)
    session.commit()
    dfh = services.get_item(session, "RETREAT-DFH")
    june = next(o for o in dfh.offerings if o.starts_on == date(2027, 6, 25))
    clinician = make_user(Role.CLINICIAN)
    session.add(
        Enrolment(user_id=clinician.id, offering_id=june.id, status=EnrolmentStatus.ENROLLED)
    )
    facts_changed(session, clinician)
    session.commit()

    def place() -> tuple[bool, str | None]:
        """The clinician's Diamonds from Heaven row: applied, and the place it shows."""
        found = tracking.row_of(session, clinician.id, dfh.id)
        return found.applied, found.application_status

    assert place() == (True, "enrolled")
    cancelled = replace_once(
        DEFAULT_TEXT,
        "enrolment_deadline = 2027-05-14",
        "enrolment_deadline = 2027-05-14\ncancelled = true",
    )
    load_catalog(session, write(tmp_path, cancelled))
    assert place() == (False, None)
    session.commit()
    load_catalog(session, DEFAULT_CATALOG)
    assert place() == (True, "enrolled")
    session.commit()


BAD_FILES = {
    "unknown item in a rule": (
        ("prerequisite = { licensed = true }", 'prerequisite = { completed = "M99" }'),
        ["item RETREAT-DFH", "field prerequisite", "$.completed: unknown item code 'M99'"],
    ),
    "cycle": (
        ("position = 10\n", 'position = 10\nprerequisite = { completed = "M2" }\n'),
        ["item M1", "field prerequisite", "cycle M1 -> M2 -> M1"],
    ),
    "wrong type": (
        ("ce_hours = 9  # assumed split", 'ce_hours = "nine"  # assumed split'),
        ["item M1", "field ce_hours", "'nine' is not a number of hours"],
    ),
    "duplicate code": (
        ('code = "M7"', 'code = "M6"'),
        ["item M6", "field code: duplicate code"],
    ),
    "ce hours on a retreat": (
        ('short_title = "Advanced Retreat"', 'short_title = "Advanced Retreat"\nce_hours = 30'),
        ["item RETREAT-ADV", "field ce_hours", "retreats carry no CE hours"],
    ),
    "session ends before it starts": (
        ("ends_on = 2027-04-18", "ends_on = 2027-04-01"),
        ["item RETREAT-L1", "offerings[2]: ends_on", "the last day cannot be before the first"],
    ),
    "date given as text": (
        ("starts_on = 2024-10-03", 'starts_on = "Oct 3"'),
        ["item RETREAT-ADV", "offerings[0]: starts_on", "expected a date"],
    ),
    "old sessions spelling": (
        (
            'short_title = "Music Module"',
            'short_title = "Music Module"\nsessions = [{ starts_on = 2027-01-01 }]',
        ),
        ["item MUSIC", "field sessions: unknown field", "are now [[items.offerings]]"],
    ),
    "unknown field": (
        ('short_title = "Module 4"', 'short_title = "Module 4"\nhours = 8'),
        ["item M4", "field hours: unknown field"],
    ),
    "unknown kind": (
        ('code = "HTH"\nkind = "specialty_module"', 'code = "HTH"\nkind = "workshop"'),
        ["item HTH", "field kind", "'workshop'"],
    ),
    "at_least out of range": (
        ("{ at_least = 1, of = [", "{ at_least = 13, of = ["),
        ["item RETREAT-L1", "field prerequisite", "at_least: 13 is out of range"],
    ),
    "not TOML at all": (
        ('code = "M1"', 'code = "M1'),
        ["not valid TOML"],
    ),
    # Expiry and retention are date arithmetic: past year 9999 issuing a certificate failed.
    "certificates valid for ever and a day": (
        ("certificate_valid_months = 0", "certificate_valid_months = 99999999999"),
        ["programme field certificate_valid_months", "a whole number from 0 to 1200"],
    ),
    "an item's certificates valid past year 9999": (
        ("position = 10\n", "position = 10\ncertificate_valid_months = 120000\n"),
        ["item M1", "field certificate_valid_months", "a whole number from 0 to 1200"],
    ),
    "records kept a million years": (
        ("retention_years = 6", "retention_years = 1000000"),
        ["programme field retention_years", "a whole number from 1 to 100"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES), ids=lambda c: c.replace(" ", "-"))
def test_bad_file_is_refused_as_a_whole_naming_file_item_and_field(
    case: str, session, tmp_path
) -> None:
    """Each kind of bad file raises CatalogError naming where, and writes nothing."""
    (old, new), fragments = BAD_FILES[case]
    load_catalog(session, DEFAULT_CATALOG)
    session.commit()
    # A good change in the same file must not get through either: the file is one unit.
    text = replace_once(DEFAULT_TEXT, 'title = "Ethics in', 'title = "Changed Ethics in')
    path = write(tmp_path, replace_once(text, old, new), name="bad-catalog.toml")
    before = snapshot(session)
    with pytest.raises(CatalogError) as caught:
        load_catalog(session, path)
    message = str(caught.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    assert all(line.startswith(f"{path}: ") for line in caught.value.problems)
    assert not session.new and not session.dirty
    session.commit()
    assert snapshot(session) == before


def test_every_problem_in_a_file_is_reported_at_once(session, tmp_path) -> None:
    """Problems are collected, not reported one per attempt."""
    text = replace_once(
        DEFAULT_TEXT, "ce_hours = 9  # assumed split", 'ce_hours = "nine"  # assumed split'
    )
    text = replace_once(text, "prerequisite = { licensed = true }", "prerequisite = { x = 1 }")
    text = replace_once(text, "ends_on = 2027-04-18", "ends_on = 2027-04-01")
    with pytest.raises(CatalogError) as caught:
        load_catalog(session, write(tmp_path, text))
    assert len(caught.value.problems) == 3
    assert session.scalar(select(func.count()).select_from(CatalogItem)) == 0


def test_missing_file_is_a_catalog_error(session, tmp_path) -> None:
    """A wrong path is a clear message, not a traceback."""
    with pytest.raises(CatalogError, match="no such file"):
        load_catalog(session, tmp_path / "nope.toml")


def test_load_catalogue_runs_one_query(session, engine, count_queries) -> None:
    """The snapshot every page uses costs one query, however it is used afterwards."""
    load_catalog(session, DEFAULT_CATALOG)
    session.commit()
    session.expire_all()
    with count_queries() as statements:
        catalogue = services.load_catalogue(session)
        _ = catalogue.names, catalogue.modules, catalogue.retreats, catalogue.by_code["M1"].title
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


def test_get_item_unknown_code_is_not_found(session) -> None:
    """Unknown codes raise NotFound with the code in the message."""
    with pytest.raises(NotFound, match="NOPE"):
        services.get_item(session, "NOPE")


def test_programme_settings_have_defaults_before_any_load(session) -> None:
    """Callers can rely on the keys even on an empty database."""
    settings = services.programme_settings(session)
    assert settings["retention_years"] == 6
    assert settings["accreditation_statements"] == []


def test_update_item_refuses_ce_hours_on_retreats_and_records_changes(session) -> None:
    """The admin edit service: retreat CE hours refused; changes audited by field name."""
    from lms.errors import InvalidInput

    load_catalog(session, DEFAULT_CATALOG)
    session.commit()
    with pytest.raises(InvalidInput, match="retreats carry no CE hours"):
        services.update_item(session, "RETREAT-L1", actor_id=None, ce_hours="5")
    changed = services.update_item(session, "M6", actor_id=None, ce_hours="7.25", title="Module 6")
    assert changed == ["title", "ce_hours"]
    assert services.get_item(session, "M6").ce_hours == Decimal("7.25")
    [audit] = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "catalog.item_updated")
    ).all()
    assert audit.facts == {"code": "M6", "fields": ["title", "ce_hours"]}


def test_update_item_refuses_to_deactivate_an_item_other_rules_name(session) -> None:
    """Module 1 is named by many rules; deactivating it would strand them."""
    from lms.errors import InvalidInput

    load_catalog(session, DEFAULT_CATALOG)
    session.commit()
    with pytest.raises(InvalidInput, match="M2"):
        services.update_item(session, "M1", actor_id=None, active=False)
    assert services.update_item(session, "RETREAT-DFH", actor_id=None, active=False) == ["active"]


# --- the command line --------------------------------------------------------------------


def test_cli_load_default_prints_the_report_and_is_idempotent(app) -> None:
    """`flask lms catalog load --default` twice: created, then nothing to do."""
    runner = app.test_cli_runner()
    first = runner.invoke(args=["lms", "catalog", "load", "--default"])
    assert first.exit_code == 0, first.output
    assert "16 created" in first.output
    second = runner.invoke(args=["lms", "catalog", "load", "--default"])
    assert second.exit_code == 0
    assert "16 unchanged (nothing to do)" in second.output


def test_cli_bad_file_prints_one_line_per_problem_exits_1_and_writes_nothing(
    app, session, tmp_path
) -> None:
    """A bad file: each problem on its own line, exit status 1, database untouched."""
    text = replace_once(
        DEFAULT_TEXT, "ce_hours = 9  # assumed split", 'ce_hours = "nine"  # assumed split'
    )
    text = replace_once(text, 'code = "M7"', 'code = "M6"')
    path = write(tmp_path, text)
    result = app.test_cli_runner().invoke(args=["lms", "catalog", "load", str(path)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 3  # the bad hours, the duplicate, and the rule naming the lost M7
    assert all(str(path) in line for line in lines)
    assert "not loaded (3 problems)" in result.output
    assert session.scalar(select(func.count()).select_from(CatalogItem)) == 0


def test_cli_load_needs_exactly_one_source(app) -> None:
    """Neither or both of PATH and --default is a usage error."""
    result = app.test_cli_runner().invoke(args=["lms", "catalog", "load"])
    assert result.exit_code == 2
    assert "PATH or --default" in result.output


def test_cli_show_lists_items_with_rules_in_words(app) -> None:
    """`flask lms catalog show` prints each item and its prerequisite in words."""
    runner = app.test_cli_runner()
    runner.invoke(args=["lms", "catalog", "load", "--default"])
    result = runner.invoke(args=["lms", "catalog", "show"])
    assert result.exit_code == 0
    assert "RETREAT-ADV" in result.output
    assert "requires: Module 1, or an approved equivalent introductory KAP training" in (
        result.output
    )
    assert "sessions: 4" in result.output


def _deep_rule(depth: int) -> str:
    """A TOML inline rule with `depth` nested "all" combinators around Module 1."""
    return "{all = [" * depth + '{completed = "M1"}' + "]}" * depth


def _load_via_cli(app, path: Path):
    """Run `flask lms catalog load PATH`."""
    return app.test_cli_runner().invoke(args=["lms", "catalog", "load", str(path)])


def _assert_one_line_refusal(result, path: Path, expected: str) -> None:
    """Exit 1, every line an "Error: ..." naming the file or the summary, no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert expected in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert errors and all(str(path) in line for line in errors)


@pytest.mark.parametrize("depth", [33, 600], ids=["over-the-limit", "past-python-recursion"])
def test_cli_refuses_a_rule_nested_too_deep_with_one_line_and_changes_nothing(
    app, session, tmp_path, depth
) -> None:
    load_catalog(session, DEFAULT_CATALOG)
    session.commit()
    before = snapshot(session)
    text = replace_once(
        DEFAULT_TEXT,
        "ce_hours = 9  # assumed split",
        f"prerequisite = {_deep_rule(depth)}\nce_hours = 9  # assumed split",
    )
    text = text.replace('code = "M1"\nkind', 'code = "M1"\nkind', 1)
    path = write(tmp_path, text)
    result = _load_via_cli(app, path)
    _assert_one_line_refusal(result, path, "nested at most 32 levels deep")
    assert snapshot(session) == before


def test_a_rule_at_the_depth_limit_loads(session, tmp_path) -> None:
    text = replace_once(
        DEFAULT_TEXT,
        'code = "HTH"\n',
        'code = "HTH"\nprerequisite = ' + _deep_rule(31) + "\n",
    )
    load_catalog(session, write(tmp_path, text))
    session.commit()
    item = session.scalar(select(CatalogItem).where(CatalogItem.code == "HTH"))
    assert item.prerequisite is not None


def test_cli_refuses_a_file_that_is_not_utf8_with_one_line(app, session, tmp_path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(DEFAULT_TEXT.replace("Module 1 —", "Módulo 1 —").encode("latin-1", "replace"))
    result = _load_via_cli(app, path)
    _assert_one_line_refusal(result, path, "not UTF-8 text")
    assert session.scalar(select(func.count()).select_from(CatalogItem)) == 0


def test_the_file_cannot_deactivate_an_item_that_active_rules_name(app, session, tmp_path) -> None:
    """The admin page's rule holds for the loader too: Module 1 stays active."""
    load_catalog(session, DEFAULT_CATALOG)
    session.commit()
    before = snapshot(session)
    text = replace_once(
        DEFAULT_TEXT,
        "ce_hours = 9  # assumed split",
        "active = false\nce_hours = 9  # assumed split",
    )
    path = write(tmp_path, text)
    result = _load_via_cli(app, path)
    _assert_one_line_refusal(result, path, "item M1: field active: M1 cannot be deactivated")
    assert "M2, M3" in result.output
    assert snapshot(session) == before
    assert session.scalar(select(CatalogItem.active).where(CatalogItem.code == "M1")) is True


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('short_title = "Module 1"', 'short_title = "\\u0000"', "field short_title: use one line"),
        (
            'title = "Module 1 — Introduction',
            'title = "\\u200b\\u200d"\nold_title = "Module 1 — Introduction',
            "field title: required",
        ),
        ('short_title = "Module 1"', 'short_title = "Module\\r\\n1"', "field short_title: use one"),
        ('format = "Live online"\nce_hours = 9', 'format = "Live\\u0000"\nce_hours = 9', "format"),
        (
            "partner_name = ",
            'partner_name = "' + "x" * 10_000 + '"\nold_partner_name = ',
            "programme field partner_name: at most 200 characters",
        ),
        (
            "provider_name = ",
            'provider_name = "\\u0301\\u0301"\nold_provider_name = ',
            "visible",
        ),
        ("starts_on = 2024-09-04", "starts_on = 0001-01-01", "between Jan 1, 1900"),
        ('location = "Portland, OR"', 'location = "Portland\\u0000"', "location: use one line"),
        (
            'provider_address = "',
            'provider_address = "a\\u0000b"\nold_provider_address = "',
            "remove the control characters",
        ),
    ],
    ids=[
        "nul-title",
        "zero-width-only",
        "crlf",
        "nul-format",
        "long-partner-name",
        "invisible-provider-name",
        "year-one",
        "nul-location",
        "nul-setting",
    ],
)
def test_catalogue_text_and_dates_get_the_shared_checks(
    app, session, tmp_path, old, new, expected
) -> None:
    text = DEFAULT_TEXT.replace(old, new, 1)
    assert text != DEFAULT_TEXT
    path = write(tmp_path, text)
    result = _load_via_cli(app, path)
    _assert_one_line_refusal(result, path, expected)
    assert session.scalar(select(func.count()).select_from(CatalogItem)) == 0


def test_module_offerings_load_with_their_days_hours_and_ce_hours_and_reload_unchanged(
    session, tmp_path
) -> None:
    """The file's [[items.offerings]] of a module become offerings with a row per day."""
    from datetime import time
    from decimal import Decimal

    from lms.offerings.models import OfferingFormat

    load_catalog(session, DEFAULT_CATALOG)
    session.commit()
    m1 = services.get_item(session, "M1")
    first = next(o for o in m1.offerings if o.starts_on == date(2027, 2, 6))
    assert first.format == OfferingFormat.LIVE_ONLINE and first.capacity == 60
    assert [(d.held_on, d.starts_at, d.ends_at, d.ce_hours) for d in first.days] == [
        (date(2027, 2, 6), time(9), time(14), Decimal("4.50")),
        (date(2027, 2, 7), time(9), time(14), Decimal("4.50")),
    ]
    assert first.join_url == ""  # set in the app, never in the file
    again = load_catalog(session, DEFAULT_CATALOG)
    assert "M1" in again.unchanged
    moved = replace_once(
        DEFAULT_TEXT,
        '{ on = 2027-02-07, starts_at = "09:00", ends_at = "14:00", ce_hours = 4.5 }',
        '{ on = 2027-02-07, starts_at = "10:00", ends_at = "14:00", ce_hours = 4 }',
    )
    assert "M1" in load_catalog(session, write(tmp_path, moved)).updated
    session.commit()
    session.refresh(first)
    assert first.days[1].starts_at == time(10) and first.days[1].ce_hours == Decimal("4.00")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "capacity = 60\nenrolment_deadline = 2027-01-29",
            'capacity = 60\njoin_url = "https://x.example"\nenrolment_deadline = 2027-01-29',
            "join_url: unknown field (the join link is set in the app)",
        ),
        (
            '{ on = 2027-02-06, starts_at = "09:00", ends_at = "14:00", ce_hours = 4.5 },',
            "{ on = 2027-02-06, ce_hours = 4.5 },",
            "start and end time",
        ),
        (
            '{ on = 2027-02-06, starts_at = "09:00", ends_at = "14:00", ce_hours = 4.5 },',
            '{ on = 2027-02-06, starts_at = "14:00", ends_at = "09:00", ce_hours = 4.5 },',
            "end time must be after the start time",
        ),
        (
            '{ on = 2027-02-06, starts_at = "09:00", ends_at = "14:00", ce_hours = 4.5 },',
            '{ on = 2027-02-06, starts_at = "9am", ends_at = "14:00", ce_hours = 4.5 },',
            'times like "09:00"',
        ),
    ],
    ids=["join-link-in-file", "online-without-hours", "backwards-hours", "hours-as-words"],
)
def test_a_bad_module_offering_is_refused_naming_the_field(
    session, tmp_path, old, new, expected
) -> None:
    with pytest.raises(CatalogError) as refused:
        load_catalog(session, write(tmp_path, replace_once(DEFAULT_TEXT, old, new)))
    assert "item M1: field offerings[0]" in str(refused.value)
    assert expected in str(refused.value)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Offering)) == 0


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("retention_years = 6", "retention_years = 6\nfoo_unknown = 1"),
        ("time_zone = ", '"foo_unknown" = 1\ntime_zone = '),
    ],
    ids=["bare-key", "quoted-key"],
)
def test_an_unknown_programme_setting_is_refused_naming_key_and_line(
    app, session, tmp_path, old, new
) -> None:
    """A misspelt setting is not kept (nor counted as a change) while the one meant keeps its
    old value: the file is refused, saying which key on which line."""
    load_catalog(session, DEFAULT_CATALOG)
    session.commit()
    before = snapshot(session)
    text = replace_once(DEFAULT_TEXT, old, new)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "foo_unknown" in row)
    path = write(tmp_path, text)
    result = _load_via_cli(app, path)
    _assert_one_line_refusal(result, path, f"programme field foo_unknown (line {line}): unknown")
    assert "expected one of accreditation_statements" in result.output
    assert snapshot(session) == before


@pytest.mark.parametrize(
    "value", ['"fr-FR"', '"en_GB"', "1"], ids=["other", "underscore", "number"]
)
def test_a_locale_the_tracker_does_not_speak_is_refused_naming_the_choices(
    session, tmp_path, value
) -> None:
    text = replace_once(DEFAULT_TEXT, 'locale = "en-US"', f"locale = {value}")
    with pytest.raises(CatalogError) as refused:
        load_catalog(session, write(tmp_path, text))
    assert "programme field locale" in str(refused.value)
    assert 'expected "en-US" or "en-GB"' in str(refused.value)


def test_the_default_catalogue_sets_the_american_locale_and_en_gb_loads(session, tmp_path) -> None:
    load_catalog(session, DEFAULT_CATALOG)
    assert services.programme_settings(session)["locale"] == "en-US"
    load_catalog(
        session, write(tmp_path, replace_once(DEFAULT_TEXT, 'locale = "en-US"', 'locale = "en-GB"'))
    )
    assert services.programme_settings(session)["locale"] == "en-GB"
