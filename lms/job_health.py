"""Is background work getting done? The health the web tells of the job consumer.

A consumer beats every few seconds into its queue's own storage (lms.jobs.Heartbeat: the
SQLite queue file, or Redis), so every web host sees the same beat without a database
write. The jobs
are late when no consumer has beaten for SILENT_AFTER, or when any durable record of due
work (a certificate without its PDF, an outbox message) has waited longer than DUE_TOO_LONG:
a consumer that beats while its jobs are stuck is late too. `/healthz` reports it without
failing (the web server stays in the load balancer); `/healthz/jobs` answers 503 for it; the
admin's home says so in words.

A core module: the kinds of due work come from the features' DUE_WORK declarations.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from lms.db import utcnow
from lms.jobs import DUE_WORK, jobs, last_beat

SILENT_AFTER = timedelta(seconds=60)
DUE_TOO_LONG = timedelta(minutes=5)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobsHealth:
    """Whether background work is getting done, and what is waiting if it is not."""

    checked_at: datetime
    last_beat: datetime | None = None
    waiting: dict[str, int] = field(default_factory=dict)  # label -> records due too long
    queue_unavailable: bool = False
    immediate: bool = False  # jobs run at once in the request (tests): nothing can wait

    @property
    def silent(self) -> bool:
        """No consumer has beaten within SILENT_AFTER."""
        if self.immediate:
            return False
        return self.last_beat is None or self.checked_at - self.last_beat > SILENT_AFTER

    @property
    def late(self) -> bool:
        """The consumer is silent, its queue does not answer, or work waited too long."""
        return self.queue_unavailable or self.silent or bool(self.waiting)

    @property
    def state(self) -> str:
        """ "ok" or "late", as the health JSON says it."""
        return "late" if self.late else "ok"

    @property
    def seconds_since_beat(self) -> int | None:
        """Whole seconds since the last beat (None: never, or no consumer is needed)."""
        if self.immediate or self.last_beat is None:
            return None
        return max(0, int((self.checked_at - self.last_beat).total_seconds()))

    @property
    def since_beat_words(self) -> str:
        """How long since the last beat, in words ("4 minutes", "2 hours")."""
        seconds = self.seconds_since_beat or 0
        for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
            if seconds >= size:
                count = seconds // size
                return f"{count} {unit}{'' if count == 1 else 's'}"
        return f"{seconds} second{'' if seconds == 1 else 's'}"

    def as_json(self) -> dict[str, object]:
        """What /healthz/jobs answers: the state, the beat's age, what waits."""
        return {
            "jobs": self.state,
            "seconds_since_heartbeat": self.seconds_since_beat,
            "queue": "unavailable" if self.queue_unavailable else "ok",
            "waiting_over_5_minutes": dict(self.waiting),
        }


def jobs_health(session: Session, now: datetime | None = None) -> JobsHealth:
    """The jobs' health now: the last beat, and the due work older than DUE_TOO_LONG (one
    read of the queue store, one indexed query per kind of due work)."""
    now = now or utcnow()
    huey = jobs().huey
    if huey.immediate:
        return JobsHealth(now, immediate=True)
    try:
        beaten = last_beat(huey)
        unavailable = False
    except Exception as error:  # Redis away, a locked queue file: late, never a 500
        log.warning("jobs health: the queue did not answer: %s", type(error).__name__)
        beaten, unavailable = None, True
    cutoff = now - DUE_TOO_LONG
    waiting = {}
    for work in DUE_WORK.values():
        count = work.count(work.find(session, cutoff))
        if count:
            waiting[work.label] = count
    return JobsHealth(now, beaten, waiting, unavailable)
