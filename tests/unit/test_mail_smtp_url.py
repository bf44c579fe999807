"""LMS_SMTP_URL parsing: every accepted form, and a one-line ConfigError for nonsense."""

from __future__ import annotations

import pytest

from lms.config import ConfigError
from lms.mail.transport import parse_smtp_url


@pytest.mark.parametrize("value", [None, "", "   "])
def test_no_url_means_the_outbox_folder(value):
    assert parse_smtp_url(value) is None


def test_plain_smtp_defaults_to_port_25_without_tls():
    settings = parse_smtp_url("smtp://mail.example.org")
    assert (settings.host, settings.port, settings.ssl, settings.starttls) == (
        "mail.example.org",
        25,
        False,
        False,
    )
    assert settings.username is None and settings.password is None


def test_starttls_with_credentials_and_port():
    settings = parse_smtp_url("smtp://apikey:s%40cret@smtp.example.org:587?starttls=1&timeout=7")
    assert (settings.port, settings.starttls, settings.ssl) == (587, True, False)
    assert (settings.username, settings.password, settings.timeout) == ("apikey", "s@cret", 7.0)
    assert "s@cret" not in settings.describe() and "STARTTLS" in settings.describe()


def test_smtps_defaults_to_port_465():
    settings = parse_smtp_url("smtps://user:pw@smtp.example.org")
    assert (settings.port, settings.ssl, settings.starttls) == (465, True, False)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("http://mail.example.org", "must start with smtp:// or smtps://"),
        ("mail.example.org:25", "must start with smtp://"),
        ("smtp://", "names no host"),
        ("smtp://host:notaport", "not a valid URL"),
        ("smtp://host:99999", "not a valid URL"),
        ("smtp://host/path", "must not have a path"),
        ("smtp://host?tls=1", "unknown option"),
        ("smtp://host?starttls=maybe", "starttls must be 0 or 1"),
        ("smtps://host?starttls=1", "already encrypted"),
        ("smtp://host?timeout=soon", "timeout must be a number"),
        ("smtp://host?timeout=0", "between 0 and 300"),
        ("smtp://:pw@host", "password but no user name"),
    ],
)
def test_nonsense_is_refused_in_one_line(value, says):
    with pytest.raises(ConfigError, match=says) as caught:
        parse_smtp_url(value)
    assert "\n" not in str(caught.value)
