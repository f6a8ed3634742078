"""Strict, bounded JSON reading for files from outside (internal).

:class:`JsonReader` reads one JSON document from text, bytes or a binary
stream. It can give the whole document (:meth:`JsonReader.document`) or walk
the top-level object member by member and the items of a list one by one
(:meth:`JsonReader.members`, :meth:`JsonReader.items`), holding only about a
megabyte of text at a time, so that a dataset file of any size streams.

Beyond :func:`json.loads` it refuses: a key given twice in one object, nesting
deeper than :data:`MAX_JSON_DEPTH`, an integer of more than
:data:`MAX_INT_DIGITS` digits, ``NaN`` and ``Infinity`` (not JSON), and text
that is not UTF-8; a UTF-8 byte-order mark at the start is dropped. Every
refusal is a :class:`JsonProblem` naming the line and column, never the value.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator
from typing import IO, Any, Final, final

import attrs

from member_anonymization.errors import MemberAnonymizationError

__all__ = [
    "CHUNK_SIZE",
    "LOOKAHEAD",
    "MAX_INT_DIGITS",
    "MAX_JSON_DEPTH",
    "JsonProblem",
    "JsonReader",
    "Mark",
    "key_name",
    "plain_name",
    "shown",
]

MAX_JSON_DEPTH: Final = 64
"""The deepest nesting of arrays and objects accepted (the top level is 1)."""

MAX_INT_DIGITS: Final = 100
"""The most digits an integer may have (Python itself refuses more than 4,300)."""

CHUNK_SIZE = 1 << 20
"""Bytes read from a stream at a time."""

LOOKAHEAD = 1 << 10
"""Characters read ahead of a value before it is decoded."""

_MARGIN: Final = 64
"""A value that ends this close to the end of the text read so far may go on."""

_SHOWN_LENGTH: Final = 200
"""The longest text from a file that a message shows (an id at most 200 characters)."""

_WHITE: Final = re.compile(r"[ \t\n\r]*")
_PLAIN_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
_BOM: Final = "\ufeff"


class _Refused(Exception):
    """Raised by the decoder's hooks; the problem is then located by :func:`_locate`."""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _Refused
    return result


def _integer(digits: str) -> int:
    if len(digits) - digits.startswith("-") > MAX_INT_DIGITS:
        raise _Refused
    return int(digits)


def _constant(_: str) -> Any:
    raise _Refused


_scanstring: Final[Callable[[str, int], tuple[str, int]]] = json.decoder.scanstring  # type: ignore[attr-defined]

_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_object, parse_int=_integer, parse_constant=_constant
)


@final
class JsonProblem(MemberAnonymizationError, ValueError):
    """Why a JSON document is refused, and where (never the value).

    Attributes:
        reason: What is wrong.
        line: The line (from 1), when known.
        column: The column (from 1, in characters), when known.
        index: The position of the item of a list being read, when there is one.
        anywhere: Whether the problem may be found ahead of the value being
            read (bytes that are not UTF-8 are found as they are read).
    """

    def __init__(self, reason: str, line: int | None = None, column: int | None = None) -> None:
        self.reason = reason
        self.line = line
        self.column = column
        self.index: int | None = None
        self.anywhere = False
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.line is None:
            return self.reason
        if self.column is None:
            return f"{self.reason} (line {self.line})"
        return f"{self.reason} (line {self.line}, column {self.column})"


def plain_name(key: object) -> bool:
    """Whether ``key`` is a plain name: up to 40 ASCII letters, digits and ``_``, no digit first."""
    return isinstance(key, str) and _PLAIN_NAME.fullmatch(key) is not None


def key_name(key: str, position: int) -> str:
    """A key as a message may show it: a plain name as it is, anything else by position.

    A plain name is up to 40 ASCII letters, digits and ``_``, not starting with
    a digit. Any other key may hold anything, personal data included, so it is
    shown as ``#N``: the N-th key of its object.
    """
    return key if plain_name(key) else f"#{position}"


def shown(text: str) -> str:
    """Text from a file (an id) as a message may show it: control characters escaped, short."""
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    if len(text) > _SHOWN_LENGTH:
        text = text[:_SHOWN_LENGTH] + "…"
    return text


def too_deep(value: Any, levels: int) -> bool:
    """Whether the parsed ``value`` nests arrays and objects deeper than ``levels``."""
    level: list[Any] = [value] if type(value) in (dict, list) else []
    for _ in range(levels):
        below: list[Any] = []
        for container in level:
            for item in container.values() if type(container) is dict else container:
                if type(item) is dict or type(item) is list:
                    below.append(item)
        if not below:
            return False
        level = below
    return True


class _Found(Exception):
    def __init__(self, reason: str, position: int) -> None:
        self.reason = reason
        self.position = position


_INVALID: Final = "not valid JSON"


def _white(text: str, position: int) -> int:
    match = _WHITE.match(text, position)
    assert match is not None
    return match.end()


