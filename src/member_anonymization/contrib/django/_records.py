"""A host's rows as the library's records, and records as rows, field by field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, TypeVar, cast

import attrs
from django.db.models import F, QuerySet

from member_anonymization.contrib.django._values import to_club_time, to_database
from member_anonymization.domain import (
    CollectionCase,
    Contract,
    Installment,
    Member,
    MemberId,
    Purchase,
    Wallet,
)
from member_anonymization.policy import MemberFacts

__all__ = ["FACT_TYPES", "member_facts", "model_values", "read_records"]

T = TypeVar("T")


def read_records(
    cls: type[T],
    queryset: QuerySet[Any],
    *,
    zone: Any,
    columns: Mapping[str, Any] | None = None,
    convert: Mapping[str, Callable[[Any], Any]] | None = None,
) -> list[T]:
    """Records of ``cls`` from the rows of ``queryset``, in one query.

    Each field of the record is read from the column of the same name, or from
    the expression ``columns[field]`` (``F("member__member_no")``, say); then
    ``convert[field]`` applies to a value that is not ``None``. Instants are
    shown in the time zone the expression ``zone`` reads (``F("club__timezone")``).

    Args:
        cls: The record's class (an attrs class of :mod:`member_anonymization.domain`).
        queryset: The rows.
        zone: An expression giving each row's club time zone.
        columns: Expressions for the fields whose column has another name.
        convert: Conversions of read values (``str`` for an integer key, say).
    """
    columns, convert = columns or {}, convert or {}
    names = [f.name for f in attrs.fields(cast(Any, cls))]
    rows = queryset.values(v_zone=zone, **{f"v_{n}": columns.get(n, F(n)) for n in names})
    out = []
    for row in rows:
        values = {n: row[f"v_{n}"] for n in names}
        for n, v in values.items():
            if isinstance(v, dt.datetime):
                values[n] = to_club_time(v, row["v_zone"])
            elif v is not None and n in convert:
                values[n] = convert[n](v)
        out.append(cls(**values))
    return out


def model_values(
    record: Any, refs: Mapping[str, Mapping[str, Any]] | None = None, *, id_column: str | None
) -> dict[str, Any]:
    """A record's fields as a model's values: the inverse of :func:`read_records`.

    Args:
        record: The record.
        refs: Per reference field (``"member_id"``, ``"club_id"``), the record's
            id -> the primary key to store (the field's ``_id`` column).
        id_column: The column for the record's id; ``None`` leaves the id out
            (the database gives the row its primary key).
    """
    refs = refs or {}
    out: dict[str, Any] = {}
    for field in attrs.fields(type(record)):
        value = getattr(record, field.name)
        if field.name == "id":
            if id_column is not None:
                out[id_column] = value
        elif field.name in refs:
            out[field.name] = None if value is None else refs[field.name][value]
        else:
            out[field.name] = to_database(value) if isinstance(value, dt.datetime) else value
    return out


FACT_TYPES: Final[dict[type[Any], str]] = {
    Contract: "contracts",
    CollectionCase: "collection_cases",
    Wallet: "wallets",
    Installment: "installments",
    Purchase: "purchases",
}
"""The record classes of :class:`~member_anonymization.policy.MemberFacts`, by field."""


def member_facts(members: Iterable[Member], records: Iterable[Any]) -> dict[MemberId, MemberFacts]:
    """``FactsReader.load_facts``: each member with their records of :data:`FACT_TYPES`.

    Args:
        members: The members found.
        records: Their contracts, collection cases, wallets, installments and
            purchases, in any order (those of other members are left out).
    """
    grouped: dict[MemberId, dict[str, list[Any]]] = {}
    for member in members:
        grouped[member.id] = {name: [] for name in FACT_TYPES.values()}
    for record in records:
        if record.member_id in grouped:
            grouped[record.member_id][FACT_TYPES[type(record)]].append(record)
    return {
        member.id: MemberFacts(
            member=member, **{k: tuple(v) for k, v in grouped[member.id].items()}
        )
        for member in members
    }
