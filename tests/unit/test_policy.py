"""The blocker policy, edge by edge: every blocker and warning of the domain rules."""

from __future__ import annotations

import datetime as dt
import typing
from decimal import Decimal
from typing import Any

import attrs
import pytest

from member_anonymization import Anonymizer, Refused
from member_anonymization.domain import Club, InvalidRecordError, Member
from member_anonymization.errors import UnknownClubError
from member_anonymization.policy import (
    BLOCKER_CODES,
    WARNING_CODES,
    ActiveContract,
    AlreadyAnonymized,
    AnonymizationWarning,
    Arrears,
    ArrearsUnderCollection,
    Blocker,
    Eligibility,
    FutureContract,
    MemberFacts,
    OpenCollectionCase,
    ProcessingRestricted,
    UnpaidPurchases,
    WalletFunds,
    evaluate,
)
from member_anonymization.testing import FixedClock, InMemoryStore
from tests import builders as b
from tests.backends import MakeStore

TODAY = b.TODAY
YESTERDAY = b.YESTERDAY
TOMORROW = b.TOMORROW
LONG_AGO = dt.date(2019, 1, 1)

WITH_COLLECTION = b.club("c1", uses_debt_collection=True)
WITHOUT_COLLECTION = b.club("c2", uses_debt_collection=False)
NETWORK_CLUBS = b.clubs(WITH_COLLECTION, WITHOUT_COLLECTION)


def check(
    *records: Any,
    member: Member | None = None,
    clubs: dict[str, Club] | None = None,
    as_of: dt.date = TODAY,
) -> Eligibility:
    """The verdict for the default member (home club c1) with ``records`` on ``as_of``."""
    return evaluate(
        b.facts(member, *records), clubs=NETWORK_CLUBS if clubs is None else clubs, as_of=as_of
    )


def only_blocker(verdict: Eligibility) -> Blocker:
    """The single blocker of a verdict (fails when there are more or none)."""
    assert len(verdict.blockers) == 1, verdict.blocker_codes
    return verdict.blockers[0]


def test_no_records_is_eligible() -> None:
    """A member with nothing open may be anonymized and gets no warning."""
    verdict = check()
    assert verdict.eligible
    assert verdict.blockers == ()
    assert verdict.warnings == ()
    assert verdict.member_id == "m1"
    assert verdict.as_of == TODAY


def test_only_old_and_settled_records_is_eligible() -> None:
    """An ended contract, a closed case, an empty wallet, paid debts: nothing applies."""
    verdict = check(
        b.contract(start=LONG_AGO, end=dt.date(2019, 12, 31)),
        b.collection_case(closed_on=dt.date(2020, 6, 30)),
        b.wallet("0.00"),
        b.installment(due_on=dt.date(2019, 2, 10), paid_on=dt.date(2019, 2, 9)),
        b.purchase(paid=True),
    )
    assert verdict.eligible
    assert verdict.warnings == ()


# -- contracts -------------------------------------------------------------------------------


def test_contract_ending_today_is_active() -> None:
    """A contract whose last day is today blocks as active, with its dates."""
    blocker = only_blocker(check(b.contract("k1", start=LONG_AGO, end=TODAY)))
    assert blocker == ActiveContract(
        contract_id="k1", club_id="c1", start=LONG_AGO, effective_end=TODAY
    )


def test_contract_ending_yesterday_blocks_nothing() -> None:
    """A contract that ended yesterday is over."""
    assert check(b.contract(start=LONG_AGO, end=YESTERDAY)).eligible


def test_contract_starting_today_is_active_not_future() -> None:
    """A contract starting today is active, not future."""
    verdict = check(b.contract("k1", start=TODAY, end=None))
    assert verdict.blocker_codes == ("active_contract",)


def test_contract_starting_tomorrow_is_future() -> None:
    """A contract starting tomorrow blocks as future, with its start."""
    blocker = only_blocker(check(b.contract("k1", start=TOMORROW, end=None)))
    assert blocker == FutureContract(contract_id="k1", club_id="c1", start=TOMORROW)


