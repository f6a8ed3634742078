"""Every record and every dataset survives unstructure -> JSON -> structure unchanged."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from operator import attrgetter
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from member_anonymization import domain
from member_anonymization.serialization import (
    Dataset,
    converter,
    structure_dataset,
    unstructure_dataset,
)
from tests.strategies import RECORD_STRATEGIES, datasets

_NOT_RECORDS = {domain.FieldProblem}


def exact(value: Any) -> Any:
    """A form of ``value`` that also tells apart what ``==`` does not.

    Equal datetimes may carry different offsets and equal decimals different
    exponents (``12.5`` and ``12.50``); a round trip must keep both.
    """
    if attrs.has(type(value)):
        fields = attrs.fields(type(value))
        return (type(value).__name__, {f.name: exact(getattr(value, f.name)) for f in fields})
    if isinstance(value, tuple | list):
        return [exact(item) for item in value]
    if isinstance(value, frozenset):
        return sorted(repr(exact(item)) for item in value)
    if isinstance(value, dt.datetime | Decimal):
        return (type(value).__name__, str(value))
    return value


def test_every_domain_record_has_a_strategy() -> None:
    """Each attrs class the domain exports has a strategy, so none escapes the round trip."""
    exported = {
        getattr(domain, name)
        for name in domain.__all__
        if attrs.has(getattr(domain, name)) and getattr(domain, name) not in _NOT_RECORDS
    }
    assert exported == set(RECORD_STRATEGIES)


@pytest.mark.parametrize("cls", sorted(RECORD_STRATEGIES, key=attrgetter("__name__")))
@given(data=st.data())
def test_record_round_trips(cls: type[Any], data: st.DataObject) -> None:
    """structure(unstructure(x)) == x, also after JSON, and the file form is stable."""
    record = data.draw(RECORD_STRATEGIES[cls])
    raw = converter.unstructure(record, cls)
    assert converter.structure(raw, cls) == record
    via_json = json.loads(json.dumps(raw))
    assert via_json == raw
    again = converter.structure(via_json, cls)
    assert again == record
    assert exact(again) == exact(record)
    assert converter.unstructure(again, cls) == raw


@given(datasets())
def test_dataset_round_trips(dataset: Dataset) -> None:
    """structure_dataset(unstructure_dataset(ds)) == ds, also through JSON text."""
    raw = unstructure_dataset(dataset)
    assert structure_dataset(raw) == dataset
    via_json = json.loads(json.dumps(raw))
    assert via_json == raw
    again = structure_dataset(via_json)
    assert again == dataset
    assert exact(again) == exact(dataset)
    assert unstructure_dataset(again) == raw
