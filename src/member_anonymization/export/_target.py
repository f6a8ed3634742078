"""Where an export is written: a new, owner-only file, or the caller's stream."""

from __future__ import annotations

import contextlib
import os
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


@final
class _Target:
    """An open output: a file this export created, or the caller's stream."""

    def __init__(self, stream: IO[bytes], path: Path | None) -> None:
        self.stream = stream
        self.path = path

    def finish(self) -> None:
        """Push every byte out (to the disk, for a file) before the commit."""
        self.stream.flush()
        if self.path is not None:
            os.fsync(self.stream.fileno())


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


@contextlib.contextmanager
def _open_target(out: ExportTarget) -> Iterator[_Target]:
    """Open the output; a file is new, owner-only, and removed again on failure."""
    if not isinstance(out, str | os.PathLike):
        yield _Target(out, None)
        return
    path = Path(out)
    fd = os.open(path, _CREATE_FLAGS, 0o600)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)
        stream = os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        _remove(path)
        raise
    try:
        with stream:
            yield _Target(stream, path)
    except BaseException:
        _remove(path)
        raise