def test_open_ended_contract_is_active() -> None:
    """A contract without an end date runs forever."""
    blocker = only_blocker(check(b.contract("k1", start=LONG_AGO, end=None)))
    assert blocker == ActiveContract(
        contract_id="k1", club_id="c1", start=LONG_AGO, effective_end=None
    )


def test_contract_terminated_early_ends_on_its_termination() -> None:
    """The effective end is the termination date: it blocks on that day, not after."""
    running = b.contract("k1", start=LONG_AGO, end=dt.date(2027, 12, 31), terminated_on=TODAY)
    blocker = only_blocker(check(running))
    assert isinstance(blocker, ActiveContract)
    assert blocker.effective_end == TODAY
    ended = b.contract("k1", start=LONG_AGO, end=dt.date(2027, 12, 31), terminated_on=YESTERDAY)
    assert check(ended).eligible


def test_open_ended_contract_terminated_yesterday_blocks_nothing() -> None:
    """Terminating an open-ended contract ends it."""
    assert check(b.contract(start=LONG_AGO, end=None, terminated_on=YESTERDAY)).eligible


def test_contract_terminated_before_its_start_blocks_nothing() -> None:
    """A cancelled contract blocks nothing, even when its dates span today."""
    cancelled = b.contract(
        start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31), terminated_on=dt.date(2025, 12, 20)
    )
    assert check(cancelled).eligible


def test_future_contract_terminated_before_its_start_blocks_nothing() -> None:
    """A cancelled contract that would start in the future is not a future contract."""
    cancelled = b.contract(start=dt.date(2027, 1, 1), end=None, terminated_on=TODAY)
    assert check(cancelled).eligible


def test_future_contract_terminated_on_its_start_still_blocks() -> None:
    """Termination on the start day is not a cancellation: the contract still lies ahead."""
    start = dt.date(2027, 1, 1)
    verdict = check(b.contract(start=start, end=None, terminated_on=start))
    assert verdict.blocker_codes == ("future_contract",)


def test_contract_in_another_club_of_the_network_blocks() -> None:
    """Contracts count in every club of the network, not only the home club."""
    verdict = check(
        b.contract("k2", club_id="c2", start=LONG_AGO, end=None),
        b.contract("k3", club_id="c2", start=TOMORROW, end=None),
    )
    assert verdict.blockers == (
        ActiveContract(contract_id="k2", club_id="c2", start=LONG_AGO, effective_end=None),
        FutureContract(contract_id="k3", club_id="c2", start=TOMORROW),
    )


def test_every_running_contract_is_reported() -> None:
    """Two active contracts give two blockers, oldest first, and one code."""
    verdict = check(
        b.contract("kb", start=dt.date(2026, 6, 1), end=None),
        b.contract("ka", start=dt.date(2025, 6, 1), end=None),
    )
    assert [getattr(x, "contract_id", None) for x in verdict.blockers] == ["ka", "kb"]
    assert verdict.blocker_codes == ("active_contract",)


# -- collection cases --------------------------------------------------------------------------


def test_open_collection_case_in_another_club_blocks() -> None:
    """A case never closed, in any club of the network, blocks."""
    blocker = only_blocker(
        check(b.collection_case("w9", club_id="c2", opened_on=LONG_AGO, closed_on=None))
    )
    assert blocker == OpenCollectionCase(case_id="w9", club_id="c2", opened_on=LONG_AGO)


@pytest.mark.parametrize(
    ("closed_on", "blocks"),
    [
        pytest.param(YESTERDAY, False, id="closed-yesterday"),
        pytest.param(TODAY, False, id="closed-today"),
        pytest.param(TOMORROW, True, id="closes-tomorrow"),
        pytest.param(None, True, id="not-closed"),
    ],
)
def test_collection_case_closed_on(closed_on: dt.date | None, blocks: bool) -> None:
    """A case blocks unless it was closed on or before D."""
    verdict = check(b.collection_case(opened_on=LONG_AGO, closed_on=closed_on))
    assert verdict.blocker_codes == (("open_collection_case",) if blocks else ())


