"""The lock files: committed, hashed, matching pyproject.toml, installed from by the Makefile;
and the check `make test` runs first catches a dependency added without `make lock`."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path

import lockfiles
import pytest
from lockfiles import LOCKS, PYPROJECT, ROOT, problems

MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")


@pytest.fixture
def copies(tmp_path: Path) -> tuple[Path, list[lockfiles.Lock]]:
    """pyproject.toml and the lock files, copied where a test may change them."""
    shutil.copyfile(PYPROJECT, tmp_path / "pyproject.toml")
    locks = []
    for lock in LOCKS:
        shutil.copyfile(lock.path, tmp_path / lock.name)
        locks.append(replace(lock, path=tmp_path / lock.name))
    return tmp_path / "pyproject.toml", locks


def edit(path: Path, old: str, new: str) -> None:
    """Replace one exact occurrence in a file (so a test cannot silently edit nothing)."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_the_committed_lock_files_match_pyproject() -> None:
    assert problems() == []


def test_every_pin_of_every_lock_has_hashes_and_the_tracker_pins_as_the_tests_do() -> None:
    test_pins, unhashed = lockfiles.pins(LOCKS[0].path.read_text(encoding="utf-8"))
    tracker_pins, also_unhashed = lockfiles.pins(LOCKS[1].path.read_text(encoding="utf-8"))
    assert unhashed == also_unhashed == []
    assert {"flask", "pip", "setuptools", "pytest"} <= set(test_pins)
    assert "pytest" not in tracker_pins
    assert all(tracker_pins[name] == test_pins[name] for name in tracker_pins)


@pytest.mark.parametrize(
    ("where", "added", "locks_named"),
    [
        ('    "huey>=2.5,<4",\n', '    "requests-toolbelt>=1,<2",\n', 2),
        ('    "time-machine>=2.16,<4",\n', '    "freezegun>=1,<2",\n', 1),
    ],
    ids=["runtime", "test-extra"],
)
def test_a_dependency_added_without_make_lock_is_caught(copies, where, added, locks_named) -> None:
    pyproject, locks = copies
    edit(pyproject, where, where + added)
    found = problems(pyproject, locks)
    stale = [line for line in found if "other requirements than pyproject.toml" in line]
    requirement = added.strip().rstrip(",").strip('"')
    unpinned = [line for line in found if f"{requirement!r} is not pinned" in line]
    assert len(stale) == len(unpinned) == locks_named, found
    assert all("run `make lock`" in line for line in found)
    # Without packaging (`make install`, before anything is installed): the digest alone.
    assert len(problems(pyproject, locks, digest_only=True)) == locks_named


def test_a_range_narrowed_past_the_pin_is_caught(copies) -> None:
    pyproject, locks = copies
    edit(pyproject, '"flask>=3.1,<4"', '"flask>=9,<10"')
    found = problems(pyproject, locks)
    assert any("flask==" in line and "outside 'flask>=9,<10'" in line for line in found), found


def test_a_lock_edited_by_hand_is_caught_even_with_its_digest(copies) -> None:
    """A pin moved out of range, or stripped of its hashes, behind an unchanged header."""
    pyproject, locks = copies
    text = locks[0].path.read_text(encoding="utf-8")
    flask = re.search(r"^flask==(\S+) \\$", text, flags=re.MULTILINE)
    assert flask is not None
    edit(locks[0].path, flask.group(0), "flask==2.0.0 \\")
    pytest_pin = re.search(r"^pytest==\S+ \\\n(    --hash=\S+( \\)?\n)+", text, flags=re.MULTILINE)
    assert pytest_pin is not None
    edit(locks[0].path, pytest_pin.group(0), pytest_pin.group(0).split(" \\")[0] + "\n")
    found = problems(pyproject, locks)
    assert any("flask==2.0.0 is outside" in line for line in found), found
    assert any("pytest==" in line and "has no --hash" in line for line in found), found
    assert not any("other requirements" in line for line in found)


def test_a_missing_lock_is_named(copies) -> None:
    pyproject, locks = copies
    locks[1].path.unlink()
    assert problems(pyproject, locks) == [
        "requirements.lock is missing: run `make lock` and commit the lock files"
    ]


def test_the_makefile_installs_only_from_the_locks_with_hashes_and_no_dependencies() -> None:
    """Every pip install in the Makefile takes a lock file with --require-hashes and
    --no-deps, except the tracker itself (--no-deps, built with the locked setuptools)."""
    installs = re.findall(r"^\t.*pip install.*$|^PIP_LOCKED := .*$", MAKEFILE, flags=re.MULTILINE)
    assert installs
    for line in installs:
        if "-e ." in line:
            assert "--no-deps" in line and "--no-build-isolation" in line, line
        else:
            assert "$(PIP_LOCKED)" in line or "--require-hashes --no-deps -r" in line, line
    for lock in ("requirements.lock", "requirements-test.lock", "requirements-uv.txt"):
        assert f"$(PIP_LOCKED) {lock}" in MAKEFILE, lock
    assert MAKEFILE.count("tests/lockfiles.py check --digest-only") == 2


def test_make_test_checks_the_locks_before_pytest() -> None:
    suite = (ROOT / "tests" / "run-suite.sh").read_text(encoding="utf-8")
    assert suite.index("tests/lockfiles.py check") < suite.index("run_pytest SQLite")
