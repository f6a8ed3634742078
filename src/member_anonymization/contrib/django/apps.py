"""The kit's Django app: it holds the library's permissions (label ``member_anonymization``)."""

from __future__ import annotations

from django.apps import AppConfig


class MemberAnonymizationConfig(AppConfig):
    """Add ``"member_anonymization.contrib.django"`` to ``INSTALLED_APPS``."""

    name = "member_anonymization.contrib.django"
    label = "member_anonymization"
    verbose_name = "Member anonymization"
    default_auto_field = "django.db.models.BigAutoField"
