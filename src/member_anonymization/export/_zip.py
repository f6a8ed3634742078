"""Names and entries of a ZIP export: safe, unique, reproducible.

A document's name is free text typed or uploaded by someone (``../../x``,
a Windows path, ``CON``, an emoji): it never becomes a path as it is. Its
file in the archive is ``documents/<id>-<name>`` where both parts are reduced
to ASCII letters, digits, ``.``, ``_`` and ``-`` (letters lose their accents),
never start or end with a dot, and are cut to a sane length; a name taken
already (compared without regard to case) gets ``-2``, ``-3`` before its
extension. Every entry has the same fixed metadata, so that the same data gives
the same bytes.
"""

from __future__ import annotations

import datetime as dt
import re
import stat
import unicodedata
import zipfile
from typing import Final, final

__all__ = [
    "ArchiveNames",
    "JSON_NAME",
    "entry_info",
    "extension_for",
    "safe_component",
]

JSON_NAME: Final = "export.json"
"""The JSON document inside the archive."""

_MAX_STEM: Final = 80
_MAX_EXTENSION: Final = 10
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._-]+")
_DOTS: Final = re.compile(r"\.{2,}")
_NO_DECOMPOSITION: Final = str.maketrans(
    {
        "ł": "l",
        "Ł": "L",
        "ø": "o",
        "Ø": "O",
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "Ð": "D",
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "þ": "th",
        "Þ": "Th",
        "\u0131": "i",  # dotless i
    }
)
_EXTENSIONS: Final = {
    "image/jpeg": ".jpg",
    "image/jpg": ".jpg",
    "image/pjpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "image/heif": ".heif",
    "image/bmp": ".bmp",
    "image/tiff": ".tif",
    "image/svg+xml": ".svg",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
    "text/csv": ".csv",
    "application/json": ".json",
    "application/zip": ".zip",
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.oasis.opendocument.text": ".odt",
}
_ZIP_FIRST: Final = (1980, 1, 1, 0, 0, 0)
_ZIP_LAST: Final = (2107, 12, 31, 23, 59, 58)


def extension_for(content_type: str) -> str:
    """A file extension for a content type (``.bin`` when unknown)."""
    base = content_type.split(";", 1)[0].strip().lower()
    return _EXTENSIONS.get(base, ".bin")


def safe_component(text: str, *, fallback: str) -> str:
    """``text`` as one safe file name component (``fallback`` when nothing is left).

    Only the part after the last slash or backslash counts; accents are dropped,
    every other character outside ``A-Z a-z 0-9 . _ -`` becomes ``_``, runs of
    dots become one, and leading or trailing dots, dashes and underscores go.
    """
    last = re.split(r"[\\/]", text)[-1]
    plain = unicodedata.normalize("NFKD", last.translate(_NO_DECOMPOSITION))
    ascii_text = plain.encode("ascii", "ignore").decode("ascii")
    cleaned = _DOTS.sub(".", _UNSAFE.sub("_", ascii_text)).strip("._-")
    return cleaned or fallback


def _split_extension(name: str) -> tuple[str, str]:
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) + 1 > _MAX_EXTENSION:
        return name, ""
    return stem, f".{extension}"


def _shorten(stem: str) -> str:
    return stem[:_MAX_STEM].rstrip("._-") or "file"


@final
class ArchiveNames:
    """Hands out unique, safe names for the files of one archive."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def claim(self, folder: str, stem: str, extension: str) -> str:
        """``folder/stem+extension``, or with ``-2``, ``-3``... when it is taken."""
        candidate = f"{folder}{stem}{extension}"
        number = 1
        while candidate.casefold() in self._taken:
            number += 1
            candidate = f"{folder}{stem}-{number}{extension}"
        self._taken.add(candidate.casefold())
        return candidate

    def photo(self, content_type: str) -> str:
        """The photo's name: ``photo`` with the extension of its content type."""
        return self.claim("", "photo", extension_for(content_type))

    def document(self, document_id: str, name: str, content_type: str) -> str:
        """A document's name: ``documents/<id>-<name>``, both made safe."""
        safe_id = safe_component(document_id, fallback="document")
        stem, extension = _split_extension(safe_component(name, fallback="document"))
        if not extension:
            extension = extension_for(content_type)
        return self.claim("documents/", _shorten(f"{safe_id}-{stem}"), extension.lower())


def entry_info(name: str, at: dt.datetime) -> zipfile.ZipInfo:
    """The fixed metadata of an archive entry: deflated, owner-only, dated ``at`` (UTC)."""
    utc = at.astimezone(dt.UTC)
    stamp = (utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second)
    info = zipfile.ZipInfo(name, date_time=min(max(stamp, _ZIP_FIRST), _ZIP_LAST))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3
    info.external_attr = (stat.S_IFREG | 0o600) << 16
    return info
