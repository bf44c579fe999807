"""A real S3 API for the tests: moto's server on a free port of this machine, and stores.

`moto_s3` starts `moto.server.ThreadedMotoServer` once per test process and makes one bucket;
each test gets its own prefix in it, so tests never see each other's objects. `closed_port`
is an address where nothing listens: a store that is down.
"""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

BUCKET = "lms-test-files"


@dataclass(frozen=True)
class MotoS3:
    """The running server: its address and a client to look behind the app's back."""

    endpoint: str
    client: Any

    def url(self, prefix: str | None = None) -> str:
        """An LMS_STORAGE_URL of a fresh prefix (or the one given) in the test bucket."""
        return f"s3://{BUCKET}/{prefix or 'test-' + uuid.uuid4().hex[:12]}"


def start_moto() -> Iterator[MotoS3]:
    """Run moto's S3 server in a thread with test credentials, and stop it after."""
    import boto3
    from moto.server import ThreadedMotoServer

    environment = pytest.MonkeyPatch()
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    }.items():
        environment.setenv(name, value)
    environment.delenv("AWS_SESSION_TOKEN", raising=False)
    environment.delenv("AWS_PROFILE", raising=False)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's access log
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.session.Session().client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    try:
        yield MotoS3(endpoint, client)
    finally:
        client.close()
        server.stop()
        environment.undo()


def closed_port() -> int:
    """A port of 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def objects_under(moto: MotoS3, url: str) -> list[str]:
    """The object names under an LMS_STORAGE_URL's prefix, as the store holds them."""
    prefix = url.split("/", 3)[3] + "/"
    found = moto.client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return [item["Key"] for item in found.get("Contents", [])]