# -- wallet ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("balance", "blocks"),
    [("0.00", False), ("0.01", True), ("-0.01", False), ("-250.00", False), ("1000.00", True)],
)
def test_wallet_balance(balance: str, blocks: bool) -> None:
    """Funds above zero block; an empty or negative wallet does not."""
    verdict = check(b.wallet(balance))
    if blocks:
        assert only_blocker(verdict) == WalletFunds(amount=Decimal(balance), currency="PLN")
    else:
        assert verdict.eligible


def test_several_wallets_are_reported_per_currency() -> None:
    """Each currency with funds is a blocker of its own, in currency order."""
    verdict = check(b.wallet("5.00", currency="PLN"), b.wallet("0.10", currency="EUR"))
    assert verdict.blockers == (
        WalletFunds(amount=Decimal("0.10"), currency="EUR"),
        WalletFunds(amount=Decimal("5.00"), currency="PLN"),
    )


def test_an_empty_wallet_beside_a_full_one_still_blocks() -> None:
    """Only the wallet with funds is reported."""
    verdict = check(b.wallet("0.00", currency="PLN"), b.wallet("3.00", currency="EUR"))
    assert verdict.blockers == (WalletFunds(amount=Decimal("3.00"), currency="EUR"),)


# -- installments ----------------------------------------------------------------------------


def test_installment_due_today_is_not_overdue() -> None:
    """Due today is not yet an arrear, in either kind of club."""
    verdict = check(
        b.installment("i1", club_id="c1", due_on=TODAY),
        b.installment("i2", club_id="c2", due_on=TODAY),
    )
    assert verdict.eligible
    assert verdict.warnings == ()


def test_overdue_installment_in_a_club_with_debt_collection_blocks() -> None:
    """Arrears in a club that uses debt collection belong to collection: a blocker."""
    verdict = check(b.installment("i1", club_id="c1", due_on=YESTERDAY, amount="129.00"))
    assert only_blocker(verdict) == ArrearsUnderCollection(
        club_id="c1", amount=Decimal("129.00"), currency="PLN", installment_ids=("i1",)
    )
    assert verdict.warnings == ()


def test_overdue_installment_in_a_club_without_debt_collection_warns() -> None:
    """Arrears in a club without debt collection only warn."""
    verdict = check(b.installment("i1", club_id="c2", due_on=YESTERDAY, amount="129.00"))
    assert verdict.eligible
    assert verdict.warnings == (
        Arrears(club_id="c2", amount=Decimal("129.00"), currency="PLN", installment_ids=("i1",)),
    )


def test_installment_paid_after_d_counts_as_unpaid_at_d() -> None:
    """Looking back at D, a payment made after D had not happened yet."""
    item = b.installment("i1", club_id="c1", due_on=dt.date(2026, 11, 1), paid_on=TOMORROW)
    assert check(item).blocker_codes == ("arrears_under_collection",)
    paid_today = b.installment("i1", club_id="c1", due_on=dt.date(2026, 11, 1), paid_on=TODAY)
    assert check(paid_today).eligible


def test_arrears_in_two_clubs_one_of_each_kind() -> None:
    """Each club decides for its own arrears: a blocker in c1 and a warning in c2."""
    verdict = check(
        b.installment("i1", club_id="c1", due_on=YESTERDAY, amount="100.00"),
        b.installment("i2", club_id="c2", due_on=YESTERDAY, amount="50.00"),
    )
    assert verdict.blockers == (
        ArrearsUnderCollection(
            club_id="c1", amount=Decimal("100.00"), currency="PLN", installment_ids=("i1",)
        ),
    )
    assert verdict.warnings == (
        Arrears(club_id="c2", amount=Decimal("50.00"), currency="PLN", installment_ids=("i2",)),
    )


