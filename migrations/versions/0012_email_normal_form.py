"""email normal form: every stored address in the one form lookups and limits use

Addresses are looked up, and every limit per address counted, in one normal form
(lms.auth.services.normalise_email): invisible characters dropped wherever they stand,
compatibility forms folded (NFKC: full-width letters are letters), lower-cased, trimmed.
Before, a zero-width or full-width character survived into the stored address; such an
address is rewritten to its normal form so that its owner still signs in. One whose normal
form another account already holds is left as it was and named in the migration's log:
they are two spellings of one address, and an administrator decides whose it is.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08

"""

import logging
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

# The normal form as this revision defines it (a migration keeps its own copy: the app's
# function may change later, history must not). Zero-width and blank-looking characters
# that are not format characters, as lms.validation trims them:
_BLANK = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0")
USERS = sa.table("users", sa.column("id", sa.Integer()), sa.column("email", sa.String(320)))


def normal_form(email: str) -> str:
    """The address without invisible characters, NFKC-folded, lower-cased and trimmed."""
    visible = "".join(c for c in email if c not in _BLANK and unicodedata.category(c) != "Cf")
    return unicodedata.normalize("NFKC", visible).lower().strip()


def upgrade() -> None:
    """Rewrite each address not in its normal form, unless another account holds that."""
    conn = op.get_bind()
    rows = conn.execute(sa.select(USERS.c.id, USERS.c.email).order_by(USERS.c.id)).all()
    held = {email for _, email in rows}
    for user_id, email in rows:
        normal = normal_form(email)
        if normal == email:
            continue
        if not normal or normal in held:
            log.warning(
                "users.id %s: its address is another spelling of one an account already "
                "uses (or of nothing); left unchanged for an administrator to settle",
                user_id,
            )
            continue
        conn.execute(sa.update(USERS).where(USERS.c.id == user_id).values(email=normal))
        held.discard(email)
        held.add(normal)


def downgrade() -> None:
    """Nothing to undo: an address in its normal form is a valid address to older code."""
