"""Rendering is sandboxed: hostile text prints literally, and only bundled assets are fetched."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import pytest
from certificates_support import attachments_of, page_count, pdf_text
from pypdf import PdfReader
from weasyprint.urls import URLFetchingError

from lms.certificates import render
from lms.certificates.context import Holder, ItemFacts, certificate_content
from lms.certificates.render import (
    DESIGN_ROOT,
    CertificateRenderError,
    DesignFetcher,
    ForbiddenResource,
    html_to_pdf,
    render_html,
)

HOSTILE = (
    "<img src=x onerror=alert(1)> <link rel=attachment href=file:///etc/passwd> "
    "url(file:///etc/passwd) @import url(http://attacker.invalid/x.css); </p><style>*{}</style>"
)


def content(name: str = "Ada Lovelace", credentials: str = "PhD", **overrides: object) -> dict:
    """A module certificate's content for the given holder."""
    arguments: dict = {
        "design": "module",
        "holder": Holder(name, credentials, "LCSW", "LC 1", "CA"),
        "item": ItemFacts("M1", "Module 1 — Introduction to KAP", "core_module", "", Decimal("7")),
        "completed_on": date(2025, 3, 14),
        "issued_on": date(2026, 1, 2),
        "expires_on": None,
        "serial": "KAP-2026-000042",
        "code": "2345-6789-ABCD-EFGH-JKMN",
        "verify_url": "https://training.example.org/verify/2345-6789-ABCD-EFGH-JKMN",
        "programme": {"provider_name": "Polaris Insight Center"},
    }
    arguments.update(overrides)
    return certificate_content(**arguments)


class SpyFetcher(DesignFetcher):
    """The real fetcher, recording every URL WeasyPrint asks for."""

    asked: list[str] = []

    def fetch(self, url: str, headers: object = None):  # noqa: ANN201
        """Record, then behave exactly like the real fetcher."""
        SpyFetcher.asked.append(url)
        return super().fetch(url, headers)


def test_hostile_name_and_credentials_print_literally_and_fetch_nothing_of_theirs() -> None:
    """Hostile name and credentials print literally and fetch nothing of theirs."""
    SpyFetcher.asked = []
    html = render_html(
        "module", content(name=HOSTILE, credentials="<b>MD</b> url(http://x.invalid)")
    )
    assert "<img src=x" not in html and "&lt;img src=x" in html
    pdf = html_to_pdf(html, fetcher_factory=SpyFetcher)
    text = pdf_text(pdf)
    assert "<img src=x onerror=alert(1)>" in text
    assert "<link rel=attachment href=file:///etc/passwd>" in text
    assert "url(file:///etc/passwd)" in text
    assert "@import url(http://attacker.invalid/x.css);" in text
    assert "<b>MD</b>" in text
    assert "root:x:0:0" not in text
    assert SpyFetcher.asked, "the design's own stylesheet and images go through the fetcher"
    for url in SpyFetcher.asked:
        assert "passwd" not in url and "invalid" not in url and not url.startswith("http")
        assert url.startswith(DESIGN_ROOT.as_uri() + "/"), url
    assert attachments_of(pdf) == []
    assert page_count(pdf) == 1


def test_a_design_that_asks_for_anything_outside_its_folder_aborts_the_render() -> None:
    """A design that asks for anything outside its folder aborts the render."""
    for tag in (
        '<img src="file:///etc/passwd">',
        '<link rel="stylesheet" href="http://127.0.0.1:9/x.css">',
        '<link rel="attachment" href="file:///etc/hostname">',
        '<img src="../pyproject.toml">',
    ):
        with pytest.raises(CertificateRenderError):
            html_to_pdf(f"<!doctype html><p>hello</p>{tag}")


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        (DESIGN_ROOT / ".." / "pyproject.toml").as_uri(),
        DESIGN_ROOT.as_uri() + "/../pyproject.toml",
        DESIGN_ROOT.as_uri() + "/%2e%2e/pyproject.toml",
        "http://127.0.0.1:9/seal.svg",
        "https://example.org/seal.svg",
        "ftp://example.org/seal.svg",
        "file://otherhost" + str(DESIGN_ROOT / "module.css"),
        DESIGN_ROOT.as_uri() + "/assets",  # a folder, not a file
    ],
)
def test_fetcher_refuses_files_outside_the_design_folder_and_every_network_url(url: str) -> None:
    """Fetcher refuses files outside the design folder and every network url."""
    with pytest.raises(ForbiddenResource):
        DesignFetcher(DESIGN_ROOT).fetch(url)


def test_fetcher_serves_bundled_assets_and_data_urls() -> None:
    """Fetcher serves bundled assets and data urls."""
    fetcher = DesignFetcher(DESIGN_ROOT)
    css = fetcher.fetch((DESIGN_ROOT / "module.css").as_uri())
    assert css.read() == (DESIGN_ROOT / "module.css").read_bytes()
    seal = fetcher.fetch((DESIGN_ROOT / "assets" / "seal.svg").as_uri())
    assert seal.content_type == "image/svg+xml"
    data = fetcher.fetch("data:text/plain;base64,aGVsbG8=")
    assert data.read() == b"hello"


def test_fetcher_refuses_a_symlink_that_points_out_of_the_folder(tmp_path: Path) -> None:
    """Fetcher refuses a symlink that points out of the folder."""
    root = tmp_path / "design"
    root.mkdir()
    (tmp_path / "secret.txt").write_text("secret")
    (root / "link.css").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(ForbiddenResource):
        DesignFetcher(root).fetch((root / "link.css").as_uri())


def test_weasyprint_default_fetching_is_never_used() -> None:
    # URLFetchingError would mean WeasyPrint swallowed a failure and carried on rendering.
    """Weasyprint default fetching is never used."""
    assert issubclass(ForbiddenResource, BaseException)
    assert not issubclass(ForbiddenResource, URLFetchingError)


def test_a_200_character_name_with_long_credentials_and_title_fits_on_one_page() -> None:
    """A 200 character name with long credentials and title fits on one page."""
    name = ("Maximiliana Theodora Wolfeschlegelsteinhausenbergerdorff-Alexandropoulou " * 3)[:200]
    long_title = ("Advanced Experiential Ketamine-Assisted Psychotherapy Intensive " * 4)[:200]
    said = content(
        name=name,
        credentials="PMHNP-BC, LMFT, LCSW, PhD, MD, MPH, RN, CADC-II, EMDR Certified" * 1,
        item=ItemFacts("M7", long_title, "core_module", "Live online", Decimal("41.25")),
    )
    pdf = render.render_with_weasyprint("module", said)
    assert page_count(pdf) == 1
    text = "".join(pdf_text(pdf).split())
    assert "".join(name.split()) in text
    assert "".join(long_title.split()) in text
    assert said["serial"] in text


def test_programme_can_print_on_us_letter() -> None:
    """Programme can print on us letter."""
    said = content(programme={"provider_name": "P", "certificate_page_size": "Letter"})
    page = PdfReader(BytesIO(render.render_with_weasyprint("module", said))).pages[0]
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    assert (round(width), round(height)) == (792, 612)  # 11 x 8.5 in, landscape


def test_a4_landscape_is_the_default() -> None:
    """A4 landscape is the default."""
    page = PdfReader(BytesIO(render.render_with_weasyprint("module", content()))).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (842, 595)
