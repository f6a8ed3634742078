"""Where an export is written: a new, owner-only file, or the caller's stream.

A file is written under a temporary name in the same folder (created
exclusively, never through a symbolic link, readable by its owner only),
flushed to the disk, and only then put in place under its final name: a full
disk, an error or a killed process never leaves a partial file there. The
final name is linked, so an existing file (or link) at it is refused, not
replaced, unless the caller asked to replace it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final, final

if TYPE_CHECKING:
    from member_anonymization.export import ExportTarget


_CREATE_FLAGS: Final = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
)

_NAME_CHARS: Final = 40
"""How much of the final name the temporary name repeats (it must stay a valid name)."""

_ATTEMPTS: Final = 100
"""Temporary names tried before giving up (each is random; a clash means someone plants them)."""

_NO_HARD_LINKS: Final = frozenset(
    {
        errno.EPERM,
        errno.EXDEV,
        errno.EMLINK,
        errno.ENOSYS,
        getattr(errno, "ENOTSUP", errno.EPERM),
        getattr(errno, "EOPNOTSUPP", errno.EPERM),
    }
)
"""What ``link`` says on a file system without hard links."""


@final
class ReplaceFile(os.PathLike[str]):
    """A path whose existing file an export replaces, atomically, instead of refusing it.

    For the command line's ``--force``; the library's own paths never replace.
    The replacement happens only once the new file is complete: until then the
    previous file stays as it was.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __fspath__(self) -> str:
        return os.fspath(self.path)

    def __repr__(self) -> str:
        return f"ReplaceFile({os.fspath(self.path)!r})"


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _check_final(path: Path, *, replace: bool) -> None:
    """Refuse early what the final step would refuse: an existing name, a folder.

    Raises:
        FileExistsError: Something (a file, a link, a folder) is there and
            ``replace`` is false.
        IsADirectoryError: ``path`` names a folder.
        OSError: The path cannot be looked at (a missing folder, no permission,
            a name too long, ...).
    """
    if not path.name or path.name in {".", ".."}:
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(path))
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        if not os.path.isdir(path.parent if str(path.parent) else "."):
            raise FileNotFoundError(
                errno.ENOENT, os.strerror(errno.ENOENT), os.fspath(path)
            ) from None
        return
    if stat.S_ISDIR(found.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(path))
    if not replace:
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), os.fspath(path))


def _create_temporary(path: Path) -> tuple[int, Path]:
    """A new owner-only file ``.<name>.<random>.tmp`` beside ``path``, opened for writing."""
    for _ in range(_ATTEMPTS):
        temporary = path.with_name(f".{path.name[:_NAME_CHARS]}.{secrets.token_hex(8)}.tmp")
        try:
            fd = os.open(temporary, _CREATE_FLAGS, 0o600)
        except FileExistsError:
            continue
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, 0o600)
        except BaseException:
            os.close(fd)
            _remove(temporary)
            raise
        return fd, temporary
    raise FileExistsError(errno.EEXIST, "no free temporary name", os.fspath(path))


def _sync_folder(path: Path) -> None:
    """Make the new name durable (where the system lets a folder be synced)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(path.parent if str(path.parent) else ".", os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _put_in_place(temporary: Path, path: Path, *, replace: bool) -> None:
    """Give the complete temporary file its final name.

    Raises:
        FileExistsError: Without ``replace``, something appeared at ``path``.
    """
    if replace:
        os.replace(temporary, path)
        return
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        # No hard links here: claim the name exclusively, then move the file over it.
        os.close(os.open(path, _CREATE_FLAGS, 0o600))
        os.replace(temporary, path)
        return
    _remove(temporary)


@final
class StagedFile:
    """A file being written under a temporary name; :meth:`publish` puts it in place.

    Attributes:
        stream: Where to write (the temporary file).
        path: The final name.
        published: Whether the file is in place under its final name.
    """

    def __init__(self, stream: IO[bytes], path: Path, temporary: Path, *, replace: bool) -> None:
        self.stream = stream
        self.path = path
        self.published = False
        self._temporary = temporary
        self._replace = replace

    def publish(self) -> None:
        """Flush every byte to the disk, then give the file its final name.

        Raises:
            FileExistsError: Without ``replace``, a file appeared at the final name.
            OSError: The disk refused (full, read-only, ...); nothing is in place.
        """
        if self.published:
            return
        self.stream.flush()
        os.fsync(self.stream.fileno())
        _put_in_place(self._temporary, self.path, replace=self._replace)
        self.published = True
        _sync_folder(self.path)


@contextlib.contextmanager
def staged_file(path: str | os.PathLike[str], *, replace: bool = False) -> Iterator[StagedFile]:
    """Write a new owner-only file safely: a temporary file, then one rename.

    Call :meth:`StagedFile.publish` when the content is complete; leaving the
    block without it (or by an error, ``KeyboardInterrupt`` included) removes
    the temporary file and leaves whatever was at ``path`` untouched.

    Args:
        path: The final name.
        replace: Replace an existing file (never a folder) instead of refusing it.

    Raises:
        FileExistsError: Without ``replace``, ``path`` exists (even as a link).
        IsADirectoryError: ``path`` is a folder.
        OSError: The file cannot be made (missing folder, no permission, ...).
    """
    final = Path(path)
    _check_final(final, replace=replace)
    fd, temporary = _create_temporary(final)
    try:
        stream = os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        _remove(temporary)
        raise
    staged = StagedFile(stream, final, temporary, replace=replace)
    try:
        with stream:
            yield staged
    finally:
        _remove(temporary)


@final
class _Target:
    """An open output: a file this export creates, or the caller's stream."""

    def __init__(self, stream: IO[bytes], staged: StagedFile | None) -> None:
        self.stream = stream
        self._staged = staged

    @property
    def path(self) -> Path | None:
        """The file's final name (``None`` for a stream)."""
        return None if self._staged is None else self._staged.path

    def finish(self) -> None:
        """Push every byte out and, for a file, put it in place (before the commit)."""
        if self._staged is None:
            self.stream.flush()
        else:
            self._staged.publish()


@contextlib.contextmanager
def _open_target(out: ExportTarget) -> Iterator[_Target]:
    """Open the output; a file is new, owner-only, and removed again on failure."""
    if not isinstance(out, str | os.PathLike):
        yield _Target(out, None)
        return
    replace = isinstance(out, ReplaceFile)
    with staged_file(out, replace=replace) as staged:
        try:
            yield _Target(staged.stream, staged)
        except BaseException:
            if staged.published:
                _remove(staged.path)
            raise
