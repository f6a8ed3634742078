"""What a member's profile shows, before and after anonymization."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import final

import attrs

from member_anonymization.domain import Buyer, Invoice, Member, ProfileTab

__all__ = ["HIDDEN_AFTER_ANONYMIZATION", "InvoiceListRow", "invoice_list", "visible_tabs"]

HIDDEN_AFTER_ANONYMIZATION: frozenset[ProfileTab] = frozenset(
    {ProfileTab.FINANCES, ProfileTab.LOG, ProfileTab.DOCUMENTS}
)
"""The tabs that disappear from an anonymized member's profile."""


def visible_tabs(member: Member) -> tuple[ProfileTab, ...]:
    """The profile tabs the member still shows, in display order.

    Finances, Log and Documents disappear once the member is anonymized.
    """
    hidden = HIDDEN_AFTER_ANONYMIZATION if member.is_anonymized else frozenset()
    return tuple(tab for tab in ProfileTab if tab not in hidden)


@final
@attrs.frozen(kw_only=True)
class InvoiceListRow:
    """One row of the invoice list.

    Attributes:
        member_name: The member's *current* name (anonymized once they are).
        buyer: The buyer exactly as printed on the invoice when issued.
    """

    invoice_id: str
    number: str
    issued_on: dt.date
    total: Decimal
    currency: str
    member_id: str
    member_name: str = attrs.field(repr=False)
    buyer: Buyer


def invoice_list(invoices: Iterable[Invoice], member: Member) -> list[InvoiceListRow]:
    """The member's invoices as the invoice list shows them.

    The list shows the member's current name; each invoice itself keeps the
    buyer it was issued to, as accounting law requires.
    """
    return [
        InvoiceListRow(
            invoice_id=invoice.id,
            number=invoice.number,
            issued_on=invoice.issued_on,
            total=invoice.total,
            currency=invoice.currency,
            member_id=member.id,
            member_name=member.personal.display_name,
            buyer=invoice.buyer,
        )
        for invoice in sorted(invoices, key=lambda i: (i.issued_on, i.number))
        if invoice.member_id == member.id
    ]
