"""``manage.py member_anonymization``: the command line over the gym's adapter."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from examples.django_gym.gym.models import Member
from examples.django_gym.tests.harness import DjangoGymHarness
from member_anonymization.contract import contract_dataset

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def gym(tmp_path: Path) -> Iterator[None]:
    """The contract's dataset in the test database, files in the test's folder."""
    with override_settings(MEDIA_ROOT=tmp_path):
        DjangoGymHarness().build(contract_dataset())
        yield


def _run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, Any]:
    code = 0
    try:
        call_command("member_anonymization", *arguments)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else None


def test_check_prints_the_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, payload = _run(capsys, "check", "m1", "--json", "--as-of", "2025-06-01")
    assert code == 0
    assert payload["member_id"] == "m1"
    assert {"eligible", "blockers", "warnings", "as_of"} <= set(payload)


def test_an_unknown_member_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = _run(capsys, "check", "nobody", "--json")
    assert code == 2


def test_anonymize_without_permission_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, payload = _run(capsys, "anonymize", "m1", "--actor", "e2", "--yes", "--json")
    assert code == 1
    assert payload is not None
    assert Member.objects.get(member_no="m1").anonymized_at is None


def test_anonymize_an_eligible_member(capsys: pytest.CaptureFixture[str]) -> None:
    eligible = [
        number
        for number in Member.objects.values_list("member_no", flat=True)
        if _run(capsys, "check", number, "--json")[1]["eligible"]
    ]
    assert eligible
    code, payload = _run(capsys, "anonymize", eligible[0], "--actor", "e1", "--yes", "--json")
    assert code == 0, payload
    assert Member.objects.get(member_no=eligible[0]).anonymized_at is not None


def test_only_the_adapter_commands_are_offered() -> None:
    with pytest.raises(CommandError, match="choose one of"):
        call_command("member_anonymization", "init")
