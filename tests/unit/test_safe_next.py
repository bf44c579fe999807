"""safe_next: a post-sign-in redirect never leaves the site."""

from __future__ import annotations

import pytest

from lms.auth.access import safe_next

DEFAULT = "/"


@pytest.mark.parametrize(
    "target",
    [
        "/",
        "/admin/users",
        "/admin/users?q=ann&page=2",
        "/equivalency/3#evidence",
        "/%2F%2Fevil.com",  # an encoded slash inside a local path stays a local path
        "/verify/ABCD-EFGH",
    ],
)
def test_local_paths_are_kept(target):
    """Plain absolute paths on this site pass through unchanged."""
    assert safe_next(target, DEFAULT) == target


@pytest.mark.parametrize(
    "target",
    [
        "//evil.com",
        "///evil.com",
        "/\\evil.com",
        "\\\\evil.com",
        "/\\/evil.com",
        "https://evil.com",
        "http://evil.com/admin",
        "HTTPS://EVIL.COM",
        "http:/evil.com",
        "https:evil.com",
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "%2F%2Fevil.com",
        "%2f%2fevil.com",
        "evil.com",
        "admin/users",
        "/\tevil.com",
        "/\r\nSet-Cookie: a=b",
        "/\x00evil",
        "/\x7fevil",
        "ftp://evil.com",
    ],
)
def test_anything_that_could_leave_the_site_falls_back_to_the_default(target):
    """Other hosts, schemes, protocol-relative and backslash tricks all become the default."""
    assert safe_next(target, DEFAULT) == DEFAULT


@pytest.mark.parametrize("target", [None, "", "   "])
def test_missing_target_is_the_default(target):
    """No target at all means the default page."""
    assert safe_next(target, "/home") == "/home"


def test_surrounding_whitespace_is_trimmed_from_a_local_path():
    """A pasted path with spaces around it still works."""
    assert safe_next("  /admin/audit  ", DEFAULT) == "/admin/audit"
