"""What a member's profile shows before and after anonymization."""

from __future__ import annotations

import datetime as dt

from member_anonymization import Anonymized, Anonymizer
from member_anonymization.domain import ProfileTab
from member_anonymization.profile import HIDDEN_AFTER_ANONYMIZATION, invoice_list, visible_tabs
from member_anonymization.serialization import Dataset
from member_anonymization.testing import FixedClock
from tests import builders as b
from tests.backends import MakeStore


def anonymized(make_store: MakeStore, data: Dataset) -> Dataset:
    """The store's content after anonymizing m1 by e1."""
    store = make_store(data)
    result = Anonymizer(store.unit_of_work, clock=FixedClock(b.NOON_UTC)).anonymize(
        "m1", actor="e1"
    )
    assert isinstance(result, Anonymized)
    return store.snapshot()


def test_every_tab_is_visible_before_anonymization() -> None:
    """A member who was not anonymized shows every tab, in display order."""
    assert visible_tabs(b.member()) == tuple(ProfileTab)


def test_finances_log_and_documents_disappear_after_anonymization(make_store: MakeStore) -> None:
    """Once anonymized, the Finances, Log and Documents tabs are gone; the rest stay in order."""
    data = anonymized(make_store, b.dataset(*b.profile_records("m1")))
    (member,) = data.members
    tabs = visible_tabs(member)
    assert ProfileTab.FINANCES not in tabs
    assert ProfileTab.LOG not in tabs
    assert ProfileTab.DOCUMENTS not in tabs
    assert tabs == (
        ProfileTab.PERSONAL_DATA,
        ProfileTab.CONTRACTS,
        ProfileTab.VISITS,
        ProfileTab.CLASSES,
        ProfileTab.TRAINING,
        ProfileTab.NOTES,
    )
    assert frozenset(ProfileTab) - frozenset(tabs) == HIDDEN_AFTER_ANONYMIZATION


def test_invoice_list_shows_the_current_name_before_anonymization() -> None:
    """Before anonymization the list shows the member's real name and the invoice's buyer."""
    member = b.member()
    (row,) = invoice_list([b.invoice("f1")], member)
    assert row.member_name == b.FULL_NAME
    assert row.buyer == b.buyer()
    assert (row.invoice_id, row.number, row.member_id) == ("f1", "FV/f1", "m1")


def test_invoice_list_shows_the_anonymized_name_and_the_invoice_keeps_its_buyer(
    make_store: MakeStore,
) -> None:
    """After anonymization the list shows the new name; the invoice keeps the buyer as issued."""
    data = anonymized(make_store, b.dataset(*b.profile_records("m1")))
    (member,) = data.members
    (invoice,) = data.invoices
    assert invoice.buyer == b.buyer()
    assert invoice.buyer.name == b.FULL_NAME
    (row,) = invoice_list(data.invoices, member)
    assert row.member_name == member.personal.display_name
    assert row.member_name != b.FULL_NAME
    assert b.FIRST_NAME not in row.member_name
    assert row.buyer == invoice.buyer
    assert (row.total, row.currency, row.issued_on) == (
        invoice.total,
        invoice.currency,
        invoice.issued_on,
    )


def test_invoice_list_holds_only_the_members_invoices_in_date_order() -> None:
    """Other members' invoices are left out; rows come by issue date, then number."""
    invoices = [
        b.invoice("f3", number="FV/3", issued_on=dt.date(2020, 3, 1)),
        b.invoice("f9", member_id="m2", issued_on=dt.date(2019, 1, 1)),
        b.invoice("f2", number="FV/2", issued_on=dt.date(2020, 1, 1)),
        b.invoice("f1", number="FV/1", issued_on=dt.date(2020, 1, 1)),
    ]
    rows = invoice_list(invoices, b.member("m1"))
    assert [r.invoice_id for r in rows] == ["f1", "f2", "f3"]


def test_invoice_list_row_repr_hides_the_name() -> None:
    """A row's repr shows neither the member's name nor the buyer's."""
    (row,) = invoice_list([b.invoice()], b.member())
    for value in (b.FIRST_NAME, b.LAST_NAME, b.STREET):
        assert value not in repr(row)
