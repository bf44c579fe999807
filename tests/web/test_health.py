"""GET /healthz: 200 with the database answering, 503 when it does not."""

from __future__ import annotations

import uuid

import pytest

from lms import create_app

UNREACHABLE = {
    # A file in a folder that does not exist cannot be opened.
    "sqlite": "sqlite:////nonexistent-{}/lms.sqlite3",
    # Nothing listens on port 1; connect_timeout keeps a filtered port from hanging the test.
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=2&x={}",
}


def test_health_is_ok_when_the_database_answers(client):
    """Load balancers get 200 and a small JSON body; no sign-in needed."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.is_json
    assert response.get_json() == {"status": "ok", "database": "ok", "jobs": "ok"}


@pytest.mark.parametrize("backend", sorted(UNREACHABLE))
def test_health_is_503_when_the_database_does_not_answer(app_config, backend):
    """With the database unreachable the check says so with 503, and shows no internals."""
    app_config["LMS_DATABASE_URL"] = UNREACHABLE[backend].format(uuid.uuid4().hex[:8])
    app = create_app(app_config)
    try:
        response = app.test_client().get("/healthz")
    finally:
        app.extensions["lms"].db.engine.dispose()
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "unavailable"}
    assert "Traceback" not in response.get_data(as_text=True)


def test_health_check_is_read_only(client):
    """Only GET (and HEAD) answer; a POST is 405."""
    assert client.post("/healthz").status_code == 405
