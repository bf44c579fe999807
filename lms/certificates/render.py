"""Turn a certificate's plain context into PDF bytes with WeasyPrint, fetching only bundled assets.

Designs live in the top-level `certificates/` folder. Templates are autoescaped, so names and
credentials print literally; the URL fetcher serves files from inside that folder and `data:`
URLs and aborts the render for anything else (other files, http(s), `..` escapes).
"""

from __future__ import annotations

import functools
import logging
import mimetypes
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import segno
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from lms.certificates.context import (  # noqa: F401 - the designs are named here too
    CERTIFICATE_DESIGNS,
    CREDENTIAL_DESIGN,
    TRANSCRIPT_DESIGN,
    layout_classes,
    printable,
)
from lms.config import PROJECT_ROOT
from lms.i18n import translate

DESIGN_ROOT = PROJECT_ROOT / "certificates"


class SayOnce(logging.Filter):
    """Let a warning that every render repeats through once per process.

    WeasyPrint warns on each render, per font, when the system's HarfBuzz has no subsetter
    (Debian 12's): true, but news only the first time, not once per certificate.
    """

    def __init__(self, prefixes: tuple[str, ...]) -> None:
        """Repeat none of the messages that begin with one of `prefixes`."""
        super().__init__()
        self.prefixes = prefixes
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        """True (log it) unless the message is one of ours and was logged before."""
        message = record.getMessage()
        if not message.startswith(self.prefixes):
            return True
        if message in self.seen:
            return False
        self.seen.add(message)
        return True


logging.getLogger("weasyprint").addFilter(SayOnce(("Using fontTools instead of HarfBuzz",)))


class CertificateRenderError(Exception):
    """A design could not be rendered (unknown design, or it asked for a forbidden resource)."""


class ForbiddenResource(FatalURLFetchingError):
    """A design or its content asked for something outside the design folder: stop the render."""


class DesignFetcher(URLFetcher):
    """Serves files inside one folder and `data:` URLs; refuses everything else."""

    def __init__(self, root: Path) -> None:
        """Fetch only below `root`; any failure aborts the whole render."""
        super().__init__(allowed_protocols={"data"}, allow_redirects=False, fail_on_errors=True)
        self.root = root.resolve()

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        """Return the bundled file or decoded data URL, or raise ForbiddenResource."""
        scheme = urlsplit(url).scheme.lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            path = self.resolve_local(url)
            if path is not None:
                mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(
                    url, path.read_bytes(), headers={"Content-Type": mime}, status=200
                )
        raise ForbiddenResource(f"certificate designs may not load {url[:200]!r}")

    def resolve_local(self, url: str) -> Path | None:
        """The file a `file:` URL names if it is a regular file inside the root, else None."""
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            return None
        path = Path(url2pathname(unquote(parts.path))).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            return None
        return path


_process_state: dict[str, Any] = {}


def font_config() -> FontConfiguration:
    """The one FontConfiguration of this process (made again after a fork)."""
    if _process_state.get("pid") != os.getpid():
        _process_state.clear()
        _process_state["pid"] = os.getpid()
        _process_state["fonts"] = FontConfiguration()
    return _process_state["fonts"]


def jinja_env() -> Environment:
    """The autoescaping template environment over the design folder (one per process)."""
    env = _process_state.get("jinja")
    if env is None or _process_state.get("pid") != os.getpid():
        font_config()  # resets the per-process state after a fork
        env = Environment(
            loader=FileSystemLoader(DESIGN_ROOT),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.globals["_"] = translate  # the current programme locale's spelling
        _process_state["jinja"] = env
    return env


def qr_svg(url: str) -> Markup:
    """The verification URL as an inline SVG QR code (our own markup, so marked safe)."""
    code = segno.make(url, error="m", micro=False)
    return Markup(code.svg_inline(scale=4, border=4, dark="#1d2b3a", light="#ffffff"))  # noqa: S704


def render_html(design: str, content: Mapping[str, Any]) -> str:
    """The design's HTML filled with the content (plain values only)."""
    if design not in (*CERTIFICATE_DESIGNS, CREDENTIAL_DESIGN, TRANSCRIPT_DESIGN):
        raise CertificateRenderError(f"unknown certificate design {design!r}")
    context = dict(content) if design == TRANSCRIPT_DESIGN else printable(content)
    # Words in the certificate's own locale (frozen with it), the programme's for older ones.
    context["_"] = functools.partial(translate, locale=content.get("locale"))
    # The programme's images come in as `data:` URLs by digest (lms.programme_images), the
    # only kind of outside resource the fetcher lets a design load.
    images = content.get("images") or {}
    context["images"] = images
    context.setdefault("sample", False)
    if design != TRANSCRIPT_DESIGN:
        context["qr_svg"] = qr_svg(content["verify_url"])
        context.update(layout_classes(context))
        context["signatories"] = [
            {**person, "signature_src": images.get(person.get("signature") or "", "")}
            for person in context["signatories"]
        ]
        context["logo_src"] = images.get(context.get("provider_logo") or "", "")
    return jinja_env().get_template(f"{design}.html").render(**context)


def html_to_pdf(
    html: str,
    *,
    fetcher_factory: Callable[[Path], URLFetcher] = DesignFetcher,
) -> bytes:
    """Render HTML whose relative links point into the design folder; refuse other resources."""
    fetcher = fetcher_factory(DESIGN_ROOT)
    try:
        return HTML(string=html, base_url=str(DESIGN_ROOT) + os.sep, url_fetcher=fetcher).write_pdf(
            font_config=font_config()
        )
    except FatalURLFetchingError as error:
        raise CertificateRenderError(str(error.__cause__ or error)) from error


def render_with_weasyprint(design: str, content: Mapping[str, Any]) -> bytes:
    """PDF bytes of a design filled with content; safe to call in a worker process."""
    return html_to_pdf(render_html(design, content))
