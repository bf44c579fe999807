"""What a clinician's pages show, read from the standings: dashboard, record, guards.

Builders return plain dataclasses for templates, so no template ever touches the database.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, aliased, joinedload

from lms import dates
from lms.auth.api import LicenceStanding, Role, User, licence_standing
from lms.catalog.api import CatalogItem, ItemKind
from lms.clock import note_zone, today
from lms.db import read
from lms.errors import NotFound
from lms.progress import tracking
from lms.progress.fact_sources import Awaiting, awaited
from lms.progress.facts import (
    Programme,
    kept_catalogue,
    programme_at,
    shared_programme,
)
from lms.progress.models import (
    Completion,
    CompletionSource,
    ItemState,
    awarded_hours,
)
from lms.progress.statuses import Gate, ItemStatus, item_status, locked_together
from lms.progress.tracking import DayRows

# --------------------------------------------------------------------------------------------
# What pages show: plain data, built in a constant number of queries


@dataclass(frozen=True)
class HistoryEntry:
    """One completion, live or revoked, with who did what and when."""

    completion_id: int
    item_id: int
    code: str
    title: str
    ce_hours: Decimal | None
    completed_on: date
    source: CompletionSource
    recorded_at: datetime
    recorded_by: str
    note: str
    revoked_at: datetime | None
    revoked_by: str
    revoke_reason: str
    offering_id: int | None = None  # the offering whose attendance earned it

    @property
    def live(self) -> bool:
        """Not revoked."""
        return self.revoked_at is None

    @property
    def source_label(self) -> str:
        """How the completion came to be recorded."""
        return self.source.label


@dataclass(frozen=True)
class ModuleList:
    """A list of modules on the dashboard: collapsed, with its counts, until the person has a
    record in it (the pathway picture shows the same states), open from then on."""

    key: str
    label: str
    modules: list[ItemStatus]
    counts: str  # "6 locked · 1 open"
    opened: bool

    @classmethod
    def of(cls, key: str, label: str, modules: list[ItemStatus]) -> ModuleList:
        """The list of these modules."""
        counted: dict[str, int] = {}
        for module in modules:
            counted[module.state.label.lower()] = counted.get(module.state.label.lower(), 0) + 1
        kept = (ItemState.COMPLETED, ItemState.CREDITED)
        opened = any(m.state in kept or m.pending_equivalency for m in modules)
        counts = " · ".join(f"{n} {label}" for label, n in sorted(counted.items()))
        return cls(key, label, modules, counts, opened)


@dataclass(frozen=True)
class ClinicianProgress:
    """A clinician's whole progress, for the dashboard and the clinician record."""

    user_id: int
    name: str
    display_name: str
    email: str
    licence: str
    licensed: bool
    pre_licensed: bool
    ce_hours: Decimal
    core_modules: list[ItemStatus]
    specialty_modules: list[ItemStatus]
    retreats: list[ItemStatus]
    history: list[HistoryEntry]
    pending: list[Awaiting]  # what the person asked for that awaits a decision
    markable: list[tuple[str, str]]  # (code, title) of modules an instructor may mark now
    gates: list[Gate] = field(default_factory=list)  # explanations shared by locked modules
    has_history: bool = False  # any completion ever, revoked ones included (read either way)

    @property
    def modules(self) -> list[ItemStatus]:
        """Core then specialty modules."""
        return self.core_modules + self.specialty_modules

    @property
    def module_lists(self) -> list[ModuleList]:
        """The core and specialty lists as the dashboard shows them (empty ones left out)."""
        return [
            ModuleList.of(key, label, modules)
            for key, label, modules in (
                ("core", "Core modules", self.core_modules),
                ("specialty", "Specialty modules", self.specialty_modules),
            )
            if modules
        ]

    @property
    def modules_done(self) -> int:
        """Modules completed or credited."""
        return sum(1 for m in self.modules if m.state in _DONE)

    @property
    def retreats_done(self) -> int:
        """Retreats completed (attended) or credited."""
        return sum(1 for r in self.retreats if r.state in _DONE)

    @property
    def retreats_open(self) -> int:
        """Retreats open to the person and not yet done."""
        return sum(1 for r in self.retreats if r.is_open and r.state not in _DONE)

    @property
    def completed_programme(self) -> bool:
        """Every core module and every retreat completed or credited: a graduate."""
        core, retreats = self.core_modules, self.retreats
        return bool(core and retreats) and all(i.state in _DONE for i in core + retreats)

    @property
    def live_completions(self) -> list[HistoryEntry]:
        """Completions that count."""
        return [h for h in self.history if h.live]


_DONE = frozenset({ItemState.COMPLETED, ItemState.CREDITED})


