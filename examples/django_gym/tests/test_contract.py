"""The library's adapter contract, run against the Django gym's adapter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings

from examples.django_gym.tests.harness import DjangoGymHarness
from member_anonymization.contract import AdapterContract, AdapterHarness, contract_dataset


@pytest.fixture
def media(tmp_path: Path) -> Iterator[Path]:
    """Stored files go to the test's folder."""
    with override_settings(MEDIA_ROOT=tmp_path):
        yield tmp_path


@pytest.mark.usefixtures("transactional_db", "media")
class TestDjangoGymContract(AdapterContract):
    """Every guarantee of the library holds over the gym's Django models."""

    @pytest.fixture
    def harness(self) -> AdapterHarness:
        """A harness over the (emptied) test database."""
        return DjangoGymHarness()


@pytest.mark.usefixtures("transactional_db", "media")
def test_snapshot_holds_the_whole_contract_dataset() -> None:
    """The models hold every field of the contract's dataset: nothing is lost."""
    harness = DjangoGymHarness()
    harness.build(contract_dataset())
    assert harness.snapshot() == contract_dataset().sorted()