def test_arrears_are_totalled_per_club_and_currency() -> None:
    """Overdue installments add up per club and currency, ids sorted; paid ones left out."""
    verdict = check(
        b.installment("i3", club_id="c2", due_on=dt.date(2026, 10, 1), amount="10.00"),
        b.installment("i1", club_id="c2", due_on=dt.date(2026, 9, 1), amount="20.50"),
        b.installment(
            "i2", club_id="c2", due_on=dt.date(2026, 9, 1), amount="5.00", currency="EUR"
        ),
        b.installment("i4", club_id="c2", due_on=dt.date(2026, 9, 1), paid_on=dt.date(2026, 9, 2)),
    )
    assert verdict.warnings == (
        Arrears(club_id="c2", amount=Decimal("5.00"), currency="EUR", installment_ids=("i2",)),
        Arrears(
            club_id="c2", amount=Decimal("30.50"), currency="PLN", installment_ids=("i1", "i3")
        ),
    )


def test_overdue_installment_in_an_unknown_club_raises_unknown_club_error() -> None:
    """The caller must hand over every club an installment refers to; the error is typed."""
    with pytest.raises(UnknownClubError) as caught:
        check(b.installment(club_id="c9", due_on=YESTERDAY))
    assert caught.value.club_id == "c9"


# -- purchases ---------------------------------------------------------------------------------


def test_unpaid_purchases_warn_per_club_and_currency() -> None:
    """Unpaid purchases give one warning per club and currency, with totals and ids."""
    verdict = check(
        b.purchase("p2", club_id="c1", amount="4.00"),
        b.purchase("p1", club_id="c1", amount="6.50"),
        b.purchase("p3", club_id="c2", amount="12.00"),
        b.purchase("p4", club_id="c2", amount="3.00", currency="EUR"),
        b.purchase("p5", club_id="c1", amount="99.00", paid=True),
    )
    assert verdict.eligible
    assert verdict.warnings == (
        UnpaidPurchases(
            club_id="c1", amount=Decimal("10.50"), currency="PLN", purchase_ids=("p1", "p2")
        ),
        UnpaidPurchases(club_id="c2", amount=Decimal("3.00"), currency="EUR", purchase_ids=("p4",)),
        UnpaidPurchases(
            club_id="c2", amount=Decimal("12.00"), currency="PLN", purchase_ids=("p3",)
        ),
    )


def test_paid_purchases_do_not_warn() -> None:
    """Paid purchases leave no trace in the verdict."""
    assert check(b.purchase(paid=True)).warnings == ()


def test_warnings_come_in_the_documented_order() -> None:
    """Unpaid purchases come before arrears."""
    verdict = check(
        b.installment("i1", club_id="c2", due_on=YESTERDAY),
        b.purchase("p1", club_id="c2"),
    )
    assert verdict.warning_codes == WARNING_CODES == ("unpaid_purchases", "arrears")


# -- the member's own state ---------------------------------------------------------------------


def test_restrict_processing_blocks() -> None:
    """With "restrict processing" on, anonymization is refused."""
    verdict = check(member=b.member(restrict_processing=True))
    assert verdict.blockers == (ProcessingRestricted(),)


def test_already_anonymized_blocks() -> None:
    """A member anonymized before is not anonymized again."""
    when = dt.datetime(2025, 3, 1, 9, tzinfo=dt.UTC)
    verdict = check(member=b.member(anonymized_at=when))
    assert verdict.blockers == (AlreadyAnonymized(anonymized_at=when),)


LATE_EVENING_UTC = dt.datetime(2026, 11, 27, 23, 30, tzinfo=dt.UTC)
"""Half past midnight in Warsaw (UTC+1 in November): already the next day there."""


@pytest.mark.parametrize(
    ("tz", "local_day"),
    [
        ("Europe/Warsaw", dt.date(2026, 11, 28)),
        ("UTC", dt.date(2026, 11, 27)),
        ("America/New_York", dt.date(2026, 11, 27)),
    ],
)
def test_already_anonymized_shows_the_home_clubs_date(tz: str, local_day: dt.date) -> None:
    """The date of an anonymization at 23:30 UTC is the home club's calendar date."""
    member = b.member(anonymized_at=LATE_EVENING_UTC)
    verdict = check(member=member, clubs=b.clubs(b.club("c1", tz=tz)), as_of=local_day)
    (blocker,) = verdict.blockers
    assert isinstance(blocker, AlreadyAnonymized)
    assert blocker.anonymized_at == LATE_EVENING_UTC
    assert blocker.anonymized_on == local_day
    assert blocker.message() == f"The member is already anonymized ({local_day.isoformat()})."
    assert blocker.message("pl") == (
        f"Klubowicz jest już zanonimizowany ({local_day.isoformat()})."
    )


