"""Sign-in is rate limited per account and per address, in memory or in Redis."""

from __future__ import annotations

import uuid

import pytest
from flask import Flask

from lms import create_app
from lms.auth import services as auth_services
from lms.db import db

PASSWORD = "correct horse battery staple"
REDIS_URL = "redis://127.0.0.1:6379/15"
CHEAP_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"


def build_app(app_config: dict, storage: str) -> Flask:
    """A test app with rate limiting on, counting in the given storage."""
    config = dict(app_config, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=storage)
    return create_app(config)


def add_account(app: Flask, email: str) -> None:
    """Create an account whose password is PASSWORD."""
    with app.app_context():
        auth_services.create_user(db.session, email=email, name="Rate Limited", password=PASSWORD)
        db.commit()


def attempt(app: Flask, email: str, password: str, address: str) -> int:
    """One sign-in attempt from an address; returns the status code."""
    client = app.test_client()
    response = client.post(
        "/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )
    return response.status_code


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch):
    """These tests count attempts, not hashes: skip argon2's deliberate half-second per check."""
    monkeypatch.setattr(auth_services, "hash_password", lambda password: CHEAP_HASH)
    monkeypatch.setattr(
        auth_services,
        "verify_password",
        lambda password_hash, password: password_hash is not None and password == PASSWORD,
    )


@pytest.fixture
def limited_app(app_config):
    """The app with rate limits on and in-memory counters."""
    application = build_app(app_config, "memory://")
    yield application
    application.extensions["lms"].db.engine.dispose()


def unique_email(label: str) -> str:
    """An address no other test (or run sharing Redis) uses."""
    return f"{label}-{uuid.uuid4().hex[:10]}@example.test"


def test_sixth_bad_try_on_one_account_is_refused_even_from_another_address(limited_app):
    """Five wrong passwords lock the account for a while, whichever address the sixth comes from;
    another account signs in normally from that very address."""
    victim, bystander = unique_email("victim"), unique_email("bystander")
    add_account(limited_app, victim)
    add_account(limited_app, bystander)
    for n in range(5):
        assert attempt(limited_app, victim, "wrong password", f"10.1.0.{n + 1}") == 200
    assert attempt(limited_app, victim, "wrong password", "10.2.0.1") == 429
    assert attempt(limited_app, victim, PASSWORD, "10.2.0.1") == 429  # even the right one
    assert attempt(limited_app, bystander, PASSWORD, "10.2.0.1") == 302


def test_account_limit_ignores_the_case_of_the_address(limited_app):
    """Changing the e-mail's case does not buy more guesses."""
    victim = unique_email("case")
    add_account(limited_app, victim)
    for n, spelling in enumerate([victim, victim.upper(), victim.title(), victim, victim.upper()]):
        assert attempt(limited_app, spelling, "wrong password", f"10.3.0.{n + 1}") == 200
    assert attempt(limited_app, victim.swapcase(), "wrong password", "10.3.1.1") == 429


def test_one_address_is_limited_across_many_accounts(limited_app):
    """Spraying many accounts from one address is stopped after 20 tries a minute."""
    for n in range(20):
        status = attempt(limited_app, unique_email(f"spray{n}"), "wrong", "10.4.0.1")
        assert status == 200
    assert attempt(limited_app, unique_email("spray-last"), "wrong", "10.4.0.1") == 429
    assert attempt(limited_app, unique_email("elsewhere"), "wrong", "10.4.0.2") == 200


def test_the_refusal_is_a_plain_429_page(limited_app):
    """The 429 answer is the generic error page and says to wait."""
    victim = unique_email("page")
    for _ in range(5):
        attempt(limited_app, victim, "wrong", "10.5.0.1")
    response = limited_app.test_client().post(
        "/login",
        data={"email": victim, "password": "wrong"},
        environ_base={"REMOTE_ADDR": "1.1.1.1"},
    )
    assert response.status_code == 429
    assert "Too Many Requests" in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_sign_in_is_not_limited_when_rate_limits_are_off(app):
    """The default test app has limits off (so other tests can sign in freely)."""
    email = unique_email("off")
    add_account(app, email)
    for _ in range(8):
        assert attempt(app, email, "wrong password", "10.6.0.1") == 200


