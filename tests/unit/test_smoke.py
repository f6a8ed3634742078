"""The spec's example dataset goes through a whole anonymization."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from member_anonymization import Anonymized, Anonymizer, structure_dataset, unstructure_dataset
from member_anonymization.testing import FixedClock
from tests.backends import MakeStore

EXAMPLE = Path(__file__).parent.parent / "data" / "spec_example.json"


def test_spec_example_round_trips() -> None:
    """The dataset example of interfaces.md loads and dumps unchanged."""
    raw = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert unstructure_dataset(structure_dataset(raw)) == raw


def test_spec_example_anonymizes(make_store: MakeStore) -> None:
    """The example member is eligible and gets anonymized."""
    store = make_store(structure_dataset(json.loads(EXAMPLE.read_text(encoding="utf-8"))))
    clock = FixedClock(dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC))
    result = Anonymizer(store.unit_of_work, clock=clock).anonymize("m1", actor="e1")
    assert isinstance(result, Anonymized)
    (member,) = store.snapshot().members
    assert member.personal.first_name != "Jan"
    assert member.anonymized_at == clock.now()