def test_already_anonymized_needs_the_home_club() -> None:
    """Its date is the home club's: a home club missing from the network is a typed error."""
    member = b.member(home_club_id="c9", anonymized_at=LATE_EVENING_UTC)
    with pytest.raises(UnknownClubError) as caught:
        check(member=member)
    assert caught.value.club_id == "c9"


def test_a_check_just_after_a_late_anonymization_agrees_with_its_date() -> None:
    """Anonymized at 23:30 UTC, checked at once: the message shows as_of, the Warsaw date."""
    store = InMemoryStore(b.dataset(b.club(tz="Europe/Warsaw"), b.employee(), b.member()))
    anonymizer = Anonymizer(store.unit_of_work, clock=FixedClock(LATE_EVENING_UTC))
    assert anonymizer.anonymize("m1", actor="e1").status == "anonymized"
    verdict = anonymizer.check("m1")
    assert verdict.as_of == dt.date(2026, 11, 28)
    assert [blocker.message() for blocker in verdict.blockers] == [
        "The member is already anonymized (2026-11-28)."
    ]


# -- everything at once ---------------------------------------------------------------------------


def everything_facts() -> MemberFacts:
    """Facts where every blocker and every warning applies."""
    return b.facts(
        b.member(restrict_processing=True, anonymized_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC)),
        b.installment("i1", club_id="c1", due_on=YESTERDAY),
        b.installment("i2", club_id="c2", due_on=YESTERDAY),
        b.purchase("p1", club_id="c2"),
        b.wallet("0.01"),
        b.collection_case("w1", club_id="c2", opened_on=LONG_AGO, closed_on=None),
        b.contract("k2", start=TOMORROW, end=None),
        b.contract("k1", start=LONG_AGO, end=None),
    )


def test_every_blocker_is_reported_in_the_documented_order() -> None:
    """All blockers come together, in the order of the domain rules' table."""
    verdict = evaluate(everything_facts(), clubs=NETWORK_CLUBS, as_of=TODAY)
    documented = (
        "active_contract",
        "future_contract",
        "open_collection_case",
        "wallet_funds",
        "processing_restricted",
        "already_anonymized",
        "arrears_under_collection",
    )
    assert documented == BLOCKER_CODES
    assert tuple(x.code for x in verdict.blockers) == documented
    assert verdict.warning_codes == ("unpaid_purchases", "arrears")
    assert not verdict.eligible


def test_policy_is_deterministic_whatever_the_record_order() -> None:
    """The same facts in another order give the same verdict."""
    facts = everything_facts()
    shuffled = attrs.evolve(
        facts,
        contracts=facts.contracts[::-1],
        installments=facts.installments[::-1],
    )
    assert evaluate(facts, clubs=NETWORK_CLUBS, as_of=TODAY) == evaluate(
        shuffled, clubs=NETWORK_CLUBS, as_of=TODAY
    )


def test_eligibility_properties() -> None:
    """``eligible``, ``blocker_codes`` and ``warning_codes`` summarise the results."""
    blocked = Eligibility(
        member_id="m1",
        as_of=TODAY,
        blockers=(
            WalletFunds(amount=Decimal(1), currency="EUR"),
            ProcessingRestricted(),
            WalletFunds(amount=Decimal(1), currency="PLN"),
        ),
    )
    assert not blocked.eligible
    assert blocked.blocker_codes == ("wallet_funds", "processing_restricted")
    assert blocked.warning_codes == ()
    warned = Eligibility(
        member_id="m1",
        as_of=TODAY,
        warnings=(
            Arrears(club_id="c2", amount=Decimal(1), currency="PLN", installment_ids=("i1",)),
            Arrears(club_id="c3", amount=Decimal(1), currency="PLN", installment_ids=("i2",)),
        ),
    )
    assert warned.eligible
    assert warned.blocker_codes == ()
    assert warned.warning_codes == ("arrears",)


