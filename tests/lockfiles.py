"""The lock files: every package the tracker installs (requirements.lock) and every package it
and its tests install (requirements-test.lock), each pinned to one version with its hashes,
chosen within pyproject.toml's ranges.

    python tests/lockfiles.py write --uv .venv/bin/uv [--upgrade]   # `make lock`
    python tests/lockfiles.py check [--digest-only]                  # `make install`, `make test`
    python tests/lockfiles.py write-uv --uv .venv/bin/uv --version X # `make lock-uv`

`write` resolves with uv (`uv pip compile --universal --generate-hashes`), keeping every pin
that still fits unless --upgrade, and heads each file with a digest of the pyproject.toml
lists it was made from. `check` needs no network: the digest must match pyproject.toml now (so
a dependency added, removed or re-ranged since the last `make lock` is caught), and, unless
--digest-only (the standard library alone, for `make install` before anything is installed;
the full check needs `packaging`, which pytest brings), every requirement must be pinned within
its range and every pin must carry a hash.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
# Installed from the lock too: pip itself, and the build backend (the project is installed
# with --no-build-isolation, so nothing is fetched unpinned to build it).
INSTALL_TOOLS = ("pip",)
DIGEST_LINE = "# pyproject-sha256: "
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")
HASH = re.compile(r"^\s+--hash=sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class Lock:
    """One lock file: its path, the extras it adds to the dependencies, what it holds."""

    path: Path
    extras: tuple[str, ...]
    holds: str

    @property
    def name(self) -> str:
        """The file's name, as messages say it."""
        return self.path.name


LOCKS = (
    Lock(ROOT / "requirements-test.lock", ("test",), "for the tracker and its tests"),
    Lock(ROOT / "requirements.lock", (), "for the tracker"),  # pinned as the test lock pins
)
REMEDY = "run `make lock` and commit the lock files"
UV_LOCK = ROOT / "requirements-uv.txt"  # uv itself, which resolves the others
UV_HEADER = (
    "# requirements-uv.txt: uv, which `make lock` resolves the lock files with, pinned with its\n"
    "# hashes. Made by `make lock-uv UV_VERSION=X.Y.Z`; do not edit by hand.\n"
)


def _normalised(requirement: str) -> str:
    """A requirement as written, without spaces and in lower case (the digest's unit)."""
    return "".join(requirement.split()).lower()


def requirements(pyproject: dict, lock: Lock) -> list[str]:
    """Every requirement a lock is made from: the build backend, pip, the dependencies and
    the lock's extras."""
    project = pyproject["project"]
    wanted = [*pyproject["build-system"]["requires"], *INSTALL_TOOLS]
    wanted += project.get("dependencies", [])
    for extra in lock.extras:
        wanted += project.get("optional-dependencies", {}).get(extra, [])
    return wanted


def digest(pyproject: dict, lock: Lock) -> str:
    """A digest of what the lock is made from (order and spacing aside)."""
    made_from = {
        "requires-python": _normalised(pyproject["project"].get("requires-python", "")),
        "requirements": sorted(_normalised(r) for r in requirements(pyproject, lock)),
    }
    return hashlib.sha256(json.dumps(made_from, sort_keys=True).encode()).hexdigest()


def header(pyproject: dict, lock: Lock) -> str:
    """The comment lines a lock file starts with."""
    extras = "".join(f", the {extra} extra" for extra in lock.extras)
    return (
        f"# {lock.name}: every package installed {lock.holds}, pinned with its hashes.\n"
        f"# Made by `make lock` from pyproject.toml (the build backend, pip, the dependencies"
        f"{extras});\n# do not edit by hand.\n"
        f"{DIGEST_LINE}{digest(pyproject, lock)}\n"
    )


def read_pyproject(path: Path = PYPROJECT) -> dict:
    """pyproject.toml, parsed."""
    return tomllib.loads(path.read_text(encoding="utf-8"))


def pins(text: str) -> tuple[dict[str, list[tuple[str, str | None]]], list[str]]:
    """The pins of a lock file's text, by normalised name: (version, marker or None) each;
    and the names of pins with no hash."""
    found: dict[str, list[tuple[str, str | None]]] = {}
    unhashed: list[str] = []
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if match := PIN.match(line):
            name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
            found.setdefault(name, []).append((match.group(2), match.group(3)))
            following = lines[index + 1] if index + 1 < len(lines) else ""
            if not (line.rstrip().endswith("\\") and HASH.match(following)):
                unhashed.append(f"{match.group(1)}=={match.group(2)}")
    return found, unhashed


def problems(
    pyproject_path: Path = PYPROJECT, locks: Sequence[Lock] = LOCKS, *, digest_only: bool = False
) -> list[str]:
    """Why the lock files do not match pyproject.toml, one line each ([] when they do)."""
    pyproject = read_pyproject(pyproject_path)
    found: list[str] = []
    for lock in locks:
        if not lock.path.exists():
            found.append(f"{lock.name} is missing: {REMEDY}")
            continue
        text = lock.path.read_text(encoding="utf-8")
        recorded = next(
            (
                line[len(DIGEST_LINE) :].strip()
                for line in text.splitlines()
                if line.startswith(DIGEST_LINE)
            ),
            None,
        )
        if recorded != digest(pyproject, lock):
            found.append(
                f"{lock.name} was made from other requirements than pyproject.toml lists now "
                f"(changed since the last `make lock`): {REMEDY}"
            )
        if not digest_only:
            found += _pin_problems(pyproject, lock, text)
    return found


