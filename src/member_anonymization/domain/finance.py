"""Money matters: wallet, debt collection, installments, purchases, invoices."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import final

import attrs

from member_anonymization.domain import _checks as c
from member_anonymization.domain.members import _redacted
from member_anonymization.domain.values import ClubId, ContractId, MemberId, Money


@final
@attrs.frozen(kw_only=True)
class Wallet:
    """The member's prepaid balance (Portfel). A negative balance is a debt."""

    member_id: MemberId
    balance: Decimal
    currency: str

    def __attrs_post_init__(self) -> None:
        c.validate(
            self,
            (("member_id", c.ident), ("balance", c.decimal), ("currency", c.currency)),
        )

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

    id: str
    member_id: MemberId
    club_id: ClubId
    opened_on: dt.date
    closed_on: dt.date | None = None

    def __attrs_post_init__(self) -> None:
        c.validate(
            self,
            (
                ("id", c.ident),
                ("member_id", c.ident),
                ("club_id", c.ident),
                ("opened_on", c.day),
                ("closed_on", c.optional(c.day)),
            ),
            *c.not_before(self, "closed_on", "opened_on"),
        )

    def is_open_on(self, day: dt.date) -> bool:
        """Not closed as of ``day`` (no closing date, or closed after it)."""
        return self.closed_on is None or self.closed_on > day


@final
@attrs.frozen(kw_only=True)
class Installment:
    """One installment (rata) of a contract's payment plan."""

    id: str
    member_id: MemberId
    club_id: ClubId
    due_on: dt.date
    amount: Decimal
    currency: str
    contract_id: ContractId | None = None
    paid_on: dt.date | None = None

    def __attrs_post_init__(self) -> None:
        c.validate(
            self,
            (
                ("id", c.ident),
                ("member_id", c.ident),
                ("club_id", c.ident),
                ("due_on", c.day),
                ("amount", c.non_negative_decimal),
                ("currency", c.currency),
                ("contract_id", c.optional(c.ident)),
                ("paid_on", c.optional(c.day)),
            ),
        )

    def is_overdue_on(self, day: dt.date) -> bool:
        """Due before ``day`` and not paid by ``day`` (an arrear)."""
        unpaid = self.paid_on is None or self.paid_on > day
        return unpaid and self.due_on < day


@final
@attrs.frozen(kw_only=True)
class Purchase:
    """Something the member bought in a club (a drink, a towel, a session)."""

    id: str
    member_id: MemberId
    club_id: ClubId
    bought_at: dt.datetime
    description: str
    amount: Decimal
    currency: str
    paid: bool

    def __attrs_post_init__(self) -> None:
        c.validate(
            self,
            (
                ("id", c.ident),
                ("member_id", c.ident),
                ("club_id", c.ident),
                ("bought_at", c.instant),
                ("description", c.any_text),
                ("amount", c.non_negative_decimal),
                ("currency", c.currency),
                ("paid", c.boolean),
            ),
        )


@final
@attrs.frozen(kw_only=True)
class Buyer:
    """The buyer as printed on an invoice when it was issued. Never changes."""

    name: str = attrs.field(repr=_redacted)
    address: str = attrs.field(repr=_redacted)
    tax_id: str | None = attrs.field(default=None, repr=_redacted)

    def __attrs_post_init__(self) -> None:
        c.validate(
            self,
            (
                ("name", c.any_text),
                ("address", c.any_text),
                ("tax_id", c.optional(c.any_text)),
            ),
        )


@final
@attrs.frozen(kw_only=True)
class InvoiceLine:
    """One line of an invoice."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    vat_rate: str

    def __attrs_post_init__(self) -> None:
        c.validate(
            self,
            (
                ("description", c.any_text),
                ("quantity", c.decimal),
                ("unit_price", c.decimal),
                ("vat_rate", c.text),
            ),
        )


@final
@attrs.frozen(kw_only=True)
class Invoice:
    """A VAT invoice (FV). Accounting law keeps it exactly as issued."""

    id: str
    number: str
    member_id: MemberId
    club_id: ClubId
    issued_on: dt.date
    buyer: Buyer
    lines: tuple[InvoiceLine, ...]
    total: Decimal
    currency: str

    def __attrs_post_init__(self) -> None:
        c.validate(
            self,
            (
                ("id", c.ident),
                ("number", c.text),
                ("member_id", c.ident),
                ("club_id", c.ident),
                ("issued_on", c.day),
                ("buyer", c.instance(Buyer)),
                ("lines", c.each(c.instance(InvoiceLine))),
                ("total", c.decimal),
                ("currency", c.currency),
            ),
        )


@final
@attrs.frozen(kw_only=True)
class Receipt:
    """A receipt (paragon). It keeps the contractor's name as issued."""

    id: str
    number: str
    member_id: MemberId
    club_id: ClubId
    issued_at: dt.datetime
    contractor_name: str = attrs.field(repr=_redacted)
    total: Decimal
    currency: str

    def __attrs_post_init__(self) -> None:
        c.validate(
            self,
            (
                ("id", c.ident),
                ("number", c.text),
                ("member_id", c.ident),
                ("club_id", c.ident),
                ("issued_at", c.instant),
                ("contractor_name", c.any_text),
                ("total", c.decimal),
                ("currency", c.currency),
            ),
        )
