"""Page templates obey the strict Content-Security-Policy: no inline script, style or handlers.

The policy (`script-src 'self'; style-src 'self'`) makes browsers drop such code silently,
so a page would break without anyone noticing; this scan fails first. E-mail templates
(templates/mail) are not served to browsers and may inline their styles.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lms.config import PROJECT_ROOT

TEMPLATES = PROJECT_ROOT / "templates"
PAGES = sorted(
    p for p in TEMPLATES.rglob("*.html") if "mail" not in p.relative_to(TEMPLATES).parts[:1]
)

FORBIDDEN = {
    "inline <script> (put code in templates/static/*.js)": re.compile(
        r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE
    ),
    "style attribute (use a class in a stylesheet)": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "inline <style> block (use a stylesheet)": re.compile(r"<style[\s>]", re.IGNORECASE),
    "event-handler attribute (use addEventListener in a .js file)": re.compile(
        r"\son[a-z]+\s*=\s*[\"']", re.IGNORECASE
    ),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


def test_there_are_page_templates_to_check():
    """The scan below really looks at something."""
    assert len(PAGES) > 10


@pytest.mark.parametrize("template", PAGES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_page_template_has_no_inline_code_the_csp_would_block(template: Path):
    """Scripts and styles come from files under /static, never from the page itself."""
    text = template.read_text(encoding="utf-8")
    found = [name for name, pattern in FORBIDDEN.items() if pattern.search(text)]
    assert not found, f"{template.relative_to(PROJECT_ROOT)}: {', '.join(found)}"


def test_the_scan_catches_what_it_looks_for():
    """Each pattern matches a typical offender (so a passing scan means something)."""
    samples = {
        "inline <script> (put code in templates/static/*.js)": "<script>alert(1)</script>",
        "style attribute (use a class in a stylesheet)": '<p style="color:red">',
        "inline <style> block (use a stylesheet)": "<style>p{}</style>",
        "event-handler attribute (use addEventListener in a .js file)": '<a onclick="x()">',
        "javascript: URL": '<a href="javascript:void(0)">',
    }
    for name, sample in samples.items():
        assert FORBIDDEN[name].search(sample), name
    assert not FORBIDDEN["inline <script> (put code in templates/static/*.js)"].search(
        '<script src="/static/app.js" defer></script>'
    )