def _pin_problems(pyproject: dict, lock: Lock, text: str) -> list[str]:
    """Requirements not pinned within their range on this machine, and pins with no hash."""
    from packaging.markers import Marker
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pinned, unhashed = pins(text)
    found = [f"{lock.name}: {pin} has no --hash: {REMEDY}" for pin in unhashed]
    for written in requirements(pyproject, lock):
        requirement = Requirement(written)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        name = canonicalize_name(requirement.name)
        here = [
            version
            for version, marker in pinned.get(name, [])
            if marker is None or Marker(marker).evaluate()
        ]
        if not here:
            found.append(f"{lock.name}: {written!r} is not pinned: {REMEDY}")
        for version in here:
            if not requirement.specifier.contains(version, prereleases=True):
                found.append(f"{lock.name}: {name}=={version} is outside {written!r}: {REMEDY}")
    return found


def write(uv: str, *, upgrade: bool = False, pyproject_path: Path = PYPROJECT) -> None:
    """Resolve every lock with uv and write it with its header. The test lock comes first and
    the tracker's is held to its pins, so both install the same version of a package."""
    pyproject = read_pyproject(pyproject_path)
    minimum = re.fullmatch(r">=\s*(\d+\.\d+)(\.\d+)?", pyproject["project"]["requires-python"])
    if minimum is None:
        raise SystemExit("requires-python must read >=X.Y for `make lock` to know the oldest")
    with tempfile.TemporaryDirectory() as folder:
        constraints = Path(folder) / "constraints.txt"
        for lock in LOCKS:
            _compile(uv, pyproject, pyproject_path, lock, minimum.group(1), upgrade, constraints)
            print(f"Wrote {lock.name}")


def _compile(
    uv: str,
    pyproject: dict,
    pyproject_path: Path,
    lock: Lock,
    python: str,
    upgrade: bool,
    constraints: Path,
) -> None:
    """Resolve one lock file with uv and head it; the first one's pins become `constraints`
    for the next."""
    command = [
        uv, "pip", "compile", str(pyproject_path), "-",
        "--universal", "--python-version", python,
        "--generate-hashes", "--no-header", "--quiet", "--output-file", str(lock.path),
    ]  # fmt: skip
    for extra in lock.extras:
        command += ["--extra", extra]
    if upgrade:
        command.append("--upgrade")
    if constraints.exists():
        command += ["--constraint", str(constraints)]
    tools = "".join(f"{r}\n" for r in (*pyproject["build-system"]["requires"], *INSTALL_TOOLS))
    subprocess.run(command, input=tools, text=True, check=True, cwd=ROOT)
    body = lock.path.read_text(encoding="utf-8")
    body = "".join(line for line in body.splitlines(keepends=True) if not line.startswith("# "))
    lock.path.write_text(header(pyproject, lock) + body.lstrip("\n"), encoding="utf-8")
    if not constraints.exists():
        pinned, _ = pins(body)
        constraints.write_text(
            "".join(
                f"{name}=={version}" + (f" ; {marker}" if marker else "") + "\n"
                for name, versions in sorted(pinned.items())
                for version, marker in versions
            ),
            encoding="utf-8",
        )


def write_uv(uv: str, version: str) -> None:
    """Pin uv `version` with its hashes (every platform's wheel) into requirements-uv.txt."""
    if not re.fullmatch(r"\d+(\.\d+)*", version):
        raise SystemExit(f"UV_VERSION must be a version such as 0.13.9, not {version!r}")
    command = [
        uv, "pip", "compile", "-", "--universal", "--python-version", "3.11",
        "--generate-hashes", "--no-header", "--quiet", "--output-file", str(UV_LOCK),
    ]  # fmt: skip
    subprocess.run(command, input=f"uv=={version}\n", text=True, check=True, cwd=ROOT)
    UV_LOCK.write_text(UV_HEADER + UV_LOCK.read_text(encoding="utf-8"), encoding="utf-8")
    print(f"Wrote {UV_LOCK.name}")


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: write or check."""
    parser = argparse.ArgumentParser(prog="python tests/lockfiles.py", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    writing = commands.add_parser("write", help="resolve pyproject.toml into the lock files")
    writing.add_argument("--uv", default="uv", help="the uv to resolve with")
    writing.add_argument("--upgrade", action="store_true", help="the newest versions allowed")
    moving = commands.add_parser("write-uv", help="pin another uv in requirements-uv.txt")
    moving.add_argument("--uv", default="uv", help="the uv to resolve with")
    moving.add_argument("--version", required=True, help="the uv version to pin")
    checking = commands.add_parser("check", help="do the lock files match pyproject.toml?")
    checking.add_argument("--digest-only", action="store_true", help="standard library only")
    args = parser.parse_args(argv)
    if args.command == "write":
        write(args.uv, upgrade=args.upgrade)
        return 0
    if args.command == "write-uv":
        write_uv(args.uv, args.version)
        return 0
    if found := problems(digest_only=args.digest_only):
        for line in found:
            print(f"Lock files out of date: {line}", file=sys.stderr)
        return 1
    print("Lock files match pyproject.toml.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
