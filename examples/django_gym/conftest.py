"""Django settings for the tests of this folder only (the rest of the suite has none)."""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.django_gym.settings")
django.setup()
