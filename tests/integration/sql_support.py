"""Helpers of the SQL adapter's tests: statement counters, statement faults, datasets."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event

from member_anonymization.serialization import Dataset
from tests import builders as b


class StatementFault(RuntimeError):
    """Raised by :func:`fail_on_statement` instead of running a statement."""


@contextmanager
def count_statements(engine: Engine) -> Iterator[list[str]]:
    """Collect the SQL text of every statement the engine runs inside the block."""
    statements: list[str] = []

    def listener(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", listener)


@contextmanager
def fail_on_statement(engine: Engine, k: int) -> Iterator[list[str]]:
    """Make the k-th statement (1-based) the engine runs inside the block raise."""
    statements: list[str] = []

    def listener(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        statements.append(statement)
        if len(statements) == k:
            raise StatementFault(f"injected failure at statement {k}")

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def members_with_profiles(count: int, *, extra: tuple[Any, ...] = ()) -> Dataset:
    """``count`` members ``m1``, ``m2``, ... each with one record of every kind."""
    records: list[Any] = [b.club(), b.employee()]
    for n in range(1, count + 1):
        member_id = f"m{n}"
        records.append(b.member(member_id))
        records.extend(b.profile_records(member_id))
    records.extend(extra)
    return b.dataset(*records)
