"""The adapter contract, run against the in-memory reference, and shown to catch broken adapters."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from types import TracebackType
from typing import Any

import attrs
import pytest

from member_anonymization.contract import (
    CONTRACT_CHECKS,
    AdapterContract,
    AdapterHarness,
    CheckSkipped,
    ContractCheck,
    ContractViolation,
    IdMap,
    LoadedDataset,
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
    contract_dataset,
    with_host_ids,
)
from member_anonymization.domain import (
    AuditEntry,
    Employee,
    ErasureRequest,
    MemberId,
    NoteType,
    OutboxMessage,
    PersonalData,
    Reminder,
)
from member_anonymization.policy import MemberFacts
from member_anonymization.ports import UnitOfWork
from member_anonymization.serialization import RECORD_KINDS, Dataset, dataset_problems
from member_anonymization.testing import InMemoryStore, InMemoryUnitOfWork


class MemoryHarness:
    """The contract's harness over :class:`InMemoryStore`."""

    def __init__(self) -> None:
        self.store: InMemoryStore | None = None

    def build(self, dataset: Dataset) -> Callable[[], UnitOfWork]:
        """A fresh store holding the dataset."""
        self.store = InMemoryStore(dataset)
        return self.store.unit_of_work

    def snapshot(self) -> Dataset:
        """The store's committed content."""
        assert self.store is not None
        return self.store.snapshot()


class TestInMemoryStore(AdapterContract):
    """The reference implementation honours the whole contract."""

    @pytest.fixture
    def harness(self) -> AdapterHarness:
        """A fresh in-memory harness."""
        return MemoryHarness()


def _host_ids(dataset: Dataset) -> IdMap:
    """Ids of a host's own: members numbered (``m10`` is ``010``), other records prefixed."""
    ids: dict[str, dict[str, str]] = {
        kind.collection: {r.id: f"h-{r.id}" for r in getattr(dataset, kind.collection)}
        for kind in RECORD_KINDS
        if "id" in kind.key_fields and not kind.written_by_library
    }
    ids["members"] = {m.id: f"{int(m.id.removeprefix('m')):03d}" for m in dataset.members}
    ids["network"] = {dataset.network.id: "host-network"}
    return ids


class RenamingHarness(MemoryHarness):
    """A host that gives the dataset's records ids of its own, ordered otherwise."""

    def build(self, dataset: Dataset) -> LoadedDataset:
        """A fresh store holding the dataset under the host's ids."""
        ids = _host_ids(dataset)
        self.store = InMemoryStore(with_host_ids(dataset, ids))
        return LoadedDataset(unit_of_work=self.store.unit_of_work, ids=ids)


class TestHostWithItsOwnIds(AdapterContract):
    """The contract names records only by the ids the host reports, in the host's order."""

    @pytest.fixture
    def harness(self) -> AdapterHarness:
        """A fresh in-memory harness that renames every record of the host."""
        return RenamingHarness()


class _Hook:
    """A repository with one method replaced."""

    def __init__(self, inner: Any, method: str, replacement: Callable[..., Any]) -> None:
        self._inner = inner
        self._method = method
        self._replacement = replacement

    def __getattr__(self, name: str) -> Any:
        return self._replacement if name == self._method else getattr(self._inner, name)


class _FilesUnit:
    """An in-memory unit whose photos and documents are files of its harness."""

    def __init__(self, harness: FilesHarness, inner: InMemoryUnitOfWork) -> None:
        self._harness = harness
        self._inner = inner
        self._doomed: set[str] = set()
        self.members = _Hook(inner.members, "delete_photos", self._delete_photos)
        self.records = _Hook(inner.records, "delete_documents", self._delete_documents)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> _FilesUnit:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._doomed.clear()
        self._inner.__exit__(*exc)

    def _doom(self, names: set[str]) -> None:
        if self._harness.eager:
            self._harness.files -= names
        else:
            self._doomed |= names

    def _delete_photos(self, member_ids: Sequence[MemberId]) -> Any:
        counts = self._inner.members.delete_photos(member_ids)
        self._doom({f"photos/{m}" for m, n in counts.items() if n})
        return counts

    def _delete_documents(self, member_ids: Sequence[MemberId]) -> Any:
        documents = (d for m in member_ids for d in self._inner.profile.documents_of(m))
        self._doom({f"documents/{d.id}" for d in documents})
        return self._inner.records.delete_documents(member_ids)

    def commit(self) -> None:
        self._inner.commit()
        if not self._harness.keep:
            self._harness.files -= self._doomed
        self._doomed.clear()

    def rollback(self) -> None:
        self._inner.rollback()
        self._doomed.clear()