def _walk(text: str, position: int, level: int) -> int:
    """Check the value at ``position`` as the hooks do; :class:`_Found` at the first problem."""
    position = _white(text, position)
    opening = text[position : position + 1]
    if opening not in ("{", "["):
        try:
            return int(_DECODER.raw_decode(text, position)[1])
        except _Refused:
            if text.startswith(("NaN", "Infinity", "-Infinity"), position):
                raise _Found("NaN and Infinity are not JSON", position) from None
            raise _Found(f"an integer of more than {MAX_INT_DIGITS} digits", position) from None
        except json.JSONDecodeError as exc:
            raise _Found(_INVALID, exc.pos) from None
    if level > MAX_JSON_DEPTH:
        raise _Found(f"nested deeper than {MAX_JSON_DEPTH} levels", position)
    closing = "}" if opening == "{" else "]"
    position = _white(text, position + 1)
    if text.startswith(closing, position):
        return position + 1
    keys: set[str] = set()
    while True:
        if opening == "{":
            if not text.startswith('"', position):
                raise _Found(_INVALID, position)
            try:
                key, after = _scanstring(text, position + 1)
            except json.JSONDecodeError as exc:
                raise _Found(_INVALID, exc.pos) from None
            if key in keys:
                raise _Found(f"duplicate key {key_name(key, len(keys) + 1)}", position)
            keys.add(key)
            position = _white(text, after)
            if not text.startswith(":", position):
                raise _Found(_INVALID, position)
            position += 1
        position = _white(text, _walk(text, position, level + 1))
        if text.startswith(",", position):
            position = _white(text, position + 1)
        elif text.startswith(closing, position):
            return position + 1
        else:
            raise _Found(_INVALID, position)


def _locate(text: str, position: int, level: int) -> tuple[str, int]:
    """The first problem of the value at ``position``, and where it is."""
    try:
        _walk(text, position, level)
    except _Found as found:
        return found.reason, found.position
    return _INVALID, position  # pragma: no cover - the hooks found a problem


@final
@attrs.frozen
class Mark:
    """A place in a stream to come back to: its byte offset, line and column."""

    byte: int
    line: int
    column: int


