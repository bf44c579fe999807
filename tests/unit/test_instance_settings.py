"""instance/settings.toml: the development settings `make setup` writes, below the environment."""

from __future__ import annotations

import stat

import pytest

from lms.config import ConfigError, load_config
from lms.instance_settings import (
    SettingsFileError,
    main,
    read_settings,
    settings_path,
    write_development_settings,
)

REAL_SECRET = "a-real-production-secret-of-enough-length"


def config_from(instance, environ: dict[str, str]) -> dict:
    """What the app would run with, given this environment and instance folder."""
    return load_config(
        environ=environ, overrides={"LMS_INSTANCE_PATH": str(instance)}, instance_settings=True
    )


def test_the_generated_file_is_enough_for_a_development_start(tmp_path):
    """With no LMS_* variable at all the app runs on the file's keys, in development."""
    write_development_settings(tmp_path, "http://127.0.0.1:5101/")
    values = read_settings(tmp_path)
    config = config_from(tmp_path, {})
    assert config["LMS_ENV"] == "development"
    assert config["SECRET_KEY"] == values["LMS_SECRET_KEY"] and len(config["SECRET_KEY"]) >= 48
    assert config["LMS_SCREENING_KEY"] == values["LMS_SCREENING_KEY"]
    assert config["LMS_PUBLIC_URL"] == "http://127.0.0.1:5101"
    assert stat.S_IMODE(settings_path(tmp_path).stat().st_mode) == 0o600


def test_environment_variables_win_over_the_file(tmp_path):
    """A real environment variable overrides the file's value."""
    write_development_settings(tmp_path, "http://127.0.0.1:5000")
    config = config_from(tmp_path, {"LMS_PUBLIC_URL": "https://kap.example.org"})
    assert config["LMS_PUBLIC_URL"] == "https://kap.example.org"


def test_production_does_not_start_on_the_development_file(tmp_path):
    """LMS_ENV=production in the environment sets the development file aside: no secret."""
    write_development_settings(tmp_path, "http://127.0.0.1:5000")
    with pytest.raises(ConfigError, match="LMS_SECRET_KEY is not set.*development settings only"):
        config_from(tmp_path, {"LMS_ENV": "production"})
    config = config_from(tmp_path, {"LMS_ENV": "production", "LMS_SECRET_KEY": REAL_SECRET})
    assert config["SECRET_KEY"] == REAL_SECRET
    assert config.get("LMS_SCREENING_KEY") is None  # none of the file's keys either


def test_an_operators_own_file_may_hold_production_settings(tmp_path):
    """A file that does not say development is read like the environment, production too."""
    settings_path(tmp_path).write_text(
        f'LMS_SECRET_KEY = "{REAL_SECRET}"\nLMS_TRUSTED_PROXIES = 1\n'
    )
    config = config_from(tmp_path, {})
    assert config["LMS_ENV"] == "production" and config["SECRET_KEY"] == REAL_SECRET
    assert config["LMS_TRUSTED_PROXIES"] == 1
    with pytest.raises(SettingsFileError, match="not a development settings file"):
        write_development_settings(tmp_path, "http://127.0.0.1:5000")
    assert REAL_SECRET in settings_path(tmp_path).read_text()  # left as it was


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('LMS_SECRT_KEY = "typo"\n', "unknown setting LMS_SECRT_KEY"),
        ("LMS_ENV = \n", "not valid TOML"),
        ("LMS_ENV = [1]\n", "must be a string"),
    ],
)
def test_a_broken_file_stops_the_start_with_one_line(tmp_path, content, message):
    """Typos and bad values are refused by name, not ignored."""
    settings_path(tmp_path).write_text(content)
    with pytest.raises(ConfigError, match=message):
        config_from(tmp_path, {"LMS_ENV": "development"})


def test_rewriting_keeps_the_keys_and_follows_the_port(tmp_path):
    """A second `make setup` (say with another PORT) keeps both keys and updates the URL."""
    write_development_settings(tmp_path, "http://127.0.0.1:5000")
    first = read_settings(tmp_path)
    write_development_settings(tmp_path, "http://127.0.0.1:8080")
    second = read_settings(tmp_path)
    assert second["LMS_SECRET_KEY"] == first["LMS_SECRET_KEY"]
    assert second["LMS_SCREENING_KEY"] == first["LMS_SCREENING_KEY"]
    assert second["LMS_PUBLIC_URL"] == "http://127.0.0.1:8080"


