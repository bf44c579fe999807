"""LMS_STORAGE_URL: unset is the local folder, s3://bucket/prefix is S3; anything else stops
the app at start with one line naming the setting."""

from __future__ import annotations

import pytest

from lms.config import ConfigError, load_config
from lms.storage import S3Settings, check_key, new_key, parse_storage_url


def test_unset_means_the_local_folder():
    assert parse_storage_url(None) is None and parse_storage_url("  ") is None


@pytest.mark.parametrize(
    ("url", "endpoint", "expected"),
    [
        ("s3://kap-files", None, S3Settings("kap-files", "")),
        ("s3://kap-files/", None, S3Settings("kap-files", "")),
        ("s3://kap-files/lms/prod", None, S3Settings("kap-files", "lms/prod/")),
        (
            "s3://kap-files/lms?region=eu-west-1&sse=aws:kms",
            None,
            S3Settings("kap-files", "lms/", "eu-west-1", "aws:kms"),
        ),
        (
            "s3://kap-files/lms?sse=none",
            "http://127.0.0.1:9000",
            S3Settings("kap-files", "lms/", None, "none", "http://127.0.0.1:9000"),
        ),
    ],
)
def test_an_s3_url_names_bucket_prefix_and_options(url, endpoint, expected):
    assert parse_storage_url(url, endpoint) == expected


@pytest.mark.parametrize(
    ("url", "endpoint", "says"),
    [
        ("/srv/files", None, "must be unset"),
        ("file:///srv/files", None, "must be unset"),
        ("https://kap-files.s3.amazonaws.com/x", None, "must be unset"),
        ("s3://AKIA:secret@kap-files/x", None, "no credentials"),
        ("s3://kap-files:9000/x", None, "no credentials"),
        ("s3://Kap_Files/x", None, "not a valid bucket name"),
        ("s3://kap-files/../etc", None, "the prefix may hold"),
        ("s3://kap-files/a b", None, "the prefix may hold"),
        ("s3://kap-files/x?acl=public-read", None, "unknown option(s) acl"),
        ("s3://kap-files/x?sse=yes", None, "sse must be one of"),
        ("s3://kap-files/x?region=EU West", None, "is not a region name"),
        ("s3://kap-files/x", "minio:9000", "LMS_STORAGE_ENDPOINT_URL must be"),
        (None, "http://127.0.0.1:9000", "LMS_STORAGE_URL is not"),
    ],
)
def test_a_wrong_url_is_refused_with_one_line(url, endpoint, says):
    with pytest.raises(ValueError, match="LMS_STORAGE") as refused:
        parse_storage_url(url, endpoint)
    assert says in str(refused.value) and "\n" not in str(refused.value)


KEY = {"LMS_SECRET_KEY": "a-test-secret-key-long-enough-to-pass"}  # the environment passed in


def test_the_app_refuses_to_start_on_a_wrong_storage_url():
    with pytest.raises(ConfigError, match="LMS_STORAGE_URL must be unset"):
        load_config({**KEY, "LMS_ENV": "development", "LMS_STORAGE_URL": "ftp://files"})
    settings = load_config(
        {**KEY, "LMS_ENV": "development", "LMS_STORAGE_URL": "s3://kap-files/lms"}
    )
    assert settings["LMS_STORAGE_URL"] == "s3://kap-files/lms"


@pytest.mark.parametrize(
    "key",
    ["../../etc/passwd", "a" * 32 + ".pdf/../x", "certificate.pdf", "A" * 32 + ".pdf", "a" * 32],
)
def test_only_keys_the_app_makes_are_keys(key):
    with pytest.raises(ValueError, match="not a storage key"):
        check_key(key)
    assert check_key(new_key("pdf")).endswith(".pdf")
    with pytest.raises(ValueError):
        new_key("../pdf")