class FilesHarness(MemoryHarness):
    """An in-memory host keeping photos and documents as files, deleted after the commit."""

    def __init__(self, *, eager: bool = False, keep: bool = False) -> None:
        super().__init__()
        self.eager = eager
        self.keep = keep
        self.files: set[str] = set()

    def build(self, dataset: Dataset) -> Callable[[], UnitOfWork]:
        """A fresh store, and a file for each photo and document."""
        store = self.store = InMemoryStore(dataset)
        self.files = {f"photos/{m.id}" for m in dataset.members if m.photo}
        self.files |= {f"documents/{d.id}" for d in dataset.documents}
        return lambda: _FilesUnit(self, store.unit_of_work())

    def stored_files(self) -> set[str]:
        """The files kept now."""
        return set(self.files)


class TestHostWithFiles(AdapterContract):
    """A host with files honours the whole contract, the check of its files included."""

    @pytest.fixture
    def harness(self) -> AdapterHarness:
        """A fresh in-memory harness with files."""
        return FilesHarness()


def test_files_check_is_skipped_without_the_hook() -> None:
    """A harness without ``stored_files()`` makes the check of files skip, not pass."""
    with pytest.raises(CheckSkipped):
        check_files_deleted_only_after_commit(MemoryHarness())


def test_contract_dataset_is_valid() -> None:
    """The contract's dataset passes the dataset checks (unique ids, no dangling reference)."""
    assert dataset_problems(contract_dataset()) == []


def test_every_check_is_a_test_of_the_base_class() -> None:
    """AdapterContract has exactly one test method per check, named after it."""
    checks = {check.__name__.removeprefix("check_") for check in CONTRACT_CHECKS}
    tests = {
        name.removeprefix("test_") for name in dir(AdapterContract) if name.startswith("test_")
    }
    assert checks == tests
    assert len(CONTRACT_CHECKS) == len(checks)


