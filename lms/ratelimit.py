"""The shared rate limiter; counters go where LMS_RATELIMIT_STORAGE_URL says (default: a file)."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from lms import ratelimit_storage  # noqa: F401 - registers the lms+sqlite:// storage scheme

# swallow_errors: when the counter store is unreachable the limiter logs the failure and lets
# the request through, so a store outage never takes sign-in down with it (the limits resume
# on recovery). key_prefix keeps our counters apart from other applications sharing a Redis.
limiter = Limiter(
    key_func=get_remote_address,
    default_limits=[],
    swallow_errors=True,
    key_prefix="lms",
)
