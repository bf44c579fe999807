"""The shared rate limiter; counters live in Redis when LMS_RATELIMIT_STORAGE_URL says so."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

# swallow_errors: when Redis is unreachable the limiter logs the failure and lets the request
# through, so a cache outage never takes sign-in down with it (the limits resume on recovery).
# key_prefix keeps our counters apart from other applications sharing the same Redis.
limiter = Limiter(
    key_func=get_remote_address,
    default_limits=[],
    swallow_errors=True,
    key_prefix="lms",
)