# -- result types: codes, messages, match ----------------------------------------------------------


def all_results() -> list[Blocker | AnonymizationWarning]:
    """One result of every kind, as the policy produces them."""
    verdict = evaluate(everything_facts(), clubs=NETWORK_CLUBS, as_of=TODAY)
    return [*verdict.blockers, *verdict.warnings]


def test_result_classes_cover_every_code() -> None:
    """Each code has exactly one result class, and the policy can produce each."""
    classes = [*typing.get_args(Blocker), *typing.get_args(AnonymizationWarning)]
    assert [cls.code for cls in classes] == [*BLOCKER_CODES, *WARNING_CODES]
    assert {r.code for r in all_results()} == {*BLOCKER_CODES, *WARNING_CODES}


@pytest.mark.parametrize("index", range(len(BLOCKER_CODES) + len(WARNING_CODES)))
def test_messages_exist_in_english_and_polish_without_personal_data(index: int) -> None:
    """Every result has distinct English and Polish messages that hold no personal data."""
    result = all_results()[index]
    english = result.message("en")
    polish = result.message("pl")
    assert english == result.message()
    assert english.strip()
    assert polish.strip()
    assert english != polish
    for text in (english, polish, repr(result)):
        for value in b.PERSONAL_VALUES:
            assert value not in text


def test_messages_name_the_records_they_are_about() -> None:
    """Messages carry ids, dates and amounts so that staff can act on them."""
    active = ActiveContract(contract_id="k7", club_id="c3", start=LONG_AGO, effective_end=None)
    for lang in ("en", "pl"):
        assert "k7" in active.message(lang)
        assert "c3" in active.message(lang)
        assert "2019-01-01" in active.message(lang)
    assert "open-ended" in active.message("en")
    assert "bezterminowo" in active.message("pl")
    funds = WalletFunds(amount=Decimal("12.50"), currency="PLN")
    assert "12.50 PLN" in funds.message("en")
    assert "Portfel" in funds.message("pl")


def describe(result: Blocker | AnonymizationWarning) -> str:
    """A caller's ``match`` over every result class."""
    match result:
        case ActiveContract(contract_id=cid, effective_end=None):
            return f"open-ended {cid}"
        case ActiveContract(contract_id=cid):
            return f"active {cid}"
        case FutureContract(contract_id=cid, start=start):
            return f"future {cid} {start}"
        case OpenCollectionCase(case_id=case_id, club_id=club_id):
            return f"case {case_id} {club_id}"
        case WalletFunds(amount=amount, currency=currency):
            return f"wallet {amount} {currency}"
        case ProcessingRestricted():
            return "restricted"
        case AlreadyAnonymized():
            return "anonymized"
        case ArrearsUnderCollection(club_id=club_id, installment_ids=ids):
            return f"collection {club_id} {','.join(ids)}"
        case UnpaidPurchases(club_id=club_id, purchase_ids=ids):
            return f"purchases {club_id} {','.join(ids)}"
        case Arrears(club_id=club_id, installment_ids=ids):
            return f"arrears {club_id} {','.join(ids)}"
    raise AssertionError("unreachable")


def test_match_on_result_classes() -> None:
    """Callers can ``match`` on the result classes and their fields."""
    assert [describe(r) for r in all_results()] == [
        "open-ended k1",
        "future k2 2026-11-28",
        "case w1 c2",
        "wallet 0.01 PLN",
        "restricted",
        "anonymized",
        "collection c1 i1",
        "purchases c2 p1",
        "arrears c2 i2",
    ]


def test_results_are_immutable_values() -> None:
    """Results compare by value and cannot be changed."""
    a = FutureContract(contract_id="k1", club_id="c1", start=TOMORROW)
    assert a == FutureContract(contract_id="k1", club_id="c1", start=TOMORROW)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        a.contract_id = "k2"  # type: ignore[misc]


