"""Contract tests: the library's guarantees, checked against *your* adapter.

An adapter implements the protocols of :mod:`member_anonymization.ports` over a
host's own schema. The checks here drive it through a small
:class:`AdapterHarness` that the host writes, and raise
:class:`ContractViolation` (an :class:`AssertionError`) naming the broken rule,
the operation, and the ids and field names involved (never a value).

With pytest, subclass :class:`AdapterContract` in a test module and give it a
``harness`` fixture; every check becomes a test::

    import pytest
    from member_anonymization.contract import AdapterContract

    class TestMyAdapter(AdapterContract):
        @pytest.fixture
        def harness(self, tmp_path):
            return MyHarness(tmp_path / "app.sqlite")

Without pytest, call each function of :data:`CONTRACT_CHECKS` with a fresh harness.

Every check fills a fresh store with :func:`contract_dataset` (three clubs,
three employees, eleven members, every kind of record, erasure requests and
outbox messages included), takes a snapshot, runs one operation, and compares
the results and the store's new state with what the rule demands. Expectations
come from the snapshots, never from the dataset given to
:meth:`AdapterHarness.build`, so a host whose schema cannot hold every field of
the dataset still passes, as long as its readers and its snapshot agree (see
:class:`AdapterHarness`). The end state of whole anonymizations, retention
sweeps and processing runs of erasure requests is also compared with
:class:`~member_anonymization.testing.InMemoryStore`, the reference
implementation, started from the same snapshot.

The checks do not assume that the host keeps the dataset's ids: a harness whose
host gives records ids of its own returns them from :meth:`AdapterHarness.build`
in a :class:`LoadedDataset`, and the checks name records only by those ids. A
harness whose host keeps files may add the :class:`StoredFiles` hook.

This module imports neither pytest nor hypothesis.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection
from typing import Final, Protocol, TypeAlias, TypeVar

from member_anonymization.contract._checks import (
    check_accounting_reader,
    check_anonymization_completes_open_request,
    check_anonymization_matches_reference,
    check_audit_add,
    check_audit_anonymizations,
    check_clubs_reader,
    check_delete_documents,
    check_delete_exercises,
    check_delete_log_entries,
    check_delete_measurements,
    check_delete_notes_of_every_type,
    check_delete_notes_of_given_types,
    check_delete_photos,
    check_due_members,
    check_due_members_paging,
    check_employees_reader,
    check_exception_in_unit_changes_nothing,
    check_failure_at_any_call_changes_nothing,
    check_failure_at_any_call_of_a_processing_run,
    check_files_deleted_only_after_commit,
    check_load_facts_returns_network_wide_records,
    check_lock_returns_existing_ids,
    check_mark_anonymized,
    check_member_get,
    check_open_requests_paging,
    check_outbox_add,
    check_outbox_mark_delivered,
    check_outbox_of_request,
    check_outbox_pending,
    check_profile_reader,
    check_reads_see_own_writes,
    check_refused_anonymization_changes_nothing,
    check_reminders_add,
    check_replace_personal_data,
    check_request_processing_matches_reference,
    check_requests_add,
    check_requests_all,
    check_requests_get,
    check_requests_open_for,
    check_requests_update,
    check_retention_sweep_matches_reference,
    check_rollback_discards_changes,
    check_unit_used_again_after_commit,
    check_unit_without_commit_changes_nothing,
)
from member_anonymization.contract._compare import (
    CheckSkipped,
    ContractViolation,
    IdMap,
    LoadedDataset,
    with_host_ids,
)
from member_anonymization.contract._data import contract_dataset
from member_anonymization.ports import UnitOfWork
from member_anonymization.serialization import Dataset

__all__ = [
    "CONTRACT_CHECKS",
    "AdapterContract",
    "AdapterHarness",
    "CheckSkipped",
    "ContractCheck",
    "ContractViolation",
    "IdMap",
    "LoadedDataset",
    "StoredFiles",
    "check_accounting_reader",
    "check_anonymization_completes_open_request",
    "check_anonymization_matches_reference",
    "check_audit_add",
    "check_audit_anonymizations",
    "check_clubs_reader",
    "check_delete_documents",
    "check_delete_exercises",
    "check_delete_log_entries",
    "check_delete_measurements",
    "check_delete_notes_of_every_type",
    "check_delete_notes_of_given_types",
    "check_delete_photos",
    "check_due_members",
    "check_due_members_paging",
    "check_employees_reader",
    "check_exception_in_unit_changes_nothing",
    "check_failure_at_any_call_changes_nothing",
    "check_failure_at_any_call_of_a_processing_run",
    "check_files_deleted_only_after_commit",
    "check_load_facts_returns_network_wide_records",
    "check_lock_returns_existing_ids",
    "check_mark_anonymized",
    "check_member_get",
    "check_open_requests_paging",
    "check_outbox_add",
    "check_outbox_mark_delivered",
    "check_outbox_of_request",
    "check_outbox_pending",
    "check_profile_reader",
    "check_reads_see_own_writes",
    "check_refused_anonymization_changes_nothing",
    "check_reminders_add",
    "check_replace_personal_data",
    "check_request_processing_matches_reference",
    "check_requests_add",
    "check_requests_all",
    "check_requests_get",
    "check_requests_open_for",
    "check_requests_update",
    "check_retention_sweep_matches_reference",
    "check_rollback_discards_changes",
    "check_unit_used_again_after_commit",
    "check_unit_without_commit_changes_nothing",
    "contract_dataset",
    "with_host_ids",
]


class AdapterHarness(Protocol):
    """What a host supplies to run the contract against its adapter.

    A harness is used by one check only: the check calls :meth:`build` once,
    then :meth:`snapshot` as often as it needs.
    """

    def build(self, dataset: Dataset) -> Callable[[], UnitOfWork] | LoadedDataset:
        """Fill a fresh, empty store with ``dataset``; return its unit-of-work factory.

        The factory is what the host hands to the services (``Anonymizer``,
        ``RetentionSweep``, ``RequestProcessor``): each call returns a new, not
        yet entered unit.

        A host that gives records ids of its own (integer primary keys, member
        numbers) returns a :class:`LoadedDataset` instead: the factory and, per
        collection, the id it gave each record of the dataset. The checks then
        name records only by the ids they got back, and take the order of due
        members from the host. Returning the factory alone says that every id
        was kept. Records the library writes (reminders, audit entries, erasure
        requests, outbox messages) keep the ids the library gives them.
        """
        ...

    def snapshot(self) -> Dataset:
        """The committed state of the store, read back as a :class:`Dataset`.

        Host-defined: read the host's tables and map every row to the record the
        adapter's readers would return for it. A schema that cannot hold some
        field maps it the same way every time (say, a fixed currency) and it is
        then compared only as stored. Readers and snapshot must agree exactly:
        whatever ``members.get``, ``load_facts``, a profile reader,
        ``requests.get`` or ``outbox.get`` returns for a record must equal that
        record in the snapshot. Order does not matter.
        """
        ...


class StoredFiles(Protocol):
    """An optional hook of a harness whose host keeps files (photos, documents) in storage.

    With it, :func:`check_files_deleted_only_after_commit` checks that a file goes
    only when the deletion of its photo or document is committed; without it,
    that check is skipped (:class:`CheckSkipped`).
    """

    def stored_files(self) -> Collection[str]:
        """The names of the files the host's storage holds now (committed or not)."""
        ...


