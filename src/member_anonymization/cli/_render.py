"""Turning the library's typed results into JSON objects and terminal tables."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import attrs
from rich.console import Console
from rich.table import Table

from member_anonymization.messages import Language, text
from member_anonymization.policy import AnonymizationWarning, Blocker


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
    console.file.write(json.dumps(payload, ensure_ascii=False) + "\n")
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
        table.add_row(f"[red]{blocker_label}[/]", blocker.code, blocker.message(lang))
    for warning in warnings:
        table.add_row(f"[yellow]{warning_label}[/]", warning.code, warning.message(lang))
    return table
