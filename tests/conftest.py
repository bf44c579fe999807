"""Shared fixtures: a migrated database per test on the chosen backend, app, client, people.

The backend comes from LMS_TEST_BACKEND (`sqlite`, the default, or `postgresql`). On
PostgreSQL each test run (and each xdist worker) migrates a schema of its own, named after
the process, and drops it at the end, so two runs never collide.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date, datetime
from pathlib import Path

import pytest
from clock_support import AWKWARD_INSTANTS, pinned
from facts_support import facts_changed
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, inspect, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session
from storage_support import MotoS3, closed_port, start_moto

from lms import create_app
from lms.auth.models import Role, User, UserRole
from lms.auth.passwords import hash_password
from lms.db import Base, make_engine, utcnow
from lms.migrate import upgrade
from lms.models import import_all_models

BACKEND = os.environ.get("LMS_TEST_BACKEND", "sqlite")
POSTGRES_URL = os.environ.get(
    "LMS_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PASSWORD = "correct horse battery staple"
_PASSWORD_HASH = hash_password(PASSWORD)  # hashed once: argon2 is slow on purpose
SCREENING_KEY = "mJ3cX6d0cQk2i3oR9o6wq0zZ2bq3x8nC5m4Wv1yJt5U="

import_all_models()


def _postgres_url_with_schema(schema: str) -> str:
    """A URL whose connections use the given schema first."""
    url = make_url(POSTGRES_URL)
    query = dict(url.query)
    query["options"] = f"-csearch_path={schema}"
    return url.set(query=query).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Migrate a fresh database once per test process and yield its URL."""
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("db") / "template.sqlite3"
        engine = create_engine(f"sqlite:///{path}")
        upgrade(engine)
        engine.dispose()
        yield str(path)
        return
    if BACKEND != "postgresql":
        raise pytest.UsageError(f"unknown LMS_TEST_BACKEND {BACKEND!r}")
    schema = f"lms_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = _postgres_url_with_schema(schema)
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite"] + (["postgresql"] if BACKEND == "postgresql" else []))
def blank_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a database with no tables (a fresh file, or a fresh schema as well when
    the suite runs on PostgreSQL): for tests that migrate step by step (data migrations)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'blank.sqlite3'}")
        yield engine
        engine.dispose()
        return
    schema = f"lms_blank_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(_postgres_url_with_schema(schema))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def database_url(database_template: str, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated database for one test."""
    if BACKEND == "sqlite":
        path = tmp_path / "lms.sqlite3"
        shutil.copyfile(database_template, path)
        yield f"sqlite:///{path}"
        return
    engine = create_engine(database_template)
    # The catalogue's version stays: its one row is the migration's, and counts on regardless.
    tables = [
        t.name for t in reversed(Base.metadata.sorted_tables) if t.name != "catalogue_version"
    ]
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield database_template


@pytest.fixture(params=list(AWKWARD_INSTANTS))
def awkward_instant(request: pytest.FixtureRequest) -> Iterator[datetime]:
    """The clock pinned (and flowing on) at each instant where the programme's date is easy to
    get wrong: ask for it first, with `@pytest.mark.usefixtures("awkward_instant")`, so the
    data a test makes is made at that instant too."""
    with pinned(AWKWARD_INSTANTS[request.param]) as moment:
        yield moment


@pytest.fixture
def app_config(database_url: str, tmp_path: Path) -> dict:
    """Settings for a test app; tests may change them before asking for `app`."""
    return {
        "TESTING": True,
        "LMS_ENV": "testing",
        "SECRET_KEY": "test-secret-key-that-is-long-enough",
        "LMS_DATABASE_URL": database_url,
        "LMS_INSTANCE_PATH": str(tmp_path / "instance"),
        "LMS_PUBLIC_URL": "http://lms.test",
        "LMS_SCREENING_KEY": SCREENING_KEY,
        # Jobs run at enqueue time, right after the commit, so a test sees their effect at once.
        "LMS_QUEUE_URL": "immediate",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": None,
    }


@pytest.fixture
def queue_in_instance(app_config: dict) -> Path:
    """Jobs go to a real SqliteHuey queue in the test's instance folder, not run at once.

    Nothing consumes them unless the test starts a consumer. Ask for it before `app`.
    """
    app_config["LMS_QUEUE_URL"] = None
    return Path(app_config["LMS_INSTANCE_PATH"]) / "queue.sqlite3"


@pytest.fixture
def app(app_config: dict) -> Iterator[Flask]:
    """The tracker app on the test database."""
    application = create_app(app_config)
    yield application
    application.extensions["lms"].db.engine.dispose()


