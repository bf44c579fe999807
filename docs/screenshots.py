"""Take the README's screenshots again from the demo data, in Chromium: `make screenshots`.

Builds a throwaway tracker (a fresh SQLite database in a temporary folder, the default
catalogue, `flask lms demo`'s accounts and stories with their certificates), serves it on a
free loopback port, and photographs the dashboard of a clinician part-way through the
programme on a desktop (docs/dashboard.png) and the demo's new clinician on a 390 x 844
phone (docs/dashboard-phone.png). The pictures are reduced to 256 colours so each stays well
under 200 KB. Needs the test tools (`make install-test`: Playwright) and Debian's chromium.
"""

from __future__ import annotations

import io
import logging
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from cryptography.fernet import Fernet
from werkzeug.serving import make_server

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "screenshots demo password"  # noqa: S105 - of a database deleted after the run
MAX_BYTES = 200 * 1024
SHOTS = (
    # file, account, viewport, how much of the page
    ("dashboard.png", "priya.raman@example.org", {"width": 1280, "height": 900}, None),
    ("dashboard-phone.png", "clinician@example.org", {"width": 390, "height": 844}, 2 * 844),
)


def build_app(folder: Path):  # noqa: ANN201 - a Flask app
    """The tracker on a fresh database in `folder`, with the catalogue and the demo data."""
    sys.path.insert(0, str(ROOT))
    from lms import create_app
    from lms.catalog.services import DEFAULT_CATALOG, load_catalog
    from lms.db import db
    from lms.demo import create_demo_data
    from lms.jobs import sweep_due_work
    from lms.migrate import upgrade
    from lms.storage import store

    key = Fernet.generate_key().decode()
    app = create_app(
        {
            "LMS_ENV": "development",
            "SECRET_KEY": "screenshots only: a throwaway secret key that is long enough",
            "LMS_INSTANCE_PATH": str(folder),
            "LMS_DATABASE_URL": f"sqlite:///{folder / 'lms.sqlite3'}",
            "LMS_SCREENING_KEY": key,
            "LMS_QUEUE_URL": "immediate",  # certificates are rendered as the demo records them
            "LMS_PUBLIC_URL": "http://127.0.0.1",
            "RATELIMIT_ENABLED": False,
        }
    )
    upgrade(app.extensions["lms"].db.engine)
    with app.app_context():
        load_catalog(db.session, DEFAULT_CATALOG)
        db.session.commit()
        create_demo_data(
            db.session,
            password=PASSWORD,
            evidence_store=store("evidence", app),
            screening_key=key,
        )
        db.session.commit()
        # The certificates' PDFs, rendered here and now (the queue runs jobs at once), so the
        # pictures show them ready rather than being prepared.
        sweep_due_work(grace=timedelta(0))
    return app


@contextmanager
def served(app) -> Iterator[str]:  # noqa: ANN001
    """Serve the app on 127.0.0.1:<free port> in a thread; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def small_png(png: bytes) -> bytes:
    """The picture in 256 colours (text stays crisp; the file shrinks several times)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    reduced = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    reduced.save(out, format="PNG", optimize=True)
    return out.getvalue()


def photograph(base_url: str) -> list[tuple[Path, int]]:
    """Sign in as each account and save its dashboard; the files written and their sizes."""
    from playwright.sync_api import expect, sync_playwright

    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless"])
        try:
            for name, email, viewport, height in SHOTS:
                context = browser.new_context(base_url=base_url, viewport=viewport)
                page = context.new_page()
                page.goto("/login")
                page.get_by_label("E-mail").fill(email)
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                expect(page.locator(".flash-success")).to_contain_text("Welcome")
                page.goto("/")
                expect(page.get_by_role("heading", name="Your pathway")).to_be_visible()
                clip = {"x": 0, "y": 0, "width": viewport["width"], "height": height}
                shot = page.screenshot(full_page=height is not None, clip=clip if height else None)
                target = DOCS / name
                target.write_bytes(small_png(shot))
                written.append((target, target.stat().st_size))
                context.close()
        finally:
            browser.close()
    return written


def main() -> int:
    """Build, serve, photograph; exit 1 if a picture is too big for the README."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    with tempfile.TemporaryDirectory(prefix="lms-screenshots-") as folder:
        app = build_app(Path(folder))
        with served(app) as base_url:
            written = photograph(base_url)
        app.extensions["lms"].db.engine.dispose()
    too_big = False
    for path, size in written:
        print(f"{path.relative_to(ROOT)}: {size // 1024} KB")
        too_big |= size > MAX_BYTES
    if too_big:
        print(f"A picture is over {MAX_BYTES // 1024} KB: crop it or use fewer colours.")
    return 1 if too_big else 0


if __name__ == "__main__":
    raise SystemExit(main())
