"""The library's adapter contract, run against the gym application's adapter."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from examples.gym_app.adapter import GymUnitOfWork
from examples.gym_app.app import connect
from examples.gym_app.tests.harness import GymHarness
from member_anonymization.contract import AdapterContract, AdapterHarness, contract_dataset


class TestGymAdapter(AdapterContract):
    """Every guarantee of the library holds over the gym application's own schema."""

    @pytest.fixture
    def harness(self, tmp_path: Path) -> AdapterHarness:
        """A harness creating a fresh gym database in the test's folder."""
        return GymHarness(tmp_path)


def test_snapshot_holds_the_whole_contract_dataset(tmp_path: Path) -> None:
    """The gym schema holds every field of the contract's dataset: nothing is lost."""
    harness = GymHarness(tmp_path)
    harness.build(contract_dataset())
    assert harness.snapshot() == contract_dataset().sorted()


@pytest.fixture
def traced(tmp_path: Path) -> tuple[Callable[[], GymUnitOfWork], list[str]]:
    """A unit-of-work factory over the contract's data whose statements are recorded."""
    harness = GymHarness(tmp_path)
    harness.build(contract_dataset())
    statements: list[str] = []

    def open_traced() -> sqlite3.Connection:
        connection = connect(harness.path)
        connection.set_trace_callback(statements.append)
        return connection

    return (lambda: GymUnitOfWork(open_traced)), statements


def test_load_facts_runs_a_fixed_number_of_queries(
    traced: tuple[Callable[[], GymUnitOfWork], list[str]],
) -> None:
    """load_facts answers one member and ten members with the same number of queries."""
    factory, statements = traced
    counts = []
    for batch in (["m1"], ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9", "m10"]):
        with factory() as uow:
            statements.clear()
            facts = uow.facts.load_facts(batch)
            counts.append(len(statements))
        assert sorted(facts) == sorted(batch)
    assert counts == [6, 6]


def test_deletes_are_set_based(traced: tuple[Callable[[], GymUnitOfWork], list[str]]) -> None:
    """Deleting the records of three members is one statement per record kind."""
    factory, statements = traced
    with factory() as uow:
        statements.clear()
        counts = uow.records.delete_notes(["m1", "m2", "m3"], note_types=None)
        assert len(statements) == 1
        assert counts == {"m1": 3, "m2": 2}
