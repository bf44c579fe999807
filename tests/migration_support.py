"""Rows written with plain SQL at an older revision, for the tests of data migrations (the
models describe the newest schema, so these tests cannot use them)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text

from lms.db import UTCDateTime

NOW = "2026-01-05 10:00:00"


def add_module_one(conn: Any) -> None:
    """The catalogue's Module 1, id 3, as the first revisions stored it."""
    conn.execute(
        text(
            "INSERT INTO catalog_items (id, code, kind, title, short_title, description,"
            " format, position, prerequisite, recommended_note, equivalent_label,"
            " certificate_design, active, created_at, updated_at, ce_hours, objectives,"
            " evaluation_required) VALUES (3, 'M1', 'core_module', 'M1', '', '', '', 3,"
            " NULL, '', '', 'module', :yes, :now, :now, 6, '[]', :no)"
        ),
        {"yes": True, "no": False, "now": NOW},
    )


def add_certificate(
    conn: Any,
    cid: int,
    *,
    rendered: bool = True,
    revoked: bool = False,
    expires_at: datetime | None = None,
    content: dict | None = None,
) -> None:
    """A person, their Module 1 completion and its certificate (all with id `cid`): issued
    (rendered) or pending, revoked or not, expiring at `expires_at` or never, with its frozen
    `content` (empty unless given)."""
    conn.execute(
        text(
            "INSERT INTO users (id, email, name, credentials, auth_token, active,"
            " pre_licensed, notify_optional, created_at) VALUES"
            " (:id, :email, 'P', '', :token, :yes, :no, :yes, :now)"
        ),
        {
            "id": cid,
            "email": f"p{cid}@example.test",
            "token": f"t{cid}",
            "yes": True,
            "no": False,
            "now": NOW,
        },
    )
    conn.execute(
        text(
            "INSERT INTO completions (id, user_id, item_id, completed_on, source, recorded_at,"
            " note) VALUES (:id, :id, 3, '2026-01-02', 'instructor', :now, '')"
        ),
        {"id": cid, "now": NOW},
    )
    conn.execute(
        text(
            "INSERT INTO certificates (id, serial, code, user_id, item_id, completion_id, design,"
            " content, sha256, issued_at, rendered_at, revoked_at, expires_at) VALUES (:id,"
            " :serial, :code, :id, 3, :id, 'module', :content, '', :now, :rendered, :revoked,"
            " :expires)"
        ).bindparams(bindparam("expires", type_=UTCDateTime())),
        {
            "id": cid,
            "serial": f"KAP-2026-{cid:05d}",
            "code": f"CODE{cid:016d}",
            "now": NOW,
            "rendered": NOW if rendered else None,
            "revoked": "2026-01-06 09:00:00" if revoked else None,
            "expires": expires_at,
            "content": json.dumps(content or {}),
        },
    )