def licence_label(user: Any, on: date) -> str:
    """A one-line description of the person's licence standing."""
    standing = licence_standing(user, on)
    if standing is LicenceStanding.UNLICENSED:
        return "Pre-licensed"
    what = " ".join(p for p in (user.licence_type, user.licence_number, user.licence_state) if p)
    if standing is LicenceStanding.UNVERIFIED:
        return f"{what} (not yet verified)"
    if standing is LicenceStanding.EXPIRED:
        return f"{what} (expired {dates.day(user.licence_expires_on)})"
    return what


# Built once: making an alias of a mapped class, or a select and its cache key, costs more
# than SQLite takes to answer the small per-person queries below.
_RECORDER = aliased(User, name="recorder")
_REVOKER = aliased(User, name="revoker")
_HISTORY = (
    select(
        Completion.id,
        Completion.item_id,
        CatalogItem.code,
        CatalogItem.title,
        CatalogItem.ce_hours,
        Completion.completed_on,
        Completion.source,
        Completion.recorded_at,
        _RECORDER.name,
        Completion.note,
        Completion.revoked_at,
        _REVOKER.name,
        Completion.revoke_reason,
        Completion.ce_hours,
        Completion.offering_id,
    )
    .join(CatalogItem, Completion.item_id == CatalogItem.id)
    .outerjoin(_RECORDER, Completion.recorded_by_id == _RECORDER.id)
    .outerjoin(_REVOKER, Completion.revoked_by_id == _REVOKER.id)
    .where(Completion.user_id == bindparam("user_id"))
    .order_by(Completion.completed_on.desc(), Completion.recorded_at.desc(), Completion.id.desc())
)


def _history(session: Session, user_id: int) -> list[HistoryEntry]:
    """Every completion of the person, newest first, with the names of who acted: one query."""
    rows = read(session, _HISTORY, {"user_id": user_id})
    return [
        HistoryEntry(
            completion_id=r[0],
            item_id=r[1],
            code=r[2],
            title=r[3],
            ce_hours=awarded_hours(r[13], r[4]),
            completed_on=r[5],
            source=CompletionSource(r[6]),
            recorded_at=r[7],
            recorded_by=r[8] or "",
            note=r[9] or "",
            revoked_at=r[10],
            revoked_by=r[11] or "",
            revoke_reason=r[12] or "",
            offering_id=r[14],
        )
        for r in rows
    ]


@dataclass(frozen=True)
class ClinicianSnapshot:
    """One clinician's progress with the catalogue it was shown against.

    Loaded once per dashboard view and handed to every dashboard section, so that no
    section reads the catalogue or the person's standings a second time.
    """

    user: User
    on: date  # the day the standings were read for (a licence may lapse at midnight)
    catalogue: Programme
    progress: ClinicianProgress
    items: dict[str, ItemStatus]  # by code
    # Some live completion may have come from an offering's attendance: one of an active
    # item's did, or the person has history the rows cannot show (an item no longer offered).
    from_offerings: bool = True


def _catalogue_and_rows(session: Session, user_id: int) -> tuple[Programme, date, DayRows]:
    """The catalogue, today's date and the person's rows on it, in one round trip when this
    process has read the catalogue before.

    The rows are read for the day in the zone the kept catalogue was read with, and carry the
    catalogue's version and the zone as they are now: when both match (the common case) the
    kept catalogue is current and the day was right; when not, the catalogue and zone are
    read again, and the rows too if the zone moved the day.
    """
    kept = kept_catalogue(session)
    if kept is None:  # the first dashboard this process shows
        catalogue = shared_programme(session)  # reads the time zone too: today() needs no query
        day = today(session)
        return catalogue, day, tracking.rows_on(session, user_id, day)
    guess = kept.zone
    note_zone(guess)
    day = today(session)
    standing = tracking.rows_on(session, user_id, day)
    if standing.catalogue_version is not None and standing.zone == guess:
        return programme_at(session, standing.catalogue_version, guess), day, standing
    catalogue = shared_programme(session)  # notes the zone as it is now
    if today(session) != day:
        day = today(session)
        standing = tracking.rows_on(session, user_id, day)
    return catalogue, day, standing


