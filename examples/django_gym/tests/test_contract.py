"""The library's adapter contract, run against the Django gym's adapter."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from examples.django_gym.tests.harness import DjangoGymHarness, routed
from member_anonymization.contract import (
    AdapterContract,
    AdapterHarness,
    contract_dataset,
    with_host_ids,
)

HAS_POSTGRES = "postgres" in settings.DATABASES


@pytest.fixture
def media(tmp_path: Path) -> Iterator[Path]:
    """Stored files go to the test's folder."""
    with override_settings(MEDIA_ROOT=tmp_path):
        yield tmp_path


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("media")
class TestDjangoGymContract(AdapterContract):
    """Every guarantee of the library holds over the gym's Django models (SQLite)."""

    @pytest.fixture
    def harness(self) -> AdapterHarness:
        """A harness over the (emptied) test database."""
        return DjangoGymHarness()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("media")
class TestDjangoGymContractWithoutTimeZoneSupport(AdapterContract):
    """The same guarantees with ``USE_TZ=False`` (naive instants in ``TIME_ZONE``)."""

    @pytest.fixture
    def harness(self) -> Iterator[AdapterHarness]:
        """A harness with naive instants in the database."""
        with override_settings(USE_TZ=False, TIME_ZONE="America/New_York"):
            yield DjangoGymHarness()


@pytest.mark.postgres
@pytest.mark.skipif(
    not HAS_POSTGRES and not os.environ.get("CI"), reason="no PostgreSQL server answers"
)
@pytest.mark.django_db(transaction=True, databases=["postgres"] if HAS_POSTGRES else [])
@pytest.mark.usefixtures("media")
class TestDjangoGymContractOnPostgres(AdapterContract):
    """The same guarantees on PostgreSQL (``select_for_update`` locks)."""

    @pytest.fixture
    def harness(self) -> Iterator[AdapterHarness]:
        """A harness over the (emptied) PostgreSQL test database, where the ORM goes too."""
        with routed("postgres"):
            yield DjangoGymHarness("postgres")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("media")
def test_snapshot_holds_the_whole_contract_dataset() -> None:
    """The models hold every field of the contract's dataset (under their own ids): nothing lost."""
    harness = DjangoGymHarness()
    loaded = harness.build(contract_dataset())
    assert loaded.ids["contracts"]["k1"].isdigit()
    assert harness.snapshot() == with_host_ids(contract_dataset(), loaded.ids).sorted()