@pytest.fixture
def engine(app: Flask) -> Engine:
    """The app's engine."""
    return app.extensions["lms"].db.engine


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client (cookies kept between requests)."""
    return app.test_client()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """The app's session inside an app context; commit it yourself to make data visible."""
    from lms.db import db

    with app.app_context():
        yield db.session


@pytest.fixture
def make_user(session: Session) -> Callable[..., User]:
    """Factory: make_user(role=Role.CLINICIAN, licensed=True, **fields) -> committed User."""
    counter = iter(range(1, 1_000_000))

    def factory(*roles: Role | str, licensed: bool = True, **fields: object) -> User:
        n = next(counter)
        role_set = {Role(r) for r in roles} or {Role.CLINICIAN}
        fields.setdefault("email", f"person{n}-{uuid.uuid4().hex[:6]}@example.test")
        fields.setdefault("name", f"Test Person {n}")
        fields.setdefault("credentials", "LCSW")
        if licensed:
            fields.setdefault("licence_type", "LCSW")
            fields.setdefault("licence_number", f"LC{n:05d}")
            fields.setdefault("licence_state", "CA")
            fields.setdefault("licence_expires_on", date(2099, 1, 1))
            fields.setdefault("licence_verified_at", utcnow())
        else:
            fields.setdefault("pre_licensed", True)
        user = User(password_hash=_PASSWORD_HASH, email_confirmed_at=utcnow(), **fields)
        user.role_rows = [UserRole(role=r) for r in sorted(role_set)]
        session.add(user)
        facts_changed(session, user)
        session.commit()
        return user

    return factory


@pytest.fixture
def login(app: Flask) -> Callable[[FlaskClient, User], FlaskClient]:
    """Sign a client in as a user without the cost of an argon2 check."""

    def do_login(client: FlaskClient, user: User) -> FlaskClient:
        with client.session_transaction() as flask_session:
            flask_session["_user_id"] = user.get_id()
            flask_session["_fresh"] = True
        return client

    return do_login


@pytest.fixture
def catalog(session: Session) -> dict[str, object]:
    """The default catalogue loaded; returns {code: CatalogItem}."""
    from lms.catalog.models import CatalogItem
    from lms.catalog.services import DEFAULT_CATALOG, load_catalog
    from lms.db import db

    load_catalog(session, DEFAULT_CATALOG)
    db.commit()  # with the jobs it enqueued (judging training candidates again), run at once
    return {item.code: item for item in session.scalars(select(CatalogItem))}


# Statements that are not queries: SQLite's transaction marker and the per-connection bound a
# PostgreSQL connection is given when it changes use.
NOT_QUERIES = ("BEGIN", "SET lock_timeout")


@pytest.fixture
def count_queries(engine: Engine) -> Callable[..., AbstractContextManager[list[str]]]:
    """`with count_queries() as statements:` the SQL queries the app's engine (or the one
    given) runs inside the block, transaction markers left out; `starting` keeps only the
    statements that begin so ("SELECT", "INSERT INTO completions ")."""

    @contextmanager
    def counting(
        on: Engine | None = None, *, starting: str | tuple[str, ...] = ""
    ) -> Iterator[list[str]]:
        watched = on or engine
        statements: list[str] = []

        def listener(_conn, _cursor, statement: str, *_args: object) -> None:  # noqa: ANN001
            if not statement.startswith(NOT_QUERIES) and statement.lstrip().startswith(starting):
                statements.append(statement)

        event.listen(watched, "before_cursor_execute", listener)
        try:
            yield statements
        finally:
            event.remove(watched, "before_cursor_execute", listener)

    return counting


def table_names(engine: Engine) -> set[str]:
    """Tables in the test database (a helper for schema tests)."""
    return set(inspect(engine).get_table_names())


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    """moto's S3 server (a real S3 API on 127.0.0.1), one per test process, with a bucket."""
    yield from start_moto()


@pytest.fixture(params=["local", "s3"])
def storage_backend(request: pytest.FixtureRequest, app_config: dict) -> str:
    """Run the test on each file store: the instance folder, and S3 (moto) under a prefix of
    its own. Ask for it before `app`."""
    if request.param == "s3":
        moto = request.getfixturevalue("moto_s3")
        app_config["LMS_STORAGE_URL"] = moto.url()
        app_config["LMS_STORAGE_ENDPOINT_URL"] = moto.endpoint
    return request.param


@pytest.fixture
def store_down(app_config: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """Uploaded files go to an S3 store where nothing listens. Ask for it before `app`."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")  # signed, so it reaches the network
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    app_config["LMS_STORAGE_URL"] = "s3://lms-test-files/down"
    app_config["LMS_STORAGE_ENDPOINT_URL"] = f"http://127.0.0.1:{closed_port()}"
