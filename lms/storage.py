"""Where uploaded files live: one interface, a local folder by default or S3-compatible object
storage (`LMS_STORAGE_URL=s3://bucket/prefix`), so every web host serves every file.

A store holds one area of files (evidence today; each kind of document to come gets its own)
under keys the app makes itself (`new_key`): 32 random hex digits and an extension, never a
name or path a person sent. Every call checks the key again. Nothing here decides who may
read a file: the feature checks access, then reads the bytes and answers with them itself.

Failures have two faces. A key with no file is `StoredFileMissing` (a 404 with a message). A
store that cannot be reached, refuses us, or fails to write is `StorageUnavailable` (a 503
with a message), raised within seconds: S3 calls have short connect and read timeouts and one
retry. A caller stores the file first and records its row after, so a failed upload records
nothing; a file whose row was never committed is left for the owning feature's sweep.
Core module: it imports lms.errors and lms.private_files, and boto3 only when S3 is used.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import os
import re
import secrets
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from flask import Flask, current_app

from lms.errors import DomainError, NotFound
from lms.private_files import FILE_MODE, private_folder

log = logging.getLogger(__name__)

# Each area's local folder: the setting that names it (else `<instance>/<area>`).
AREAS: dict[str, str | None] = {
    "evidence": "LMS_EVIDENCE_DIR",
    "evidence_previews": None,
    # The Certificate of Training's documents (reflection paper, letter) and their pictures.
    "training_documents": "LMS_TRAINING_DOCUMENTS_DIR",
    "training_document_previews": None,
    "certificate_pictures": None,
}
KEY = re.compile(r"[0-9a-f]{32}\.[a-z0-9]{1,8}")
EXTENSION = re.compile(r"[a-z0-9]{1,8}")

# S3 calls: a store that is down answers within seconds, not a worker's whole timeout.
CONNECT_TIMEOUT = 2.0  # seconds to open a connection
READ_TIMEOUT = 5.0  # seconds without a byte from the store, per socket read or write
ATTEMPTS = 2  # the first try and one retry
SSE_CHOICES = ("AES256", "aws:kms", "none")
BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
PREFIX_PART = re.compile(r"[A-Za-z0-9._-]{1,100}")
REGION = re.compile(r"[a-z0-9-]{1,40}")
URL_FORMS = "unset (the local folder) or s3://bucket/prefix[?region=...&sse=AES256|aws:kms|none]"

SAVE_FAILED = (
    "The file store did not answer, so the file was not saved and nothing was recorded. "
    "Please try again in a minute."
)
READ_FAILED = (
    "The file store did not answer, so the file cannot be downloaded just now. "
    "Please try again in a minute."
)
DELETE_FAILED = "The file store did not answer, so the file was not deleted."


class StorageUnavailable(DomainError):
    """The store did not answer (down, unreachable, refusing us, disk full): nothing changed."""

    status_code = 503


class StoredFileMissing(NotFound):
    """No file under that key (deleted, or lost outside the app)."""


@dataclass(frozen=True)
class StoredObject:
    """A file found in a store: its key and when it was written (for sweeps)."""

    key: str
    modified_at: datetime


def new_key(extension: str) -> str:
    """A fresh random key for a file of that extension (`pdf`, `png`...)."""
    if not EXTENSION.fullmatch(extension):
        raise ValueError(f"not a file extension: {extension!r}")
    return f"{secrets.token_hex(16)}.{extension}"


def check_key(key: str) -> str:
    """The key itself when it is one `new_key` could have made; ValueError otherwise.

    Keys come from the app's own rows, never from a request, so a bad one is a bug (or a
    tampered row): it must not become a path or an object name.
    """
    if not isinstance(key, str) or not KEY.fullmatch(key):
        raise ValueError("not a storage key")
    return key


class Storage(ABC):
    """One area's files: put, read, delete, exists, and a listing for sweeps."""

    area: str

    @abstractmethod
    def put(self, key: str, data: bytes, media_type: str) -> None:
        """Store the bytes under the key, whole or not at all (StorageUnavailable)."""

    @abstractmethod
    def read(self, key: str) -> bytes:
        """The file's bytes (StoredFileMissing, StorageUnavailable)."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the file; a missing one is already gone (StorageUnavailable)."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether a file is stored under the key (StorageUnavailable)."""

    @abstractmethod
    def listing(self) -> Iterator[StoredObject]:
        """Every file of the area (StorageUnavailable)."""

    @abstractmethod
    def describe(self) -> str:
        """Where the files are, for logs and messages to an operator."""

    def _unavailable(self, message: str, action: str, cause: BaseException) -> StorageUnavailable:
        """The error to raise, after logging what the store said (one line, no traceback)."""
        reason = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
        log.warning("file store %s: %s failed: %s", self.describe(), action, reason)
        return StorageUnavailable(message)


