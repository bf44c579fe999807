"""Whether a completion can be recorded: one rule that a mark, a cohort, an import, closing an
offering and a retreat's attendance all ask (lms.progress.marking)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from lms.catalog.models import ItemKind
from lms.progress.marking import Unrecordable, item_unrecordable, person_unrecordable
from lms.progress.models import CompletionSource


@pytest.mark.parametrize(
    ("is_clinician", "anonymised", "why"),
    [
        (True, False, None),
        (False, False, Unrecordable.NOT_CLINICIAN),
        (True, True, Unrecordable.ANONYMISED),
        (False, True, Unrecordable.ANONYMISED),
    ],
)
def test_only_a_clinicians_live_account_holds_completions(is_clinician, anonymised, why):
    assert person_unrecordable(is_clinician=is_clinician, anonymised=anonymised) is why


@pytest.mark.parametrize(
    ("kind", "active", "source", "why"),
    [
        (ItemKind.CORE_MODULE, True, CompletionSource.INSTRUCTOR, None),
        (ItemKind.CORE_MODULE, False, CompletionSource.INSTRUCTOR, Unrecordable.ITEM_WITHDRAWN),
        (ItemKind.CORE_MODULE, False, CompletionSource.IMPORT, Unrecordable.ITEM_WITHDRAWN),
        (ItemKind.RETREAT, True, CompletionSource.INSTRUCTOR, Unrecordable.RETREAT_BY_MARK),
        (ItemKind.RETREAT, True, CompletionSource.ATTENDANCE, None),
        (ItemKind.RETREAT, True, CompletionSource.IMPORT, None),
    ],
)
def test_a_retreat_is_recorded_from_attendance_or_an_import_never_by_a_mark(
    kind, active, source, why
):
    item = SimpleNamespace(kind=kind, active=active)
    assert item_unrecordable(item, source) is why
