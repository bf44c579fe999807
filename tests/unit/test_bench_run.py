"""The bench's pure parts: verdicts, option defaults, command detection, cookies, the PDF."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
from flask import Flask, session
from flask_login import LoginManager, UserMixin, current_user

# bench/ is the project's folder of benchmark scripts, not an installed package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench import prepare, run, serving, table  # noqa: E402
from bench.population import BENCH_PDF, BENCH_PDF_SHA256, verification_code  # noqa: E402
from bench.sessions import mint_cookies  # noqa: E402

GROUP_HELP = """Usage: flask lms progress [OPTIONS] COMMAND [ARGS]...

Options:
  --help  Show this message and exit.

Commands:
  check    Compare the kept standings with a full recomputation.
  rebuild  Recompute every clinician's standing rows from history.
"""


def test_a_missed_target_fails_the_run_and_information_never_does() -> None:
    rows = [
        table.Row("bare", "900 req/s", "(yardstick)", "", None),
        table.ratio_row("roster 100k vs 1k", 1.6, 1.5, most=True),
        table.ratio_row("dashboard of bare", 0.31, 0.30, most=False),
    ]
    assert [row.verdict for row in rows] == ["-", "FAIL", "PASS"]
    assert table.missed(rows) == ["roster 100k vs 1k"]
    assert table.missed(rows[:1]) == []


def test_ratio_rows_pass_on_the_bound_itself() -> None:
    assert table.ratio_row("at most", 1.3, 1.3, most=True).passed is True
    assert table.ratio_row("at least", 0.3, 0.3, most=False).passed is True
    assert table.ratio_row("at least", 0.29, 0.3, most=False).passed is False


def test_quick_mode_uses_small_populations_and_the_full_run_the_issues_sizes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BENCH_QUICK", raising=False)
    assert run.parse_args([]).sizes == [1000, 100_000]
    assert run.parse_args(["--quick"]).sizes == [1000, 5000]
    monkeypatch.setenv("BENCH_QUICK", "1")
    quick = run.parse_args([])
    assert quick.quick and quick.sizes == [1000, 5000] and quick.distinct == 1000


def test_sizes_must_be_small_then_big() -> None:
    with pytest.raises(SystemExit):
        run.parse_args(["--sizes", "5000,1000"])


def test_a_command_counts_only_when_listed_under_commands() -> None:
    assert prepare.lists_command(GROUP_HELP, "rebuild")
    assert prepare.lists_command(GROUP_HELP, "check")
    assert not prepare.lists_command(GROUP_HELP, "worker")
    usage = "Usage: flask lms [OPTIONS]\n  rebuild everything\n"
    assert not prepare.lists_command(usage, "rebuild")


def test_the_deck_hands_out_different_people_until_it_wraps() -> None:
    deck = prepare.Deck(["a", "b", "c"])
    assert deck.take(2) == ["a", "b"]
    assert deck.take(2) == ["c", "a"]
    assert deck.distinct == 3


def test_vmrss_is_read_from_proc_status() -> None:
    status = "Name:\tgunicorn\nVmPeak:\t  250000 kB\nVmRSS:\t  123456 kB\nThreads:\t1\n"
    assert serving.parse_vmrss_kb(status) == 123456
    assert serving.parse_vmrss_kb("Name:\tzombie\n") == 0


class Person(UserMixin):
    """A user whose session identity is `id:token`, as lms/auth's User.get_id()."""

    def __init__(self, user_id: int, token: str) -> None:
        """Remember the identity."""
        self.identity = f"{user_id}:{token}"

    def get_id(self) -> str:
        """flask-login's session identity."""
        return self.identity


def test_a_minted_cookie_signs_the_person_in_with_their_token_and_a_csrf_secret() -> None:
    app = Flask(__name__)
    app.secret_key = "a secret key long enough for the bench test"
    manager = LoginManager(app)
    manager.session_protection = "basic"
    tokens = {7: "right-token"}

    @manager.user_loader
    def load(identity: str) -> Person | None:
        """Accept only the current token, as lms.auth does."""
        user_id, _, token = identity.partition(":")
        return Person(int(user_id), token) if tokens.get(int(user_id)) == token else None

    @app.get("/who")
    def who() -> str:
        """The signed-in identity, and whether the session kept its CSRF secret."""
        name = current_user.get_id() if current_user.is_authenticated else "anonymous"
        return f"{name} {'csrf_token' in session}"

    good, stale = mint_cookies(app, [(7, "right-token"), (7, "rotated-away")])
    answers = []
    for cookie in (good, stale):
        client = app.test_client()
        name, _, value = cookie.partition("=")
        client.set_cookie(name, value)
        answers.append(client.get("/who").text)
    assert answers[0] == "7:right-token True"
    assert answers[1].startswith("anonymous")


def test_the_stand_in_pdf_is_a_pdf_with_its_real_digest() -> None:
    assert BENCH_PDF.startswith(b"%PDF-") and BENCH_PDF.rstrip().endswith(b"%%EOF")
    assert len(BENCH_PDF) < 1024
    assert hashlib.sha256(BENCH_PDF).hexdigest() == BENCH_PDF_SHA256
    xref = int(BENCH_PDF.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    assert BENCH_PDF[xref:].startswith(b"xref")


def test_verification_codes_have_the_printed_shape() -> None:
    import random

    rng = random.Random(1)
    codes = {verification_code(rng) for _ in range(1000)}
    assert len(codes) == 1000
    assert all(len(code) == 24 and code.count("-") == 4 for code in codes)


def test_ports_come_from_the_range_given_and_skip_busy_or_handed_out_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`--ports`/BENCH_PORTS: the first free port of the range that this run has not used."""
    import socket

    monkeypatch.delenv("BENCH_PORTS", raising=False)
    assert run.parse_args([]).ports is None
    monkeypatch.setenv("BENCH_PORTS", "5300-5399")
    assert run.parse_args([]).ports == range(5300, 5400)
    assert run.parse_args(["--ports", "6000"]).ports == range(6000, 6001)
    for wrong in ("80-90", "5399-5300", "a-b"):
        with pytest.raises(SystemExit):
            run.parse_args(["--ports", wrong])
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        span = range(taken, taken + 40)
        first = serving.free_port(span, taken=set())
        assert first != taken and first in span
        assert serving.free_port(span, taken={first}) not in (taken, first)
        with pytest.raises(RuntimeError, match="no free port"):
            serving.free_port(range(taken, taken + 1))
