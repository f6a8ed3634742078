"""The gym app's configuration."""

from __future__ import annotations

from django.apps import AppConfig


class GymConfig(AppConfig):
    """The gym app (label ``gym``)."""

    name = "examples.django_gym.gym"
    label = "gym"
    default_auto_field = "django.db.models.BigAutoField"