# -- the facts object -----------------------------------------------------------------------------


def test_facts_refuse_a_record_of_another_member() -> None:
    """Facts must belong to their member; a stray record is an error naming the field."""
    with pytest.raises(InvalidRecordError) as info:
        b.facts(b.member("m1"), b.contract(member_id="m2"), b.purchase(member_id="m3"))
    assert info.value.record_type == "MemberFacts"
    assert [p.field for p in info.value.problems] == ["contracts", "purchases"]


def test_facts_refuse_records_of_the_wrong_kind() -> None:
    """Each tuple of the facts holds only its own kind of record."""
    with pytest.raises(InvalidRecordError) as info:
        MemberFacts(member=b.member(), wallets=(b.purchase(),))  # type: ignore[arg-type]
    assert [p.field for p in info.value.problems] == ["wallets"]


# -- "today" is the club's local date ------------------------------------------------------------


def test_late_evening_utc_is_already_tomorrow_in_warsaw(make_store: MakeStore) -> None:
    """At 23:30 UTC on Nov 27 it is Nov 28 in Warsaw: a contract ending Nov 27 is over."""
    data = b.dataset(
        b.club("c1", tz="Europe/Warsaw"),
        b.contract("k1", start=LONG_AGO, end=dt.date(2026, 11, 27)),
    )
    store = make_store(data)
    clock = FixedClock(dt.datetime(2026, 11, 27, 23, 30, tzinfo=dt.UTC))
    verdict = Anonymizer(store.unit_of_work, clock=clock).check("m1")
    assert verdict.as_of == dt.date(2026, 11, 28)
    assert verdict.eligible


def test_just_before_local_midnight_it_is_still_today(make_store: MakeStore) -> None:
    """At 22:59 UTC it is 23:59 in Warsaw: the contract ending that day still blocks."""
    data = b.dataset(
        b.club("c1", tz="Europe/Warsaw"),
        b.contract("k1", start=LONG_AGO, end=dt.date(2026, 11, 27)),
    )
    store = make_store(data)
    clock = FixedClock(dt.datetime(2026, 11, 27, 22, 59, tzinfo=dt.UTC))
    anonymizer = Anonymizer(store.unit_of_work, clock=clock)
    verdict = anonymizer.check("m1")
    assert verdict.as_of == dt.date(2026, 11, 27)
    assert verdict.blocker_codes == ("active_contract",)
    result = anonymizer.anonymize("m1", actor="e1")
    assert isinstance(result, Refused)
    assert result.as_of == dt.date(2026, 11, 27)


def test_the_home_club_time_zone_decides(make_store: MakeStore) -> None:
    """The home club's zone sets "today", even for a contract in a club elsewhere."""
    data = b.dataset(
        b.club("c1", tz="UTC"),
        b.club("c2", tz="Europe/Warsaw"),
        b.contract("k1", club_id="c2", start=LONG_AGO, end=dt.date(2026, 11, 27)),
    )
    store = make_store(data)
    clock = FixedClock(dt.datetime(2026, 11, 27, 23, 30, tzinfo=dt.UTC))
    verdict = Anonymizer(store.unit_of_work, clock=clock).check("m1")
    assert verdict.as_of == dt.date(2026, 11, 27)
    assert verdict.blocker_codes == ("active_contract",)


def test_an_explicit_date_overrides_the_clock(make_store: MakeStore) -> None:
    """``as_of`` given by the caller wins over the clock."""
    store = make_store(b.dataset(b.contract("k1", start=LONG_AGO, end=dt.date(2026, 11, 27))))
    clock = FixedClock(dt.datetime(2026, 11, 27, 23, 30, tzinfo=dt.UTC))
    verdict = Anonymizer(store.unit_of_work, clock=clock).check("m1", as_of=dt.date(2026, 11, 27))
    assert verdict.as_of == dt.date(2026, 11, 27)
    assert verdict.blocker_codes == ("active_contract",)
