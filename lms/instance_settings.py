"""The instance settings file (`instance/settings.toml`): LMS_* values below the environment.

Flask's instance-folder convention: settings that belong to one installation live in its
instance folder, never in the repository. `make setup` writes development settings there
(secret key, screening key, public URL, `LMS_ENV = "development"`) so that every
`flask --app wsgi ...` command and the server read the same ones with no inline `LMS_*=`
prefixes. A real environment variable always wins over the file, and a file that says
development is ignored when the environment asks for production, so production still needs
its own secrets.

Run `python -m lms.instance_settings --public-url URL [--instance DIR]` to write or update
the development file (what `make setup` does).
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import sys
import tomllib
from pathlib import Path

from lms.private_files import private_folder, write_private_bytes

# The instance folder beside the checkout (lms.config reads it from here: the settings file
# lives below the configuration, which reads it).
DEFAULT_INSTANCE = Path(__file__).resolve().parent.parent / "instance"

SETTINGS_FILE = "settings.toml"
# The shortest secret key the app starts with (lms.config checks it in every environment).
SECRET_KEY_MIN = 24
DEVELOPMENT = "development"
HEADER = (
    "# Development settings written by `make setup` (python -m lms.instance_settings).\n"
    "# Owner-only (0600): it holds the keys that sign sessions and encrypt screening answers.\n"
    "# Environment variables override these values; with LMS_ENV=production in the\n"
    "# environment this file is ignored, so production always brings its own secrets.\n"
)
# Files an older `make run` left: their keys are carried over (the screening key decrypts
# answers already stored).
LEGACY_KEY_FILES = {"LMS_SECRET_KEY": "secret_key", "LMS_SCREENING_KEY": "screening_key"}


class SettingsFileError(Exception):
    """The settings file cannot be read; the message is one line for an operator."""


def settings_path(instance: str | Path) -> Path:
    """Where the instance settings file lives."""
    return Path(instance) / SETTINGS_FILE


def read_settings(instance: str | Path) -> dict[str, str]:
    """The file's LMS_* values as strings ({} when there is no file)."""
    path = settings_path(instance)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise SettingsFileError(f"{path} cannot be read: {error.strerror}") from error
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise SettingsFileError(f"{path} is not valid TOML: {error}") from error
    values: dict[str, str] = {}
    for key, value in data.items():
        if not isinstance(value, str | int | bool):
            raise SettingsFileError(f"{path}: {key} must be a string, number or true/false")
        values[key] = str(int(value)) if isinstance(value, bool) else str(value)
    return values


def is_development_file(values: dict[str, str]) -> bool:
    """Whether the file declares itself development-only (what `make setup` writes)."""
    return values.get("LMS_ENV") == DEVELOPMENT


def _fernet_key() -> str:
    """A new Fernet key (32 random bytes, URL-safe base64), as cryptography makes them."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def _legacy_key(instance: Path, setting: str) -> str | None:
    """A key an older `make run` kept in its own file, if any."""
    try:
        value = (instance / LEGACY_KEY_FILES[setting]).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return value or None


def write_development_settings(instance: str | Path, public_url: str) -> Path:
    """Write or update the development settings file; keys once made are kept.

    A file that does not declare `LMS_ENV = "development"` is an operator's own and is left
    alone (SettingsFileError).
    """
    folder = private_folder(instance)
    path = settings_path(folder)
    current = read_settings(folder)
    if current and not is_development_file(current):
        raise SettingsFileError(
            f'{path} is not a development settings file (no LMS_ENV = "development"): '
            "left unchanged"
        )
    values = dict(current)
    values["LMS_ENV"] = DEVELOPMENT
    values["LMS_PUBLIC_URL"] = public_url.rstrip("/")
    # A key kept from before stays (it signs live sessions and links), unless it is missing,
    # empty or too short to start with (the app refuses such a key).
    if len(values.get("LMS_SECRET_KEY", "")) < SECRET_KEY_MIN:
        legacy = _legacy_key(folder, "LMS_SECRET_KEY") or ""
        values["LMS_SECRET_KEY"] = (
            legacy if len(legacy) >= SECRET_KEY_MIN else secrets.token_urlsafe(48)
        )
    values.setdefault(
        "LMS_SCREENING_KEY", _legacy_key(folder, "LMS_SCREENING_KEY") or _fernet_key()
    )
    lines = [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    write_private_bytes(path, (HEADER + "\n".join(lines) + "\n").encode("utf-8"))
    return path


def main(argv: list[str] | None = None) -> int:
    """Command line: write the development settings file and say where it is."""
    parser = argparse.ArgumentParser(description="Write instance/settings.toml for development.")
    parser.add_argument("--public-url", required=True, help="e.g. http://127.0.0.1:5000")
    parser.add_argument("--instance", default=str(DEFAULT_INSTANCE), help="the instance folder")
    args = parser.parse_args(argv)
    if not args.public_url.startswith(("http://", "https://")):
        print("Error: --public-url must start with http:// or https://", file=sys.stderr)
        return 2
    try:
        path = write_development_settings(args.instance, args.public_url)
    except SettingsFileError as error:
        print(f"Note: {error}", file=sys.stderr)
        return 0
    print(f"Development settings in {path} (owner-only).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