class LocalStorage(Storage):
    """Files in a folder of this host: 0700 folder, 0600 files, written atomically."""

    def __init__(self, folder: str | Path, area: str) -> None:
        """Files of `area` in `folder` (created owner-only on first write)."""
        self.folder = Path(folder)
        self.area = area

    def describe(self) -> str:
        """The folder."""
        return f"folder {self.folder}"

    def path(self, key: str) -> Path:
        """The file of a key (checked)."""
        return self.folder / check_key(key)

    def put(self, key: str, data: bytes, media_type: str) -> None:
        """Write a hidden partial file, sync it, then link it under its key.

        The link appears whole or not at all, and never replaces a file already there.
        """
        target = self.path(key)
        try:
            private_folder(self.folder)
            partial = self.folder / f".{key}.{secrets.token_hex(4)}.part"
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                try:
                    os.link(partial, target)
                except FileExistsError:
                    raise ValueError(f"storage key {key} is taken") from None  # a bug
            finally:
                partial.unlink(missing_ok=True)
        except OSError as error:
            raise self._unavailable(SAVE_FAILED, f"writing {key}", error) from error

    def read(self, key: str) -> bytes:
        """The file's bytes."""
        path = self.path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError as error:
            raise StoredFileMissing("The file is missing from storage.") from error
        except OSError as error:
            raise self._unavailable(READ_FAILED, f"reading {key}", error) from error

    def delete(self, key: str) -> None:
        """Unlink the file (gone already is fine)."""
        path = self.path(key)
        try:
            path.unlink(missing_ok=True)
        except OSError as error:
            raise self._unavailable(DELETE_FAILED, f"deleting {key}", error) from error

    def exists(self, key: str) -> bool:
        """Whether the file is there."""
        return self.path(key).is_file()

    def listing(self) -> Iterator[StoredObject]:
        """The folder's key files with their modification times (partial files left out)."""
        try:
            entries = list(os.scandir(self.folder))
        except FileNotFoundError:
            return
        except OSError as error:
            raise self._unavailable(READ_FAILED, "listing", error) from error
        for entry in entries:
            if KEY.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                modified = datetime.fromtimestamp(entry.stat().st_mtime, UTC)
                yield StoredObject(entry.name, modified)


@dataclass(frozen=True)
class S3Settings:
    """Where LMS_STORAGE_URL (and LMS_STORAGE_ENDPOINT_URL) put the files."""

    bucket: str
    prefix: str  # "" or "a/b/" (always ends with a slash)
    region: str | None = None
    sse: str = "AES256"
    endpoint: str | None = None