def redis_answers() -> bool:
    """Whether the local Redis test database answers."""
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


@pytest.mark.skipif(not redis_answers(), reason=f"no Redis answers at {REDIS_URL}")
def test_counters_live_in_redis_and_are_shared_between_workers(app_config):
    """With LMS_RATELIMIT_STORAGE_URL set to Redis, two app processes share one count."""
    import redis

    first_worker = build_app(app_config, REDIS_URL)
    victim = unique_email("redis")
    try:
        add_account(first_worker, victim)
        for n in range(3):
            assert attempt(first_worker, victim, "wrong password", f"10.7.0.{n + 1}") == 200
        keys = redis.Redis.from_url(REDIS_URL).keys(f"*{victim}*")
        assert keys, "the per-account counter should be stored in Redis"
    finally:
        first_worker.extensions["lms"].db.engine.dispose()
    second_worker = build_app(app_config, REDIS_URL)
    try:
        for n in range(2):
            assert attempt(second_worker, victim, "wrong password", f"10.7.1.{n + 1}") == 200
        assert attempt(second_worker, victim, "wrong password", "10.7.2.1") == 429
    finally:
        second_worker.extensions["lms"].db.engine.dispose()


def test_settings_map_the_environment_variable_to_the_limiter_storage(tmp_path):
    """LMS_RATELIMIT_STORAGE_URL is what the limiter reads; the default is a file in the
    instance folder that every worker of the host shares."""
    from lms.config import load_config

    development = {"LMS_ENV": "development", "LMS_SECRET_KEY": "a-development-key-long-enough"}
    env = {**development, "LMS_RATELIMIT_STORAGE_URL": REDIS_URL}
    assert load_config(environ=env)["RATELIMIT_STORAGE_URI"] == REDIS_URL
    default = load_config(environ=development, overrides={"LMS_INSTANCE_PATH": str(tmp_path)})[
        "RATELIMIT_STORAGE_URI"
    ]
    assert default == f"lms+sqlite://{tmp_path / 'ratelimit.sqlite3'}"


COUNT_IN_ANOTHER_PROCESS = """
import sys
from lms.ratelimit_storage import SqliteFileStorage
storage = SqliteFileStorage(sys.argv[1])
for _ in range(int(sys.argv[2])):
    storage.incr("lms/login-account:shared", 60)
"""


def test_default_counters_add_up_across_processes_counting_at_once(tmp_path):
    """Two processes counting the same key at the same time lose no count (atomic upserts)."""
    import subprocess
    import sys

    from lms.ratelimit_storage import SqliteFileStorage, default_storage_uri

    uri = default_storage_uri(tmp_path)
    workers = [
        subprocess.Popen([sys.executable, "-c", COUNT_IN_ANOTHER_PROCESS, uri, "200"])
        for _ in range(2)
    ]
    assert [worker.wait(timeout=60) for worker in workers] == [0, 0]
    storage = SqliteFileStorage(uri)
    assert storage.get("lms/login-account:shared") == 400
    assert storage.get_expiry("lms/login-account:shared") > 0
    storage.clear("lms/login-account:shared")
    assert storage.get("lms/login-account:shared") == 0


def test_an_expired_window_starts_counting_again(tmp_path):
    """A counter past its window counts from one again."""
    from lms.ratelimit_storage import SqliteFileStorage, default_storage_uri

    storage = SqliteFileStorage(default_storage_uri(tmp_path))
    assert storage.incr("k", 60) == 1
    assert storage.incr("k", 60) == 2
    assert storage.incr("short", 0) == 1  # a window that is already over
    assert storage.get("short") == 0
    assert storage.incr("short", 60) == 1
    assert storage.check() and storage.reset() == 2


