"""The human-readable messages of the library and its command line, in every language.

Each language is one JSON file in the package's ``_messages`` folder (``en.json``,
``pl.json``, ...), mapping stable dotted keys to :meth:`str.format` templates
with named fields. Adding a language means adding a file; a message missing
in a language shows in English::

    >>> text("cli.confirm.question", "pl", member_id="m1")
    'Zanonimizować m1?'
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from decimal import Decimal
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Final, TypeAlias, final

import attrs

from member_anonymization.errors import MemberAnonymizationError

__all__ = [
    "CATALOGUE",
    "ENGLISH",
    "LANGUAGES",
    "Catalogue",
    "Language",
    "UnknownLanguageError",
    "text",
]

Language: TypeAlias = str
"""A language code, such as ``"en"`` or ``"pl"``; one of :data:`LANGUAGES` at run time."""

ENGLISH: Final[Language] = "en"
"""The language every catalogue has, and the fallback for a missing message."""

_NO_END_DATE: Final = "value.no_end_date"


class UnknownLanguageError(MemberAnonymizationError, ValueError):
    """No catalogue holds messages in the given language."""

    def __init__(self, language: str, available: tuple[Language, ...]) -> None:
        self.language = language
        self.available = available
        super().__init__(f"unknown language {language[:20]!r} (available: {', '.join(available)})")


def _by_language(
    templates: Mapping[Language, Mapping[str, str]],
) -> Mapping[Language, Mapping[str, str]]:
    """A read-only copy, English first, then the other languages alphabetically."""
    order = sorted(templates, key=lambda lang: (lang != ENGLISH, lang))
    return MappingProxyType({lang: MappingProxyType(dict(templates[lang])) for lang in order})


@final
@attrs.frozen(kw_only=True, eq=False)
class Catalogue:
    """Message templates by language and key.

    Attributes:
        templates: For each language code, its templates by key. English comes
            first and is required.
    """

    templates: Mapping[Language, Mapping[str, str]] = attrs.field(converter=_by_language)

    def __attrs_post_init__(self) -> None:
        if ENGLISH not in self.templates:
            raise ValueError("a message catalogue needs English messages (en)")

    @classmethod
    def load(cls, folder: Traversable | str | os.PathLike[str]) -> Catalogue:
        """Read every ``<language>.json`` file of ``folder``.

        Raises:
            ValueError: A file is not a JSON object of texts, or English is missing.
        """
        where = Path(folder) if isinstance(folder, str | os.PathLike) else folder
        templates: dict[Language, dict[str, str]] = {}
        for entry in sorted(where.iterdir(), key=lambda e: e.name):
            if not entry.is_file() or not entry.name.endswith(".json"):
                continue
            raw = json.loads(entry.read_text(encoding="utf-8"))
            if not isinstance(raw, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
            ):
                raise ValueError(f"{entry.name} must be one JSON object of texts")
            templates[entry.name.removesuffix(".json")] = raw
        return cls(templates=templates)

    @property
    def languages(self) -> tuple[Language, ...]:
        """The language codes, English first, then alphabetically."""
        return tuple(self.templates)

    def text(self, key: str, lang: Language, /, **fields: object) -> str:
        """The message ``key`` in ``lang``, its named fields filled in.

        Dates read as ISO days (a datetime as its day), decimals as written and
        a missing date (``None``) as the language's word for "no end date". A
        message missing in ``lang`` (or broken there) falls back to English.

        Raises:
            UnknownLanguageError: The catalogue has no such language.
            KeyError: No language has the key.
        """
        templates = self.templates.get(lang)
        if templates is None:
            raise UnknownLanguageError(lang, self.languages)
        values = {name: self._plain(value, lang) for name, value in fields.items()}
        template = templates.get(key)
        if template is not None:
            try:
                return template.format_map(values)
            except (KeyError, IndexError, ValueError, AttributeError):
                pass
        return self.templates[ENGLISH][key].format_map(values)

    def _plain(self, value: object, lang: Language) -> object:
        """A field value as the messages show it."""
        if value is None:
            return self.text(_NO_END_DATE, lang)
        if isinstance(value, dt.datetime):
            return value.date().isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, Decimal):
            return str(value)
        return value


CATALOGUE: Final = Catalogue.load(files("member_anonymization") / "_messages")
"""The package's catalogue: one JSON file per language in its ``_messages`` folder."""

LANGUAGES: Final[tuple[Language, ...]] = CATALOGUE.languages
"""The languages of the messages, English first: one per file of the package's catalogue."""


def text(key: str, lang: Language, /, **fields: object) -> str:
    """The message ``key`` in ``lang`` from the package's catalogue.

    See :meth:`Catalogue.text`.

    Raises:
        UnknownLanguageError: ``lang`` is not one of :data:`LANGUAGES`.
        KeyError: No language has the key.
    """
    return CATALOGUE.text(key, lang, **fields)
