"""``manage.py member_anonymization``: the command line over the host's own adapter.

It runs the library's command line (the ``[cli]`` extra) with the host's
unit-of-work factory instead of a ``--db`` store: same arguments, same JSON,
same exit codes. Set ``MEMBER_ANONYMIZATION_UNIT_OF_WORK`` to the dotted path
of the factory (say, the adapter's unit-of-work class)::

    python manage.py member_anonymization check K-1001 --json
    python manage.py member_anonymization anonymize K-1001 --actor e1 --yes --json
    python manage.py member_anonymization request list --json
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, Final

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.module_loading import import_string

from member_anonymization.ports import UnitOfWork

COMMANDS: Final = frozenset({"check", "anonymize", "export", "sweep", "request", "outbox"})
"""The commands of the command line that work on a host's adapter."""


def _cli() -> Any:
    try:
        from member_anonymization.cli import _app
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise CommandError("the command needs the [cli] extra of member-anonymization") from exc
    return _app


def _host_context(cli: Any, factory: Callable[[], UnitOfWork]) -> Any:
    class HostContext(cli.Context):  # type: ignore[misc]
        """The command line's context over the host's adapter (no ``--db``)."""

        unit_of_work = staticmethod(factory)

        def store(self, *, create: bool = False) -> Any:
            return self

        def where(self) -> str:
            return "the Django database"

        def close(self) -> None:
            return None

    return HostContext(None)


class Command(BaseCommand):
    """The library's command line over the host's unit of work."""

    help = "GDPR erasure: check, anonymize, export, sweep, request, outbox (as the CLI)."

    def add_arguments(self, parser: CommandParser) -> None:
        """Everything after the command's name goes to the command line as it is."""
        parser.add_argument("arguments", nargs=argparse.REMAINDER)

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the command line; exit with its code when it is not 0."""
        arguments: list[str] = options["arguments"]
        if not arguments or arguments[0] not in COMMANDS:
            raise CommandError(f"choose one of: {', '.join(sorted(COMMANDS))}", returncode=2)
        path = getattr(settings, "MEMBER_ANONYMIZATION_UNIT_OF_WORK", None)
        if not path:
            raise CommandError("set MEMBER_ANONYMIZATION_UNIT_OF_WORK", returncode=2)
        cli = _cli()
        code = cli.run(arguments, obj=_host_context(cli, import_string(path)))
        if code:
            sys.exit(code)
