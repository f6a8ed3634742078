"""Pure domain objects: frozen, validated at construction, free of infrastructure."""

from member_anonymization.domain._checks import FieldProblem, InvalidRecordError
from member_anonymization.domain.audit import AuditEntry, Reminder, RemovalCounts
from member_anonymization.domain.contracts import Contract
from member_anonymization.domain.finance import (
    Buyer,
    CollectionCase,
    Installment,
    Invoice,
    InvoiceLine,
    Purchase,
    Receipt,
    Wallet,
)
from member_anonymization.domain.members import Address, Member, PersonalData
from member_anonymization.domain.organisation import Club, Employee, Network, RetentionSetting
from member_anonymization.domain.records import (
    ClassBooking,
    Document,
    Exercise,
    LogEntry,
    Measurement,
    Note,
    Visit,
)
from member_anonymization.domain.values import (
    AnonymizationMode,
    AuditAction,
    BinaryContent,
    ClubId,
    ContractId,
    EmployeeId,
    MemberId,
    Money,
    NoteType,
    Permission,
    ProfileTab,
)

__all__ = [
    "Address",
    "AnonymizationMode",
    "AuditAction",
    "AuditEntry",
    "BinaryContent",
    "Buyer",
    "ClassBooking",
    "Club",
    "ClubId",
    "CollectionCase",
    "Contract",
    "ContractId",
    "Document",
    "Employee",
    "EmployeeId",
    "Exercise",
    "FieldProblem",
    "Installment",
    "InvalidRecordError",
    "Invoice",
    "InvoiceLine",
    "LogEntry",
    "Measurement",
    "Member",
    "MemberId",
    "Money",
    "Network",
    "Note",
    "NoteType",
    "Permission",
    "PersonalData",
    "ProfileTab",
    "Purchase",
    "Receipt",
    "Reminder",
    "RemovalCounts",
    "RetentionSetting",
    "Visit",
    "Wallet",
]
