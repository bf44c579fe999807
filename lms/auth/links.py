"""E-mailed links whose secret never travels in a URL a server or proxy could log.

A link reads `<page>#<code>`: browsers never send the fragment, so no request line, access log
or Referer carries the code. The page's script posts the code once (a POST body is never
logged), the code is kept in the signed session for a short while, and the browser is sent
back (303) to the same token-free page, which now shows the form. Every rule of the link
itself (signature, age, single use through the account fingerprint) is checked again at each
step by lms.auth.accounts.
"""

from __future__ import annotations

import re
import time

from flask import session

from lms.urls import public_url

SESSION_KEY = "lms_links"
# How long a posted code stays usable in this browser (the link's own expiry still applies).
ENTRY_SECONDS = 30 * 60
MAX_CODE_LENGTH = 1000
# itsdangerous' URL-safe tokens: base64url payload, dots and dashes.
_CODE = re.compile(r"[A-Za-z0-9_.\-]{16,1000}")

# kind -> the page (endpoint) the link opens
PAGES = {
    "reset": "links.reset_password",
    "confirm": "links.confirm_email",
    "email_change": "links.confirm_email_change",
    "invitation": "links.accept_invitation",
}


def link_url(kind: str, token: str) -> str:
    """The absolute address to e-mail: the token-free page with the code in the fragment."""
    return public_url(PAGES[kind], fallback=None) + "#" + token


def code_from(text: str | None) -> str | None:
    """The code in what was posted: the bare code or the whole link pasted; None if malformed."""
    text = (text or "").strip()[: MAX_CODE_LENGTH + 2000]
    if "#" in text:
        text = text.rsplit("#", 1)[1]
    return text if _CODE.fullmatch(text) else None


def keep(kind: str, code: str) -> None:
    """Remember a link's code in this browser's session for ENTRY_SECONDS."""
    entries = {k: v for k, v in session.get(SESSION_KEY, {}).items() if k in PAGES}
    entries[kind] = [code, int(time.time())]
    session[SESSION_KEY] = entries


def kept(kind: str) -> str | None:
    """The code this browser posted for a kind of link, unless it is too old (then forgotten)."""
    entry = session.get(SESSION_KEY, {}).get(kind)
    if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)):
        return None
    code, at = entry
    if not isinstance(at, int) or not 0 <= time.time() - at <= ENTRY_SECONDS:
        forget(kind)
        return None
    return code


def forget(kind: str) -> None:
    """Drop a kind of link from the session (used, refused or expired)."""
    entries = dict(session.get(SESSION_KEY, {}))
    if entries.pop(kind, None) is not None:
        session[SESSION_KEY] = entries
