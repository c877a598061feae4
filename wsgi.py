"""WSGI entry point: ``gunicorn wsgi:app``."""

import sys

from commentsvc import create_app
from commentsvc.errors import BadSetting

try:
    app = create_app()
except BadSetting as exc:  # one line for the owner, not a traceback
    print(f"Error: {exc}", file=sys.stderr)
    sys.exit(2)