@final
class JsonReader:
    """Reads one JSON document strictly, all at once or piece by piece.

    Args:
        source: The text, its UTF-8 bytes, or a binary stream (seekable for
            :meth:`seek`) to read in chunks of :data:`CHUNK_SIZE` bytes.
    """

    def __init__(self, source: str | bytes | bytearray | IO[bytes]) -> None:
        self._stream: IO[bytes] | None = None
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._text = ""
        self._pos = 0
        self._eof = True
        self._started = False
        self._line = 0
        """Line breaks in the text before ``_text`` (dropped already)."""
        self._column = 0
        """Characters after the last of those line breaks."""
        self._byte = 0
        """The offset in the stream of ``_text[0]``."""
        if isinstance(source, str):
            self._text = source.removeprefix(_BOM)
            self._started = True
        elif isinstance(source, bytes | bytearray):
            self._decode(source, final=True)
        else:
            self._stream = source
            self._eof = False

    # -- text ------------------------------------------------------------------------------

    def _decode(self, raw: bytes | bytearray, *, final: bool) -> None:
        pending = len(self._decoder.getstate()[0])
        try:
            text = self._decoder.decode(raw, final)
        except UnicodeDecodeError as exc:
            line = (
                self._line
                + self._text.count("\n")
                + raw.count(b"\n", 0, max(0, exc.start - pending))
            )
            problem = JsonProblem("must be UTF-8 text", line + 1)
            problem.anywhere = True
            raise problem from None
        if not self._started and (text or final):
            self._started = True
            if text.startswith(_BOM):
                text = text[1:]
                self._byte += len(_BOM.encode("utf-8"))
        self._text += text

    def _drop_read(self) -> None:
        """Forget the text before the current position."""
        if not self._pos:
            return
        done = self._text[: self._pos]
        breaks = done.count("\n")
        if breaks:
            self._line += breaks
            self._column = len(done) - done.rfind("\n") - 1
        else:
            self._column += len(done)
        self._byte += len(done.encode("utf-8", "surrogatepass"))
        self._text = self._text[self._pos :]
        self._pos = 0

    def _fill(self, wanted: int) -> None:
        """Read until ``wanted`` characters are ahead of the position, or the end."""
        if self._eof or len(self._text) - self._pos >= wanted:
            return
        self._drop_read()
        assert self._stream is not None
        while not self._eof and len(self._text) < wanted:
            raw = self._stream.read(max(CHUNK_SIZE, wanted - len(self._text)))
            self._eof = not raw
            self._decode(raw, final=self._eof)

    def _more(self) -> None:
        """Read as much again as is ahead of the position (at least a chunk)."""
        ahead = len(self._text) - self._pos
        self._fill(ahead + max(ahead, CHUNK_SIZE))

    def _where(self, position: int) -> tuple[int, int]:
        breaks = self._text.count("\n", 0, position)
        if breaks:
            column = position - self._text.rfind("\n", 0, position)
        else:
            column = self._column + position + 1
        return self._line + breaks + 1, column

    def problem(self, reason: str, position: int | None = None) -> JsonProblem:
        """A problem at ``position`` of the text (the current position by default)."""
        line, column = self._where(self._pos if position is None else position)
        return JsonProblem(reason, line, column)

    def _peek(self) -> str:
        """Skip white space; the next character, or ``""`` at the end."""
        while True:
            self._pos = _white(self._text, self._pos)
            if self._pos < len(self._text) or self._eof:
                return self._text[self._pos : self._pos + 1]
            self._fill(1)

    # -- values ----------------------------------------------------------------------------

    def value(self, level: int = 1) -> Any:
        """The value at the position, at nesting ``level`` (the top level is 1)."""
        self._peek()
        self._fill(LOOKAHEAD)
        while True:
            start = self._pos
            try:
                value, end = _DECODER.raw_decode(self._text, start)
            except json.JSONDecodeError as exc:
                if not self._eof and (
                    exc.pos >= len(self._text) - _MARGIN
                    or exc.msg.startswith("Unterminated string")
                ):
                    self._more()
                    continue
                raise self.problem(_INVALID, exc.pos) from None
            except (_Refused, RecursionError):
                reason, where = _locate(self._text, start, level)
                raise self.problem(reason, where) from None
            if not self._eof and end > len(self._text) - _MARGIN:
                self._more()
                continue
            levels = MAX_JSON_DEPTH - level + 1
            openings = self._text.count("{", start, end) + self._text.count("[", start, end)
            if openings > levels and too_deep(value, levels):
                reason, where = _locate(self._text, start, level)
                raise self.problem(reason, where)
            self._pos = end
            return value

    def document(self) -> Any:
        """The whole document; nothing but white space may follow it."""
        value = self.value()
        self.end()
        return value

    def end(self) -> None:
        """Check that nothing but white space is left."""
        if self._peek():
            raise self.problem(_INVALID)

    def starts(self) -> str:
        """The first character of the value at the position (``""`` at the end)."""
        return self._peek()

    def members(self, level: int = 1) -> Iterator[tuple[str, int, tuple[int, int]]]:
        """The keys of the object at the position, with their position and place.

        After each key the caller reads its value (:meth:`value`, :meth:`items`
        or :meth:`skip`) before asking for the next key.
        """
        if self._peek() != "{":
            raise self.problem(_INVALID)
        self._pos += 1
        seen: set[str] = set()
        char = self._peek()
        if char == "}":
            self._pos += 1
            return
        while True:
            if char != '"':
                raise self.problem(_INVALID)
            place = self._where(self._pos)
            key = self.value(level + 1)
            if key in seen:
                raise JsonProblem(f"duplicate key {key_name(key, len(seen) + 1)}", *place)
            seen.add(key)
            if self._peek() != ":":
                raise self.problem(_INVALID)
            self._pos += 1
            yield key, len(seen), place
            char = self._peek()
            if char == ",":
                self._pos += 1
                char = self._peek()
            elif char == "}":
                self._pos += 1
                return
            else:
                raise self.problem(_INVALID)

    def items(self, level: int) -> Iterator[Any]:
        """The items of the array at the position (at ``level``), one by one.

        A problem within an item carries the item's position in
        :attr:`JsonProblem.index`.
        """
        if self._peek() != "[":
            raise self.problem(_INVALID)
        self._pos += 1
        if self._peek() == "]":
            self._pos += 1
            return
        index = 0
        while True:
            try:
                item = self.value(level + 1)
            except JsonProblem as problem:
                problem.index = index
                raise
            yield item
            index += 1
            char = self._peek()
            if char == ",":
                self._pos += 1
            elif char == "]":
                self._pos += 1
                return
            else:
                raise self.problem(_INVALID)

    def skip(self, level: int) -> None:
        """Read past the value at the position, an array item by item."""
        if self._peek() == "[":
            for _ in self.items(level):
                pass
        else:
            self.value(level)

    # -- coming back -----------------------------------------------------------------------

    def mark(self) -> Mark:
        """The current position, to :meth:`seek` back to (streams only)."""
        self._peek()
        line, column = self._where(self._pos)
        ahead = self._text[: self._pos].encode("utf-8", "surrogatepass")
        return Mark(self._byte + len(ahead), line - 1, column - 1)

    def seek(self, mark: Mark) -> None:
        """Go back to a :meth:`mark` of this stream."""
        assert self._stream is not None
        self._stream.seek(mark.byte)
        self._decoder.reset()
        self._text, self._pos, self._eof = "", 0, False
        self._byte, self._line, self._column = mark.byte, mark.line, mark.column
