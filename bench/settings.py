"""The bench's fixed values: who signs in, what is requested, and the targets it checks."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


PASSWORD = "bench password that is long enough"


INSTRUCTOR_EMAIL = "bench.instructor@bench.example"


APP = "bench.app:create_app"


DASHBOARD_PATH = "/"


DASHBOARD_MARKER = b'action="/logout"'  # only a signed-in page has the sign-out form


ROSTER_PAGE_PATH = "/roster"


# "Eligible for the Level 1 retreat but not yet applied", over everyone: the roster's
# heaviest filter, since it evaluates every clinician's rule.
ROSTER_PATH = "/roster?eligible=RETREAT-L1&applied=no"


COHORT_SIZE = 200


COHORT_ITEMS = ("M1", "M2", "M3", "M4")  # marked in turn for the same fresh cohort


WRITER_ITEM = "HTH"  # no prerequisite: any fresh clinician can be marked


WRITERS = 8


DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


DASHBOARD_TARGET = 0.30  # dashboard throughput >= 30% of the bare route's, same server


DASHBOARD_SCALE_TARGET = 1.3  # dashboard latency at the big population <= 1.3x the small


ROSTER_TARGET_S = 0.150  # filtered roster median at the big population


ROSTER_SCALE_TARGET = 1.5  # roster latency big / small


COHORT_P95_TARGET_S = 1.5  # cohort POST response


COHORT_STORED_TARGET = 1.3  # all of a cohort's PDFs stored within 1.3x a bulk render


WRITER_P95_TARGET_S = 1.0


WRITER_RATE_TARGET = 60.0  # single marks per second, 8 writers


RSS_GROWTH_TARGET_MB = 50.0  # per gunicorn worker, across the distinct dashboards


# The Certificate of Training's staff queues: the counts page and each paged queue.
TRAINING_QUEUE_PATHS = (
    "/training/queues",
    "/training/queues/awaiting",
    "/training/queues/ready",
    "/training/queues/closing",
)


TRAINING_QUEUE_TARGET_S = 0.150  # the slowest queue's median at the big population


TRAINING_SCALE_TARGET = 1.5  # each queue's latency big / small
