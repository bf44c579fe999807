"""Uploaded signature images: a PNG is accepted only whole and well formed, an SVG only as
drawing (rebuilt from an allow-list), anything else is refused with the reason."""

from __future__ import annotations

import struct
import zlib

import pytest

from lms.image_checks import PNG, SVG, ImageRefused, check_image, check_png, sanitise_svg


def png(width: int = 3, height: int = 2, *, tail: bytes = b"") -> bytes:
    """A small PNG (with bytes after its end when `tail`)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x10" * width for _ in range(height))
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body + tail


def test_a_well_formed_png_is_kept_byte_for_byte():
    """Its media type is PNG and its bytes are what was sent."""
    data = png()
    assert check_png(data) == (3, 2)
    image = check_image(data, "sig.png")
    assert image.media_type == PNG and image.data == data


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (png()[:30], "cut short"),
        (png().replace(b"IDAT", b"IDAX"), "checksum"),
        (png(tail=b"<script>"), "after its end"),
        (png(0, 2), "at most 4000 pixels"),
        (b"\xff\xd8\xff\xe0 a jpeg", "not a PNG or SVG"),
        (b"%PDF-1.7", "not a PNG or SVG"),
    ],
)
def test_a_damaged_or_other_file_is_refused_with_the_reason(data, reason):
    """Each refusal says why, for the person who uploaded it."""
    with pytest.raises(ImageRefused, match=reason):
        check_image(data, "upload")


def test_an_svg_keeps_its_drawing_and_loses_everything_that_could_run_or_fetch():
    """Scripts, handlers, foreignObject, images, use, styles and outside url()s are gone."""
    hostile = (
        b'<?xml version="1.0"?>'
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
        b' viewBox="0 0 10 10" onload="alert(1)" style="background:url(http://x.test/a)">'
        b"<script>alert(2)</script><foreignObject><div>x</div></foreignObject>"
        b'<image href="http://x.test/i.png"/><use xlink:href="http://x.test/s.svg#a"/>'
        b'<defs><linearGradient id="g"><stop offset="0" stop-color="#000"/></linearGradient>'
        b"</defs>"
        b'<path d="M0 0L10 10" onclick="steal()" fill="url(#g)" stroke="url(http://x.test/#p)"/>'
        b"</svg>"
    )
    image = check_image(hostile, "evil.svg")
    text = image.data.decode()
    assert image.media_type == SVG
    for gone in (
        "script",
        "alert",
        "onload",
        "onclick",
        "foreignObject",
        "<image",
        "<use",
        "x.test",
        "style",
    ):
        assert gone not in text, gone
    assert 'fill="url(#g)"' in text and 'd="M0 0L10 10"' in text and "linearGradient" in text


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'<!DOCTYPE svg [<!ENTITY a "b">]><svg xmlns="http://www.w3.org/2000/svg"/>', "DOCTYPE"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><path', "cannot be read"),
        (b"<svg><path d='M0 0'/></svg>", "not an SVG"),  # no SVG namespace
        (b'<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0"/></svg>', "viewBox"),
    ],
)
def test_an_svg_that_cannot_be_trusted_or_drawn_is_refused(data, reason):
    """Entities, broken XML, a foreign root and a picture with no size are refused."""
    with pytest.raises(ImageRefused, match=reason):
        sanitise_svg(data)


def test_an_escaped_url_and_a_hostile_depth_never_reach_the_stored_svg():
    """A CSS escape (\\75 rl( reads as url() loses its attribute; 50,000 nested groups are
    refused with a reason instead of exhausting the stack."""
    escaped = (
        b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
        b'<path d="M0 0L10 10" fill="\\75 rl(https://x.test/p.svg#g)" stroke="#000"/></svg>'
    )
    text = sanitise_svg(escaped).decode()
    assert "x.test" not in text and "\\" not in text and 'stroke="#000"' in text
    deep = (
        b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
        + b"<g>" * 50_000
        + b"</g>" * 50_000
        + b"</svg>"
    )
    with pytest.raises(ImageRefused, match="levels deep"):
        check_image(deep, "deep.svg")
