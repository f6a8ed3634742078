"""A failure anywhere inside an anonymization leaves the database exactly as it was."""

from __future__ import annotations

import datetime as dt

import pytest

pytest.importorskip("sqlalchemy")

from member_anonymization import Anonymized, Anonymizer
from member_anonymization.serialization import Dataset
from member_anonymization.testing import FixedClock, InjectedFailure
from tests import builders as b
from tests.backends import MakeSqlStore
from tests.integration.sql_support import (
    StatementFault,
    count_statements,
    fail_on_statement,
    members_with_profiles,
)

CLOCK = FixedClock(dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC))


def warned_member() -> Dataset:
    """A member with every kind of record and an unpaid purchase (so a reminder is written)."""
    unpaid = b.purchase("p-unpaid", paid=False)
    return members_with_profiles(2, extra=(unpaid,))


def test_failure_at_any_repository_call_changes_nothing(make_sql_store: MakeSqlStore) -> None:
    """Making each repository call (and the commit) fail in turn leaves the dump unchanged."""
    data = warned_member()
    probe = make_sql_store(data)
    assert isinstance(
        Anonymizer(probe.unit_of_work, clock=CLOCK).anonymize("m1", actor="e1"), Anonymized
    )
    calls = len(probe.calls)
    assert calls >= 10
    assert probe.calls[-1] == "uow.commit"
    for n in range(1, calls + 1):
        store = make_sql_store(data)
        before = store.snapshot()
        store.fail_on_call(n)
        with pytest.raises(InjectedFailure):
            Anonymizer(store.unit_of_work, clock=CLOCK).anonymize("m1", actor="e1")
        assert store.snapshot() == before, n
        store.heal()
        result = Anonymizer(store.unit_of_work, clock=CLOCK).anonymize("m1", actor="e1")
        assert isinstance(result, Anonymized), n


def test_failure_at_any_statement_changes_nothing(make_sql_store: MakeSqlStore) -> None:
    """Making each SQL statement of an anonymization fail in turn leaves the dump unchanged."""
    data = warned_member()
    probe = make_sql_store(data)
    with count_statements(probe.sql.engine) as statements:
        Anonymizer(probe.sql.unit_of_work, clock=CLOCK).anonymize("m1", actor="e1")
    assert len(statements) >= 10
    for k in range(1, len(statements) + 1):
        store = make_sql_store(data)
        before = store.snapshot()
        with (
            fail_on_statement(store.sql.engine, k),
            pytest.raises(StatementFault),
        ):
            Anonymizer(store.sql.unit_of_work, clock=CLOCK).anonymize("m1", actor="e1")
        assert store.snapshot() == before, statements[k - 1]
    after = Anonymizer(store.sql.unit_of_work, clock=CLOCK).anonymize("m1", actor="e1")
    assert isinstance(after, Anonymized)
