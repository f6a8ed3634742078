"""Set-based statements whose text does not grow with the number of rows.

An ``IN (...)`` list of 500 ids is 500 parameters: SQLAlchemy renders them at
every execution, the driver parses them and PostgreSQL plans them again, which
costs more than the work itself. On PostgreSQL these helpers send one array
parameter instead (``= ANY(...)`` and ``INSERT ... SELECT FROM unnest(...)``),
so a statement's text is the same for every batch. On SQLite, where the driver
runs in the same process, they keep the expanding list and ``executemany``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, any_, bindparam, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY

__all__ = ["in_values", "insert_rows"]


def in_values(conn: Connection, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values``: one array parameter on PostgreSQL, a list elsewhere.

    Either way the values form one parameter of the statement (expanded into
    ``?, ?, ...`` at execution on SQLite), not one bound literal each.
    """
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))  # type: ignore[no-any-return]
    return column.in_(bindparam(None, list(values), type_=column.type, expanding=True))  # type: ignore[no-any-return]


def insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (each with the same keys) in one statement.

    On PostgreSQL one ``INSERT ... SELECT * FROM unnest(...)`` with an array
    per column; elsewhere one ``executemany``.
    """
    if not rows:
        return
    if conn.dialect.name != "postgresql" or len(rows) == 1:
        conn.execute(insert(table), list(rows))
        return
    names = list(rows[0])
    arrays = [
        bindparam(None, [row[name] for row in rows], type_=ARRAY(table.c[name].type))
        for name in names
    ]
    source = func.unnest(*arrays).table_valued(*names).render_derived()
    conn.execute(insert(table).from_select(names, select(*source.c)))