SECOND_WORKER = """
import json, sys
from lms import create_app
config = json.loads(sys.argv[1])
app = create_app(config)
statuses = []
for n in range(3):
    response = app.test_client().post(
        "/login",
        data={"email": sys.argv[2], "password": "wrong password"},
        environ_base={"REMOTE_ADDR": f"10.10.1.{n + 1}"},
    )
    statuses.append(response.status_code)
print(json.dumps(statuses))
"""


def test_by_default_two_worker_processes_share_one_count(app_config):
    """With no LMS_RATELIMIT_STORAGE_URL, a second process (another gunicorn worker) sees the
    tries the first counted: 3 here and 2 there, and the sixth is refused."""
    import json
    import subprocess
    import sys

    config = {key: value for key, value in app_config.items() if key != "RATELIMIT_STORAGE_URI"}
    config["RATELIMIT_ENABLED"] = True
    first_worker = create_app(config)
    victim = unique_email("shared")
    try:
        assert first_worker.config["RATELIMIT_STORAGE_URI"].startswith("lms+sqlite://")
        add_account(first_worker, victim)
        for n in range(3):
            assert attempt(first_worker, victim, "wrong password", f"10.10.0.{n + 1}") == 200
    finally:
        first_worker.extensions["lms"].db.engine.dispose()
    second = subprocess.run(
        [sys.executable, "-c", SECOND_WORKER, json.dumps(config), victim],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout.strip().splitlines()[-1]) == [200, 200, 429]


def spray(app: Flask, count: int, *, remote: str, forwarded: str | None = None) -> list[int]:
    """`count` failed sign-ins to different accounts, optionally through a proxy header."""
    statuses = []
    for n in range(count):
        headers = {"X-Forwarded-For": forwarded or f"203.0.113.{n + 1}"}
        response = app.test_client().post(
            "/login",
            data={"email": unique_email(f"xff{n}"), "password": "wrong"},
            headers=headers,
            environ_base={"REMOTE_ADDR": remote},
        )
        statuses.append(response.status_code)
    return statuses


def test_forwarded_for_header_buys_no_extra_tries_when_no_proxy_is_trusted(limited_app):
    """By default X-Forwarded-For is ignored: faking a new one per try changes nothing."""
    statuses = spray(limited_app, 21, remote="10.8.0.1")
    assert statuses[:20] == [200] * 20 and statuses[20] == 429


def test_behind_a_trusted_proxy_each_client_address_is_limited_on_its_own(app_config):
    """With LMS_TRUSTED_PROXIES=1 the client address comes from the proxy's header."""
    app = create_app(
        dict(
            app_config,
            RATELIMIT_ENABLED=True,
            RATELIMIT_STORAGE_URI="memory://",
            **{"LMS_TRUSTED_PROXIES": "1"},
        )
    )
    try:
        assert spray(app, 21, remote="127.0.0.1", forwarded="198.51.100.7")[-1] == 429
        assert spray(app, 1, remote="127.0.0.1", forwarded="198.51.100.8") == [200]
    finally:
        app.extensions["lms"].db.engine.dispose()


def test_sign_in_keeps_working_when_the_rate_limit_store_is_down(app_config):
    """An unreachable Redis is logged and skipped; sign-in is not taken down with it."""
    app = build_app(app_config, "redis://127.0.0.1:1/0")
    try:
        email = unique_email("redis-down")
        add_account(app, email)
        assert attempt(app, email, PASSWORD, "10.9.0.1") == 302
    finally:
        app.extensions["lms"].db.engine.dispose()


@pytest.mark.parametrize("value", ["-1", "two", "9"])
def test_a_wrong_trusted_proxies_value_stops_the_start(value):
    """LMS_TRUSTED_PROXIES must be a small number."""
    from lms.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="LMS_TRUSTED_PROXIES"):
        load_config(environ={"LMS_ENV": "development", "LMS_TRUSTED_PROXIES": value})
