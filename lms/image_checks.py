"""Checking an uploaded programme image (a signature, a logo): a PNG read by its content, or an
SVG rebuilt from an allow-list so that nothing in it can run or fetch.

A core module with no Flask import. An SVG is parsed (no DOCTYPE, so no entities) and written
out again keeping only drawing elements and their presentation attributes: scripts, event
handlers (`on*`), `foreignObject`, styles and every reference outside the file (`href`,
`url(...)` to anything but `#id`) are left out. A PNG must be a whole, well-formed file
(signature, IHDR first, every chunk's CRC, IEND last) within the size and pixel limits.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass
from xml.etree import ElementTree

IMAGE_MAX_BYTES = 512 * 1024
IMAGE_MAX_TEXT = "512 KB"
PNG_MAX_SIDE = 4000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG = "image/png"
SVG = "image/svg+xml"

SVG_NS = "http://www.w3.org/2000/svg"
SVG_MAX_DEPTH = 64  # levels of nesting a signature or logo never needs more of
XLINK_NS = "http://www.w3.org/1999/xlink"
# Drawing elements only: no script, foreignObject, image, use, a, style, animation or filter.
SVG_ELEMENTS = frozenset(
    {
        "svg",
        "g",
        "path",
        "line",
        "polyline",
        "polygon",
        "rect",
        "circle",
        "ellipse",
        "title",
        "desc",
        "defs",
        "linearGradient",
        "radialGradient",
        "stop",
        "clipPath",
    }
)
SVG_ATTRIBUTES = frozenset(
    {
        "id",
        "viewBox",
        "width",
        "height",
        "preserveAspectRatio",
        "version",
        "d",
        "x",
        "y",
        "x1",
        "y1",
        "x2",
        "y2",
        "cx",
        "cy",
        "r",
        "rx",
        "ry",
        "points",
        "transform",
        "fill",
        "fill-opacity",
        "fill-rule",
        "stroke",
        "stroke-width",
        "stroke-opacity",
        "stroke-linecap",
        "stroke-linejoin",
        "stroke-miterlimit",
        "stroke-dasharray",
        "opacity",
        "offset",
        "stop-color",
        "stop-opacity",
        "gradientUnits",
        "gradientTransform",
        "clip-path",
        "clip-rule",
        "clipPathUnits",
    }
)
# A paint or clip reference may only point inside the same file.
_LOCAL_URL = re.compile(r"^\s*url\(\s*#[A-Za-z_][\w.-]*\s*\)\s*$")


class ImageRefused(ValueError):
    """The upload is not an image we accept; the message says why, for the person."""


@dataclass(frozen=True)
class CheckedImage:
    """An accepted image: its media type and the bytes to store (an SVG as rewritten)."""

    media_type: str
    data: bytes


def check_image(data: bytes, filename: str = "") -> CheckedImage:
    """The image to store from an upload, or ImageRefused saying why it is refused."""
    if not data:
        raise ImageRefused("The file is empty.")
    if len(data) > IMAGE_MAX_BYTES:
        raise ImageRefused(f"The image is larger than {IMAGE_MAX_TEXT}.")
    if data.startswith(PNG_SIGNATURE):
        check_png(data)
        return CheckedImage(PNG, data)
    head = data[:512].lstrip().lower()
    if head.startswith((b"<?xml", b"<svg", b"<!--")):
        return CheckedImage(SVG, sanitise_svg(data))
    raise ImageRefused(
        f"{filename or 'The file'} is not a PNG or SVG image (only those two are accepted)."
    )


def check_png(data: bytes) -> tuple[int, int]:
    """A PNG's width and height when the file is whole and well formed, else ImageRefused."""
    if not data.startswith(PNG_SIGNATURE):
        raise ImageRefused("The file is not a PNG image.")
    position, first, size = len(PNG_SIGNATURE), True, (0, 0)
    while True:
        if position + 8 > len(data):
            raise ImageRefused("The PNG image is cut short.")
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        end = position + 8 + length + 4
        if end > len(data):
            raise ImageRefused("The PNG image is cut short.")
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(kind + body) != crc:
            raise ImageRefused("The PNG image is damaged (a checksum does not match).")
        if first:
            if kind != b"IHDR" or length != 13:
                raise ImageRefused("The PNG image is damaged (no header).")
            size = struct.unpack(">II", body[:8])
            if not (0 < size[0] <= PNG_MAX_SIDE and 0 < size[1] <= PNG_MAX_SIDE):
                raise ImageRefused(f"The image must be at most {PNG_MAX_SIDE} pixels each way.")
            first = False
        position = end
        if kind == b"IEND":
            if position != len(data):
                raise ImageRefused("The PNG image has data after its end.")
            return size


def _local_name(tag: str) -> tuple[str, str]:
    """(namespace, name) of an ElementTree tag or attribute name."""
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return "", tag


def sanitise_svg(data: bytes) -> bytes:
    """The SVG rebuilt from the allow-list (see the module's note), or ImageRefused."""
    lowered = data.lower()
    if b"<!doctype" in lowered or b"<!entity" in lowered:
        raise ImageRefused("The SVG image may not declare a DOCTYPE or entities.")
    try:
        # No DOCTYPE reached this line, so there is no entity to expand or fetch.
        root = ElementTree.fromstring(data)  # noqa: S314
    except ElementTree.ParseError as error:
        raise ImageRefused(f"The SVG image cannot be read ({error}).") from None
    if _local_name(root.tag) != (SVG_NS, "svg"):
        raise ImageRefused("The file is not an SVG image (its root is not <svg>).")
    if _deeper_than(root, SVG_MAX_DEPTH):
        raise ImageRefused(
            f"The SVG image nests its shapes more than {SVG_MAX_DEPTH} levels deep; "
            "save it flatter (most drawing programs have an option to simplify)."
        )
    clean = _clean_element(root)
    if clean is None:  # pragma: no cover - the root was checked above
        raise ImageRefused("The file is not an SVG image.")
    if not clean.get("viewBox") and not (clean.get("width") and clean.get("height")):
        raise ImageRefused("The SVG image needs a viewBox (or a width and a height).")
    ElementTree.register_namespace("", SVG_NS)
    return ElementTree.tostring(clean, encoding="utf-8", xml_declaration=True)


def _deeper_than(root: ElementTree.Element, limit: int) -> bool:
    """Whether any element sits more than `limit` levels below the root (walked without
    recursion, so a hostile depth cannot exhaust the stack)."""
    level = [root]
    for _ in range(limit):
        level = [child for element in level for child in element]
        if not level:
            return False
    return True


def _clean_element(element: ElementTree.Element) -> ElementTree.Element | None:
    """A copy of an allowed element with its allowed attributes and children; None if refused."""
    namespace, name = _local_name(element.tag)
    if namespace != SVG_NS or name not in SVG_ELEMENTS:
        return None
    copy = ElementTree.Element(element.tag)
    for key, value in element.attrib.items():
        attr_namespace, attr_name = _local_name(key)
        if attr_namespace or attr_name not in SVG_ATTRIBUTES:
            continue  # on*, style, href, xlink:href and anything namespaced go
        if "\\" in value:
            continue  # a CSS escape could spell url( or expression( past the check below
        if "url(" in value.lower() and not _LOCAL_URL.match(value):
            continue
        copy.set(attr_name, value)
    if name in ("title", "desc"):
        copy.text = element.text
    for child in element:
        cleaned = _clean_element(child)
        if cleaned is not None:
            copy.append(cleaned)
    return copy
