"""Small value types shared by the domain records."""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import TypeAlias, final

import attrs

from member_anonymization.domain import _checks as c

MemberId: TypeAlias = str
ClubId: TypeAlias = str
EmployeeId: TypeAlias = str
ContractId: TypeAlias = str


class Permission(enum.Enum):
    """What an employee's role allows (set in employee roles and permissions)."""

    ANONYMIZE_MEMBER = "anonymize_member"
    EXPORT_MEMBER_DATA = "export_member_data"
    HANDLE_ERASURE_REQUESTS = "handle_erasure_requests"


class NoteType(enum.Enum):
    """The type of a note on a member's profile."""

    TRAINING_AND_HEALTH = "training_and_health"
    GENERAL = "general"


class AnonymizationMode(enum.Enum):
    """How an anonymization was started."""

    MANUAL = "manual"
    RETENTION = "retention"
    REQUEST = "request"


class AuditAction(enum.Enum):
    """What an audit entry records."""

    ANONYMIZE = "anonymize"
    EXPORT = "export"


class ProfileTab(enum.Enum):
    """The tabs of a member's profile."""

    PERSONAL_DATA = "personal_data"
    CONTRACTS = "contracts"
    VISITS = "visits"
    CLASSES = "classes"
    FINANCES = "finances"
    TRAINING = "training"
    NOTES = "notes"
    LOG = "log"
    DOCUMENTS = "documents"


@final
@attrs.frozen(kw_only=True)
class Money:
    """An amount in one currency. Never a float."""

    amount: Decimal = attrs.field(metadata=c.check(c.decimal))
    currency: str = attrs.field(metadata=c.check(c.currency))

    def __attrs_post_init__(self) -> None:
        c.check_fields(self)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


@final
@attrs.frozen(kw_only=True)
class BinaryContent:
    """A stored file: a photo or a document's content."""

    content_type: str = attrs.field(metadata=c.check(c.any_text))
    data: bytes = attrs.field(
        repr=lambda data: f"<{len(data)} bytes>", metadata=c.check(c.instance(bytes))
    )

    def __attrs_post_init__(self) -> None:
        c.check_fields(self)
