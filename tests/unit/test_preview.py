"""The preview of an anonymization: findings in a language, what goes and what stays."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from member_anonymization.anonymizer import AnonymizationOptions, Anonymized, Anonymizer
from member_anonymization.domain import NoteType
from member_anonymization.errors import UnknownMemberError
from member_anonymization.messages import LANGUAGES, UnknownLanguageError, text
from member_anonymization.policy import ActiveContract, UnpaidPurchases
from member_anonymization.preview import (
    AnonymizationPreview,
    KeptRecords,
    preview_anonymization,
)
from member_anonymization.testing import FixedClock, InMemoryStore
from tests import builders as b


def _store(*extra: object) -> InMemoryStore:
    return InMemoryStore(b.dataset(b.member("m1"), *b.profile_records("m1"), *extra))


def _blocked_store() -> InMemoryStore:
    running = b.contract("k-now", start=dt.date(2026, 1, 1), end=None)
    unpaid = b.purchase("p-due", paid=False)
    return _store(running, unpaid)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_findings_carry_their_codes_and_messages_in_the_language(lang: str) -> None:
    """Every blocker and warning comes with its code and its message in ``lang``."""
    shown = preview_anonymization(_blocked_store().unit_of_work, "m1", lang=lang, as_of=b.TODAY)
    assert not shown.eligible
    assert [(f.kind, f.code) for f in shown.blockers] == [("blocker", "active_contract")]
    assert [(f.kind, f.code) for f in shown.warnings] == [("warning", "unpaid_purchases")]
    blocker, warning = shown.blockers[0], shown.warnings[0]
    assert isinstance(blocker.result, ActiveContract)
    assert isinstance(warning.result, UnpaidPurchases)
    assert blocker.message == blocker.result.message(lang)
    assert warning.message == warning.result.message(lang)
    assert shown.language == lang


def test_the_polish_messages_differ_from_the_english_ones() -> None:
    """The requested language is used, not English."""
    store = _blocked_store()
    english = preview_anonymization(store.unit_of_work, "m1", lang="en", as_of=b.TODAY)
    polish = preview_anonymization(store.unit_of_work, "m1", lang="pl", as_of=b.TODAY)
    assert english.blockers[0].message != polish.blockers[0].message
    assert english.removed_lines != polish.removed_lines
    assert english.kept_lines != polish.kept_lines


def test_the_verdict_is_the_checks() -> None:
    """Blockers and warnings are exactly those of ``Anonymizer.check`` on the same day."""
    store = _blocked_store()
    verdict = Anonymizer(store.unit_of_work).check("m1", as_of=b.TODAY)
    shown = preview_anonymization(store.unit_of_work, "m1", as_of=b.TODAY)
    assert tuple(f.result for f in shown.blockers) == verdict.blockers
    assert tuple(f.result for f in shown.warnings) == verdict.warnings
    assert shown.as_of == verdict.as_of


def test_the_default_day_is_the_home_clubs_today() -> None:
    """Without ``as_of`` the clock's instant in the home club's zone gives the day."""
    clock = FixedClock(b.at("2026-11-27T23:30:00+00:00"))
    shown = preview_anonymization(_store().unit_of_work, "m1", clock=clock)
    assert shown.as_of == dt.date(2026, 11, 28)


def test_what_stays_is_counted() -> None:
    """Contracts, visits, bookings, money records, cases, invoices and other notes stay."""
    shown = preview_anonymization(_store().unit_of_work, "m1", as_of=b.TODAY)
    assert shown.eligible
    assert shown.kept == KeptRecords(
        contracts=1,
        visits=1,
        class_bookings=1,
        installments=1,
        purchases=1,
        wallets=1,
        collection_cases=1,
        invoices=1,
        receipts=1,
        notes=1,
    )
    assert shown.kept_lines == [
        "the member under the same id, so statistics stay right",
        "contracts: 1",
        "visits: 1, class bookings: 1",
        "installments: 1, purchases: 1, wallets: 1",
        "debt-collection cases: 1",
        "invoices: 1, receipts: 1 (unchanged, as issued)",
        "other notes: 1",
    ]


@pytest.mark.parametrize("delete_all_notes", [False, True])
def test_what_goes_is_what_an_anonymization_removes(delete_all_notes: bool) -> None:
    """The removed counts match the anonymization's with the same options."""
    store = _store(b.note("ng2-m1", member_id="m1", note_type=NoteType.GENERAL))
    options = AnonymizationOptions(delete_all_notes=delete_all_notes)
    shown = preview_anonymization(store.unit_of_work, "m1", as_of=b.TODAY, options=options)
    result = Anonymizer(store.unit_of_work, options=options).anonymize(
        "m1", actor="e1", as_of=b.TODAY
    )
    assert isinstance(result, Anonymized)
    removed = result.removed
    assert (shown.removed.photo, shown.removed.log_entries) == (
        removed.photo == 1,
        removed.log_entries,
    )
    assert (shown.removed.documents, shown.removed.measurements, shown.removed.exercises) == (
        removed.documents,
        removed.measurements,
        removed.exercises,
    )
    assert shown.removed.notes(delete_all_notes=delete_all_notes) == removed.notes
    assert shown.kept.notes == (0 if delete_all_notes else 2)
    notes_line = text("cli.preview.notes", "en", count=removed.notes)
    assert shown.removed_lines[5] == notes_line


def test_a_preview_changes_nothing() -> None:
    """The store's content is the same before and after a preview."""
    store = _store()
    before = store.snapshot()
    preview_anonymization(store.unit_of_work, "m1", as_of=b.TODAY)
    assert store.snapshot() == before


def test_an_unknown_member_is_reported() -> None:
    """A member id the store does not hold raises ``UnknownMemberError``."""
    with pytest.raises(UnknownMemberError):
        preview_anonymization(_store().unit_of_work, "nobody", as_of=b.TODAY)


def test_an_unknown_language_fails_before_reading() -> None:
    """A language the catalogue lacks raises before the store is read."""

    def unreachable() -> InMemoryStore:
        raise AssertionError("the store was opened")

    with pytest.raises(UnknownLanguageError):
        preview_anonymization(unreachable, "m1", lang="xx")  # type: ignore[arg-type]


def test_the_preview_is_frozen() -> None:
    """The result is an immutable value."""
    shown = preview_anonymization(_store().unit_of_work, "m1", as_of=b.TODAY)
    assert isinstance(shown, AnonymizationPreview)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        shown.language = "pl"  # type: ignore[misc]
