"""Alembic environment: migrates the database the LMS app is configured for."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from lms.db import Base
from lms.models import import_all_models

import_all_models()
config = context.config
target_metadata = Base.metadata


def _url() -> str:
    """The URL given by the caller (lms.migrate) or, failing that, the app's configuration."""
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from lms.config import load_config

    return load_config()["LMS_DATABASE_URL"]


def run_migrations_offline() -> None:
    """Emit SQL without a connection."""
    context.configure(
        url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run migrations on a live connection (one handed in by lms.migrate, or a new one)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)


def _run(connection) -> None:  # noqa: ANN001
    """Configure the context for a connection and run."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
        from lms.progress.after_migration import refill_standings_if_requested

        refill_standings_if_requested(connection, config.attributes)
        from lms.training.after_migration import refill_training_standings_if_requested

        refill_training_standings_if_requested(connection, config.attributes)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
