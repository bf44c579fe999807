"""The demo programme's signatories: two named people with sample signature images, so that
demo certificates show what a board expects (the approval numbers and activity IDs come from
the catalogue file, marked as examples there)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from lms.image_checks import check_image
from lms.programme import ProgrammeSetting, programme_setting
from lms.programme_images import store_image

# Hand-drawn-looking strokes, made for the demo: nobody's real signature.
SAMPLE_SIGNATURES = {
    "Dr. Maya Okafor": (
        b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 240 70">'
        b"<title>Sample signature (demo)</title>"
        b'<path d="M8 52 C 20 10, 34 10, 30 48 S 52 20, 60 46 C 66 60, 78 22, 92 40'
        b' S 110 58, 122 30 C 128 18, 140 60, 152 38 S 176 30, 190 44 L 232 36"'
        b' fill="none" stroke="#1d2b3a" stroke-width="2.6" stroke-linecap="round"/>'
        b'<path d="M40 60 C 90 66, 150 64, 210 56" fill="none" stroke="#1d2b3a"'
        b' stroke-width="1.4" stroke-linecap="round"/></svg>'
    ),
    "Dr. Jonah Reyes": (
        b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 240 70">'
        b"<title>Sample signature (demo)</title>"
        b'<path d="M12 20 C 14 44, 10 60, 4 58 M 12 20 C 40 8, 46 34, 20 38 C 44 40, 50 56, 66 44'
        b" S 84 24, 96 46 C 104 58, 116 28, 128 42 S 150 52, 162 34 C 172 22, 186 54, 200 40"
        b' L 234 30" fill="none" stroke="#1d2b3a" stroke-width="2.4"'
        b' stroke-linecap="round" stroke-linejoin="round"/></svg>'
    ),
}
SIGNATORIES = (
    ("Dr. Maya Okafor", "PsyD", "Director of Training (demo)"),
    ("Dr. Jonah Reyes", "MD", "Medical Director (demo)"),
)
PROVIDER_ADDRESS = (
    "Polaris Insight Center (demo address)\n100 Example Street, Suite 200\nSan Francisco, CA 94110"
)


def ensure_signatories(session: Session) -> bool:
    """Give the demo programme its signatories (and a full demo address) unless an admin has
    set signatories already; True when something was written."""
    if programme_setting(session, "signatories"):
        return False
    people = []
    for name, credentials, title in SIGNATORIES:
        digest = store_image(session, check_image(SAMPLE_SIGNATURES[name], "signature.svg"))
        people.append(
            {"name": name, "credentials": credentials, "title": title, "signature": digest}
        )
    session.merge(ProgrammeSetting(key="signatories", value=people))
    session.merge(ProgrammeSetting(key="provider_address", value=PROVIDER_ADDRESS))
    session.flush()
    return True
