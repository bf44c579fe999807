"""The W3C Bitstring Status List: one index per certificate, one bit set when it is revoked.

Indexes are allocated in order, once per certificate, and never reused (the table's unique
index has the last word when two issues race). List number n holds the indexes from
n * LIST_SIZE on; each list is published whole, GZIP-compressed and base64url-encoded with
the multibase prefix "u", as the Bitstring Status List spec requires.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lms.badges.models import CredentialStatus

# The spec's minimum (16 KB of bits): a list this long gives each holder herd privacy.
LIST_SIZE = 131_072
# Racing allocations retry with the next free index; more than this many collisions in a row
# means something else is wrong.
ALLOCATION_ATTEMPTS = 10


def allocate(session: Session, certificate_id: int) -> CredentialStatus:
    """The certificate's status entry, allocated now (the next free index) if it has none."""
    existing = session.get(CredentialStatus, certificate_id)
    if existing is not None:
        return existing
    for _ in range(ALLOCATION_ATTEMPTS):
        next_index = session.scalar(
            select(func.coalesce(func.max(CredentialStatus.status_index), -1) + 1)
        )
        entry = CredentialStatus(certificate_id=certificate_id, status_index=int(next_index))
        try:
            with session.begin_nested():
                session.add(entry)
        except IntegrityError:
            # Another transaction took that index (or allocated this certificate) first.
            found = session.get(CredentialStatus, certificate_id)
            if found is not None:
                return found
            continue
        return entry
    raise RuntimeError("no free status list index after repeated collisions")


def mark_revoked(session: Session, certificate_id: int, revoked_at: datetime) -> CredentialStatus:
    """Set the certificate's bit, in the caller's transaction (the revocation's)."""
    entry = allocate(session, certificate_id)
    entry.revoked_at = revoked_at
    session.flush()
    return entry


def list_number(status_index: int) -> int:
    """Which list holds a global index."""
    return status_index // LIST_SIZE


def published_number(number: int) -> int:
    """The number a list is published under (`/credentials/status/1` is list 0): counted
    from 1 like every other number in the tracker's addresses."""
    return number + 1


def index_in_list(status_index: int) -> int:
    """A global index's position within its list (the credential's statusListIndex)."""
    return status_index % LIST_SIZE


@dataclass(frozen=True)
class ListState:
    """What one published list says: its revoked positions and when the last bit was set."""

    number: int
    revoked: tuple[int, ...]
    changed_at: datetime | None

    def fingerprint(self) -> str:
        """Changes whenever a bit of this list changes (the HTTP ETag's basis)."""
        text = f"{self.number}:" + ",".join(map(str, self.revoked))
        return hashlib.sha256(text.encode("ascii")).hexdigest()


def highest_list(session: Session) -> int:
    """The number of the newest list in use (0 when no index is allocated yet)."""
    top = session.scalar(select(func.max(CredentialStatus.status_index)))
    return 0 if top is None else list_number(int(top))


def list_state(session: Session, number: int) -> ListState:
    """The revoked positions of list `number`, read in one query."""
    low = number * LIST_SIZE
    rows = session.execute(
        select(CredentialStatus.status_index, CredentialStatus.revoked_at)
        .where(
            CredentialStatus.status_index >= low,
            CredentialStatus.status_index < low + LIST_SIZE,
            CredentialStatus.revoked_at.is_not(None),
        )
        .order_by(CredentialStatus.status_index)
    ).all()
    changed = max((row.revoked_at for row in rows), default=None)
    return ListState(number, tuple(row.status_index - low for row in rows), changed)


def encode_list(revoked: Iterable[int], size: int = LIST_SIZE) -> str:
    """The encodedList: bit i (from the left of the first byte) set for each revoked i,
    GZIP-compressed, base64url without padding, with the multibase prefix "u"."""
    bits = bytearray(size // 8)
    for position in revoked:
        if not 0 <= position < size:
            raise ValueError(f"status index {position} is outside the list")
        bits[position // 8] |= 0x80 >> (position % 8)
    # mtime=0: the same bits always compress to the same bytes (a stable signature and ETag).
    packed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")
