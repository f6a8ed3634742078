"""The record kinds of an export, derived from the dataset's declarations; the format's name."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final, final

import attrs

from member_anonymization.domain import ProfileTab
from member_anonymization.policy import MemberFacts
from member_anonymization.ports import UnitOfWork
from member_anonymization.serialization import RECORD_KINDS, RecordKind

EXPORT_FORMAT: Final = "member-anonymization/export@1"
"""The export document's format name (public as ``member_anonymization.export.EXPORT_FORMAT``)."""

Reader = Callable[[UnitOfWork, MemberFacts], Iterable[Any]]


def _reader(declared: RecordKind) -> Reader:
    """How the export reads a kind: from the member's facts, or from a repository."""
    if declared.export_reader is None or declared.tab is None:
        raise TypeError(f"exported kind {declared.collection!r} declares no reader or tab")
    repository, attribute = declared.export_reader.split(".", 1)
    if repository == "facts":
        return lambda uow, facts: getattr(facts, attribute)
    return lambda uow, facts: getattr(getattr(uow, repository), attribute)(facts.member_id)


@final
@attrs.frozen
class _Kind:
    """One kind of record of the export: its key, type, profile tab and reader."""

    name: str
    record_type: type[Any]
    tab: ProfileTab
    read: Reader
    key: Callable[[Any], str]


_KINDS: Final[tuple[_Kind, ...]] = tuple(
    _Kind(k.collection, k.record_type, k.tab, _reader(k), k.key)  # type: ignore[arg-type]
    for k in RECORD_KINDS
    if k.exported
)

EXPORT_KINDS: Final[tuple[str, ...]] = tuple(kind.name for kind in _KINDS)
"""The kinds' names in file order (public as ``member_anonymization.export.EXPORT_KINDS``)."""

_KIND: Final = {kind.name: kind for kind in _KINDS}
