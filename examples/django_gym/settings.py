"""Settings of the example Django gym project."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

SECRET_KEY = "example-only-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "member_anonymization.contrib.django",
    "examples.django_gym.gym",
]
# The admin (its "Anonymize" flow): sessions, messages, and the language of the
# request (Accept-Language), which the flow's messages follow.
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
ROOT_URLCONF = "examples.django_gym.urls"
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("pl", "Polski")]
USE_I18N = True
STATIC_URL = "static/"
MEDIA_ROOT = Path(os.environ.get("GYM_MEDIA_ROOT", tempfile.gettempdir())) / "django_gym_media"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": Path(tempfile.gettempdir()) / "django_gym.sqlite3",
        # The unit of work's lock on SQLite: BEGIN IMMEDIATE takes the write lock.
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
        "TEST": {"NAME": Path(tempfile.gettempdir()) / f"django_gym_test_{os.getpid()}.sqlite3"},
    },
}
DATABASE_ROUTERS = ["examples.django_gym.routing.ActiveDatabase"]

POSTGRES: dict[str, Any] = {
    "ENGINE": "django.db.backends.postgresql",
    "NAME": "test",
    "USER": "postgres",
    "HOST": "127.0.0.1",
    "PORT": "5432",
    "TEST": {"NAME": f"django_gym_test_{os.getpid()}", "DEPENDENCIES": []},
}


def _answers(database: dict[str, Any]) -> bool:
    try:
        import psycopg

        psycopg.connect(
            host=database["HOST"],
            port=database["PORT"],
            dbname=database["NAME"],
            user=database["USER"],
            connect_timeout=3,
        ).close()
    except Exception:
        return False
    return True


if os.environ.get("CI") or _answers(POSTGRES):
    # Tests marked ``postgres`` use this alias; under CI the server must answer.
    DATABASES["postgres"] = POSTGRES
MEMBER_ANONYMIZATION_UNIT_OF_WORK = "examples.django_gym.gym.adapter.GymUnitOfWork"
