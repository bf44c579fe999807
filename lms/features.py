"""The registry of feature packages: their blueprints and their signal receivers."""

from __future__ import annotations

from importlib import import_module

from flask import Blueprint

# Each entry is a module exposing `bp` (a Blueprint). Order decides nothing but readability.
VIEW_MODULES: tuple[str, ...] = (
    "lms.auth.views",
    "lms.auth.link_views",
    "lms.catalog.views",
    "lms.progress.views",
    "lms.admin.views",
    "lms.equivalency.views",
    "lms.offerings.views",
    "lms.offerings.attendance_views",
    "lms.offerings.closing_views",
    "lms.retreats.views",
    "lms.certificates.views",
    "lms.evaluations.views",
    "lms.auth.account_views",
    "lms.admin.account_views",
    "lms.mail.views",
    "lms.training.session_views",
    "lms.training.document_views",
    "lms.badges.views",
    "lms.training.views",
    "lms.training.requirement_views",
    "lms.training.award_views",
    "lms.training.progress_views",
    "lms.programme_images",
    "lms.admin.programme_views",
)

# Modules exposing `subscribe()`, which connects receivers to lms.signals (idempotently).
SUBSCRIBERS: tuple[str, ...] = (
    "lms.progress.pathway_states",
    "lms.progress.cli",
    "lms.retreats.retreat_panel",
    "lms.equivalency.credit_panel",
    "lms.offerings.home",
    "lms.offerings.catalogue_parts",
    "lms.offerings.cohort_groups",
    "lms.offerings.certificate_facts",
    "lms.evaluations.subscriptions",  # before certificates: its panel asks first
    "lms.certificates.subscriptions",
    "lms.mail.subscriptions",
    "lms.badges.subscriptions",
    "lms.admin.home",
    "lms.training.award",
    "lms.training.award_views",
    "lms.training.standing",
    "lms.training.progress_views",
)


# Modules exposing `HOOKS` (lms.auth.privacy.PrivacyHooks): their part of a person's data
# export and of carrying out a deletion. The order is the export's section order.
PRIVACY_MODULES: tuple[str, ...] = (
    "lms.progress.privacy",
    "lms.equivalency.privacy",
    "lms.retreats.privacy",
    "lms.offerings.privacy",
    "lms.certificates.privacy",
    "lms.evaluations.privacy",
    "lms.training.session_log_privacy",
    "lms.training.documents_privacy",
    "lms.mail.privacy",
    "lms.training.privacy",
    "lms.training.directory_privacy",
)


# Modules that declare the feature's jobs on the shared queue (lms.jobs.task, due_work,
# worker_hooks); imported before an app builds its queue.
TASK_MODULES: tuple[str, ...] = (
    "lms.auth.tasks",
    "lms.equivalency.tasks",
    "lms.certificates.tasks",
    "lms.mail.tasks",
    "lms.evaluations.tasks",
    "lms.training.documents_tasks",
    "lms.training.standing_jobs",
)


# Modules that register a source of facts for the progress standings
# (lms.progress.fact_sources.register): the features above progress whose records are facts.
FACT_SOURCE_MODULES: tuple[str, ...] = (
    "lms.equivalency.standing_facts",
    "lms.retreats.standing_facts",
)
_FACT_SOURCES_LOADED: list[bool] = []


def load_fact_sources() -> None:
    """Import each module that registers a fact source (once per process)."""
    if _FACT_SOURCES_LOADED:
        return
    for name in FACT_SOURCE_MODULES:
        import_module(name)
    _FACT_SOURCES_LOADED.append(True)


def load_tasks() -> None:
    """Import each feature's tasks module, so its jobs are declared."""
    for name in TASK_MODULES:
        import_module(name)


def blueprints() -> list[Blueprint]:
    """Import each feature's views and return its blueprint."""
    return [import_module(name).bp for name in VIEW_MODULES]


def subscribe() -> None:
    """Connect each feature's signal receivers."""
    for name in SUBSCRIBERS:
        import_module(name).subscribe()


# Modules exposing `register(group)`, which adds their commands to `flask lms`.
CLI_MODULES: tuple[str, ...] = (
    "lms.auth.cli",
    "lms.catalog.cli",
    "lms.progress.cli",
    "lms.demo",
    "lms.offerings.cli",
    "lms.retreats.cli",
    "lms.certificates.cli",
    "lms.evaluations.cli",
    "lms.mail.cli",
    "lms.badges.cli",
    "lms.training.cli",
    "lms.jobs",
)
