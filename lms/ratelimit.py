"""The shared rate limiter; counters live in Redis when LMS_RATELIMIT_STORAGE_URL says so."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, default_limits=[])
