"""The signal sent after anonymized members are committed."""

from __future__ import annotations

from django.dispatch import Signal

member_anonymized = Signal()
"""Sent after the commit that anonymized members: ``member_ids`` (a tuple of ids).

Receivers refresh caches and search indexes; the sender is the unit of work's class.
"""
