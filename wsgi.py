"""The WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

import gc
import sys

from lms import create_app
from lms.config import ConfigError

try:
    app = create_app()
except ConfigError as error:
    # An operator needs one clear line, not a traceback.
    print(f"Configuration error: {error}", file=sys.stderr)
    sys.exit(2)

# Everything loaded so far lives as long as the process: keep the garbage collector from
# scanning it again on every full collection (a cohort of 200 spent 50 ms of its write there).
gc.collect()
gc.freeze()
