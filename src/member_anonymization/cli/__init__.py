"""The ``member-anonymization`` command line (needs the ``[cli]`` extra)."""

from member_anonymization.cli import _requests as _requests
from member_anonymization.cli import _storage as _storage
from member_anonymization.cli._app import app, main

__all__ = ["app", "main"]