def clinician_snapshot(
    session: Session, user: User, *, with_history: bool = True
) -> ClinicianSnapshot:
    """Everything the dashboard shows about one clinician, read from the standings.

    The completion history (every line, revoked ones included) is read only `with_history`:
    the clinician record shows it, the dashboard links to that page instead. What each
    completed item is worth comes with the standing rows either way.
    """
    catalogue, day, standing = _catalogue_and_rows(session, user.id)
    rows = standing.rows
    history = _history(session, user.id) if with_history else []
    # Completions of items no longer offered have no standing row: only then may the rows
    # not tell the whole story (pending requests, completions from offerings).
    retired = len(catalogue.index) > len(catalogue.items)
    # The rows say whether any request is pending (each active item's row names it); only
    # a request for an item no longer offered would escape them, so then the query runs too.
    asks = retired or any(v.pending_equivalency for v in rows.values())
    pending_requests = awaited(session, user.id) if asks else []
    anchors, gates = locked_together(catalogue, rows, day)
    # A completed item shows the CE hours its completion is worth (partial credit, or an
    # offering's own days), not the catalogue's figure.
    live = standing.live
    statuses = [
        item_status(
            item,
            rows.get(item.id),
            day,
            worth=live[item.id][0] if item.id in live else None,
            gate=anchors.get(item.code, ""),
            catalogue=catalogue,
        )
        for item in catalogue.items
    ]
    progress = ClinicianProgress(
        user_id=user.id,
        name=user.name,
        display_name=user.display_name,
        email=user.email,
        licence=licence_label(user, day),
        licensed=user.licensed_on(day),
        pre_licensed=user.pre_licensed,
        ce_hours=standing.ce_hours,
        core_modules=[s for s in statuses if s.kind == ItemKind.CORE_MODULE],
        specialty_modules=[s for s in statuses if s.kind == ItemKind.SPECIALTY_MODULE],
        retreats=[s for s in statuses if s.kind == ItemKind.RETREAT],
        history=history,
        pending=pending_requests,
        markable=[
            (s.code, s.title)
            for s in statuses
            if s.kind != ItemKind.RETREAT and s.state != ItemState.COMPLETED
        ],
        gates=gates,
        has_history=standing.has_history,
    )
    from_offerings = retired or any(offering for _, offering in standing.live.values())
    return ClinicianSnapshot(
        user, day, catalogue, progress, {s.code: s for s in statuses}, from_offerings
    )


def clinician_progress(session: Session, user: User) -> ClinicianProgress:
    """Everything the dashboard and the clinician record show about one clinician."""
    return clinician_snapshot(session, user).progress


_CLINICIAN = select(User).where(User.id == bindparam("user_id")).options(joinedload(User.role_rows))


def get_clinician(session: Session, user_id: int) -> User:
    """A clinician's account, or NotFound (also for accounts without the clinician role)."""
    user = session.scalars(_CLINICIAN, {"user_id": user_id}).unique().one_or_none()
    if user is None or Role.CLINICIAN not in user.roles or user.anonymised_at is not None:
        raise NotFound("No such clinician.")
    return user


# --------------------------------------------------------------------------------------------
# Dashboard extension point

DashboardSection = Callable[..., "tuple[str | None, dict[str, Any]] | None"]

DASHBOARD_SECTIONS: list[DashboardSection] = []
"""Callables other features append to (idempotently, from their `subscribe()`).

Each is called once per dashboard view as `fn(session, user)` with the signed-in clinician
(or as `fn(session, user, snapshot=...)` when it declares a `snapshot` parameter: the
ClinicianSnapshot the page was built from, so the section reuses its catalogue and facts
instead of reading them again), must run a constant number of queries and never write, and
returns None (nothing to show),
`(template_name, context)` (rendered with `context` plus `progress` as a section below the
retreats) or `(None, context)` (data only). Every returned context is merged into `extras`,
which the per-item hooks read: the macros `retreat_standing(item, extras)` of
`retreats/_dashboard_retreat.html` (inside each retreat card) and `certificate_beside(item,
extras)` of `certificates/_dashboard_item.html` (beside each completed item), found by the
template global `macro_from` (None when the feature is absent), and the records line's
`certificate_records(extras)` of `certificates/_dashboard_records.html`.
"""


@functools.cache
def _takes_snapshot(contribute: DashboardSection) -> bool:
    """Whether a section accepts the shared snapshot (asked once per section)."""
    return "snapshot" in inspect.signature(contribute).parameters


@dataclass(frozen=True)
class RenderedSection:
    """A dashboard section contributed by another feature."""

    template: str
    context: dict[str, Any]


def dashboard_sections(
    session: Session, user: User, snapshot: ClinicianSnapshot | None = None
) -> tuple[list[RenderedSection], dict[str, Any]]:
    """Run the registered dashboard sections: those to render and the merged extras."""
    sections: list[RenderedSection] = []
    extras: dict[str, Any] = {}
    for contribute in DASHBOARD_SECTIONS:
        if snapshot is not None and _takes_snapshot(contribute):
            result = contribute(session, user, snapshot=snapshot)
        else:
            result = contribute(session, user)
        if result is None:
            continue
        template, context = result
        extras.update(context)
        if template:
            sections.append(RenderedSection(template, dict(context)))
    return sections, extras
