"""member-anonymization: GDPR erasure for gym and fitness-club software.

Anonymize a member instead of deleting them: personal data is replaced
irreversibly and sensitive records are deleted, while invoices, visits,
contracts and statistics stay exactly as they were.

The top level holds the services, their options and results, the errors and
the dataset. Everything else lives in a namespace: the records in
:mod:`member_anonymization.domain`, the blockers and warnings in
:mod:`~member_anonymization.policy`, the protocols a host implements in
:mod:`~member_anonymization.ports`, the retention rule in
:mod:`~member_anonymization.retention`, the messages in
:mod:`~member_anonymization.messages`, the in-memory adapter in
:mod:`~member_anonymization.testing` and the adapter contract in
:mod:`~member_anonymization.contract`.
"""

from typing import TYPE_CHECKING

from member_anonymization._deprecation import moved_names
from member_anonymization.anonymizer import (
    AnonymizationOptions,
    AnonymizationResult,
    Anonymized,
    Anonymizer,
    NotPermitted,
    PlaceholderScheme,
    Refused,
    SystemClock,
    generic_placeholder,
    random_placeholder,
)
from member_anonymization.domain import FieldProblem, InvalidRecordError, RequestStateError
from member_anonymization.erasure import (
    CloseResult,
    ExtendResult,
    OpenRequest,
    ProcessReport,
    ReceiveResult,
    RequestAlreadyOpen,
    RequestCompleted,
    RequestDesk,
    RequestDetails,
    RequestExtended,
    RequestNotPermitted,
    RequestProcessor,
    RequestReceived,
    RequestRejected,
    RequestUnchanged,
    RequestView,
    RequestWithdrawn,
)
from member_anonymization.errors import (
    DatasetError,
    DatasetProblem,
    ForeignRecordError,
    FutureDateError,
    MemberAnonymizationError,
    UnknownClubError,
    UnknownEmployeeError,
    UnknownMemberError,
    UnknownRequestError,
)
from member_anonymization.export import (
    EXPORT_FORMAT,
    ExportCounts,
    Exported,
    Exporter,
    ExportFormat,
    ExportNotPermitted,
    ExportOptions,
    ExportResult,
    ExportTarget,
    MemberExport,
    read_export,
)
from member_anonymization.messages import UnknownLanguageError
from member_anonymization.policy import Eligibility
from member_anonymization.retention import (
    FailedMember,
    RetentionSweep,
    SkippedMember,
    SweepProgress,
    SweepReport,
)
from member_anonymization.serialization import (
    DATASET_FORMAT,
    Dataset,
    structure_dataset,
    unstructure_dataset,
)

__version__ = "0.2.0.dev0"

__all__ = [
    "DATASET_FORMAT",
    "EXPORT_FORMAT",
    "AnonymizationOptions",
    "AnonymizationResult",
    "Anonymized",
    "Anonymizer",
    "CloseResult",
    "Dataset",
    "DatasetError",
    "DatasetProblem",
    "Eligibility",
    "ExportCounts",
    "ExportFormat",
    "ExportNotPermitted",
    "ExportOptions",
    "ExportResult",
    "ExportTarget",
    "Exported",
    "Exporter",
    "ExtendResult",
    "FailedMember",
    "FieldProblem",
    "ForeignRecordError",
    "FutureDateError",
    "InvalidRecordError",
    "MemberAnonymizationError",
    "MemberExport",
    "NotPermitted",
    "OpenRequest",
    "PlaceholderScheme",
    "ProcessReport",
    "ReceiveResult",
    "Refused",
    "RequestAlreadyOpen",
    "RequestCompleted",
    "RequestDesk",
    "RequestDetails",
    "RequestExtended",
    "RequestNotPermitted",
    "RequestProcessor",
    "RequestReceived",
    "RequestRejected",
    "RequestStateError",
    "RequestUnchanged",
    "RequestView",
    "RequestWithdrawn",
    "RetentionSweep",
    "SkippedMember",
    "SweepProgress",
    "SweepReport",
    "SystemClock",
    "UnknownClubError",
    "UnknownEmployeeError",
    "UnknownLanguageError",
    "UnknownMemberError",
    "UnknownRequestError",
    "generic_placeholder",
    "random_placeholder",
    "read_export",
    "structure_dataset",
    "unstructure_dataset",
]

_DOMAIN = "member_anonymization.domain"
_POLICY = "member_anonymization.policy"
_MOVED: dict[str, str] = {
    **dict.fromkeys(
        (
            "Address",
            "AnonymizationMode",
            "AuditAction",
            "AuditEntry",
            "BinaryContent",
            "Buyer",
            "ClassBooking",
            "Club",
            "CollectionCase",
            "Contract",
            "Document",
            "Employee",
            "Exercise",
            "Installment",
            "Invoice",
            "InvoiceLine",
            "LogEntry",
            "Measurement",
            "Member",
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
        ),
        _DOMAIN,
    ),
    **dict.fromkeys(
        (
            "BLOCKER_CODES",
            "WARNING_CODES",
            "ActiveContract",
            "AlreadyAnonymized",
            "AnonymizationWarning",
            "Arrears",
            "ArrearsUnderCollection",
            "Blocker",
            "FutureContract",
            "Language",
            "MemberFacts",
            "OpenCollectionCase",
            "ProcessingRestricted",
            "UnpaidPurchases",
            "WalletFunds",
            "evaluate",
        ),
        _POLICY,
    ),
    **dict.fromkeys(
        ("InvoiceListRow", "invoice_list", "visible_tabs"), "member_anonymization.profile"
    ),
    **dict.fromkeys(
        ("add_months", "due_on", "due_threshold", "is_due", "last_contract_end"),
        "member_anonymization.retention",
    ),
    **dict.fromkeys(("EXPORT_KINDS", "structure_export"), "member_anonymization.export"),
}
"""Names the top level held until this release, and where they live now."""

if not TYPE_CHECKING:
    __getattr__ = moved_names(__name__, _MOVED)
