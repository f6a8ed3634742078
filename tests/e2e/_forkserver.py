"""A warm process that runs the command line in forked children, for the end-to-end tests.

Starting the console script costs about a third of a second of imports, paid
again by each of the hundreds of runs of the end-to-end tests. The fork server
pays it once: it imports the command line and everything its commands load,
then waits on a Unix socket. For each run it forks a runner, which forks the
run itself; the run takes the test's pipes as its standard streams, its folder,
its environment and its arguments, calls the console script's ``main`` and
exits with its code, as the script would. The runner sends that code back.

What a separate process would do differently stays out of these runs: imports
happen once (the suite's import checks run the real script), and the hash seed
is the server's. Runs on a terminal, runs that change the environment and a
few smoke tests keep using the installed script itself (``tests/e2e/conftest.py``).

Run as ``python -m tests.e2e._forkserver SOCKET_PATH``; it prints ``ready``
once it listens.
"""

from __future__ import annotations

import atexit
import io
import json
import os
import signal
import socket
import struct
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

STREAMS = 3
"""Standard input, output and error: the descriptors each request passes."""

HEADER = struct.Struct("!I")
"""The length of the request that follows, sent with the descriptors."""


def _warm() -> Callable[[], None]:
    """Import the command line and what its commands import lazily."""
    import sqlalchemy.dialects.postgresql.psycopg
    import sqlalchemy.dialects.sqlite.pysqlite

    import member_anonymization.adapters.sql
    import member_anonymization.cli._demo
    from member_anonymization.cli import main

    del sqlalchemy, member_anonymization
    return main


def _exit_code(code: Any) -> int:
    """The status Python exits with for ``SystemExit(code)``."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _reopen_standard_streams() -> None:
    """New ``sys.stdin``, ``stdout`` and ``stderr`` objects for descriptors 0, 1 and 2.

    As Python makes them at start-up: the server's own ones remember what
    their descriptors were then (a seekable ``/dev/null``, say).
    """
    made = []
    for fd, old in enumerate((sys.__stdin__, sys.__stdout__, sys.__stderr__)):
        assert old is not None
        raw = io.FileIO(fd, "r" if fd == 0 else "w", closefd=False)
        buffered = io.BufferedReader(raw) if fd == 0 else io.BufferedWriter(raw)
        made.append(
            io.TextIOWrapper(
                buffered,
                encoding=old.encoding,
                errors=old.errors,
                line_buffering=fd == 2 or raw.isatty(),
            )
        )
    sys.stdin, sys.stdout, sys.stderr = made
    for name, stream in zip(("__stdin__", "__stdout__", "__stderr__"), made, strict=True):
        setattr(sys, name, stream)


def _run(request: dict[str, Any], fds: list[int], main: Callable[[], None]) -> NoReturn:
    """Become the run: take the streams, folder, environment and arguments; exit as main does."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    _reopen_standard_streams()
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = list(request["argv"])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except BaseException:
        traceback.print_exc()
        code = 1
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 120
    os._exit(code)


def _runner(conn: socket.socket, main: Callable[[], None]) -> NoReturn:
    """Receive one request, run it in a child, send back its exit code."""
    try:
        header, fds, _, _ = socket.recv_fds(conn, HEADER.size, STREAMS)
        (size,) = HEADER.unpack(header)
        message = b""
        while len(message) < size:
            chunk = conn.recv(size - len(message))
            if not chunk:
                raise EOFError("the request ended early")
            message += chunk
        request = json.loads(message)
        pid = os.fork()
        if pid == 0:
            conn.close()
            try:
                _run(request, fds, main)
            except BaseException:
                traceback.print_exc()
                os._exit(1)
        for fd in fds:
            os.close(fd)
        _, status = os.waitpid(pid, 0)
        conn.sendall(str(os.waitstatus_to_exitcode(status)).encode())
    finally:
        os._exit(0)


def serve(path: str) -> NoReturn:
    """Listen on ``path`` and run each request in a forked child."""
    main = _warm()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # runners are reaped by the system
    print("ready", flush=True)
    while True:
        conn, _ = server.accept()
        if os.fork() == 0:
            server.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _runner(conn, main)
        conn.close()


def run(
    path: str, argv: list[str], *, cwd: str, env: dict[str, str], stdin: bytes, timeout: float
) -> tuple[int, bytes, bytes]:
    """Run the command line through the server at ``path``: exit code, stdout, stderr.

    Raises:
        TimeoutError: The run took longer than ``timeout`` seconds.
    """
    import tempfile

    request = json.dumps({"argv": argv, "cwd": cwd, "env": env}).encode()
    read_in, write_in = os.pipe()
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn,
    ):
        conn.settimeout(timeout)
        conn.connect(path)
        try:
            header = HEADER.pack(len(request))
            socket.send_fds(conn, [header], [read_in, out.fileno(), err.fileno()])
        finally:
            os.close(read_in)
        conn.sendall(request)
        writer = threading.Thread(target=_feed, args=(write_in, stdin), daemon=True)
        writer.start()
        reply = b""
        while chunk := conn.recv(16):
            reply += chunk
        writer.join(timeout)
        out.seek(0)
        err.seek(0)
        return int(reply), out.read(), err.read()


def _feed(fd: int, data: bytes) -> None:
    """Write ``data`` to the run's standard input and close it (a reader may stop early)."""
    try:
        with os.fdopen(fd, "wb") as pipe:
            pipe.write(data)
    except BrokenPipeError:
        pass


if __name__ == "__main__":
    serve(sys.argv[1])