def test_contract_module_does_not_import_pytest() -> None:
    """Importing the public module loads neither pytest nor hypothesis."""
    code = (
        "import sys, member_anonymization.contract; "
        "print(sorted(m for m in ('pytest', 'hypothesis') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# --------------------------------------------------------------------------- broken adapters


Patch = Callable[..., Any]
"""A replacement method: called with the unit, the original method and the call's arguments."""


class _PatchedRepository:
    def __init__(self, inner: Any, method: str, patch: Patch, uow: InMemoryUnitOfWork) -> None:
        self._inner = inner
        self._method = method
        self._patch = patch
        self._uow = uow

    def __getattr__(self, name: str) -> Any:
        original = getattr(self._inner, name)
        if name != self._method:
            return original
        return lambda *args, **kwargs: self._patch(self._uow, original, *args, **kwargs)


class _PatchedUnit:
    """An in-memory unit with one repository method replaced, or one that commits on exit."""

    def __init__(
        self,
        inner: InMemoryUnitOfWork,
        target: str | None,
        patch: Patch | None,
        *,
        commit_on_exit: bool = False,
        keep_on_rollback: bool = False,
        second_commit_fails: bool = False,
        keeps_changes_after_commit: bool = False,
    ) -> None:
        self._inner = inner
        self._target = target
        self._patch = patch
        self._commit_on_exit = commit_on_exit
        self._keep_on_rollback = keep_on_rollback
        self._second_commit_fails = second_commit_fails
        self._keeps_changes_after_commit = keeps_changes_after_commit
        self._committed = False

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if self._target is not None and self._patch is not None:
            repository, method = self._target.split(".")
            if name == repository:
                return _PatchedRepository(value, method, self._patch, self._inner)
        return value

    def __enter__(self) -> _PatchedUnit:
        self._inner.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._commit_on_exit or (self._keeps_changes_after_commit and self._committed):
            self._inner.commit()
        self._inner.__exit__(exc_type, exc, tb)

    def commit(self) -> None:
        if self._second_commit_fails and self._committed:
            raise RuntimeError("no transaction is active")
        self._inner.commit()
        self._committed = True

    def rollback(self) -> None:
        if not self._keep_on_rollback:
            self._inner.rollback()


class BrokenHarness:
    """An in-memory store behind units with one defect."""

    def __init__(
        self,
        target: str | None = None,
        patch: Patch | None = None,
        *,
        commit_on_exit: bool = False,
        keep_on_rollback: bool = False,
        second_commit_fails: bool = False,
        keeps_changes_after_commit: bool = False,
    ) -> None:
        self._target = target
        self._patch = patch
        self._options = {
            "commit_on_exit": commit_on_exit,
            "keep_on_rollback": keep_on_rollback,
            "second_commit_fails": second_commit_fails,
            "keeps_changes_after_commit": keeps_changes_after_commit,
        }
        self.store: InMemoryStore | None = None

    def build(self, dataset: Dataset) -> Callable[[], UnitOfWork]:
        """A store whose units carry the defect."""
        store = self.store = InMemoryStore(dataset)

        def unit() -> Any:
            return _PatchedUnit(store.unit_of_work(), self._target, self._patch, **self._options)

        return unit

    def snapshot(self) -> Dataset:
        """The store's committed content."""
        assert self.store is not None
        return self.store.snapshot()


def _every_member(uow: InMemoryUnitOfWork) -> list[MemberId]:
    return [m.id for m in uow._store.iter_members()]


def _delete_of_everyone(
    uow: InMemoryUnitOfWork, original: Any, member_ids: Sequence[MemberId]
) -> Any:
    counts = original(_every_member(uow))
    return {m: n for m, n in counts.items() if m in member_ids}


def _count_one_each(uow: InMemoryUnitOfWork, original: Any, member_ids: Sequence[MemberId]) -> Any:
    del uow
    return dict.fromkeys(original(member_ids), 1)


def _count_absent_photos(
    uow: InMemoryUnitOfWork, original: Any, member_ids: Sequence[MemberId]
) -> Any:
    del uow
    original(member_ids)
    return dict.fromkeys(member_ids, 1)


def _ignore_note_types(
    uow: InMemoryUnitOfWork,
    original: Any,
    member_ids: Sequence[MemberId],
    *,
    note_types: Collection[NoteType] | None,
) -> Any:
    del uow, note_types
    return original(member_ids, note_types=None)


def _lock_everything_asked(
    uow: InMemoryUnitOfWork, original: Any, member_ids: Sequence[MemberId], **kwargs: Any
) -> Any:
    del uow
    original(member_ids, **kwargs)
    return list(member_ids)


def _home_club_facts(uow: InMemoryUnitOfWork, original: Any, member_ids: Sequence[MemberId]) -> Any:
    del uow
    out: dict[MemberId, MemberFacts] = {}
    kinds = ("contracts", "collection_cases", "installments", "purchases")
    for member_id, facts in original(member_ids).items():
        home = facts.member.home_club_id
        changes = {k: tuple(r for r in getattr(facts, k) if r.club_id == home) for k in kinds}
        out[member_id] = attrs.evolve(facts, **changes)
    return out


def _due_ignoring_after(uow: InMemoryUnitOfWork, original: Any, **kwargs: Any) -> Any:
    del uow
    kwargs.pop("after", None)
    return original(**kwargs)


def _due_numeric_order(uow: InMemoryUnitOfWork, original: Any, **kwargs: Any) -> Any:
    del uow
    return sorted(original(**kwargs), key=lambda m: int(m.removeprefix("m")))


def _due_counting_cancelled(
    uow: InMemoryUnitOfWork, original: Any, *, thresholds: Mapping[str, dt.date], **kwargs: Any
) -> Any:
    """Due members, but a contract cancelled before its start still ends on its cancellation."""
    contracts = uow._tables().data["contracts"].values()

    def later(member_id: MemberId) -> bool:
        member = uow.members.get(member_id)
        assert member is not None
        threshold = thresholds[member.home_club_id]
        return any(
            c.member_id == member_id
            and c.terminated_on is not None
            and threshold < c.terminated_on < c.start
            for c in contracts
        )

    return [m for m in original(thresholds=thresholds, **kwargs) if not later(m)]


def _members_are_employees(uow: InMemoryUnitOfWork, original: Any, employee_id: str) -> Any:
    found = original(employee_id)
    if found is None and uow.members.get(employee_id) is not None:
        return Employee(id=employee_id, name="Member")
    return found


def _invoices_of_everyone(uow: InMemoryUnitOfWork, original: Any, member_id: MemberId) -> Any:
    del member_id
    return [invoice for m in _every_member(uow) for invoice in original(m)]


def _replace_also_m2(
    uow: InMemoryUnitOfWork, original: Any, replacements: Mapping[MemberId, PersonalData]
) -> Any:
    del uow
    return original({**replacements, "m2": next(iter(replacements.values()))})


def _drop_audit_counts(uow: InMemoryUnitOfWork, original: Any, entries: Sequence[Any]) -> Any:
    del uow
    return original([attrs.evolve(e, removed=type(e.removed)()) for e in entries])


def _clubs_without_retention(uow: InMemoryUnitOfWork, original: Any) -> Any:
    del uow
    return {cid: attrs.evolve(club, retention=None) for cid, club in original().items()}


def _training_notes_when_none(
    uow: InMemoryUnitOfWork,
    original: Any,
    member_ids: Sequence[MemberId],
    *,
    note_types: Collection[NoteType] | None,
) -> Any:
    del uow
    return original(member_ids, note_types=note_types or {NoteType.TRAINING_AND_HEALTH})


def _mark_an_hour_early(
    uow: InMemoryUnitOfWork, original: Any, member_ids: Sequence[MemberId], at: dt.datetime
) -> Any:
    del uow
    return original(member_ids, at - dt.timedelta(hours=1))


def _reminders_without_amounts(
    uow: InMemoryUnitOfWork, original: Any, reminders: Sequence[Reminder]
) -> Any:
    del uow
    return original([attrs.evolve(r, amount=None, currency=None) for r in reminders])


def _facts_without_contracts(
    uow: InMemoryUnitOfWork, original: Any, member_ids: Sequence[MemberId]
) -> Any:
    del uow
    return {mid: attrs.evolve(f, contracts=()) for mid, f in original(member_ids).items()}


def _read_once() -> Patch:
    """A reader that hands out one shared iterator per member: a second call finds it spent."""
    iterators: dict[MemberId, Any] = {}

    def read(uow: InMemoryUnitOfWork, original: Any, member_id: MemberId) -> Any:
        del uow
        return iterators.setdefault(member_id, iter(original(member_id)))

    return read


def _request_without_extension(
    uow: InMemoryUnitOfWork, original: Any, request_id: str
) -> ErasureRequest | None:
    del uow
    request: ErasureRequest | None = original(request_id)
    return None if request is None else attrs.evolve(request, extension=None)


def _latest_request_of_each(
    uow: InMemoryUnitOfWork, original: Any, member_ids: Sequence[MemberId]
) -> Any:
    del original
    wanted = set(member_ids)
    return {r.member_id: r for r in uow.requests.all() if r.member_id in wanted}


def _add_without_extensions(
    uow: InMemoryUnitOfWork, original: Any, requests: Sequence[ErasureRequest]
) -> Any:
    del uow
    return original([attrs.evolve(r, extension=None) for r in requests])


def _update_as_insert(
    uow: InMemoryUnitOfWork, original: Any, requests: Sequence[ErasureRequest]
) -> None:
    del original
    table = uow._tables().data["erasure_requests"]
    for request in requests:
        table[f"{request.id}-v2"] = attrs.evolve(request, id=f"{request.id}-v2")


def _open_requests_ignoring_after(uow: InMemoryUnitOfWork, original: Any, **kwargs: Any) -> Any:
    del uow
    kwargs.pop("after", None)
    return original(**kwargs)


def _all_ignoring_status(uow: InMemoryUnitOfWork, original: Any, **kwargs: Any) -> Any:
    del uow, kwargs
    return original()


def _request_updates_forget_notices(
    uow: InMemoryUnitOfWork, original: Any, requests: Sequence[ErasureRequest]
) -> Any:
    del uow
    return original([attrs.evolve(r, refusal_noticed_at=None) for r in requests])


def _notices_in_english(
    uow: InMemoryUnitOfWork, original: Any, messages: Sequence[OutboxMessage]
) -> Any:
    del uow
    return original(
        [
            m if m.notice is None else attrs.evolve(m, notice=attrs.evolve(m.notice, language="en"))
            for m in messages
        ]
    )


def _outbox_order(message: OutboxMessage) -> tuple[dt.datetime, str]:
    return (message.created_at, message.id)


def _pending_with_delivered(
    uow: InMemoryUnitOfWork, original: Any, *, limit: int | None = None
) -> Any:
    del original
    found = sorted(uow._tables().data["outbox"].values(), key=_outbox_order)
    return found if limit is None else found[:limit]


def _pending_by_id(uow: InMemoryUnitOfWork, original: Any, **kwargs: Any) -> Any:
    del uow
    return sorted(original(**kwargs), key=lambda m: m.id)


def _of_request_pending_only(uow: InMemoryUnitOfWork, original: Any, request_id: str) -> Any:
    del uow
    return [m for m in original(request_id) if m.is_pending]


def _restamp_delivered(
    uow: InMemoryUnitOfWork, original: Any, message_ids: Sequence[str], at: dt.datetime
) -> Any:
    done = original(message_ids, at)
    table = uow._tables().data["outbox"]
    for message_id in message_ids:
        if message_id in table:
            table[message_id] = attrs.evolve(table[message_id], delivered_at=at)
    return done


def _mark_returns_every_id(
    uow: InMemoryUnitOfWork, original: Any, message_ids: Sequence[str], at: dt.datetime
) -> Any:
    del uow
    original(message_ids, at)
    return list(dict.fromkeys(message_ids))


def _anonymizations_with_exports(
    uow: InMemoryUnitOfWork, original: Any, *, after: str | None = None, limit: int = 1000
) -> Any:
    del original
    entries = sorted(uow._tables().data["audit"].values(), key=lambda e: e.id)
    return [e for e in entries if after is None or e.id > after][:limit]


def _reminders_without_requests(
    uow: InMemoryUnitOfWork, original: Any, reminders: Sequence[Reminder]
) -> Any:
    del uow
    return original([attrs.evolve(r, request_id=None, action=None) for r in reminders])


def _audit_without_as_of(
    uow: InMemoryUnitOfWork, original: Any, entries: Sequence[AuditEntry]
) -> Any:
    del uow
    return original([attrs.evolve(e, as_of=None) for e in entries])


def _no_open_requests(
    uow: InMemoryUnitOfWork, original: Any, member_ids: Sequence[MemberId]
) -> Any:
    del uow, original, member_ids
    return {}


MUTANTS: list[tuple[str, AdapterHarness, ContractCheck]] = [
    (
        "deletes every member's log",
        BrokenHarness("records.delete_log_entries", _delete_of_everyone),
        check_delete_log_entries,
    ),
    (
        "deletes every member's exercises",
        BrokenHarness("records.delete_exercises", _delete_of_everyone),
        check_delete_exercises,
    ),
    (
        "counts measurements wrongly",
        BrokenHarness("records.delete_measurements", _count_one_each),
        check_delete_measurements,
    ),
    (
        "deletes only training notes when asked for every type",
        BrokenHarness("records.delete_notes", _training_notes_when_none),
        check_delete_notes_of_every_type,
    ),
    (
        "clubs lose their retention setting",
        BrokenHarness("clubs.network_clubs", _clubs_without_retention),
        check_clubs_reader,
    ),
    (
        "stores another anonymization instant",
        BrokenHarness("members.mark_anonymized", _mark_an_hour_early),
        check_mark_anonymized,
    ),
    (
        "reminders lose their amounts",
        BrokenHarness("reminders.add", _reminders_without_amounts),
        check_reminders_add,
    ),
    (
        "facts without contracts, seen in a refusal",
        BrokenHarness("facts.load_facts", _facts_without_contracts),
        check_refused_anonymization_changes_nothing,
    ),
    (
        "counts documents wrongly",
        BrokenHarness("records.delete_documents", _count_one_each),
        check_delete_documents,
    ),
    (
        "counts absent photos",
        BrokenHarness("members.delete_photos", _count_absent_photos),
        check_delete_photos,
    ),
    (
        "ignores note types",
        BrokenHarness("records.delete_notes", _ignore_note_types),
        check_delete_notes_of_given_types,
    ),
    (
        "locks unknown ids",
        BrokenHarness("members.lock", _lock_everything_asked),
        check_lock_returns_existing_ids,
    ),
    (
        "facts of the home club only",
        BrokenHarness("facts.load_facts", _home_club_facts),
        check_load_facts_returns_network_wide_records,
    ),
    (
        "due members ignore after",
        BrokenHarness("retention.due_members", _due_ignoring_after),
        check_due_members_paging,
    ),
    (
        "due members in numeric order",
        BrokenHarness("retention.due_members", _due_numeric_order),
        check_due_members_paging,
    ),
    (
        "due members count contracts cancelled before their start",
        BrokenHarness("retention.due_members", _due_counting_cancelled),
        check_due_members,
    ),
    (
        "a second commit of a unit fails",
        BrokenHarness(second_commit_fails=True),
        check_unit_used_again_after_commit,
    ),
    (
        "changes after a commit are kept without a commit",
        BrokenHarness(keeps_changes_after_commit=True),
        check_unit_used_again_after_commit,
    ),
    (
        "files deleted before the commit",
        FilesHarness(eager=True),
        check_files_deleted_only_after_commit,
    ),
    (
        "files never deleted",
        FilesHarness(keep=True),
        check_files_deleted_only_after_commit,
    ),
    (
        "members read as employees",
        BrokenHarness("employees.get", _members_are_employees),
        check_employees_reader,
    ),
    (
        "invoices of every member",
        BrokenHarness("accounting.invoices_of", _invoices_of_everyone),
        check_accounting_reader,
    ),
    (
        "personal data replaced on another member",
        BrokenHarness("members.replace_personal_data", _replace_also_m2),
        check_replace_personal_data,
    ),
    (
        "audit entries lose their counts",
        BrokenHarness("audit.add", _drop_audit_counts),
        check_audit_add,
    ),
    (
        "audit entries lose their counts, seen in an anonymization",
        BrokenHarness("audit.add", _drop_audit_counts),
        check_anonymization_matches_reference,
    ),
    (
        "facts of the home club only, seen in a sweep",
        BrokenHarness("facts.load_facts", _home_club_facts),
        check_retention_sweep_matches_reference,
    ),
    (
        "a reader that can be read only once",
        BrokenHarness("profile.visits_of", _read_once()),
        check_profile_reader,
    ),
    (
        "units commit on exit",
        BrokenHarness(commit_on_exit=True),
        check_unit_without_commit_changes_nothing,
    ),
    (
        "units commit on exit, after an exception",
        BrokenHarness(commit_on_exit=True),
        check_exception_in_unit_changes_nothing,
    ),
    (
        "units commit on exit, seen after reading own writes",
        BrokenHarness(commit_on_exit=True),
        check_reads_see_own_writes,
    ),
    (
        "units commit on exit, under injected failures",
        BrokenHarness(commit_on_exit=True),
        check_failure_at_any_call_changes_nothing,
    ),
    (
        "rollback keeps the changes",
        BrokenHarness(keep_on_rollback=True),
        check_rollback_discards_changes,
    ),
    (
        "members.get returns None",
        BrokenHarness("members.get", lambda uow, original, member_id: None),
        check_member_get,
    ),
    (
        "requests.get drops the extension",
        BrokenHarness("requests.get", _request_without_extension),
        check_requests_get,
    ),
    (
        "open_for returns closed requests too",
        BrokenHarness("requests.open_for", _latest_request_of_each),
        check_requests_open_for,
    ),
    (
        "requests lose their extension on add",
        BrokenHarness("requests.add", _add_without_extensions),
        check_requests_add,
    ),
    (
        "update inserts instead of replacing",
        BrokenHarness("requests.update", _update_as_insert),
        check_requests_update,
    ),
    (
        "open_requests ignores after",
        BrokenHarness("requests.open_requests", _open_requests_ignoring_after),
        check_open_requests_paging,
    ),
    (
        "all ignores the status",
        BrokenHarness("requests.all", _all_ignoring_status),
        check_requests_all,
    ),
    (
        "notices lose their language",
        BrokenHarness("outbox.add", _notices_in_english),
        check_outbox_add,
    ),
    (
        "pending includes delivered messages",
        BrokenHarness("outbox.pending", _pending_with_delivered),
        check_outbox_pending,
    ),
    (
        "pending ordered by id",
        BrokenHarness("outbox.pending", _pending_by_id),
        check_outbox_pending,
    ),
    (
        "of_request leaves out delivered messages",
        BrokenHarness("outbox.of_request", _of_request_pending_only),
        check_outbox_of_request,
    ),
    (
        "mark_delivered re-stamps delivered messages",
        BrokenHarness("outbox.mark_delivered", _restamp_delivered),
        check_outbox_mark_delivered,
    ),
    (
        "mark_delivered returns every id asked",
        BrokenHarness("outbox.mark_delivered", _mark_returns_every_id),
        check_outbox_mark_delivered,
    ),
    (
        "anonymizations include exports",
        BrokenHarness("audit.anonymizations", _anonymizations_with_exports),
        check_audit_anonymizations,
    ),
    (
        "reminders lose their request",
        BrokenHarness("reminders.add", _reminders_without_requests),
        check_reminders_add,
    ),
    (
        "audit entries lose their as_of",
        BrokenHarness("audit.add", _audit_without_as_of),
        check_audit_add,
    ),
    (
        "open_for finds no request, seen in an anonymization",
        BrokenHarness("requests.open_for", _no_open_requests),
        check_anonymization_completes_open_request,
    ),
    (
        "facts of the home club only, seen in a processing run",
        BrokenHarness("facts.load_facts", _home_club_facts),
        check_request_processing_matches_reference,
    ),
    (
        "request updates forget the refused notice, seen in a processing run",
        BrokenHarness("requests.update", _request_updates_forget_notices),
        check_request_processing_matches_reference,
    ),
    (
        "units commit on exit, under injected failures in a processing run",
        BrokenHarness(commit_on_exit=True),
        check_failure_at_any_call_of_a_processing_run,
    ),
]


@pytest.mark.parametrize(
    ("harness", "check"),
    [pytest.param(h, c, id=name) for name, h, c in MUTANTS],
)
def test_contract_catches_a_broken_adapter(harness: AdapterHarness, check: ContractCheck) -> None:
    """Each check fails on an adapter that breaks its rule."""
    with pytest.raises(ContractViolation):
        check(harness)


def test_every_check_is_shown_to_fail() -> None:
    """Every check of the contract has a broken adapter above that it catches."""
    assert {check.__name__ for _, _, check in MUTANTS} == {c.__name__ for c in CONTRACT_CHECKS}


def test_violation_names_ids_and_fields_but_no_values() -> None:
    """A violation message names the record and field, never the personal value."""
    harness = BrokenHarness("members.replace_personal_data", _replace_also_m2)
    with pytest.raises(ContractViolation) as caught:
        check_replace_personal_data(harness)
    message = str(caught.value)
    assert "members: m2 differs in personal" in message
    for member in contract_dataset().members[:2]:
        personal = member.personal
        for value in (personal.last_name, personal.email, personal.national_id):
            assert value is not None
            assert value not in message
