"""A dead job consumer is visible: /healthz says "jobs": "ok" or "late" (and stays 200),
/healthz/jobs answers 503 when no consumer has beaten for a minute or due work has waited
five minutes, and the administrator's home says so in words."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from certificates_support import record
from clock_support import pinned

from lms import create_app
from lms.auth.models import Role
from lms.config import PROJECT_ROOT
from lms.db import utcnow
from lms.job_health import DUE_TOO_LONG, SILENT_AFTER, jobs_health
from lms.jobs import Heartbeat, beat, last_beat

BIN = Path(sys.executable).parent


def _huey(app):  # noqa: ANN001, ANN202
    """The app's queue."""
    return app.extensions["lms"].jobs.huey


def _aware(moment: datetime) -> datetime:
    """`moment` as an aware UTC instant (utcnow's naive UTC included)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_with_jobs_run_at_once_there_is_nothing_to_wait_for(client):
    """Immediate mode (no queue, no consumer): ok everywhere."""
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok", "jobs": "ok"}
    response = client.get("/healthz/jobs")
    assert response.status_code == 200 and response.get_json()["jobs"] == "ok"


def test_no_consumer_ever_seen_is_late_but_the_web_stays_in_the_balancer(
    queue_in_instance, app, client
):
    """A queue nobody consumes: /healthz 200 with jobs late; /healthz/jobs 503, with why."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "jobs": "late"}
    response = client.get("/healthz/jobs")
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert response.get_json() == {
        "jobs": "late",
        "seconds_since_heartbeat": None,
        "queue": "ok",
        "waiting_over_5_minutes": {},
    }


def test_a_beat_within_the_minute_is_ok_and_one_older_is_late(queue_in_instance, app, client):
    """The consumer's last beat decides, at SILENT_AFTER."""
    beat(_huey(app))
    assert client.get("/healthz/jobs").status_code == 200
    assert client.get("/healthz").get_json()["jobs"] == "ok"
    beat(_huey(app), utcnow() - SILENT_AFTER - timedelta(seconds=1))
    response = client.get("/healthz/jobs")
    assert response.status_code == 503
    assert response.get_json()["seconds_since_heartbeat"] >= SILENT_AFTER.total_seconds()
    assert client.get("/healthz").get_json()["jobs"] == "late"


def test_due_work_older_than_five_minutes_is_late_even_with_a_beating_consumer(
    queue_in_instance, app, client, session, make_user, catalog
):
    """A consumer that beats while its jobs are stuck: the certificate waiting says late."""
    clinician = make_user(Role.CLINICIAN)
    record(session, clinician.id, "M1")
    session.commit()  # the render job is queued; nothing consumes it
    beat(_huey(app))
    assert client.get("/healthz/jobs").status_code == 200  # just issued: not late yet
    later = _aware(utcnow()) + DUE_TOO_LONG + timedelta(seconds=5)
    with pinned(later):
        beat(_huey(app))
        response = client.get("/healthz/jobs")
    assert response.status_code == 503
    # The certificate, and the mail that tells the clinician about it.
    assert response.get_json()["waiting_over_5_minutes"] == {
        "certificate render(s)": 1,
        "outbox message(s)": 1,
    }
    assert response.get_json()["seconds_since_heartbeat"] == 0


def test_a_queue_that_does_not_answer_is_late_quickly_and_never_a_500(app_config):
    """Redis away: both checks answer at once; /healthz stays 200 (the database is fine)."""
    app_config["LMS_QUEUE_URL"] = "redis://127.0.0.1:1/0"
    app = create_app(app_config)
    client = app.test_client()
    try:
        started = time.monotonic()
        health = client.get("/healthz")
        jobs = client.get("/healthz/jobs")
        elapsed = time.monotonic() - started
    finally:
        app.extensions["lms"].db.engine.dispose()
    assert health.status_code == 200 and health.get_json()["jobs"] == "late"
    assert jobs.status_code == 503 and jobs.get_json()["queue"] == "unavailable"
    assert elapsed < 10


def test_the_admin_home_says_so_in_words_and_others_see_nothing(
    queue_in_instance, app, client, make_user, login
):
    """Only while late, only for administrators."""
    admin = make_user(Role.ADMIN)
    instructor = make_user(Role.INSTRUCTOR)
    login(client, instructor)
    assert "Background jobs are late" not in client.get("/").get_data(as_text=True)
    client.post("/logout")
    login(client, admin)
    page = client.get("/").get_data(as_text=True)
    assert "Background jobs are late" in page and "No job consumer has been seen yet" in page
    beat(_huey(app), utcnow() - timedelta(minutes=12))
    page = client.get("/").get_data(as_text=True)
    assert "The job consumer was last seen 12 minutes ago" in page
    beat(_huey(app))
    assert "Background jobs are late" not in client.get("/").get_data(as_text=True)


def test_the_heartbeat_thread_beats_until_stopped(queue_in_instance, app):
    """Beats at start and every period; after stop, no more."""
    huey = _huey(app)
    heartbeat = Heartbeat(huey, every=0.05)
    heartbeat.start()
    try:
        first = last_beat(huey)
        assert first is not None
        deadline = time.monotonic() + 10
        while last_beat(huey) == first and time.monotonic() < deadline:
            time.sleep(0.02)
        assert last_beat(huey) > first
    finally:
        heartbeat.stop()
    stopped = last_beat(huey)
    time.sleep(0.2)
    assert last_beat(huey) == stopped


@pytest.fixture
def redis_queue(app_config: dict) -> str:
    """A Redis queue of this test's own, or skip."""
    import redis

    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.RedisError as error:
        pytest.skip(f"Redis at 127.0.0.1:6379 does not answer ({error})")
    app_config.update(LMS_QUEUE_URL=url, LMS_QUEUE_NAME=f"lms-beat-{uuid.uuid4().hex[:12]}")
    return url


def test_a_consumer_killed_with_sigkill_turns_the_jobs_late(redis_queue, app_config, app):
    """A real consumer beats; after kill -9 its beat stops, and a minute on it is late."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMS_")}
    env.update(
        LMS_ENV="development",
        LMS_SECRET_KEY=app_config["SECRET_KEY"],
        LMS_SCREENING_KEY=app_config["LMS_SCREENING_KEY"],
        LMS_DATABASE_URL=app_config["LMS_DATABASE_URL"],
        LMS_QUEUE_URL=redis_queue,
        LMS_QUEUE_NAME=app_config["LMS_QUEUE_NAME"],
    )
    consumer = subprocess.Popen(
        [BIN / "flask", "--app", "wsgi", "lms", "jobs", "worker", "--workers", "1"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    huey = _huey(app)
    try:
        deadline = time.monotonic() + 90
        while last_beat(huey) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        with app.app_context():
            from lms.db import db

            assert jobs_health(db.session).state == "ok"
    finally:
        consumer.send_signal(signal.SIGKILL)
        consumer.wait(30)
    final = last_beat(huey)
    with app.app_context():
        from lms.db import db

        now = final + SILENT_AFTER + timedelta(seconds=1)
        health = jobs_health(db.session, now=now)
    assert health.state == "late" and health.silent
    huey.flush()