def parse_storage_url(url: str | None, endpoint: str | None = None) -> S3Settings | None:
    """The S3 settings of the URL, None for the local folder; ValueError with one line."""
    url = (url or "").strip()
    endpoint = (endpoint or "").strip() or None
    if not url:
        if endpoint:
            raise ValueError("LMS_STORAGE_ENDPOINT_URL is set but LMS_STORAGE_URL is not")
        return None
    parts = urlsplit(url)
    if parts.scheme != "s3":
        raise ValueError(f"LMS_STORAGE_URL must be {URL_FORMS}, not {url!r}")
    if "@" in parts.netloc or ":" in parts.netloc:
        raise ValueError(
            "LMS_STORAGE_URL holds no credentials or port: the keys come from the standard "
            "AWS variables (AWS_ACCESS_KEY_ID...), the address from LMS_STORAGE_ENDPOINT_URL"
        )
    if not BUCKET.fullmatch(parts.netloc) or ".." in parts.netloc:
        raise ValueError(f"LMS_STORAGE_URL: {parts.netloc!r} is not a valid bucket name")
    segments = [s for s in parts.path.split("/") if s]
    if any(not PREFIX_PART.fullmatch(s) or s in {".", ".."} for s in segments):
        raise ValueError(
            "LMS_STORAGE_URL: the prefix may hold letters, digits, '.', '_', '-' and '/', "
            f"not {parts.path!r}"
        )
    if parts.fragment:
        raise ValueError("LMS_STORAGE_URL must not have a #fragment")
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = set(options) - {"region", "sse"}
    if unknown:
        raise ValueError(f"LMS_STORAGE_URL: unknown option(s) {', '.join(sorted(unknown))}")
    sse = options.get("sse", "AES256")
    if sse not in SSE_CHOICES:
        raise ValueError(f"LMS_STORAGE_URL: sse must be one of {', '.join(SSE_CHOICES)}")
    region = options.get("region") or None
    if region is not None and not REGION.fullmatch(region):
        raise ValueError(f"LMS_STORAGE_URL: {region!r} is not a region name")
    if endpoint is not None:
        where = urlsplit(endpoint)
        if where.scheme not in {"http", "https"} or not where.netloc or where.query:
            raise ValueError(
                f"LMS_STORAGE_ENDPOINT_URL must be an http(s)://host[:port] address, "
                f"not {endpoint!r}"
            )
    prefix = "".join(f"{s}/" for s in segments)
    return S3Settings(parts.netloc, prefix, region, sse, endpoint)


class S3Connection:
    """One boto3 client for every area, made once (clients are thread-safe)."""

    def __init__(self, settings: S3Settings) -> None:
        """Remember the settings; no network yet."""
        self.settings = settings
        self._client: Any = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        """The S3 client: standard AWS credentials, short timeouts, one retry."""
        with self._lock:
            if self._client is None:
                import boto3
                from botocore.config import Config

                config = Config(
                    connect_timeout=CONNECT_TIMEOUT,
                    read_timeout=READ_TIMEOUT,
                    retries={"total_max_attempts": ATTEMPTS, "mode": "standard"},
                    # Only what S3-compatible stores all understand (Content-MD5, below).
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                    # Another store's endpoint (MinIO...) names the bucket in the path.
                    s3={"addressing_style": "path" if self.settings.endpoint else "auto"},
                )
                self._client = boto3.session.Session().client(
                    "s3",
                    endpoint_url=self.settings.endpoint,
                    region_name=self.settings.region,
                    config=config,
                )
            return self._client


