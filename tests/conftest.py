"""Shared test configuration: hypothesis profiles, the store backends, parallel runs.

Hypothesis profiles (``HYPOTHESIS_PROFILE`` chooses; ``standard`` otherwise):

* ``standard``: what ``make test`` and CI run, 30 examples per property. The
  strategies draw boundaries (one-day contracts, the last day of a retention
  period, empty and full collections) often, so 30 examples reach them.
* ``thorough``: 1,000 examples per property, for long runs (``make test-thorough``).

The suite runs on several processes (``make test`` passes ``-n auto``): each
worker has its own session, with its own temporary folders, SQLite files and
PostgreSQL schemas (``tests/backends.py``); the ``conftest.py`` at the root
says which tests stay together on one worker.
"""

from __future__ import annotations

import os
from typing import Final

from hypothesis import HealthCheck, settings

_COMMON: Final = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}
settings.register_profile("standard", max_examples=30, **_COMMON)
settings.register_profile("thorough", max_examples=1000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or "standard")

pytest_plugins = ["tests.backends"]
