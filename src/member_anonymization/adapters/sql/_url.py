"""Turning ``--db`` values into SQLAlchemy URLs: a URL, or a plain path meaning SQLite."""

from __future__ import annotations

import os
from typing import Final

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from member_anonymization.adapters.sql._errors import DatabaseUrlError

__all__ = ["SUPPORTED_BACKENDS", "database_url", "describe_url", "is_memory_sqlite"]

SUPPORTED_BACKENDS: Final = ("sqlite", "postgresql")
"""The database backends the reference adapter supports and is tested on."""

_DRIVERS: Final = {"postgres": "postgresql+psycopg", "postgresql": "postgresql+psycopg"}
"""Bare backend names and the driver used for them (psycopg 3, not psycopg2)."""


def database_url(target: str | os.PathLike[str] | URL) -> URL:
    """The SQLAlchemy URL of a database given as a URL or as a path.

    * A :class:`~sqlalchemy.engine.URL`, or text containing ``://``, is a
      SQLAlchemy URL. ``postgresql://`` and ``postgres://`` use psycopg 3.
    * ``:memory:`` is a private in-memory SQLite database.
    * Anything else is the path of a SQLite file (created when missing).

    Raises:
        DatabaseUrlError: The text is not a valid URL, or names a database the
            adapter does not support. The message never repeats a password.
    """
    if isinstance(target, URL):
        url = target
    elif isinstance(target, os.PathLike):
        url = URL.create("sqlite", database=os.fspath(target))
    elif not isinstance(target, str) or not target:
        raise DatabaseUrlError("the database must be a URL or a file path")
    elif "://" in target:
        try:
            url = make_url(target)
        except (ArgumentError, ValueError):
            raise DatabaseUrlError("not a valid database URL") from None
    elif target == ":memory:":
        url = URL.create("sqlite")
    else:
        url = URL.create("sqlite", database=os.path.expanduser(target))
    backend = url.get_backend_name()
    if url.drivername in _DRIVERS:
        url = url.set(drivername=_DRIVERS[url.drivername])
    elif backend not in SUPPORTED_BACKENDS:
        raise DatabaseUrlError(
            f"unsupported database {backend!r}: use one of {', '.join(SUPPORTED_BACKENDS)}"
        )
    return url


def describe_url(url: URL) -> str:
    """The URL as text, its password hidden (for messages and logs)."""
    return url.render_as_string(hide_password=True)


def is_memory_sqlite(url: URL) -> bool:
    """Whether the URL names a private in-memory SQLite database."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
