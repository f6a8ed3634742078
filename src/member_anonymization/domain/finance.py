"""Money matters: wallet, debt collection, installments, purchases, invoices."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import final

import attrs

from member_anonymization.domain import _checks as c
from member_anonymization.domain.values import ClubId, ContractId, MemberId, Money


@final
@attrs.frozen(kw_only=True)
class Wallet:
    """The member's prepaid balance (Portfel). A negative balance is a debt."""

    member_id: MemberId = attrs.field(metadata=c.check(c.ident))
    balance: Decimal = attrs.field(metadata=c.check(c.decimal))
    currency: str = attrs.field(metadata=c.check(c.currency))

    def __attrs_post_init__(self) -> None:
        c.check_fields(self)

    @property
    def money(self) -> Money:
        """The balance as :class:`Money`."""
        return Money(amount=self.balance, currency=self.currency)

    @property
    def has_funds(self) -> bool:
        """Whether money is left in the wallet (balance above zero)."""
        return self.balance > 0


@final
@attrs.frozen(kw_only=True)
class CollectionCase:
    """A debt-collection case file (kartoteka windykacji) in one club."""

    id: str = attrs.field(metadata=c.check(c.ident))
    member_id: MemberId = attrs.field(metadata=c.check(c.ident))
    club_id: ClubId = attrs.field(metadata=c.check(c.ident))
    opened_on: dt.date = attrs.field(metadata=c.check(c.day))
    closed_on: dt.date | None = attrs.field(default=None, metadata=c.check(c.optional(c.day)))

    def __attrs_post_init__(self) -> None:
        c.check_fields(self, *c.not_before(self, "closed_on", "opened_on"))

    def is_open_on(self, day: dt.date) -> bool:
        """Not closed as of ``day`` (no closing date, or closed after it)."""
        return self.closed_on is None or self.closed_on > day


@final
@attrs.frozen(kw_only=True)
class Installment:
    """One installment (rata) of a contract's payment plan."""

    id: str = attrs.field(metadata=c.check(c.ident))
    member_id: MemberId = attrs.field(metadata=c.check(c.ident))
    club_id: ClubId = attrs.field(metadata=c.check(c.ident))
    due_on: dt.date = attrs.field(metadata=c.check(c.day))
    amount: Decimal = attrs.field(metadata=c.check(c.non_negative_decimal))
    currency: str = attrs.field(metadata=c.check(c.currency))
    contract_id: ContractId | None = attrs.field(
        default=None, metadata=c.check(c.optional(c.ident))
    )
    paid_on: dt.date | None = attrs.field(default=None, metadata=c.check(c.optional(c.day)))

    def __attrs_post_init__(self) -> None:
        c.check_fields(self)

    def is_overdue_on(self, day: dt.date) -> bool:
        """Due before ``day`` and not paid by ``day`` (an arrear)."""
        unpaid = self.paid_on is None or self.paid_on > day
        return unpaid and self.due_on < day


@final
@attrs.frozen(kw_only=True)
class Purchase:
    """Something the member bought in a club (a drink, a towel, a session)."""

    id: str = attrs.field(metadata=c.check(c.ident))
    member_id: MemberId = attrs.field(metadata=c.check(c.ident))
    club_id: ClubId = attrs.field(metadata=c.check(c.ident))
    bought_at: dt.datetime = attrs.field(metadata=c.check(c.instant))
    description: str = attrs.field(metadata=c.check(c.any_text))
    amount: Decimal = attrs.field(metadata=c.check(c.non_negative_decimal))
    currency: str = attrs.field(metadata=c.check(c.currency))
    paid: bool = attrs.field(metadata=c.check(c.boolean))

    def __attrs_post_init__(self) -> None:
        c.check_fields(self)


@final
@attrs.frozen(kw_only=True)
class Buyer:
    """The buyer as printed on an invoice when it was issued. Never changes."""

    name: str = attrs.field(repr=c.redacted, metadata=c.check(c.any_text))
    address: str = attrs.field(repr=c.redacted, metadata=c.check(c.any_text))
    tax_id: str | None = attrs.field(
        default=None, repr=c.redacted, metadata=c.check(c.optional(c.any_text))
    )

    def __attrs_post_init__(self) -> None:
        c.check_fields(self)


@final
@attrs.frozen(kw_only=True)
class InvoiceLine:
    """One line of an invoice."""

    description: str = attrs.field(metadata=c.check(c.any_text))
    quantity: Decimal = attrs.field(metadata=c.check(c.decimal))
    unit_price: Decimal = attrs.field(metadata=c.check(c.decimal))
    vat_rate: str = attrs.field(metadata=c.check(c.any_text))

    def __attrs_post_init__(self) -> None:
        c.check_fields(self)


@final
@attrs.frozen(kw_only=True)
class Invoice:
    """A VAT invoice (FV). Accounting law keeps it exactly as issued."""

    id: str = attrs.field(metadata=c.check(c.ident))
    number: str = attrs.field(metadata=c.check(c.any_text))
    member_id: MemberId = attrs.field(metadata=c.check(c.ident))
    club_id: ClubId = attrs.field(metadata=c.check(c.ident))
    issued_on: dt.date = attrs.field(metadata=c.check(c.day))
    buyer: Buyer = attrs.field(metadata=c.check(c.instance(Buyer)))
    lines: tuple[InvoiceLine, ...] = attrs.field(metadata=c.check(c.each(c.instance(InvoiceLine))))
    total: Decimal = attrs.field(metadata=c.check(c.decimal))
    currency: str = attrs.field(metadata=c.check(c.currency))

    def __attrs_post_init__(self) -> None:
        c.check_fields(self)


@final
@attrs.frozen(kw_only=True)
class Receipt:
    """A receipt (paragon). It keeps the contractor's name as issued."""

    id: str = attrs.field(metadata=c.check(c.ident))
    number: str = attrs.field(metadata=c.check(c.any_text))
    member_id: MemberId = attrs.field(metadata=c.check(c.ident))
    club_id: ClubId = attrs.field(metadata=c.check(c.ident))
    issued_at: dt.datetime = attrs.field(metadata=c.check(c.instant))
    contractor_name: str = attrs.field(repr=c.redacted, metadata=c.check(c.any_text))
    total: Decimal = attrs.field(metadata=c.check(c.decimal))
    currency: str = attrs.field(metadata=c.check(c.currency))

    def __attrs_post_init__(self) -> None:
        c.check_fields(self)