ContractCheck: TypeAlias = Callable[[AdapterHarness], None]
"""One contract check: takes a fresh harness, raises :class:`ContractViolation`."""


CONTRACT_CHECKS: Final[tuple[ContractCheck, ...]] = (
    check_clubs_reader,
    check_employees_reader,
    check_member_get,
    check_lock_returns_existing_ids,
    check_load_facts_returns_network_wide_records,
    check_accounting_reader,
    check_profile_reader,
    check_replace_personal_data,
    check_delete_photos,
    check_delete_log_entries,
    check_delete_documents,
    check_delete_measurements,
    check_delete_exercises,
    check_delete_notes_of_given_types,
    check_delete_notes_of_every_type,
    check_mark_anonymized,
    check_reminders_add,
    check_audit_add,
    check_due_members,
    check_due_members_paging,
    check_requests_get,
    check_requests_open_for,
    check_open_requests_paging,
    check_requests_all,
    check_requests_add,
    check_requests_update,
    check_outbox_add,
    check_outbox_pending,
    check_outbox_of_request,
    check_outbox_mark_delivered,
    check_audit_anonymizations,
    check_reads_see_own_writes,
    check_unit_without_commit_changes_nothing,
    check_exception_in_unit_changes_nothing,
    check_rollback_discards_changes,
    check_unit_used_again_after_commit,
    check_files_deleted_only_after_commit,
    check_anonymization_matches_reference,
    check_anonymization_completes_open_request,
    check_refused_anonymization_changes_nothing,
    check_failure_at_any_call_changes_nothing,
    check_retention_sweep_matches_reference,
    check_request_processing_matches_reference,
    check_failure_at_any_call_of_a_processing_run,
)
"""Every contract check, in a sensible order (readers, writers, transactions, services)."""


_ClassT = TypeVar("_ClassT", bound=type)


def _summary(check: ContractCheck) -> str:
    """The first line of a check's docstring (its name when it has none)."""
    doc = inspect.getdoc(check)
    return doc.splitlines()[0] if doc else check.__name__


def _contract_test(check: ContractCheck) -> Callable[[object, AdapterHarness], None]:
    """The test method ``test_x`` that runs ``check_x`` with the ``harness`` fixture."""
    name = "test_" + check.__name__.removeprefix("check_")

    def test(self: object, harness: AdapterHarness) -> None:
        try:
            check(harness)
        except CheckSkipped as skipped:
            import pytest

            pytest.skip(str(skipped))

    test.__name__ = name
    test.__qualname__ = f"AdapterContract.{name}"
    test.__doc__ = _summary(check)
    return test


def _with_contract_tests(cls: _ClassT) -> _ClassT:
    """Give ``cls`` one test method per check of :data:`CONTRACT_CHECKS`, in that order."""
    for check in CONTRACT_CHECKS:
        test = _contract_test(check)
        setattr(cls, test.__name__, test)
    return cls


@_with_contract_tests
class AdapterContract:
    """The contract as pytest tests: subclass it in a ``Test...`` class.

    The subclass provides a ``harness`` fixture returning a fresh
    :class:`AdapterHarness` for each test (a function-scoped fixture). Each
    ``test_x`` method runs ``check_x`` of :data:`CONTRACT_CHECKS`; the methods
    are made from that tuple, each with the first line of its check's docstring.
    """