class S3Storage(Storage):
    """Files as private objects `<prefix><area>/<key>` of one bucket."""

    def __init__(self, connection: S3Connection, area: str) -> None:
        """The area's objects through the shared connection."""
        self.connection = connection
        self.settings = connection.settings
        self.area = area
        self.base = f"{self.settings.prefix}{area}/"

    def describe(self) -> str:
        """The bucket and the area's prefix."""
        return f"s3://{self.settings.bucket}/{self.base}"

    def name(self, key: str) -> str:
        """The object name of a key (checked)."""
        return self.base + check_key(key)

    def _call(self, message: str, action: str, operation: str, **arguments: Any) -> Any:
        """Call the client; a missing object is StoredFileMissing, any other failure
        StorageUnavailable (logged with the store's own reason)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.connection.client(), operation)(
                Bucket=self.settings.bucket, **arguments
            )
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in {"NoSuchKey", "404", "NotFound"}:
                raise StoredFileMissing("The file is missing from storage.") from error
            raise self._unavailable(message, action, error) from error
        except BotoCoreError as error:
            raise self._unavailable(message, action, error) from error

    def put(self, key: str, data: bytes, media_type: str) -> None:
        """One PutObject (S3 makes an object visible whole): no ACL, so private, and
        encrypted at rest unless the URL says `sse=none`."""
        extra: dict[str, Any] = {}
        if self.settings.sse != "none":
            extra["ServerSideEncryption"] = self.settings.sse
        digest = hashlib.md5(data, usedforsecurity=False).digest()  # the store checks it
        self._call(
            SAVE_FAILED,
            f"writing {key}",
            "put_object",
            Key=self.name(key),
            Body=data,
            ContentType=media_type,
            ContentMD5=base64.b64encode(digest).decode(),
            **extra,
        )

    def read(self, key: str) -> bytes:
        """GetObject, read whole (files are small) so a failure is an error, not half a file."""
        from botocore.exceptions import BotoCoreError

        answer = self._call(READ_FAILED, f"reading {key}", "get_object", Key=self.name(key))
        with contextlib.closing(answer["Body"]) as body:
            try:
                return body.read()
            except (BotoCoreError, OSError) as error:
                raise self._unavailable(READ_FAILED, f"reading {key}", error) from error

    def delete(self, key: str) -> None:
        """DeleteObject (S3 answers the same for an object already gone)."""
        self._call(DELETE_FAILED, f"deleting {key}", "delete_object", Key=self.name(key))

    def exists(self, key: str) -> bool:
        """HeadObject."""
        try:
            self._call(READ_FAILED, f"checking {key}", "head_object", Key=self.name(key))
        except StoredFileMissing:
            return False
        return True

    def listing(self) -> Iterator[StoredObject]:
        """The area's objects, a page of a thousand at a time."""
        token: dict[str, str] = {}
        while True:
            page = self._call(READ_FAILED, "listing", "list_objects_v2", Prefix=self.base, **token)
            for item in page.get("Contents", []):
                key = item["Key"][len(self.base) :]
                if KEY.fullmatch(key):
                    yield StoredObject(key, item["LastModified"].astimezone(UTC))
            if not page.get("IsTruncated"):
                return
            token = {"ContinuationToken": page["NextContinuationToken"]}


class FileStores:
    """An app's stores, one per area, all on the backend its settings name."""

    def __init__(self, config: dict[str, Any], instance_path: str | Path) -> None:
        """Read LMS_STORAGE_URL (ValueError when it is wrong); connect on first use."""
        self.config = config
        self.instance_path = Path(instance_path)
        self.s3 = parse_storage_url(
            config.get("LMS_STORAGE_URL"), config.get("LMS_STORAGE_ENDPOINT_URL")
        )
        self.connection = S3Connection(self.s3) if self.s3 else None
        self._stores: dict[str, Storage] = {}

    def __getitem__(self, area: str) -> Storage:
        """The store of one area (`evidence`)."""
        if area not in AREAS:
            raise KeyError(f"no storage area {area!r}")
        if area not in self._stores:
            if self.connection is not None:
                self._stores[area] = S3Storage(self.connection, area)
            else:
                setting = AREAS[area]
                folder = (setting and self.config.get(setting)) or self.instance_path / area
                self._stores[area] = LocalStorage(folder, area)
        return self._stores[area]


def init_app(app: Flask) -> None:
    """Give the app its stores (a wrong LMS_STORAGE_URL stops it here, one line).

    The S3 client is made now (half a second of loading, no network), so that the first
    upload or download of each worker does not wait for it.
    """
    files = FileStores(app.config, app.instance_path)
    if files.connection is not None:
        files.connection.client()
    app.extensions["lms_storage"] = files


def stores(app: Flask | None = None) -> FileStores:
    """The stores of the app (the current one by default)."""
    return (app or current_app).extensions["lms_storage"]


def store(area: str, app: Flask | None = None) -> Storage:
    """The store of one area of the app (the current one by default)."""
    return stores(app)[area]
