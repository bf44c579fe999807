"""Editing one catalogue item from the admin pages: CE hours, rules, active, with the checks
that keep the programme consistent (no active item may depend on an inactive one)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms import signals, validation
from lms.audit.services import record_event
from lms.catalog.checks import (
    DESCRIPTIVE_ATTRIBUTES,
    TEXT_LIMITS,
    deactivation_refused,
    dependants_of,
    parse_ce_hours,
    same_value,
)
from lms.catalog.models import (
    CatalogItem,
    ItemKind,
)
from lms.catalog.reading import get_item
from lms.errors import InvalidInput
from lms.i18n import translate


class ItemEditError(InvalidInput):
    """An edit was refused; `field` names the form field the message belongs to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        """Keep the message and the field it is about."""
        super().__init__(message)
        self.field = field


# --- editing -----------------------------------------------------------------------------


EDITABLE_FIELDS = (
    *DESCRIPTIVE_ATTRIBUTES,
    "active",
    "recommended_note",
    "equivalent_label",
)


def update_item(session: Session, code: str, *, actor_id: int | None, **changes: Any) -> list[str]:
    """Change an item's editable fields; returns the names of the fields that changed.

    Retreats cannot get CE hours, titles cannot be empty, and an item that another active
    item's rule names cannot be deactivated (that rule would then point at nothing).
    """
    item = get_item(session, code)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ItemEditError(f"These fields cannot be edited here: {', '.join(sorted(unknown))}.")
    values = dict(changes)
    for name in ("title", "short_title", "format", "recommended_note", "equivalent_label"):
        if name in values:
            label = name.replace("_", " ").capitalize()
            try:
                values[name] = validation.single_line(
                    values[name], label, max_length=TEXT_LIMITS[name], required=name == "title"
                )
            except InvalidInput as error:
                raise ItemEditError(error.message, name) from None
    if "description" in values:
        try:
            values["description"] = validation.multi_line(
                values["description"], "Description", max_length=TEXT_LIMITS["description"]
            )
        except InvalidInput as error:
            raise ItemEditError(error.message, "description") from None
    if "ce_hours" in values:
        try:
            values["ce_hours"] = parse_ce_hours(values["ce_hours"])
        except InvalidInput as error:
            raise ItemEditError(f"CE hours: {error.message}.", "ce_hours") from None
        if values["ce_hours"] is not None and item.kind == ItemKind.RETREAT:
            raise ItemEditError(
                "CE hours: retreats carry no CE hours; leave the field empty.", "ce_hours"
            )
    if "position" in values:
        position = values["position"]
        if isinstance(position, bool) or not isinstance(position, int) or abs(position) > 1_000_000:
            raise ItemEditError("Position: must be a whole number.", "position")
    if "active" in values and not isinstance(values["active"], bool):
        raise ItemEditError("Active: must be yes or no.", "active")
    if values.get("active") is False and item.active:
        dependants = _active_dependants(session, code)
        if dependants:
            raise ItemEditError(
                translate(
                    "Active: {refusal}; change those rules in the catalogue file first."
                ).format(refusal=deactivation_refused(item.code, dependants)),
                "active",
            )
    changed = [
        name
        for name in EDITABLE_FIELDS
        if name in values and not same_value(getattr(item, name), values[name])
    ]
    for name in changed:
        setattr(item, name, values[name])
    if changed:
        record_event(
            session,
            actor_id=actor_id,
            action="catalog.item_updated",
            subject_type="catalog_item",
            subject_id=item.id,
            code=item.code,
            fields=changed,
        )
        session.flush()
        signals.catalogue_changed.send(item, session=session, fields=frozenset(changed))
    return changed


def _active_dependants(session: Session, code: str) -> list[str]:
    """Codes of active items whose prerequisite or recommendation names `code`."""
    rows = session.execute(
        select(
            CatalogItem.code, CatalogItem.active, CatalogItem.prerequisite, CatalogItem.recommended
        )
    ).all()
    return dependants_of(code, [tuple(row) for row in rows])
