"""Turning the library's typed results into JSON objects and terminal tables.

Text that comes from the data or the command line (ids, file names, messages
naming ids) is never taken for markup or terminal control: :func:`clean`
escapes control characters, :func:`clip` shortens what may be long, and
:func:`safe` does both and escapes rich markup, for text printed with markup.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Final

import attrs
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from member_anonymization.messages import Language, text
from member_anonymization.policy import AnonymizationWarning, Blocker

ID_LENGTH: Final = 200
"""The longest id the dataset format accepts: ids in results are shown whole up to this."""

ERROR_ID_LENGTH: Final = 40
"""Ids and names in error messages are cut to this many characters (and an ellipsis)."""

ELLIPSIS: Final = "…"

_INVISIBLE: Final = (
    r"\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064"
    r"\u2066-\u206f\ufeff\ufff9-\ufffb"
)
"""Besides C0: DEL, C1, and the invisible characters that reorder or hide text."""

_CONTROL: Final = re.compile(rf"[\x00-\x1f{_INVISIBLE}]")
_CONTROL_BUT_NEWLINE: Final = re.compile(rf"[\x00-\x09\x0b-\x1f{_INVISIBLE}]")

_NAMED: Final = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}

_JSON_UNSAFE: Final = re.compile(rf"[{_INVISIBLE}]")
"""What ``json.dumps(ensure_ascii=False)`` leaves raw although a terminal may act on it."""


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(text: str, *, newlines: bool = False) -> str:
    r"""``text`` with every control character written as an escape (``\x1b``, ``\r``).

    Args:
        text: Any text.
        newlines: Keep line breaks (for multi-line texts such as notices).
    """
    pattern = _CONTROL_BUT_NEWLINE if newlines else _CONTROL
    return pattern.sub(_escaped, text)


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking a cut."""
    return text if len(text) <= limit else text[:limit] + ELLIPSIS


def shown(value: object, limit: int = ID_LENGTH) -> str:
    """An id or a name as plain text: shortened past ``limit``, control characters escaped."""
    return clean(clip(str(value), limit))


def quoted(value: object, limit: int = ERROR_ID_LENGTH) -> str:
    """An id or a name for an error message: quoted, shortened, escaped."""
    return f"'{shown(value, limit)}'"


def safe(value: object, limit: int = ID_LENGTH) -> str:
    """:func:`shown`, with rich markup escaped too (for text printed with markup)."""
    return escape(shown(value, limit))


def safe_text(text: str) -> str:
    """A message (which may name ids) for a table cell: no markup, no control characters."""
    return escape(clean(text))


def plain(value: Any) -> Any:
    """A JSON-ready copy of a result value (dates, money, tuples, enums)."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple | list | frozenset | set):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if hasattr(value, "value") and not isinstance(value, str | int | bool):
        return plain(value.value)
    if attrs.has(type(value)):
        return {f.name: plain(getattr(value, f.name)) for f in attrs.fields(type(value))}
    return value


def finding(result: Blocker | AnonymizationWarning, lang: Language) -> dict[str, Any]:
    """A blocker or warning as JSON: code, message, then its details."""
    out: dict[str, Any] = {"code": result.code, "message": result.message(lang)}
    for field in attrs.fields(type(result)):
        out[field.name] = plain(getattr(result, field.name))
    return out


def findings(
    results: Iterable[Blocker | AnonymizationWarning], lang: Language
) -> list[dict[str, Any]]:
    """Every blocker or warning as JSON."""
    return [finding(r, lang) for r in results]


def print_json(console: Console, payload: Mapping[str, Any]) -> None:
    """Exactly one JSON object on stdout."""
    text = _JSON_UNSAFE.sub(
        lambda m: f"\\u{ord(m.group()):04x}", json.dumps(payload, ensure_ascii=False)
    )
    console.file.write(text + "\n")
    console.file.flush()


def findings_table(
    title: str,
    blockers: Iterable[Blocker],
    warnings: Iterable[AnonymizationWarning],
    lang: Language,
) -> Table:
    """Blockers (red) and warnings (yellow) with their messages."""
    table = Table(title=title, show_lines=False, title_justify="left")
    for column in ("kind", "code", "message"):
        table.add_column(text(f"cli.findings.{column}", lang))
    blocker_label = text("cli.findings.blocker", lang)
    warning_label = text("cli.findings.warning", lang)
    for blocker in blockers:
        table.add_row(
            f"[red]{blocker_label}[/]", safe_text(blocker.code), safe_text(blocker.message(lang))
        )
    for warning in warnings:
        table.add_row(
            f"[yellow]{warning_label}[/]",
            safe_text(warning.code),
            safe_text(warning.message(lang)),
        )
    return table