def test_keys_of_an_older_make_run_are_carried_over(tmp_path):
    """instance/secret_key and instance/screening_key become the file's keys (the screening
    key still decrypts the answers stored with it)."""
    from cryptography.fernet import Fernet

    screening_key = Fernet.generate_key().decode()
    (tmp_path / "secret_key").write_text("an-older-secret-key-from-make-run-0123456789\n")
    (tmp_path / "screening_key").write_text(screening_key + "\n")
    write_development_settings(tmp_path, "http://127.0.0.1:5000")
    values = read_settings(tmp_path)
    assert values["LMS_SECRET_KEY"] == "an-older-secret-key-from-make-run-0123456789"
    assert values["LMS_SCREENING_KEY"] == screening_key


def test_a_new_screening_key_is_a_valid_fernet_key(tmp_path):
    """The key the file gets encrypts and decrypts."""
    from cryptography.fernet import Fernet

    assert main(["--instance", str(tmp_path), "--public-url", "http://127.0.0.1:5000"]) == 0
    fernet = Fernet(read_settings(tmp_path)["LMS_SCREENING_KEY"])
    assert fernet.decrypt(fernet.encrypt(b"answer")) == b"answer"
    assert main(["--instance", str(tmp_path), "--public-url", "ftp://x"]) == 2


def test_explicit_environments_ignore_the_file_unless_asked(tmp_path):
    """load_config(environ=...) (tests, embedding) reads no instance file by default."""
    write_development_settings(tmp_path, "http://127.0.0.1:5101")
    config = load_config(
        environ={"LMS_ENV": "development", "LMS_SECRET_KEY": REAL_SECRET},
        overrides={"LMS_INSTANCE_PATH": str(tmp_path)},
    )
    assert config["LMS_PUBLIC_URL"] == "http://127.0.0.1:5000"


@pytest.mark.parametrize(
    ("environ", "overrides"),
    [
        ({"LMS_ENV": "development"}, {}),
        ({"LMS_ENV": "development", "LMS_SECRET_KEY": ""}, {}),
        ({}, {"LMS_ENV": "testing", "TESTING": True}),
    ],
    ids=["development", "development-empty-key", "testing"],
)
def test_no_environment_starts_without_a_secret_key_and_the_line_says_how_to_fix_it(
    tmp_path, environ, overrides
):
    """There is no built-in key to fall back on: a constant in the code would sign every
    development install's sessions and links alike."""
    with pytest.raises(ConfigError) as refused:
        load_config(environ=environ, overrides={"LMS_INSTANCE_PATH": str(tmp_path), **overrides})
    message = str(refused.value)
    assert message.startswith("LMS_SECRET_KEY is not set: run `make settings`")
    assert "set LMS_SECRET_KEY to at least 24 random characters" in message
    assert "\n" not in message


def test_a_short_development_key_is_refused_too(tmp_path):
    with pytest.raises(ConfigError, match="LMS_SECRET_KEY is too short.*make settings"):
        load_config(
            environ={"LMS_ENV": "development", "LMS_SECRET_KEY": "dev"},
            overrides={"LMS_INSTANCE_PATH": str(tmp_path)},
        )


@pytest.mark.parametrize("kept", ["", "too-short"], ids=["empty", "short"])
def test_make_settings_replaces_an_empty_or_short_development_key(tmp_path, kept):
    """A development file whose key would stop the app gets a new one from `make settings`
    (a good key once made is kept: see above)."""
    settings_path(tmp_path).write_text(f'LMS_ENV = "development"\nLMS_SECRET_KEY = "{kept}"\n')
    assert main(["--instance", str(tmp_path), "--public-url", "http://127.0.0.1:5000"]) == 0
    key = read_settings(tmp_path)["LMS_SECRET_KEY"]
    assert len(key) >= 48
    assert config_from(tmp_path, {})["SECRET_KEY"] == key
