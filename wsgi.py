"""The WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

import sys

from lms import create_app
from lms.config import ConfigError

try:
    app = create_app()
except ConfigError as error:
    # An operator needs one clear line, not a traceback.
    print(f"Configuration error: {error}", file=sys.stderr)
    sys.exit(2)
